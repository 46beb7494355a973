// Tile-local neuron merging (SPEC §2.7): which units go, what the next layer's weights become, and
// that the merged network computes the same next-layer input when a_j = s a_i exactly.
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "backend_fixture.h"
#include "engine/neuron_merge.h"
#include "engine/sparse_linear.h"

namespace neuroai {
namespace {

constexpr int64_t kProbe = 12;
const Sheet kSheet{4, 4};  // 16 units; tile 2 -> four 2 x 2 tiles

// Probe activations (P, 16): independent random columns, then planted relations.
std::vector<float> base_acts(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);  // unrelated columns have |cos| << 0.95
  std::vector<float> a(size_t(kProbe * 16));
  for (auto& x : a) x = u(rng);
  return a;
}
void set_col(std::vector<float>& a, int64_t j, int64_t from, float s) {
  for (int64_t p = 0; p < kProbe; ++p) a[size_t(p * 16 + j)] = s * a[size_t(p * 16 + from)];
}

// z (P, out) = acts V^T: what the next layer receives (without its bias).
std::vector<double> next_input(const std::vector<float>& acts, const std::vector<float>& v, int64_t out) {
  std::vector<double> z(size_t(kProbe * out), 0.0);
  for (int64_t p = 0; p < kProbe; ++p)
    for (int64_t r = 0; r < out; ++r)
      for (int64_t k = 0; k < 16; ++k) z[size_t(p * out + r)] += double(v[size_t(r * 16 + k)]) * acts[size_t(p * 16 + k)];
  return z;
}

class NeuronMerge : public testing::BackendTest {};

TEST_P(NeuronMerge, MergesScaledCopyInsideATileExactly) {
  SparseLinear w(be(), 5, 16, 1, true, "w"), v(be(), 16, 3, 2, true, "v");
  auto acts = base_acts(3);
  set_col(acts, 1, 0, 0.5f);  // unit 1 = 0.5 * unit 0, same tile (0,0)-(1,1): 1 merges into 0, s = 0.5
  MergeConfig cfg;
  cfg.tile = 2;
  cfg.max_fraction = 1.0f;
  const auto v0 = v.weight_dense_host();
  const auto z0 = next_input(acts, v0, 3);
  const MergeStats st = merge_neurons(w, v, kSheet, acts, kProbe, cfg);
  EXPECT_EQ(st.alive_before, 16);
  EXPECT_EQ(st.merged, 1);
  EXPECT_EQ(st.dead, 0);
  const auto v1 = v.weight_dense_host();
  for (int64_t r = 0; r < 3; ++r) {
    EXPECT_NEAR(v1[size_t(r * 16 + 0)], v0[size_t(r * 16 + 0)] + 0.5f * v0[size_t(r * 16 + 1)], 1e-6);
    EXPECT_EQ(v1[size_t(r * 16 + 1)], 0.0f);
  }
  // Removed unit: row of W and its bias gone, column of V masked.
  const auto wm = w.mask_dense_host();
  for (int64_t c = 0; c < 5; ++c) EXPECT_EQ(wm[size_t(1 * 5 + c)], 0);
  EXPECT_EQ(w.bias_host()[1], 0.0f);
  auto alive = alive_units(v);
  EXPECT_EQ(alive[1], 0);
  EXPECT_EQ(std::count(alive.begin(), alive.end(), 1), 15);
  // The next layer receives the same input, with unit 1 silent afterwards.
  auto acts1 = acts;
  for (int64_t p = 0; p < kProbe; ++p) acts1[size_t(p * 16 + 1)] = 0.0f;
  const auto z1 = next_input(acts1, v1, 3);
  double max_ref = 0.0;
  for (size_t i = 0; i < z0.size(); ++i) {
    EXPECT_NEAR(z1[i], z0[i], 1e-5);
    max_ref = std::max(max_ref, std::abs(z0[i]));
  }
  EXPECT_GT(max_ref, 0.0);
}

TEST_P(NeuronMerge, NoMergeAcrossTilesAndDeadUnitsRemoved) {
  SparseLinear w(be(), 5, 16, 3, true, "w"), v(be(), 16, 3, 4, true, "v");
  auto acts = base_acts(4);
  set_col(acts, 2, 0, 1.0f);  // unit 2 at (0,2) copies unit 0 at (0,0): different 2 x 2 tiles
  set_col(acts, 9, 9, 0.0f);  // unit 9 is dead
  MergeConfig cfg;
  cfg.tile = 2;
  cfg.max_fraction = 1.0f;
  const auto v0 = v.weight_dense_host();
  const MergeStats st = merge_neurons(w, v, kSheet, acts, kProbe, cfg);
  EXPECT_EQ(st.merged, 0);
  EXPECT_EQ(st.dead, 1);
  const auto alive = alive_units(v);
  EXPECT_EQ(alive[9], 0);
  EXPECT_EQ(alive[0], 1);
  EXPECT_EQ(alive[2], 1);
  const auto v1 = v.weight_dense_host();
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t k = 0; k < 16; ++k) EXPECT_EQ(v1[size_t(r * 16 + k)], k == 9 ? 0.0f : v0[size_t(r * 16 + k)]);
  // With 4 x 4 tiles the copy is inside one tile and merges.
  cfg.tile = 4;
  EXPECT_EQ(merge_neurons(w, v, kSheet, acts, kProbe, cfg).merged, 1);
  // Nothing left to do: a second cycle removes nothing.
  const MergeStats again = merge_neurons(w, v, kSheet, acts, kProbe, cfg);
  EXPECT_EQ(again.removed(), 0);
  EXPECT_EQ(again.alive_before, 14);
}

TEST_P(NeuronMerge, CapAndPrunedEntriesStayPruned) {
  SparseLinear w(be(), 5, 16, 5, true, "w"), v(be(), 16, 3, 6, true, "v");
  // Prune V(0, 0): the kept unit's pruned entry must not be regrown by the merge.
  auto vw = v.weight_dense_host();
  std::vector<uint8_t> mask(vw.size(), 1);
  mask[0] = 0;
  v.set_weight_dense_host(vw, mask);
  auto acts = base_acts(5);
  set_col(acts, 1, 0, 0.5f);
  set_col(acts, 4, 5, 0.25f);  // (1,0) = 0.25 * (1,1): same tile
  set_col(acts, 10, 11, 0.9f);
  MergeConfig cfg;
  cfg.tile = 2;
  cfg.max_fraction = 0.13f;  // floor(0.13 * 16) = 2 removals
  const MergeStats st = merge_neurons(w, v, kSheet, acts, kProbe, cfg);
  EXPECT_EQ(st.removed(), 2);
  EXPECT_EQ(v.mask_dense_host()[0], 0);
  EXPECT_EQ(v.weight_dense_host()[0], 0.0f);
}

TEST_P(NeuronMerge, RefusesMismatchedShapes) {
  SparseLinear w(be(), 5, 16, 1), v(be(), 15, 3, 2);
  auto acts = base_acts(1);
  EXPECT_THROW(merge_neurons(w, v, kSheet, acts, kProbe, MergeConfig{}), Error);
  SparseLinear v2(be(), 16, 3, 2);
  EXPECT_THROW(merge_neurons(w, v2, kSheet, acts, kProbe - 1, MergeConfig{}), Error);
}

NEUROAI_INSTANTIATE_BACKENDS(NeuronMerge);

}  // namespace
}  // namespace neuroai
