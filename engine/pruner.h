// Magnitude pruning of SparseLinear layers (SPEC §2.1, §2.3-2.5, §6.4): when to prune (gradual cubic
// schedule, one-shot, iterative rounds with rewinding), how the target is allocated (per layer, one
// global ranking, per tile of the post-synaptic sheet, or per block of rows such as a recurrent
// layer's gate blocks) and what is ranked (|W|, optionally divided by 1 + distance_weight * wiring
// length, or a layer's own score such as the RNN's temporal relevance).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/safetensors.h"
#include "engine/schedule.h"
#include "engine/sparse_linear.h"

namespace neuroai {

// Gradual: the cubic schedule of SPEC §2.3; Iterative: lottery-ticket rounds with rewinding; OneShot: all
// at once; Fraction: `rate` of the remaining entries every `every` steps from `start` until `sparsity`.
enum class PruneMethod { None, Gradual, Iterative, OneShot, Fraction };
enum class PruneAllocation { Layerwise, Global, Tile, RowBlock };

struct PruneConfig {
  PruneMethod method = PruneMethod::Gradual;
  double sparsity = 0.9;            // final target
  double start = 0.05, end = 0.75;  // fractions of training (gradual); one-shot prunes at `start`
  int64_t every = 100;              // steps between prune events (gradual, fraction; gradual: capped at the window)
  PruneAllocation allocation = PruneAllocation::Layerwise;
  int tile = 4;                  // tile allocation: tile x tile blocks of the post-synaptic sheet
  double distance_weight = 0.0;  // > 0: score = |W| / (1 + distance_weight * l_ij) (SPEC §5 d2 wiring length)
  int rounds = 5;                // iterative (lottery ticket) mode
  double rate = 0.2;             // of the remaining weights per round (iterative: the output layer at rate / 2)
                                 // or per event (fraction)
  int64_t rewind_step = 0;
};

// Sheets are {1, n} for layers that are not sheets.
struct PrunableLayer {
  SparseLinear* layer = nullptr;
  Sheet in_sheet{};
  Sheet out_sheet{};
  bool is_output = false;
  // RowBlock allocation: the layer's rows form this many equal blocks (a GRU's r, z, n gates), each
  // pruned to the target on its own.
  int64_t row_blocks = 1;
  // When set, what is ranked instead of |W| (and of the distance score): one value per stored entry
  // in the layer's storage order (dense: out * in, CSR: nnz), on the layer's backend. Called at
  // each prune event, so it sees the weights and traces of that moment.
  std::function<Buffer<float>()> score = nullptr;
};

class Pruner {
public:
  Pruner(const PruneConfig& cfg, int64_t total_steps);

  // Called after each optimizer step with step = the number of steps done (call it once with step 0
  // before training when a snapshot of the initial weights is wanted). Gradual: prunes to target_at(step)
  // on the schedule's prune steps. One-shot: prunes to `sparsity` at step round(start * total_steps).
  // Iterative: snapshots the weights at the first call with step >= rewind_step; rounds are driven by
  // the trainer (prune_round, rewind). Returns true if anything was pruned.
  bool on_step(int64_t step, std::span<PrunableLayer> layers);
  // Prunes every layer to the given sparsity now, with the configured allocation and scores (counts,
  // not thresholds: round(s * n) pruned entries per layer, tile or global pool; masks monotone).
  // Global: the non-output layers share one ranking that reaches s over all of them, each keeping a
  // density of at least 2%; output layers are pruned on their own to s / 2 (all layers are ranked
  // together at s when every layer is an output layer).
  void prune_to(double sparsity, std::span<PrunableLayer> layers);
  double target_at(int64_t step) const;
  // The schedule alone, for a family whose prunable entries are not SparseLinear layers (the GNN's
  // edges): how many of n_total entries, n_alive of them alive, the event at `step` removes (0 when
  // `step` is no prune step). Gradual and one-shot: to round(target * n_total) pruned; fraction:
  // max(1, round(rate * n_alive)), at most to round(sparsity * n_total); iterative and none: 0.
  int64_t count_at(int64_t step, int64_t n_total, int64_t n_alive) const;

  // Iterative magnitude pruning: round r (1-based, counted here) prunes each layer to sparsity
  // 1 - (1 - rate)^r (output layers: 1 - (1 - rate / 2)^r), i.e. `rate` of the remaining weights.
  void prune_round(std::span<PrunableLayer> layers);
  int rounds_done() const { return rounds_done_; }
  // Keeps a host copy of every layer's weights and bias (theta_k for rewinding).
  void snapshot(std::span<PrunableLayer> layers);
  bool has_snapshot() const { return !snap_w_.empty(); }
  // Restores the surviving weights and the biases to the snapshot (pruned entries stay 0) and zeroes
  // the optimizer moments and grads.
  void rewind(std::span<PrunableLayer> layers);

  // For --resume: rounds done (metadata prefix + "rounds_done") and the snapshot (F32 prefix +
  // "snapshot.{i}.weight" (out * in, dense) / ".bias"), and their restoration onto `layers` (the same
  // layers, in the same order, as when saved); Error naming the tensor when a size does not fit.
  void save_state(SafetensorsFile& f, const std::string& prefix) const;
  void load_state(const SafetensorsFile& f, const std::string& prefix, std::span<PrunableLayer> layers);

  const PruneConfig& config() const { return cfg_; }
  const GmpSchedule& schedule() const { return sched_; }
  // 1 - sum nnz / sum (in * out) over the layers.
  static double sparsity_of(std::span<const PrunableLayer> layers);

private:
  PruneConfig cfg_;
  int64_t total_steps_ = 0;
  GmpSchedule sched_;
  int64_t one_shot_step_ = 0;
  int rounds_done_ = 0;
  std::vector<const SparseLinear*> snap_layers_;
  std::vector<std::vector<float>> snap_w_, snap_b_;
};

// Scores |W_ij| / (1 + distance_weight * l_ij) in the layer's current storage order (dense: out * in;
// CSR: nnz), l_ij = sqrt(dx^2 + dy^2 + 1) between post unit i and pre unit j with both sheets scaled to
// [0, 1]^2 and stacked one unit apart (SPEC §5 d2). Host arithmetic; the result lives on the backend.
Buffer<float> distance_scores(const PrunableLayer& l, double distance_weight);

}  // namespace neuroai
