#include "engine/metrics.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <cblas.h>

#include "engine/dataset.h"
#include "kernels/error.h"

// LAPACK (in OpenBLAS): eigenvalues of a symmetric matrix.
extern "C" void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                        double* work, const int* lwork, int* iwork, const int* liwork, int* info);

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

// Per-unit column means of H: (d).
std::vector<double> column_means(const float* h, int64_t n, int64_t d) {
  std::vector<double> mu(size_t(d), 0.0);
  for (int64_t s = 0; s < n; ++s)
    for (int64_t i = 0; i < d; ++i) mu[size_t(i)] += h[s * d + i];
  for (double& m : mu) m /= double(n);
  return mu;
}

// The Gram of the column-centered H on its smaller side: H~^T H~ (d x d) when n >= d, else H~ H~^T
// (n x n); both have the same nonzero spectrum. Full symmetric matrix, row-major; trace = ||H~||_F^2.
struct Gram {
  std::vector<double> g;
  int64_t m = 0;
  double trace = 0.0;
};

// H~ (n, d): H with its column means subtracted, in double.
std::vector<double> centered(const float* h, int64_t n, int64_t d) {
  const std::vector<double> mu = column_means(h, n, d);
  std::vector<double> a(size_t(n * d));
  for (int64_t s = 0; s < n; ++s)
    for (int64_t i = 0; i < d; ++i) a[size_t(s * d + i)] = double(h[s * d + i]) - mu[size_t(i)];
  return a;
}

Gram centered_gram(const std::vector<double>& a, int64_t n, int64_t d) {
  Gram r;
  for (double v : a) r.trace += v * v;
  const bool by_units = n >= d;
  r.m = by_units ? d : n;
  r.g.assign(size_t(r.m * r.m), 0.0);
  cblas_dsyrk(CblasRowMajor, CblasUpper, by_units ? CblasTrans : CblasNoTrans, int(r.m), int(by_units ? n : d), 1.0,
              a.data(), int(d), 0.0, r.g.data(), int(r.m));
  for (int64_t i = 0; i < r.m; ++i)
    for (int64_t j = i + 1; j < r.m; ++j) r.g[size_t(j * r.m + i)] = r.g[size_t(i * r.m + j)];
  return r;
}

Gram centered_gram(const float* h, int64_t n, int64_t d) { return centered_gram(centered(h, n, d), n, d); }

// Eigenvalues (ascending) of the symmetric m x m matrix g (LAPACK dsyevd from OpenBLAS; g is overwritten).
std::vector<double> symmetric_eigenvalues(std::vector<double>& g, int64_t m) {
  std::vector<double> w(static_cast<size_t>(m));
  const int dim = int(m), lwork = 2 * dim + 1, liwork = 1;
  std::vector<double> work(static_cast<size_t>(lwork));
  int iwork = 0, info = 0;
  const char jobz = 'N', uplo = 'U';
  dsyevd_(&jobz, &uplo, &dim, g.data(), &dim, w.data(), work.data(), &lwork, &iwork, &liwork, &info);
  NEUROAI_CHECK(info == 0, "dimensionality: LAPACK dsyevd failed on a {} x {} covariance (info {})", m, m, info);
  return w;
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
  const Gram g = centered_gram(h, n, d);
  if (g.trace <= 0.0) return 0.0;
  // tr C = trace / (n - 1) and tr C^2 = ||Gram||_F^2 / (n - 1)^2: the factors cancel in the ratio.
  double q = 0.0;
  for (int64_t i = 0; i < g.m; ++i) {
    q += g.g[size_t(i * g.m + i)] * g.g[size_t(i * g.m + i)];
    for (int64_t j = i + 1; j < g.m; ++j) q += 2.0 * g.g[size_t(i * g.m + j)] * g.g[size_t(i * g.m + j)];
  }
  return g.trace * g.trace / q;
}

Dimensionality dimensionality(const float* h, int64_t n, int64_t d) {
  check_args("dimensionality", h, n, d);
  Dimensionality r;
  Gram g = centered_gram(h, n, d);
  if (g.trace <= 0.0) return r;
  std::vector<double> lambda = symmetric_eigenvalues(g.g, g.m);  // ascending
  std::reverse(lambda.begin(), lambda.end());
  double sum = 0.0, sum_sq = 0.0, sigma_sum = 0.0;
  for (double& l : lambda) {
    l = std::max(l, 0.0);  // rounding leaves tiny negative eigenvalues of a semi-definite matrix
    sum += l;
    sum_sq += l * l;
    sigma_sum += std::sqrt(l);
  }
  r.participation_ratio = sum * sum / sum_sq;
  double cumulative = 0.0;
  for (size_t k = 0; k < lambda.size(); ++k) {
    cumulative += lambda[k];
    if (cumulative >= 0.9 * sum) {
      r.n90 = int64_t(k) + 1;
      break;
    }
  }
  double entropy = 0.0;
  for (double l : lambda) {
    const double p = std::sqrt(l) / sigma_sum;
    if (p > 0.0) entropy -= p * std::log(p);
  }
  r.effective_rank = std::exp(entropy);
  return r;
}

