// Magnitude pruning on the CPU: gather the alive entries' keys (|score| bits, global index), find the
// n_prune-th smallest with std::nth_element, clear every alive entry whose key is not larger.
// Keys are unique (the global index breaks ties), so exactly n_prune entries are cleared.
#include <algorithm>
#include <compare>
#include <limits>
#include <memory>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/inhibition_math.h"

namespace neuroai::cpu {

namespace {

// (|score| bits, global index) packed into one word while the global index fits in 32 bits.
struct PackedKey {
  uint64_t v;
  static PackedKey make(uint32_t mag, int64_t gidx) { return {(uint64_t(mag) << 32) | uint64_t(gidx)}; }
  auto operator<=>(const PackedKey&) const = default;
};

struct WideKey {
  uint32_t mag;
  int64_t gidx;
  static WideKey make(uint32_t mag, int64_t gidx) { return {mag, gidx}; }
  auto operator<=>(const WideKey&) const = default;
};

template <class Key>
void prune_with(std::span<const PruneTarget> targets, const std::vector<int64_t>& offset, int64_t n_prune,
                Key* keys) {
  // Global index = target offset + flat index: one ranking over the concatenated targets.
  int64_t n_alive = 0;
  for (size_t t = 0; t < targets.size(); ++t) {
    const PruneTarget& g = targets[t];
    for (int64_t i = 0; i < g.n; ++i)
      if (g.alive[i]) keys[n_alive++] = Key::make(prune_key(g.score[i]), offset[t] + i);
  }
  std::nth_element(keys, keys + (n_prune - 1), keys + n_alive);
  const Key last = keys[n_prune - 1];
  for (size_t t = 0; t < targets.size(); ++t) {
    const PruneTarget& g = targets[t];
    const int64_t base = offset[t];
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < g.n; ++i)
      if (g.alive[i] && !(last < Key::make(prune_key(g.score[i]), base + i))) g.alive[i] = 0;
  }
}

}  // namespace

void CpuBackend::prune_smallest_impl(std::span<const PruneTarget> targets, int64_t n_prune) {
  std::vector<int64_t> offset(targets.size() + 1, 0);
  int64_t n_alive = 0;
  for (size_t t = 0; t < targets.size(); ++t) {
    offset[t + 1] = offset[t] + targets[t].n;
    n_alive += count_nonzero_impl(targets[t].alive, targets[t].n);
  }
  // Fresh memory rather than scratch(): pruning is rare and its key array is large, so it should
  // not stay allocated between calls.
  if (offset.back() <= int64_t(std::numeric_limits<uint32_t>::max())) {
    prune_with(targets, offset, n_prune, std::make_unique_for_overwrite<PackedKey[]>(n_alive).get());
  } else {
    prune_with(targets, offset, n_prune, std::make_unique_for_overwrite<WideKey[]>(n_alive).get());
  }
}

// Counted in chunks with a 32-bit count: a 64-bit sum of bytes makes GCC widen each byte through
// four steps and runs at a quarter of the speed.
int64_t CpuBackend::count_nonzero_impl(const uint8_t* flags, int64_t n) {
  constexpr int64_t kChunk = 1 << 16;
  int64_t count = 0;
#pragma omp parallel for reduction(+ : count) schedule(static)
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t c1 = std::min(n, c0 + kChunk);
    uint32_t c = 0;
#pragma omp simd reduction(+ : c)
    for (int64_t i = c0; i < c1; ++i) c += flags[i] != 0 ? 1u : 0u;
    count += c;
  }
  return count;
}

}  // namespace neuroai::cpu
