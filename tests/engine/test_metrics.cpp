// Activity metrics against hand-computed cases and plain references (double, straight from the
// definitions in SPEC §10 / §3.3).
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "engine/metrics.h"
#include "kernels/error.h"

namespace neuroai {
namespace {

std::vector<float> gaussian(int64_t n, int64_t d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.f, 1.f);
  std::vector<float> h(size_t(n * d));
  for (auto& v : h) v = g(rng);
  return h;
}

// PR from the d x d covariance, computed directly.
double reference_pr(const std::vector<float>& h, int64_t n, int64_t d) {
  std::vector<double> mu(size_t(d), 0.0);
  for (int64_t s = 0; s < n; ++s)
    for (int64_t i = 0; i < d; ++i) mu[size_t(i)] += h[size_t(s * d + i)] / double(n);
  double tr = 0.0, tr2 = 0.0;
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j) {
      double c = 0.0;
      for (int64_t s = 0; s < n; ++s) c += (h[size_t(s * d + i)] - mu[size_t(i)]) * (h[size_t(s * d + j)] - mu[size_t(j)]);
      c /= double(n - 1);
      if (i == j) tr += c;
      tr2 += c * c;
    }
  return tr * tr / tr2;
}

double reference_pearson(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i] / double(x.size()), my += y[i] / double(y.size());
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

std::vector<double> unit_activity(const std::vector<float>& h, int64_t n, int64_t d, int64_t u) {
  std::vector<double> a(static_cast<size_t>(n));
  for (int64_t s = 0; s < n; ++s) a[size_t(s)] = h[size_t(s * d + u)];
  return a;
}

// Each sample is a sum of a few Gaussian bumps on the sheet: nearby units are strongly correlated.
std::vector<float> smooth_map(int64_t n, int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> ur(0.0, double(rows)), uc(0.0, double(cols)), amp(0.0, 1.0);
  std::vector<float> h(size_t(n * rows * cols), 0.f);
  const double sigma = 2.0;
  for (int64_t s = 0; s < n; ++s)
    for (int k = 0; k < 3; ++k) {
      double cr = ur(rng), cc = uc(rng), a = amp(rng);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          double d2 = (r - cr) * (r - cr) + (c - cc) * (c - cc);
          h[size_t(s * rows * cols + r * cols + c)] += float(a * std::exp(-d2 / (2 * sigma * sigma)));
        }
    }
  return h;
}

struct PrCase {
  const char* what;
  int64_t n, d;
};

TEST(ParticipationRatio, MatchesCovarianceReference) {
  const std::vector<PrCase> cases = {
      {"n < d: the n x n Gram path", 30, 70},
      {"n > d: the d x d covariance path", 70, 30},
      {"d not a power of two", 150, 130},
      {"n < d across tiles", 20, 200},
      {"two samples", 2, 5},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto h = gaussian(c.n, c.d, 7 + uint64_t(c.n));
    // Give the units different scales so PR is not near its maximum.
    for (int64_t s = 0; s < c.n; ++s)
      for (int64_t i = 0; i < c.d; ++i) h[size_t(s * c.d + i)] *= float(1.0 + 0.1 * double(i % 11)) + 0.5f;
    double ref = reference_pr(h, c.n, c.d);
    EXPECT_NEAR(participation_ratio(h.data(), c.n, c.d), ref, 1e-9 * ref);
    EXPECT_GE(ref, 1.0);
    EXPECT_LE(ref, double(std::min(c.d, c.n - 1)) + 1e-9);
  }
}

TEST(ParticipationRatio, IsotropicDataNearD) {
  const int64_t n = 4000, d = 16;
  auto h = gaussian(n, d, 1);
  // Finite-sample bias: E[PR] ~ d / (1 + d / n) = 15.94.
  EXPECT_NEAR(participation_ratio(h.data(), n, d), 16.0, 0.5);
}

