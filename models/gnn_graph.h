// An undirected graph on a backend for the GCN (SPEC §8): a symmetric CSR pattern (N x N) holding both
// directions of each of its P node pairs and every self-loop, with per-entry and per-pair index
// arrays so that one parameter set per undirected pair drives both stored directions, and pruning
// removes both directions together and re-compacts everything on the backend.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/graph_metrics.h"
#include "engine/tensor.h"
#include "kernels/backend.h"

namespace neuroai {

class DeviceGraph {
public:
  DeviceGraph() = default;
  // pairs: (u, v) with u < v < n, unique (any order; stored sorted). Built on the host once. ids
  // (one per pair, or empty = the position in `pairs`) become pair_id().
  DeviceGraph(Backend& b, int32_t n, const EdgeList& pairs, const std::vector<int32_t>& ids = {});
  DeviceGraph(DeviceGraph&&) noexcept = default;
  DeviceGraph& operator=(DeviceGraph&&) noexcept = default;

  int32_t nodes() const { return n_; }
  int64_t pairs() const { return n_pairs_; }
  int64_t entries() const { return n_entries_; }  // 2 P + N
  // The pattern with the given per-entry values (E).
  ConstCsrView csr(const float* values) const;

  const int32_t* entry_pair() const { return entry_pair_.data(); }  // (E) pair of the entry, -1 on the diagonal
  const int32_t* mirror() const { return mirror_.data(); }          // (E) entry (j, i) of entry (i, j)
  const int32_t* pair_u() const { return pair_u_.data(); }          // (P)
  const int32_t* pair_v() const { return pair_v_.data(); }          // (P)
  const int32_t* pair_e1() const { return pair_e1_.data(); }        // (P) entry (u, v)
  const int32_t* pair_e2() const { return pair_e2_.data(); }        // (P) entry (v, u)
  const int32_t* pair_id() const { return pair_id_.data(); }        // (P) index of the pair in the original list

  // Keeps the pairs with alive[p] != 0 (self-loops always stay): the pattern, per-entry and per-pair
  // arrays are compacted on the backend (scan_flags, compact_*, csr_compact_indptr, remap_indices).
  // pos (P + 1) receives the pairs' scan, for the caller's per-pair arrays (compact with alive, pos).
  // Returns the new pair count.
  int64_t compact(const uint8_t* alive, Buffer<int32_t>& pos);

  // Host copies (metrics, checkpoints, tests).
  EdgeList pairs_host() const;
  std::vector<int32_t> pair_id_host() const { return pair_id_.to_host(); }
  std::vector<int32_t> indptr_host() const { return indptr_.to_host(); }
  std::vector<int32_t> indices_host() const { return indices_.to_host(); }
  std::vector<int32_t> entry_pair_host() const { return entry_pair_.to_host(); }
  std::vector<int32_t> mirror_host() const { return mirror_.to_host(); }
  std::vector<int32_t> pair_e1_host() const { return pair_e1_.to_host(); }
  std::vector<int32_t> pair_e2_host() const { return pair_e2_.to_host(); }

private:
  Backend* b_ = nullptr;
  int32_t n_ = 0;
  int64_t n_pairs_ = 0, n_entries_ = 0;
  Buffer<int32_t> indptr_;      // (N + 1)
  Buffer<int32_t> indices_;     // (E)
  Buffer<int32_t> entry_pair_;  // (E)
  Buffer<int32_t> mirror_;      // (E)
  Buffer<int32_t> pair_u_, pair_v_, pair_e1_, pair_e2_, pair_id_;  // (P)
};

}  // namespace neuroai