ClassSplit class_covariance_split(const float* h, const int32_t* labels, int64_t n, int64_t d, int classes) {
  check_args("class_covariance_split", h, n, d);
  NEUROAI_CHECK(labels != nullptr && classes >= 1,
                "class_covariance_split: {} classes and labels {}; expected >= 1 class and a label per sample",
                classes, labels ? "given" : "null");
  const std::vector<double> a = centered(h, n, d);
  // Rows b_c = sqrt(n_c) (mu_c - mu) of B (classes, d): S_b = B^T B = n C_b, and T = A^T A = n C.
  std::vector<double> b(size_t(classes * d), 0.0);
  std::vector<int64_t> count(size_t(classes), 0);
  for (int64_t s = 0; s < n; ++s) {
    const int32_t c = labels[s];
    NEUROAI_CHECK(c >= 0 && c < classes, "class_covariance_split: label {} of sample {} outside [0, {})", c, s,
                  classes);
    ++count[size_t(c)];
    for (int64_t i = 0; i < d; ++i) b[size_t(c * d + i)] += a[size_t(s * d + i)];
  }
  for (int c = 0; c < classes; ++c)
    if (count[size_t(c)] > 0)
      for (int64_t i = 0; i < d; ++i) b[size_t(c * d + i)] /= std::sqrt(double(count[size_t(c)]));
  const Gram t = centered_gram(a, n, d);
  double tr_t2 = 0.0;
  for (double v : t.g) tr_t2 += v * v;
  // B B^T (classes x classes) has S_b's nonzero spectrum.
  std::vector<double> gb(size_t(classes * classes), 0.0);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, classes, classes, int(d), 1.0, b.data(), int(d), b.data(),
              int(d), 0.0, gb.data(), classes);
  double tr_b = 0.0, tr_b2 = 0.0;
  for (int c = 0; c < classes; ++c) tr_b += gb[size_t(c * classes + c)];
  for (double v : gb) tr_b2 += v * v;
  // tr(T S_b) = sum_c b_c^T A^T A b_c = ||A B^T||_F^2.
  std::vector<double> p(size_t(n * classes), 0.0);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), classes, int(d), 1.0, a.data(), int(d), b.data(),
              int(d), 0.0, p.data(), classes);
  double tr_tb = 0.0;
  for (double v : p) tr_tb += v * v;
  ClassSplit r;
  if (t.trace <= 0.0) return r;
  const double tr_w = t.trace - tr_b, tr_w2 = tr_t2 - 2.0 * tr_tb + tr_b2;
  r.between_share = tr_b / t.trace;
  if (tr_b > 1e-12 * t.trace) r.pr_between = tr_b * tr_b / tr_b2;
  if (tr_w > 1e-12 * t.trace && tr_w2 > 0.0) r.pr_within = tr_w * tr_w / tr_w2;
  return r;
}

double twonn_dimension(const float* h, int64_t n, int64_t d) {
  check_args("twonn_dimension", h, n, d);
  // Squared distances from the Gram of the raw points: |x_i|^2 + |x_j|^2 - 2 <x_i, x_j>.
  std::vector<double> x(size_t(n * d));
  for (int64_t i = 0; i < n * d; ++i) x[size_t(i)] = h[i];
  std::vector<double> g(size_t(n * n), 0.0);
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, int(n), int(d), 1.0, x.data(), int(d), 0.0, g.data(), int(n));
  auto dist_sq = [&](int64_t i, int64_t j) {
    const int64_t a = std::min(i, j), b = std::max(i, j);
    return std::max(0.0, g[size_t(a * n + a)] + g[size_t(b * n + b)] - 2.0 * g[size_t(a * n + b)]);
  };
  double scale = 0.0;
  for (int64_t i = 0; i < n; ++i) scale = std::max(scale, g[size_t(i * n + i)]);
  // A point closer than this to an earlier point is its duplicate (e.g. the all-zero code of ReLU units).
  const double dup = 1e-12 * std::max(scale, 1e-300);
  std::vector<int64_t> kept;
  for (int64_t j = 0; j < n; ++j) {
    bool duplicate = false;
    for (int64_t i : kept)
      if (dist_sq(i, j) <= dup) {
        duplicate = true;
        break;
      }
    if (!duplicate) kept.push_back(j);
  }
  const int64_t m = int64_t(kept.size());
  if (m < 3) return 0.0;
  std::vector<double> mu(static_cast<size_t>(m));
#pragma omp parallel for
  for (int64_t a = 0; a < m; ++a) {
    double r1 = HUGE_VAL, r2 = HUGE_VAL;
    for (int64_t b = 0; b < m; ++b) {
      if (a == b) continue;
      const double r = dist_sq(kept[size_t(a)], kept[size_t(b)]);
      if (r < r1) {
        r2 = r1;
        r1 = r;
      } else if (r < r2) {
        r2 = r;
      }
    }
    mu[size_t(a)] = 0.5 * std::log(r2 / r1);  // log(r2 / r1) from squared distances
  }
  std::sort(mu.begin(), mu.end());
  double sxy = 0.0, sxx = 0.0;
  for (int64_t k = 1; k <= int64_t(0.9 * double(m)); ++k) {
    const double xk = mu[size_t(k - 1)], yk = -std::log(1.0 - double(k) / double(m));
    sxy += xk * yk;
    sxx += xk * xk;
  }
  return sxx > 0.0 ? sxy / sxx : 0.0;
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
