#include "engine/metrics.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/dataset.h"
#include "kernels/error.h"

namespace neuroai {
namespace {

void check_args(const char* what, const float* h, int64_t n, int64_t d) {
  NEUROAI_CHECK(n >= 1 && d >= 1, "{}: activations of shape ({}, {}); expected at least one sample and one unit",
                what, n, d);
  NEUROAI_CHECK(h != nullptr, "{}: activations pointer is null; expected host memory of {} x {} floats", what, n, d);
}

void check_sheet(const char* what, const float* h, int64_t n, int64_t rows, int64_t cols) {
  NEUROAI_CHECK(rows >= 1 && cols >= 1, "{}: sheet {} x {}; expected positive rows and cols", what, rows, cols);
  check_args(what, h, n, rows * cols);
}

constexpr int64_t kGramTile = 64;  // Gram tiles are kGramTile x kGramTile; A's columns are padded to a multiple

// ||A^T A||_F^2 for A (k, m) row-major with m a multiple of kGramTile (zero-padded columns add nothing).
// The symmetric m x m product is done in tiles (each off-diagonal tile counted twice); inside a tile,
// 4 x 8 register blocks accumulate over chunks of rows small enough to stay in L2.
double gram_frobenius_sq(const std::vector<double>& a, int64_t k, int64_t m) {
  constexpr int64_t kRowChunk = 256;
  const int64_t tiles = m / kGramTile;
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (int64_t ti = 0; ti < tiles; ++ti)
    for (int64_t tj = ti; tj < tiles; ++tj) pairs.emplace_back(ti, tj);
  double total = 0.0;
#pragma omp parallel for schedule(dynamic) reduction(+ : total)
  for (int64_t p = 0; p < int64_t(pairs.size()); ++p) {
    const int64_t i0 = pairs[size_t(p)].first * kGramTile, j0 = pairs[size_t(p)].second * kGramTile;
    std::vector<double> tile(size_t(kGramTile * kGramTile), 0.0);  // (kGramTile, kGramTile)
    for (int64_t r0 = 0; r0 < k; r0 += kRowChunk) {
      const int64_t r1 = std::min(k, r0 + kRowChunk);
      for (int64_t ib = 0; ib < kGramTile; ib += 4)
        for (int64_t jb = 0; jb < kGramTile; jb += 8) {
          double acc[4][8];
          for (int ii = 0; ii < 4; ++ii)
            for (int jj = 0; jj < 8; ++jj) acc[ii][jj] = tile[size_t((ib + ii) * kGramTile + jb + jj)];
          for (int64_t r = r0; r < r1; ++r) {
            const double* x = a.data() + r * m + i0 + ib;
            const double* y = a.data() + r * m + j0 + jb;
            for (int ii = 0; ii < 4; ++ii)
              for (int jj = 0; jj < 8; ++jj) acc[ii][jj] += x[ii] * y[jj];
          }
          for (int ii = 0; ii < 4; ++ii)
            for (int jj = 0; jj < 8; ++jj) tile[size_t((ib + ii) * kGramTile + jb + jj)] = acc[ii][jj];
        }
    }
    double s = 0.0;
    for (double v : tile) s += v * v;
    total += (i0 == j0 ? 1.0 : 2.0) * s;
  }
  return total;
}

// Per-unit column means of H: (d).
std::vector<double> column_means(const float* h, int64_t n, int64_t d) {
  std::vector<double> mu(size_t(d), 0.0);
  for (int64_t s = 0; s < n; ++s)
    for (int64_t i = 0; i < d; ++i) mu[size_t(i)] += h[s * d + i];
  for (double& m : mu) m /= double(n);
  return mu;
}

// Z^T: (units.size(), n), each listed unit's activity centered and scaled to unit norm, so
// corr(i, j) = <z_i, z_j>. valid[k] is false for a constant unit (its correlation is undefined).
std::vector<double> unit_norm_rows(const float* h, int64_t n, int64_t d, const std::vector<int64_t>& units,
                                   std::vector<char>& valid) {
  const int64_t m = int64_t(units.size());
  std::vector<double> zt(size_t(m * n));
  valid.assign(size_t(m), 0);
#pragma omp parallel for
  for (int64_t k = 0; k < m; ++k) {
    const int64_t u = units[size_t(k)];
    double* z = zt.data() + k * n;
    double mu = 0.0;
    for (int64_t s = 0; s < n; ++s) mu += h[s * d + u];
    mu /= double(n);
    double ss = 0.0;
    for (int64_t s = 0; s < n; ++s) {
      z[s] = double(h[s * d + u]) - mu;
      ss += z[s] * z[s];
    }
    // Relative guard: float activations that differ only by rounding count as constant.
    if (ss > 0.0 && ss > 1e-24 * double(n) * (mu * mu + 1e-60)) {
      const double inv = 1.0 / std::sqrt(ss);
      for (int64_t s = 0; s < n; ++s) z[s] *= inv;
      valid[size_t(k)] = 1;
    }
  }
  return zt;
}

std::vector<int64_t> iota(int64_t d) {
  std::vector<int64_t> v(static_cast<size_t>(d));
  for (int64_t i = 0; i < d; ++i) v[size_t(i)] = i;
  return v;
}

double dot(const double* a, const double* b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double m = double(x.size());
  double mx = 0.0, my = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= m;
  my /= m;
  double sxy = 0.0, sxx = 0.0, syy = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx <= 0.0 || syy <= 0.0) return 0.0;
  return sxy / std::sqrt(sxx * syy);
}

}  // namespace