TEST(ParticipationRatio, RankOneIsOne) {
  const int64_t n = 50, d = 40;
  std::vector<float> h(size_t(n * d));
  for (int64_t s = 0; s < n; ++s)
    for (int64_t i = 0; i < d; ++i) h[size_t(s * d + i)] = float((s % 7) - 3) * float(i + 1) / 8.f + 5.f;
  EXPECT_NEAR(participation_ratio(h.data(), n, d), 1.0, 1e-9);
}

TEST(ParticipationRatio, TwoEqualOrthogonalDirectionsIsTwo) {
  // Centered columns a = (1,-1,1,-1), b = (1,1,-1,-1): orthogonal, equal variance; a third unit copies a.
  // Eigenvalues of C: a-direction has variance 2 (a and its copy), b has 1 => PR = 9/5.
  std::vector<float> h = {1, 1, 1, -1, 1, -1, 1, -1, 1, -1, -1, -1};
  EXPECT_NEAR(participation_ratio(h.data(), 4, 3), 9.0 / 5.0, 1e-12);
  std::vector<float> two = {1, 1, -1, 1, 1, -1, -1, -1};
  EXPECT_NEAR(participation_ratio(two.data(), 4, 2), 2.0, 1e-12);
}

TEST(ParticipationRatio, ConstantIsZeroAndBadArgsThrow) {
  std::vector<float> h(20, 3.f);
  EXPECT_EQ(participation_ratio(h.data(), 4, 5), 0.0);
  EXPECT_THROW(participation_ratio(h.data(), 0, 5), Error);
  EXPECT_THROW(participation_ratio(nullptr, 4, 5), Error);
}

// H = sum_k s_k a_k q_k^T with a_k orthogonal, centered sample patterns (rows of a Hadamard matrix) and q_k
// orthonormal unit loadings (disjoint supports): the covariance eigenvalues are proportional to s_k^2.
std::vector<float> known_spectrum(int64_t d, const std::vector<double>& scales) {
  const int64_t n = 8;
  const int h8[8][8] = {{1, 1, 1, 1, 1, 1, 1, 1},     {1, -1, 1, -1, 1, -1, 1, -1}, {1, 1, -1, -1, 1, 1, -1, -1},
                        {1, -1, -1, 1, 1, -1, -1, 1}, {1, 1, 1, 1, -1, -1, -1, -1}, {1, -1, 1, -1, -1, 1, -1, 1},
                        {1, 1, -1, -1, -1, -1, 1, 1}, {1, -1, -1, 1, -1, 1, 1, -1}};
  std::vector<float> h(size_t(n * d), 0.5f);  // a constant offset: centering must remove it
  const int64_t width = d / int64_t(scales.size());
  for (size_t k = 0; k < scales.size(); ++k)
    for (int64_t s = 0; s < n; ++s)
      for (int64_t u = int64_t(k) * width; u < int64_t(k + 1) * width; ++u)
        h[size_t(s * d + u)] += float(scales[k] * h8[k + 1][s] / std::sqrt(double(width)));
  return h;
}

TEST(Dimensionality, KnownSpectrumOnBothGramSides) {
  const std::vector<double> scales = {4, 2, 1, 0.5};  // eigenvalues proportional to 16, 4, 1, 0.25
  double sum = 0, sum_sq = 0, sigma = 0;
  for (double s : scales) sum += s * s, sum_sq += s * s * s * s, sigma += s;
  double entropy = 0;
  for (double s : scales) entropy -= s / sigma * std::log(s / sigma);
  for (int64_t d : {4, 40}) {  // n = 8: the d x d (n >= d) and the n x n (n < d) Gram
    SCOPED_TRACE(d);
    const auto h = known_spectrum(d, scales);
    const Dimensionality r = dimensionality(h.data(), 8, d);
    EXPECT_NEAR(r.participation_ratio, sum * sum / sum_sq, 1e-6);  // h is float
    EXPECT_NEAR(r.participation_ratio, participation_ratio(h.data(), 8, d), 1e-9);
    EXPECT_EQ(r.n90, 2);  // 16 + 4 = 20 >= 0.9 * 21.25
    EXPECT_NEAR(r.effective_rank, std::exp(entropy), 1e-6);
  }
}

