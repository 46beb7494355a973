#include "engine/neuron_merge.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "kernels/error.h"

namespace neuroai {

std::vector<uint8_t> alive_units(const SparseLinear& next) {
  const auto m = next.mask_dense_host();  // (out, in)
  std::vector<uint8_t> alive(size_t(next.in()), 0);
  for (int64_t r = 0; r < next.out(); ++r)
    for (int64_t j = 0; j < next.in(); ++j)
      if (m[size_t(r * next.in() + j)]) alive[size_t(j)] = 1;
  return alive;
}

MergeStats merge_neurons(SparseLinear& layer, SparseLinear& next, Sheet sheet, const std::vector<float>& acts,
                         int64_t probe, const MergeConfig& cfg) {
  const int64_t n = sheet.units();
  NEUROAI_CHECK(layer.out() == n && next.in() == n,
                "merge_neurons: layer '{}' has {} outputs and '{}' {} inputs, the sheet {}x{} has {} units", layer.name(),
                layer.out(), next.name(), next.in(), sheet.rows, sheet.cols, n);
  NEUROAI_CHECK(int64_t(acts.size()) == probe * n && probe >= 1,
                "merge_neurons: {} activations given, expected probe ({}) x units ({})", acts.size(), probe, n);
  NEUROAI_CHECK(cfg.tile >= 1 && cfg.threshold > 0.0f && cfg.max_fraction >= 0.0f,
                "merge_neurons: tile {} must be >= 1, threshold {} > 0, max_fraction {} >= 0", cfg.tile, cfg.threshold,
                cfg.max_fraction);
  std::vector<uint8_t> alive = alive_units(next);
  MergeStats st;
  for (uint8_t a : alive) st.alive_before += a;
  const int64_t cap = int64_t(std::floor(cfg.max_fraction * double(st.alive_before)));

  std::vector<double> norm(size_t(n), 0.0);  // |a_j| over the probe set
  for (int64_t p = 0; p < probe; ++p)
    for (int64_t j = 0; j < n; ++j) {
      const double x = acts[size_t(p * n + j)];
      norm[size_t(j)] += x * x;
    }
  for (auto& x : norm) x = std::sqrt(x);

  std::vector<int64_t> removed;  // in order
  for (int64_t j = 0; j < n && int64_t(removed.size()) < cap; ++j)
    if (alive[size_t(j)] && norm[size_t(j)] < cfg.dead_norm) {
      alive[size_t(j)] = 0;
      removed.push_back(j);
      ++st.dead;
    }

  // Candidate pairs inside each tile: (cos, i, j) with i the stronger unit.
  std::vector<std::tuple<double, int64_t, int64_t>> pairs;
  const int t = cfg.tile;
  for (int32_t tr = 0; tr < sheet.rows; tr += t)
    for (int32_t tc = 0; tc < sheet.cols; tc += t) {
      std::vector<int64_t> units;
      for (int32_t r = tr; r < std::min(sheet.rows, tr + t); ++r)
        for (int32_t c = tc; c < std::min(sheet.cols, tc + t); ++c)
          if (alive[size_t(r * sheet.cols + c)]) units.push_back(int64_t(r) * sheet.cols + c);
      for (size_t x = 0; x < units.size(); ++x)
        for (size_t y = x + 1; y < units.size(); ++y) {
          const int64_t u = units[x], v = units[y];
          double dot = 0.0;
          for (int64_t p = 0; p < probe; ++p) dot += double(acts[size_t(p * n + u)]) * acts[size_t(p * n + v)];
          const double cs = dot / (norm[size_t(u)] * norm[size_t(v)] + 1e-8);
          if (cs < cfg.threshold) continue;
          // Keep the unit with the larger norm (ties: the lower index).
          const bool keep_u = norm[size_t(u)] >= norm[size_t(v)];
          pairs.emplace_back(cs, keep_u ? u : v, keep_u ? v : u);
        }
    }
  std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) {
    if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) > std::get<0>(b);
    return std::make_pair(std::get<1>(a), std::get<2>(a)) < std::make_pair(std::get<1>(b), std::get<2>(b));
  });

  std::vector<float> v = next.weight_dense_host();  // (out_next, n), zeros where pruned
  const int64_t out_next = next.out();
  bool changed = false;
  for (const auto& [cs, i, j] : pairs) {
    if (int64_t(removed.size()) >= cap) break;
    if (!alive[size_t(i)] || !alive[size_t(j)]) continue;
    const float s = float(norm[size_t(j)] / norm[size_t(i)]);
    for (int64_t r = 0; r < out_next; ++r) v[size_t(r * n + i)] += s * v[size_t(r * n + j)];
    alive[size_t(j)] = 0;
    removed.push_back(j);
    ++st.merged;
    changed = true;
  }
  // Only the alive entries of V take the merged values, so V's pattern never grows.
  if (changed) next.set_weight_values_host(v);
  for (int64_t j : removed) {
    layer.remove_output_unit(j);
    next.remove_input_unit(j);
  }
  return st;
}

}  // namespace neuroai
