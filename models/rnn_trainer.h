// Training and evaluation of the recurrent models (issue #4): sequence tasks, BPTT with gradient
// clipping by global norm, Adam/SGD on the LR schedule, IDR on the hidden states with (batch, time) as
// samples, gradual pruning of W_ih and W_hh per gate block by temporal activity relevance (SPEC §6.4) or
// magnitude, the dense -> CSR hand-off, per-epoch evaluation with the temporal metrics of SPEC §10 into
// RUN_DIR/metrics.jsonl and RUN_DIR/model.safetensors as the last good checkpoint.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/optimizer.h"
#include "engine/regularizers.h"
#include "engine/sequence_tasks.h"
#include "models/rnn.h"

namespace neuroai {

enum class PruneScore { Relevance, Magnitude };
PruneScore parse_prune_score(const std::string& s);  // "relevance" | "magnitude"
const char* prune_score_name(PruneScore s);

// Where the sequences come from (issue #4 task names).
struct SeqTaskConfig {
  std::string task = "seq-fashion";  // seq-fashion | adding | sines
  int64_t seq_len = 0;               // 0: task default (seq-fashion 28, adding 100, sines 64)
  std::string data_dir;              // seq-fashion; empty = the Fashion-MNIST default
  int64_t train_limit = 0;           // 0: all (seq-fashion) / 10000 (adding, sines)
  int64_t test_limit = 0;            // 0: all (seq-fashion) / 2000 (adding, sines)
  uint64_t seed = 0;                 // synthetic tasks
};

// The "preprocessing" metadata of a checkpoint trained on `task`: what eval (or another framework)
// applies to raw inputs, e.g. {"input":"...","standardize":{"mean":72.9,"std":90.0}}.
nlohmann::json seq_preprocessing_json(const SeqTask& task);

// Builds the task (loads and standardizes Fashion-MNIST for seq-fashion: with `standardization` =
// (mean, std) when given, as a checkpoint records it, else with the training set's own statistics).
// Error when the sequence length does not fit the task (seq-fashion is 28 rows) or is < 1.
SeqTask make_seq_task(const SeqTaskConfig& c, std::optional<std::pair<float, float>> standardization = {});

struct RnnTrainConfig {
  std::string out_dir = "runs/rnn";
  int epochs = 5;
  int64_t batch = 128;
  uint64_t seed = 0;
  OptimConfig optim;
  LrConfig lr;
  float clip = 1.0f;  // max global gradient norm; 0 = off
  // Pruning: gradual (SPEC §2.3) to `sparsity` over [prune_start, prune_end] of training, every
  // prune_every steps, ranked per gate block of W_ih and W_hh (readout never pruned).
  double sparsity = 0.0;
  PruneScore score = PruneScore::Relevance;
  double prune_start = 0.05, prune_end = 0.75;
  int64_t prune_every = 100;
  bool per_gate_block = true;      // false: one ranking per matrix
  float relevance_beta = 0.99f;    // SPEC §6.4 beta
  HandoffPolicy handoff;           // W_ih and W_hh (--sparse-format, --switch-density); the readout stays dense
  IdrConfig idr;                   // on the hidden states, (batch, time) as samples
  // SPEC §6.4 structured merge after every epoch: units of the same phase group whose activity traces
  // over (b, t) on merge_probe training sequences have cosine >= merge_threshold.
  bool merge = false;
  float merge_threshold = 0.95f;
  float merge_max_fraction = 0.10f;
  int64_t merge_probe = 128;
  int64_t eval_batch = 500;
  int64_t metric_sequences = 256;  // test sequences for the activity metrics
  bool quiet = false;
  std::string label = "train rnn";
  std::string config_toml;  // written as out_dir/config.toml by a fresh run (RunSpec)
  std::map<std::string, std::string> extra_metadata;  // stored in the checkpoint
  // Continue from out_dir/state.safetensors (written after every epoch: the three layers in their current
  // form with masks and moments, the relevance traces, the step) when it exists; metrics.jsonl is cut
  // back to its epoch. Error, with nothing in out_dir changed, when the state is corrupt or was saved
  // under another configuration.
  bool resume = false;

  void validate() const;
};

struct RnnEval {
  int64_t n = 0;
  double loss = 0.0;
  double acc = -1.0;  // classification only
  double mse = -1.0;  // regression only
  // SPEC §10 temporal metrics on the hidden states of the first metric sequences ((b, t) samples).
  double participation_ratio = 0.0, activation_sparsity = 0.0;
  double within_group_cos = 0.0, between_group_cos = 0.0;
  double phase_agreement = 0.0, vector_strength = 0.0;
  double hh_r_in = 0.0, hh_r_out = 0.0;  // kept fraction of within- / between-group recurrent synapses
  nlohmann::json to_json() const;
};

struct RnnTrainResult {
  RnnEval final_eval;
  int epochs_done = 0;
  int64_t steps = 0;
  double train_seconds = 0.0;
  std::string checkpoint;
};

// Loss (and accuracy or MSE) over the whole test set in batches, and the activity metrics.
RnnEval evaluate_rnn(RnnModel& model, const SeqTask& task, const SeqSet& set, int64_t eval_batch,
                     int64_t metric_sequences);

// One pruning event: every gate block (or matrix) of W_ih and W_hh brought to `sparsity` by the
// score; then apply_pruning (which may hand a layer over to CSR). Exposed for tests.
void prune_rnn(RnnModel& model, double sparsity, PruneScore score, bool per_gate_block);

struct RnnMergeStats {
  int64_t alive_before = 0, merged = 0, dead = 0;
};
// Units currently alive: those whose readout column still has an alive weight.
std::vector<uint8_t> rnn_alive_units(const RnnModel& model);
// One merge cycle (SPEC §2.7 inside phase groups, §6.4): acts (n, H) are the hidden states of the probe,
// (b, t) samples. Dead units (|a_j| < 1e-6) go first; then pairs of the same group with cosine >= tau in
// descending order (ties: lower (i, j)): the weaker unit j is removed and its outgoing weights, scaled
// by s = |a_j| / |a_i|, are added to unit i's (columns of W_hh in every gate block and of the readout, at
// alive entries); row j of every gate block of W_ih and W_hh (biases included) and column j are removed.
// At most max_fraction of the alive units per call.
RnnMergeStats merge_rnn_units(RnnModel& model, const std::vector<float>& acts, int64_t n, float tau,
                              float max_fraction);

// Trains a freshly initialized model on the task (or, with cfg.resume, continues from the saved state)
// and writes RUN_DIR. A non-finite loss or gradient stops training with an Error naming the epoch and
// step; what was written before stays.
RnnTrainResult train_rnn(Backend& b, const RnnConfig& model_cfg, const RnnTrainConfig& cfg, const SeqTask& task);

}  // namespace neuroai