double participation_ratio(const float* h, int64_t n, int64_t d) {
  check_args("participation_ratio", h, n, d);
  std::vector<double> mu = column_means(h, n, d);
  // A is H~ (n, d) when n >= d, else H~^T (d, n): the Gram on the smaller side has the same nonzero
  // spectrum, so the same traces.
  const bool by_units = n >= d;
  const int64_t k = by_units ? n : d, m = by_units ? d : n;
  const int64_t m_pad = (m + kGramTile - 1) / kGramTile * kGramTile;
  std::vector<double> a(size_t(k * m_pad), 0.0);  // (k, m_pad)
  double trace = 0.0;
#pragma omp parallel for reduction(+ : trace)
  for (int64_t s = 0; s < n; ++s)
    for (int64_t i = 0; i < d; ++i) {
      double v = double(h[s * d + i]) - mu[size_t(i)];
      a[size_t(by_units ? s * m_pad + i : i * m_pad + s)] = v;
      trace += v * v;
    }
  if (trace <= 0.0) return 0.0;
  // tr C = trace / (n - 1) and tr C^2 = ||Gram||_F^2 / (n - 1)^2: the factors cancel in the ratio.
  double q = gram_frobenius_sq(a, k, m_pad);
  return trace * trace / q;
}

double activation_sparsity(const float* h, int64_t n, int64_t d, float eps) {
  check_args("activation_sparsity", h, n, d);
  const int64_t total = n * d;
  int64_t zeros = 0;
#pragma omp parallel for reduction(+ : zeros)
  for (int64_t i = 0; i < total; ++i) zeros += std::abs(h[i]) < eps ? 1 : 0;
  return double(zeros) / double(total);
}

double hoyer_sparsity(const float* h, int64_t n, int64_t d) {
  check_args("hoyer_sparsity", h, n, d);
  if (d == 1) return 0.0;
  const double root = std::sqrt(double(d));
  double sum = 0.0;
#pragma omp parallel for reduction(+ : sum)
  for (int64_t s = 0; s < n; ++s) {
    double l1 = 0.0, l2 = 0.0;
    for (int64_t i = 0; i < d; ++i) {
      double v = h[s * d + i];
      l1 += std::abs(v);
      l2 += v * v;
    }
    sum += l2 > 0.0 ? (root - l1 / std::sqrt(l2)) / (root - 1.0) : 1.0;
  }
  return sum / double(n);
}

double treves_rolls(const float* h, int64_t n, int64_t d) {
  check_args("treves_rolls", h, n, d);
  if (d == 1) return 0.0;
  const double dd = double(d);
  double sum = 0.0;
#pragma omp parallel for reduction(+ : sum)
  for (int64_t s = 0; s < n; ++s) {
    double s1 = 0.0, s2 = 0.0;
    for (int64_t i = 0; i < d; ++i) {
      double v = h[s * d + i];
      s1 += v;
      s2 += v * v;
    }
    double mean = s1 / dd, mean_sq = s2 / dd;
    sum += mean_sq > 0.0 ? (1.0 - mean * mean / mean_sq) / (1.0 - 1.0 / dd) : 1.0;
  }
  return sum / double(n);
}

