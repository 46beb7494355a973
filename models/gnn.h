// GCN with Hebbian plastic edges (SPEC §8, issue #5). Node representations are feature-major
// (F, N) so that one SpMM with the normalized adjacency (symmetric, so its own transpose) aggregates
// every feature channel: H^{l+1} = act(W^l H^l A_norm + b^l 1^T), A_norm = D^-1/2 (A_eff + I) D^-1/2,
// A_eff[i, j] = sigmoid(w_p + alpha_p Hb_p) for the pair p = {i, j} (pruned pairs are removed).
// Edge parameters (w, alpha) are one per undirected pair, shared by every layer; the rule
// (theta_eta, A, B, D) is learned too. Hb and the node trace are state: Hb is advanced once per
// training step from the trace of the penultimate layer (the Hebbian rule of SPEC §8, one step of
// gradient to the rule parameters: K = 1 of the spec's optional unroll).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/optimizer.h"
#include "engine/safetensors.h"
#include "engine/tensor.h"
#include "models/gnn_graph.h"

namespace neuroai {

struct GnnConfig {
  int64_t in_features = 32;
  // One-hot identity input (Kipf & Welling 2017, featureless graphs): X = I_N, so in_features = N and
  // the first layer's weight is a learnable embedding per node. Forward takes no x; W^0 X is W^0.
  bool identity_input = false;
  int64_t hidden = 64;
  int64_t out = 4;  // classes (node task) or embedding width (link task)
  int layers = 2;   // GCN layers; all but the last use ReLU
  float w_init = 3.0f;      // edge logit (a ~ 0.95)
  // Hebbian gain per pair. SPEC §8 says 0; at 0 the trace has no say in a (and so in the pruning score)
  // until alpha has learned, so the default starts it at 2 (DECISION, issue #5 measurements).
  float alpha_init = 2.0f;
  float eta_init = 0.1f, rule_a = 1.0f, rule_b = 0.0f, rule_d = 0.0f;
  float trace_rate = 0.1f;  // lambda_n of the node trace
  float score_rate = 0.1f;  // lambda_s of the edge score EMA
  float edge_l1 = 0.0f;     // UGS-style L1 on a (lambda_a)
  uint64_t seed = 0;

  void validate() const;
  nlohmann::json to_json() const;
  static GnnConfig from_json(const nlohmann::json& j);
};

class GnnModel {
public:
  // Layer weights Glorot-uniform (seeded), biases 0; w = w_init, alpha = alpha_init, Hb = 0, score =
  // sigmoid(w_init), node trace 0.
  GnnModel(Backend& b, const GnnConfig& c, int32_t n, const EdgeList& pairs);

  const GnnConfig& config() const { return cfg_; }
  Backend& backend() const { return *b_; }
  const DeviceGraph& graph() const { return graph_; }
  int32_t nodes() const { return graph_.nodes(); }
  int64_t pairs() const { return graph_.pairs(); }

  // x (F_in, N) feature-major (an empty view with identity_input). train: advance Hb by the rule and keep the activations for backward()
  // (call update_state() after the optimizer step); eval: use the current Hb. Returns (out, N).
  const Tensor& forward(ConstDenseView x, bool train);
  // dout (out, N) = dL/d forward output; accumulates every parameter's gradient; dx (F_in, N) is
  // written when its data is not null.
  void backward(ConstDenseView dout, DenseView dx = {});
  void zero_grad();
  void step(const OptimConfig& opt, float lr, float edge_lr, int64_t t);
  // After a training step: Hb <- the step's Hb, score EMA of a, node trace EMA of the penultimate layer.
  void update_state();

  // Pruning: prune_smallest over the pairs' alive flags with `score` (P, on the backend) and n_prune,
  // then every per-pair array and the graph compacted on the backend. Returns the pairs removed.
  int64_t prune_pairs(const float* score, int64_t n_prune);

  // Parameters and state (tests, metrics).
  Param& layer_weight(int l) { return w_[l]; }
  Param& layer_bias(int l) { return bias_[l]; }
  Param& edge_w() { return ew_; }
  Param& edge_alpha() { return ealpha_; }
  Param& rule() { return rule_; }
  Buffer<float>& hebb() { return hb_; }
  Buffer<float>& score() { return score_; }
  Tensor& node_trace() { return trace_; }
  // Effective edge weights a (P) of the last forward.
  std::vector<float> edge_weights_host() const { return a_.to_host(); }
  std::vector<float> score_host() const { return score_.to_host(); }
  const Tensor& penultimate() const { return acts_[cfg_.layers - 1]; }

  // Checkpoint (prefix "gnn."): layer weights / biases, edge w, alpha, Hb, score, rule, pairs (I32 [P, 2]),
  // the original pair ids, the node trace; metadata "gnn.config" (JSON) and "gnn.nodes".
  void save(SafetensorsFile& f) const;
  static GnnModel load(Backend& b, const SafetensorsFile& f);

private:
  void edge_forward(bool train);

  Backend* b_ = nullptr;
  GnnConfig cfg_;
  DeviceGraph graph_;
  std::vector<int64_t> dims_;  // layers + 1 widths
  std::vector<Param> w_, bias_;  // (out, in), (out)
  Param ew_, ealpha_;            // (P)
  Param rule_;                   // (4) theta_eta, A, B, D
  Buffer<float> hb_, hb_next_, cos_, ssum_, a_, score_;  // (P)
  Buffer<float> grule_parts_;    // (P, 4)
  Buffer<float> ga_;             // (P)
  Buffer<float> v_, anorm_, g_;  // (E) effective values, normalized values, dL/danorm
  Buffer<float> dinv_;           // (N)
  Buffer<float> ones_;           // (N) for the bias
  Tensor trace_;                 // (hidden, N) node trace of the penultimate layer
  std::vector<Tensor> acts_;     // acts_[l] (dims_[l], N): input of layer l; acts_[layers] = output
  std::vector<Tensor> lin_;      // lin_[l] (dims_[l + 1], N) = W^l H^l + b^l (before aggregation)
  bool have_train_step_ = false;
};

}  // namespace neuroai
