// Structured neuron pruning by cosine similarity with merging (SPEC §2.7; Neuron Merging, Kim et al.
// 2020), tile-local on a cortical sheet: inside each t x t tile, pairs of units whose activations on a
// probe set have cosine >= tau are merged (the weaker unit's outgoing weights, scaled by the ratio of
// activation norms, are added to the stronger unit's), and dead units are removed.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/sparse_linear.h"
#include "kernels/backend.h"

namespace neuroai {

struct MergeConfig {
  int tile = 4;                // tiles of tile x tile units (edge tiles clipped)
  float threshold = 0.95f;     // tau
  float dead_norm = 1e-6f;     // |a_j| below this: dead unit
  float max_fraction = 0.10f;  // at most this fraction of the alive units removed per call
  int64_t probe = 1024;        // probe samples (training set), used by the caller
};

struct MergeStats {
  int64_t alive_before = 0;
  int64_t merged = 0;   // removed by merging into a similar unit
  int64_t dead = 0;     // removed as dead
  int64_t removed() const { return merged + dead; }
};

// A unit of the sheet counts as removed when its column of next's weight has no alive entry.
std::vector<uint8_t> alive_units(const SparseLinear& next);

// One merge cycle on the sheet produced by `layer` (out = sheet units) and read by `next`
// (in = sheet units). acts (P, N) are the sheet's outputs on the probe set (host, row-major).
// For each removed unit j (kept unit i, s = |a_j| / |a_i|): V[:, i] += s V[:, j] at the alive entries of
// column i (pruned entries of V stay pruned), then row j of W, b_j and column j of V are removed.
// Dead units are removed first (they change nothing), then pairs by descending cosine (ties: lower
// (i, j)); the cap counts both.
MergeStats merge_neurons(SparseLinear& layer, SparseLinear& next, Sheet sheet, const std::vector<float>& acts,
                         int64_t probe, const MergeConfig& cfg);

}  // namespace neuroai
