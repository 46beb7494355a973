// Recurrent models with temporal cortical structure (SPEC §6): a leaky vanilla RNN or a GRU in the
// PyTorch/cuDNN form, units split into G phase groups on a ring whose cosine gate m_t (SPEC §6.2)
// decides how much of the cell's update each group takes at step t, and a linear readout. The input and
// recurrent weight matrices are prunable SparseLinear layers (dense first, CSR after the break-even);
// rows of a gate block are contiguous in both formats, so gate blocks can be pruned separately.
// Training is BPTT over the whole sequence; the pointwise work of a step is one backend op.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/optimizer.h"
#include "engine/sequence_tasks.h"
#include "engine/sparse_linear.h"
#include "engine/tensor.h"
#include "kernels/backend.h"

namespace neuroai {

enum class CellKind { Gru, Rnn };
const char* cell_name(CellKind c);             // "gru" / "rnn"
CellKind parse_cell(const std::string& name);  // Error lists the choices

struct RnnConfig {
  CellKind cell = CellKind::Gru;
  int64_t inputs = 1;
  int64_t hidden = 128;
  int64_t outputs = 1;
  SeqReadout readout = SeqReadout::RegressLast;
  int groups = 8;          // G phase groups (SPEC §6.2); unit i is in group floor(i G / H)
  float period = 16.0f;    // P in steps; omega = 2 pi / P
  float kappa = 0.0f;      // gate strength; 0 = the plain cell
  float alpha = 1.0f;      // leaky RNN alpha_f = dt / tau (1 = vanilla RNN); ignored by the GRU
  std::vector<float> group_alphas;  // leaky RNN: one alpha per group (multiple timescales); empty = alpha
  uint64_t seed = 1;

  // Error naming the field when a value is out of range.
  void validate() const;
  int gates() const { return cell == CellKind::Gru ? 3 : 1; }
  nlohmann::json to_json() const;
  static RnnConfig from_json(const nlohmann::json& j);
};

class RnnModel {
public:
  // Weights ~ U(-1/sqrt(H), 1/sqrt(H)) as torch.nn.GRU / nn.RNN initialise them (the readout like
  // nn.Linear), seeded.
  RnnModel(Backend& b, const RnnConfig& c);
  RnnModel(RnnModel&&) noexcept = default;
  RnnModel& operator=(RnnModel&&) noexcept = default;

  const RnnConfig& config() const { return cfg_; }
  Backend& backend() const { return *b_; }
  int64_t hidden() const { return cfg_.hidden; }
  int group_of(int64_t unit) const { return int(unit * cfg_.groups / cfg_.hidden); }
  // Phase of group g: 2 pi g / G.
  double group_phase(int g) const;
  // m_t (H) on the host: 1 - kappa (1 - cos(omega t + phi_g(i))) / 2, t = 0-based step.
  std::vector<float> gate_host(int64_t t) const;

  // x (T * B, inputs), time-major (row t * B + b). Runs the cell from h_0 = 0 and the readout;
  // returns (B, outputs) for the *Last readouts, (T * B, outputs) for RegressEach. Keeps what the
  // backward pass needs; zeroes hidden_grad().
  ConstDenseView forward(ConstDenseView x, int64_t steps, int64_t batch);
  int64_t steps() const { return steps_; }
  int64_t batch() const { return batch_; }
  // h_1 .. h_T of the last forward, (T * B, H) time-major.
  ConstDenseView hidden_states() const;
  // h_0 .. h_{T-1}: the presynaptic activity of W_hh, (T * B, H).
  ConstDenseView previous_states() const;
  // dL/dh_t for t = 1..T, (T * B, H), zero after forward(): regularizers add their terms here.
  DenseView hidden_grad();
  // BPTT: dout is the loss gradient w.r.t. forward's output. Accumulates every parameter's gradient.
  void backward(ConstDenseView dout);

  void zero_grad();
  // Global gradient norm over all parameters (reduce SumSquares per parameter, one download); when
  // max_norm > 0 and the norm exceeds it, every gradient is scaled by max_norm / norm. Returns the norm
  // before clipping.
  double clip_grad_norm(float max_norm);
  void step(const OptimConfig& cfg, float lr, int64_t t);

  // SPEC §6.4 relevance traces r_j <- beta r_j + (1 - beta) mean_{b,t} x_j(t)^2 with x = x_t for W_ih
  // and x = h_{t-1} for W_hh, from the last forward.
  void update_relevance(float beta);
  std::vector<float> relevance_ih_host() const { return rel_ih_.to_host(); }  // (inputs)
  std::vector<float> relevance_hh_host() const { return rel_hh_.to_host(); }  // (H)
  // Restores both traces (--resume); Error when a size does not fit.
  void set_relevance_host(const std::vector<float>& ih, const std::vector<float>& hh);
  // SPEC §6.3 hidden-state trace e_t = lambda e_{t-1} + (1 - lambda) mean_b h_t over the last forward
  // (trace_update op; reset to 0 at each forward), lambda = 0.9.
  std::vector<float> activity_trace_host() const { return trace_.to_host(); }

  SparseLinear& ih() { return ih_; }      // W_ih (gates H, inputs), biases b_ih
  SparseLinear& hh() { return hh_; }      // W_hh (gates H, H), biases b_hh
  SparseLinear& head() { return head_; }  // readout (outputs, H)
  const SparseLinear& ih() const { return ih_; }
  const SparseLinear& hh() const { return hh_; }
  const SparseLinear& head() const { return head_; }

  // Checkpoint: rnn.weight_ih, rnn.weight_hh (dense F32, with ".mask" U8 when pruned, or CSR triplets
  // ".crow_indices", ".col_indices", ".values" with the shape in metadata "<name>.shape"), rnn.bias_ih,
  // rnn.bias_hh, head.weight, head.bias; metadata "family" = "rnn", "config" = to_json(), plus extra.
  // Written atomically.
  void save(const std::string& path, const std::map<std::string, std::string>& extra = {}) const;
  static RnnModel load(Backend& b, const std::string& path, std::map<std::string, std::string>* metadata = nullptr);

private:
  void ensure_buffers(int64_t steps, int64_t batch);
  ConstDenseView head_input() const;

  Backend* b_ = nullptr;
  RnnConfig cfg_;
  SparseLinear ih_, hh_, head_;
  int64_t steps_ = 0, batch_ = 0;
  ConstDenseView x_;     // the last forward's input (T * B, inputs), owned by the caller
  Buffer<float> alpha_;  // (H) leaky RNN only
  Tensor gate_;          // (T, H) when kappa != 0
  Tensor gi_;            // (T * B, gates H) x W_ih^T + b_ih
  Tensor gh_;            // (B, gates H) h_{t-1} W_hh^T + b_hh, one step at a time
  Tensor hs_;            // ((T + 1) * B, H): h_0 = 0, h_1 .. h_T
  Tensor saved_;         // (T * B, 4H) GRU [r | z | n | gh_n], (T * B, H) RNN h~
  Tensor out_;           // (B or T * B, outputs)
  Tensor dhs_;           // (T * B, H) dL/dh_t from the readout and regularizers
  Tensor dgi_;           // (T * B, gates H)
  Tensor dgh_;           // (B, gates H)
  Tensor dh_, dh_prev_;  // (B, H) the carried gradient
  Buffer<float> rel_ih_, rel_hh_, trace_;
  Buffer<float> norms_;  // (6) squared gradient norms
};

}  // namespace neuroai
