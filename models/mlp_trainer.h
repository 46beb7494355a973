// Training and evaluation of the MLP (issue #3): seeded shuffling, minibatches uploaded per step,
// softmax cross-entropy plus the activity regularizers, optimizer step on the LR schedule, magnitude
// pruning, the dense -> CSR hand-off, optional neuron merging, evaluation every epoch into
// RUN_DIR/metrics.jsonl and RUN_DIR/model.safetensors as the last good checkpoint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/dataset.h"
#include "engine/neuron_merge.h"
#include "engine/optimizer.h"
#include "engine/pruner.h"
#include "engine/regularizers.h"
#include "models/mlp.h"

namespace neuroai {

struct TrainConfig {
  std::string out_dir = "runs/mlp";
  int epochs = 10;  // iterative pruning: per round (rounds + 1 training phases)
  int64_t batch = 128;
  uint64_t seed = 0;
  OptimConfig optim;
  LrConfig lr;
  PruneConfig prune;
  HandoffPolicy handoff;  // --sparse-format, --switch-density (every layer)
  IdrConfig idr;
  SpatialLossConfig spatial;
  bool merge = false;  // SPEC §2.7 after every epoch
  MergeConfig merge_cfg;
  int64_t eval_batch = 1000;
  int64_t metric_samples = 2000;  // test samples for the activity metrics (all when fewer)
  bool quiet = false;
  std::string label = "train mlp";
  std::string config_toml;  // written as out_dir/config.toml by a fresh run (RunSpec)
  // Continue from out_dir/state.safetensors (written after every epoch) when it exists; the metrics
  // logs are cut back to its epoch. The state holds the layers (current form, masks, moments), the
  // pruner's rounds and rewind snapshot, the spatial loss samplers and the step.
  bool resume = false;

  // Error with one clear message for an impossible option (sparsity outside [0, 1), ...).
  void validate() const;
};

struct LayerInfo {
  std::string name;
  int64_t out = 0, in = 0, nnz = 0;
  double density = 1.0;
  std::string format;
  int64_t handoff_step = -1;  // step at which it went to CSR (-1: never or from the start)
};

struct EvalResult {
  int64_t n = 0;
  double loss = 0.0, acc = 0.0;
  // Activity metrics on the last hidden layer's output over the first metric samples.
  double activation_sparsity = 0.0, participation_ratio = 0.0, neighbour_corr = 0.0;
  // SPEC §10 rho_sp = 1 - SL over 32 seeded radius-5 neighbourhoods; _global: over all unit pairs (of
  // at most 256 sampled units), which distant pairs dominate.
  double spatial_corr = 0.0, spatial_corr_global = 0.0;
  double hoyer = 0.0, treves_rolls = 0.0, effective_usage = 0.0;
  // Dimensionality (SPEC §10): n90 and effective rank of the covariance spectrum, TwoNN intrinsic dimension.
  int64_t n90 = 0;
  double effective_rank = 0.0, twonn_id = 0.0;
  // The covariance split by test label (metrics.h class_covariance_split).
  double between_class_share = 0.0, pr_between_class = 0.0, pr_within_class = 0.0;
};

struct TrainResult {
  EvalResult final_eval;
  int epochs_done = 0;
  int64_t steps = 0;
  std::vector<LayerInfo> layers;
  double step_ms_dense = 0.0;  // mean step time before the first CSR hand-off (0: no such steps)
  double step_ms_csr = 0.0;    // mean step time after the last CSR hand-off (0: no hand-off)
  double train_seconds = 0.0;
  std::string checkpoint;
};

// Test loss and accuracy in batches of eval_batch; metrics over the first metric_samples samples
// (0: none).
EvalResult evaluate(Mlp& model, const Dataset& test, int64_t eval_batch, int64_t metric_samples);
std::vector<LayerInfo> layer_infos(const Mlp& model);

// Trains a freshly initialized model of model_cfg (or, with cfg.resume, the state saved in
// out_dir/state.safetensors) on data (already standardized; model_cfg carries
// the mean and std used) and writes RUN_DIR. A non-finite loss stops training with an Error naming the
// step and the first layer whose values became non-finite; the last good checkpoint stays.
TrainResult train_mlp(Backend& b, const MlpConfig& model_cfg, const TrainConfig& cfg, const DataSplit& data);

}  // namespace neuroai