TEST(Dimensionality, MatchesPrOnRandomDataAndIsZeroWithoutVariance) {
  auto h = gaussian(60, 30, 3);
  for (int64_t s = 0; s < 60; ++s)
    for (int64_t i = 0; i < 30; ++i) h[size_t(s * 30 + i)] *= float(i + 1);
  const Dimensionality r = dimensionality(h.data(), 60, 30);
  EXPECT_NEAR(r.participation_ratio, reference_pr(h, 60, 30), 1e-9 * r.participation_ratio);
  EXPECT_GE(r.n90, 1);
  EXPECT_LE(r.n90, 30);
  EXPECT_GT(r.effective_rank, r.participation_ratio);  // sigma_k is flatter than lambda_k
  std::vector<float> flat(20, 3.f);
  const Dimensionality z = dimensionality(flat.data(), 4, 5);
  EXPECT_EQ(z.participation_ratio, 0.0);
  EXPECT_EQ(z.n90, 0);
  EXPECT_THROW(dimensionality(nullptr, 4, 5), Error);
}

// PR of a d x d matrix: (tr C)^2 / tr(C^2).
double matrix_pr(const std::vector<double>& c, int64_t d) {
  double tr = 0.0, tr2 = 0.0;
  for (int64_t i = 0; i < d; ++i) tr += c[size_t(i * d + i)];
  for (double v : c) tr2 += v * v;
  return tr * tr / tr2;
}

// class_covariance_split against C_b and C_w built directly (d x d, in double).
void expect_split_matches_direct(int64_t n, int64_t d) {
  const int classes = 4;  // class 3 has no sample
  auto h = gaussian(n, d, 11);
  std::vector<int32_t> y(static_cast<size_t>(n));
  for (int64_t s = 0; s < n; ++s) {
    y[size_t(s)] = int32_t(s % 3);
    for (int64_t i = 0; i < d; ++i) h[size_t(s * d + i)] += float((y[size_t(s)] + 1) * (i % 3) - 1);  // class offsets
  }
  // Class means; C_b = sum_c w_c (mu_c - mu)(mu_c - mu)^T; C_w = the mean outer product of each sample's
  // deviation from its class mean.
  std::vector<double> mu(size_t(d), 0.0), mc(size_t(classes * d), 0.0);
  std::vector<int64_t> nc(size_t(classes), 0);
  for (int64_t s = 0; s < n; ++s) {
    ++nc[size_t(y[size_t(s)])];
    for (int64_t i = 0; i < d; ++i) {
      mu[size_t(i)] += h[size_t(s * d + i)] / double(n);
      mc[size_t(y[size_t(s)] * d + i)] += h[size_t(s * d + i)];
    }
  }
  for (int c = 0; c < classes; ++c)
    for (int64_t i = 0; i < d; ++i) mc[size_t(c * d + i)] /= double(std::max<int64_t>(1, nc[size_t(c)]));
  std::vector<double> cb(size_t(d * d), 0.0), cw(size_t(d * d), 0.0);
  for (int c = 0; c < classes; ++c)
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j)
        cb[size_t(i * d + j)] += double(nc[size_t(c)]) / double(n) * (mc[size_t(c * d + i)] - mu[size_t(i)]) *
                                 (mc[size_t(c * d + j)] - mu[size_t(j)]);
  for (int64_t s = 0; s < n; ++s) {
    const double* m = mc.data() + y[size_t(s)] * d;
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j)
        cw[size_t(i * d + j)] += (h[size_t(s * d + i)] - m[i]) * (h[size_t(s * d + j)] - m[j]) / double(n);
  }
  double tr_b = 0.0, tr_w = 0.0;
  for (int64_t i = 0; i < d; ++i) tr_b += cb[size_t(i * d + i)], tr_w += cw[size_t(i * d + i)];
  const ClassSplit r = class_covariance_split(h.data(), y.data(), n, d, classes);
  EXPECT_NEAR(r.between_share, tr_b / (tr_b + tr_w), 1e-9);
  EXPECT_NEAR(r.pr_between, matrix_pr(cb, d), 1e-9);
  EXPECT_NEAR(r.pr_within, matrix_pr(cw, d), 1e-9);
  EXPECT_LE(r.pr_between, 2.0 + 1e-9);  // 3 classes present: rank <= 2
}