double neighbour_correlation(const float* h, int64_t n, int64_t rows, int64_t cols) {
  check_sheet("neighbour_correlation", h, n, rows, cols);
  const int64_t d = rows * cols;
  std::vector<char> valid;
  std::vector<double> zt = unit_norm_rows(h, n, d, iota(d), valid);
  double sum = 0.0;
  int64_t pairs = 0;
#pragma omp parallel for reduction(+ : sum, pairs)
  for (int64_t u = 0; u < d; ++u) {
    if (!valid[size_t(u)]) continue;
    const int64_t r = u / cols, c = u % cols;
    // Right and down neighbours: every 4-neighbour pair exactly once.
    if (c + 1 < cols && valid[size_t(u + 1)]) {
      sum += dot(zt.data() + u * n, zt.data() + (u + 1) * n, n);
      ++pairs;
    }
    if (r + 1 < rows && valid[size_t(u + cols)]) {
      sum += dot(zt.data() + u * n, zt.data() + (u + cols) * n, n);
      ++pairs;
    }
  }
  return pairs > 0 ? sum / double(pairs) : 0.0;
}

double spatial_correlation(const float* h, int64_t n, int64_t rows, int64_t cols, int64_t max_units, uint64_t seed) {
  check_sheet("spatial_correlation", h, n, rows, cols);
  const int64_t d = rows * cols;
  std::vector<int64_t> units;
  if (max_units <= 0 || d <= max_units) {
    units = iota(d);
  } else {
    units = shuffled_indices(d, seed, 0);
    units.resize(size_t(max_units));
    std::sort(units.begin(), units.end());
  }
  std::vector<char> valid_all;
  std::vector<double> z_all = unit_norm_rows(h, n, d, units, valid_all);
  // Keep the non-constant units (and their rows of Z) only.
  std::vector<int64_t> kept;
  std::vector<double> zt;
  for (size_t k = 0; k < units.size(); ++k) {
    if (!valid_all[k]) continue;
    kept.push_back(units[k]);
    zt.insert(zt.end(), z_all.begin() + std::ptrdiff_t(k) * n, z_all.begin() + std::ptrdiff_t(k + 1) * n);
  }
  units = std::move(kept);
  const int64_t m = int64_t(units.size());
  if (m < 3) return 0.0;

  // Lower triangle (i > j) in row order: pair (i, j) at i (i - 1) / 2 + j.
  const int64_t npairs = m * (m - 1) / 2;
  std::vector<double> r(static_cast<size_t>(npairs)), inv_dist(static_cast<size_t>(npairs));
#pragma omp parallel for schedule(dynamic, 8)
  for (int64_t i = 1; i < m; ++i) {
    const int64_t ui = units[size_t(i)];
    for (int64_t j = 0; j < i; ++j) {
      const int64_t uj = units[size_t(j)];
      const int64_t at = i * (i - 1) / 2 + j;
      r[size_t(at)] = dot(zt.data() + i * n, zt.data() + j * n, n);
      const double dr = double(ui / cols - uj / cols), dc = double(ui % cols - uj % cols);
      inv_dist[size_t(at)] = 1.0 / (1.0 + std::sqrt(dr * dr + dc * dc));
    }
  }
  return pearson(r, inv_dist);
}

double effective_usage(const float* h, int64_t n, int64_t d) {
  check_args("effective_usage", h, n, d);
  std::vector<double> u(size_t(d), 0.0);
  for (int64_t s = 0; s < n; ++s)
    for (int64_t i = 0; i < d; ++i) u[size_t(i)] += std::abs(double(h[s * d + i]));
  double total = 0.0;
  for (double v : u) total += v;
  if (total < 1e-30) return 0.0;
  double entropy = 0.0;
  for (double v : u) {
    double p = v / total;
    entropy -= p * std::log(p + 1e-9);
  }
  return std::exp(entropy);
}

}  // namespace neuroai