TEST(ClassSplit, MatchesBetweenAndWithinCovariancesBuiltDirectly) {
  expect_split_matches_direct(90, 7);    // through the d x d Gram
  expect_split_matches_direct(90, 120);  // through the n x n Gram
}

TEST(ClassSplit, PureClassCodesHaveNoWithinPartAndBadLabelsThrow) {
  // Every sample is its class's one-hot code: all variance is between the classes, whose centered codes
  // span a regular 2-simplex, so PR(between) = 2 with 3 equally frequent classes.
  const int64_t n = 30, d = 3;
  std::vector<float> h(size_t(n * d), 0.f);
  std::vector<int32_t> y(static_cast<size_t>(n));
  for (int64_t s = 0; s < n; ++s) y[size_t(s)] = int32_t(s % 3), h[size_t(s * d + s % 3)] = 1.f;
  const ClassSplit r = class_covariance_split(h.data(), y.data(), n, d, 3);
  EXPECT_NEAR(r.between_share, 1.0, 1e-12);
  EXPECT_NEAR(r.pr_between, 2.0, 1e-9);
  EXPECT_EQ(r.pr_within, 0.0);
  y[5] = 3;
  EXPECT_THROW(class_covariance_split(h.data(), y.data(), n, d, 3), Error);
  EXPECT_THROW(class_covariance_split(h.data(), nullptr, n, d, 3), Error);
  std::vector<float> flat(size_t(n * d), 2.f);
  const ClassSplit z = class_covariance_split(flat.data(), y.data(), n, d, 4);
  EXPECT_EQ(z.between_share, 0.0);
  EXPECT_EQ(z.pr_between, 0.0);
}

// n points uniform in a k-dimensional cube, embedded in d dimensions by a random rotation of the first k axes.
std::vector<float> uniform_manifold(int64_t n, int64_t k, int64_t d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> basis(size_t(k * d));  // k orthonormal rows, by Gram-Schmidt
  std::normal_distribution<double> g(0.0, 1.0);
  for (int64_t i = 0; i < k; ++i) {
    double* b = basis.data() + i * d;
    for (int64_t j = 0; j < d; ++j) b[j] = g(rng);
    for (int64_t p = 0; p < i; ++p) {
      const double* q = basis.data() + p * d;
      double dotp = 0;
      for (int64_t j = 0; j < d; ++j) dotp += b[j] * q[j];
      for (int64_t j = 0; j < d; ++j) b[j] -= dotp * q[j];
    }
    double norm = 0;
    for (int64_t j = 0; j < d; ++j) norm += b[j] * b[j];
    for (int64_t j = 0; j < d; ++j) b[j] /= std::sqrt(norm);
  }
  std::vector<float> h(size_t(n * d), 0.f);
  for (int64_t s = 0; s < n; ++s)
    for (int64_t i = 0; i < k; ++i) {
      const double c = u(rng);
      for (int64_t j = 0; j < d; ++j) h[size_t(s * d + j)] += float(c * basis[size_t(i * d + j)]);
    }
  return h;
}

TEST(TwoNn, RecoversTheDimensionOfAUniformManifold) {
  for (int64_t k : {1, 2, 5}) {
    SCOPED_TRACE(k);
    const auto h = uniform_manifold(1500, k, 20, 11 + uint64_t(k));
    EXPECT_NEAR(twonn_dimension(h.data(), 1500, 20), double(k), 0.15 * double(k));
  }
}

TEST(TwoNn, DuplicatePointsAreDropped) {
  const int64_t n = 400, d = 10;
  const auto h = uniform_manifold(n, 3, d, 5);
  std::vector<float> dup = h;
  for (int64_t s = 0; s < 100; ++s)  // 100 copies of earlier points; with them r1 = 0 would give mu = inf
    dup.insert(dup.end(), h.begin() + (s * 3) * d, h.begin() + (s * 3 + 1) * d);
  EXPECT_DOUBLE_EQ(twonn_dimension(dup.data(), n + 100, d), twonn_dimension(h.data(), n, d));
  std::vector<float> same(size_t(5 * d), 1.f);
  EXPECT_EQ(twonn_dimension(same.data(), 5, d), 0.0);  // one distinct point
}

TEST(Sparsity, ActivationFractionBelowEps) {
  std::vector<float> h = {0.f, 1e-7f, 1.f, -2.f, -1e-7f, 0.5f};
  EXPECT_DOUBLE_EQ(activation_sparsity(h.data(), 2, 3), 0.5);
  EXPECT_DOUBLE_EQ(activation_sparsity(h.data(), 2, 3, 0.6f), 4.0 / 6.0);
}

TEST(Sparsity, HoyerHandCases) {
  std::vector<float> one_hot = {0, 0, 3, 0};
  std::vector<float> flat = {2, 2, 2, 2};
  std::vector<float> half = {1, -1, 0, 0};  // sqrt 4 = 2, l1 = 2, l2 = sqrt 2 => 2 - sqrt 2
  std::vector<float> zero = {0, 0, 0, 0};
  EXPECT_NEAR(hoyer_sparsity(one_hot.data(), 1, 4), 1.0, 1e-12);
  EXPECT_NEAR(hoyer_sparsity(flat.data(), 1, 4), 0.0, 1e-12);
  EXPECT_NEAR(hoyer_sparsity(half.data(), 1, 4), 2.0 - std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(hoyer_sparsity(zero.data(), 1, 4), 1.0, 1e-12);
  std::vector<float> both = {0, 0, 3, 0, 2, 2, 2, 2};
  EXPECT_NEAR(hoyer_sparsity(both.data(), 2, 4), 0.5, 1e-12);  // mean over samples
  EXPECT_EQ(hoyer_sparsity(one_hot.data(), 4, 1), 0.0);
}

TEST(Sparsity, TrevesRollsHandCases) {
  std::vector<float> one_hot = {0, 5, 0, 0};
  std::vector<float> flat = {1, 1, 1, 1};
  std::vector<float> half = {1, 1, 0, 0};  // mean 1/2, mean sq 1/2 => (1 - 1/2) / (3/4) = 2/3
  EXPECT_NEAR(treves_rolls(one_hot.data(), 1, 4), 1.0, 1e-12);
  EXPECT_NEAR(treves_rolls(flat.data(), 1, 4), 0.0, 1e-12);
  EXPECT_NEAR(treves_rolls(half.data(), 1, 4), 2.0 / 3.0, 1e-12);
  std::vector<float> both = {0, 5, 0, 0, 1, 1, 0, 0};
  EXPECT_NEAR(treves_rolls(both.data(), 2, 4), (1.0 + 2.0 / 3.0) / 2.0, 1e-12);
}

TEST(NeighbourCorrelation, HandCases) {
  // 1 x 3 sheet over 4 samples: units 0 and 1 identical, unit 2 = -unit 1 => pairs (0,1) = 1, (1,2) = -1.
  std::vector<float> h = {1, 1, -1, 2, 2, -2, 0, 0, 0, 5, 5, -5};
  EXPECT_NEAR(neighbour_correlation(h.data(), 4, 1, 3), 0.0, 1e-12);
  // 2 x 2 sheet, all units identical: every one of the 4 pairs correlates 1.
  std::vector<float> same = {1, 1, 1, 1, 3, 3, 3, 3, 2, 2, 2, 2};
  EXPECT_NEAR(neighbour_correlation(same.data(), 3, 2, 2), 1.0, 1e-12);
  // A constant (dead) unit leaves its pairs out: only (0,1) remains.
  std::vector<float> dead = {1, 1, 7, 2, 2, 7, 4, 4, 7};
  EXPECT_NEAR(neighbour_correlation(dead.data(), 3, 1, 3), 1.0, 1e-12);
  std::vector<float> all_dead(9, 0.f);
  EXPECT_EQ(neighbour_correlation(all_dead.data(), 3, 1, 3), 0.0);
}

TEST(NeighbourCorrelation, SmoothMapHighRandomLow) {
  const int64_t n = 300, rows = 8, cols = 9;
  auto smooth = smooth_map(n, rows, cols, 3);
  auto noise = gaussian(n, rows * cols, 4);
  EXPECT_GT(neighbour_correlation(smooth.data(), n, rows, cols), 0.7);
  EXPECT_LT(std::abs(neighbour_correlation(noise.data(), n, rows, cols)), 0.05);
}

TEST(SpatialCorrelation, MatchesReference) {
  const int64_t n = 60, rows = 5, cols = 7, d = rows * cols;
  auto h = smooth_map(n, rows, cols, 5);
  std::vector<double> r, inv_dist;
  for (int64_t i = 1; i < d; ++i)
    for (int64_t j = 0; j < i; ++j) {
      r.push_back(reference_pearson(unit_activity(h, n, d, i), unit_activity(h, n, d, j)));
      double dr = double(i / cols - j / cols), dc = double(i % cols - j % cols);
      inv_dist.push_back(1.0 / (1.0 + std::sqrt(dr * dr + dc * dc)));
    }
  double ref = reference_pearson(r, inv_dist);
  EXPECT_NEAR(spatial_correlation(h.data(), n, rows, cols), ref, 1e-9);
  EXPECT_NEAR(spatial_correlation(h.data(), n, rows, cols, 0), ref, 1e-9);  // 0 = all units
}

TEST(SpatialCorrelation, SmoothMapHighRandomLow) {
  const int64_t n = 200, rows = 16, cols = 16;
  auto smooth = smooth_map(n, rows, cols, 6);
  auto noise = gaussian(n, rows * cols, 7);
  double rho = spatial_correlation(smooth.data(), n, rows, cols);
  EXPECT_GT(rho, 0.5);
  EXPECT_LT(std::abs(spatial_correlation(noise.data(), n, rows, cols)), 0.1);
  // A seeded sample of units: deterministic, and still sees the map.
  double sampled = spatial_correlation(smooth.data(), n, rows, cols, 64, 11);
  EXPECT_EQ(sampled, spatial_correlation(smooth.data(), n, rows, cols, 64, 11));
  EXPECT_GT(sampled, 0.5);
}

TEST(SpatialCorrelation, DegenerateIsZero) {
  std::vector<float> h(12, 1.f);
  EXPECT_EQ(spatial_correlation(h.data(), 3, 2, 2), 0.0);
  EXPECT_THROW(spatial_correlation(h.data(), 3, 0, 2), Error);
}

TEST(EffectiveUsage, HandCases) {
  std::vector<float> uniform = {1, 1, 1, 1, 2, 2, 2, 2};  // every unit used equally => exp(H) = 4
  EXPECT_NEAR(effective_usage(uniform.data(), 2, 4), 4.0, 1e-6);
  std::vector<float> single = {0, 3, 0, 0, 0, 1, 0, 0};
  EXPECT_NEAR(effective_usage(single.data(), 2, 4), 1.0, 1e-6);
  std::vector<float> two = {1, 0, 0, 0, 1, 0};  // p = (1/2, 1/2, 0) => 2
  EXPECT_NEAR(effective_usage(two.data(), 2, 3), 2.0, 1e-6);
  std::vector<float> zero(6, 0.f);
  EXPECT_EQ(effective_usage(zero.data(), 2, 3), 0.0);
}

}  // namespace
}  // namespace neuroai
