// IDR terms (SPEC §3.1-3.3) and the TDANN spatial loss (SPEC §5 d1): host gradients against central
// finite differences in double, plain references for the values, and the backend paths against the
// host definitions.
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "backend_fixture.h"
#include "engine/regularizers.h"
#include "engine/tensor.h"

namespace neuroai {
namespace {

// Non-negative activations with some exact zeros (dead ReLU units), away from the kinks at 0 for
// the finite differences.
std::vector<double> relu_like(int64_t batch, int64_t units, uint64_t seed, double zero_frac = 0.3) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.1, 2.0), z(0.0, 1.0);
  std::vector<double> h(static_cast<size_t>(batch * units));
  for (auto& x : h) x = z(rng) < zero_frac ? 0.0 : u(rng);
  return h;
}

// Central differences of f at every nonzero entry of h (zeros stay put: ReLU outputs), compared
// with grad.
template <class F>
void check_fd(std::vector<double> h, const std::vector<double>& grad, F f, double step, double tol) {
  double max_ref = 0.0;
  for (size_t i = 0; i < h.size(); ++i) {
    if (h[i] == 0.0) continue;
    const double x = h[i];
    h[i] = x + step;
    const double fp = f(h);
    h[i] = x - step;
    const double fm = f(h);
    h[i] = x;
    const double fd = (fp - fm) / (2 * step);
    max_ref = std::max(max_ref, std::abs(fd));
    EXPECT_NEAR(grad[i], fd, tol * (1.0 + std::abs(fd))) << "entry " << i;
  }
  EXPECT_GT(max_ref, 0.0) << "finite differences are all zero";
}

TEST(RegularizersHost, L1ValueAndGradient) {
  std::vector<double> h = {1.0, -2.0, 0.0, 3.0, 0.5, -0.5};
  std::vector<double> g;
  EXPECT_DOUBLE_EQ(l1_activity_host(h.data(), 2, 3, &g), 7.0 / 2.0);
  std::vector<double> expect = {0.5, -0.5, 0.0, 0.5, 0.5, -0.5};
  for (size_t i = 0; i < h.size(); ++i) EXPECT_DOUBLE_EQ(g[i], expect[i]);
}

TEST(RegularizersHost, EntropyMatchesReferenceAndFiniteDifferences) {
  const int64_t batch = 5, units = 7;
  auto h = relu_like(batch, units, 1);
  std::vector<double> g;
  const double ent = usage_entropy_host(h.data(), batch, units, &g);
  // Plain reference: p from column sums.
  std::vector<double> u(units, 0.0);
  double s = 0.0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < units; ++i) u[i] += h[b * units + i];
  for (double x : u) s += x;
  double ref = 0.0;
  for (double x : u) ref -= (x / s) * std::log(x / s + 1e-9);
  EXPECT_NEAR(ent, ref, 1e-12);
  EXPECT_GT(ref, 0.0);
  check_fd(h, g, [&](const std::vector<double>& x) { return usage_entropy_host(x.data(), batch, units, nullptr); },
           1e-6, 1e-6);
}

TEST(RegularizersHost, EntropyOfAllZeroIsSkipped) {
  std::vector<double> h(12, 0.0), g;
  EXPECT_EQ(usage_entropy_host(h.data(), 3, 4, &g), 0.0);
  for (double x : g) EXPECT_EQ(x, 0.0);
}

TEST(RegularizersHost, ParticipationRatioMatchesCovarianceAndFiniteDifferences) {
  const int64_t batch = 6, units = 9;  // B < N: the Gram path
  auto h = relu_like(batch, units, 2, 0.2);
  std::vector<double> g;
  const double pr = participation_ratio_host(h.data(), batch, units, &g);
  // Reference through the N x N covariance.
  std::vector<double> mean(units, 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < units; ++i) mean[i] += h[b * units + i] / batch;
  std::vector<double> c(units * units, 0.0);
  for (int64_t i = 0; i < units; ++i)
    for (int64_t j = 0; j < units; ++j)
      for (int64_t b = 0; b < batch; ++b)
        c[i * units + j] += (h[b * units + i] - mean[i]) * (h[b * units + j] - mean[j]) / (batch - 1);
  double tr = 0.0, tr2 = 0.0;
  for (int64_t i = 0; i < units; ++i) tr += c[i * units + i];
  for (double x : c) tr2 += x * x;
  EXPECT_NEAR(pr, tr * tr / tr2, 1e-10);
  EXPECT_GE(pr, 1.0);
  EXPECT_LE(pr, double(batch - 1) + 1e-9);
  check_fd(h, g, [&](const std::vector<double>& x) { return participation_ratio_host(x.data(), batch, units, nullptr); },
           1e-6, 1e-6);
}

TEST(RegularizersHost, ParticipationRatioMoreSamplesThanUnits) {
  const int64_t batch = 12, units = 4;
  auto h = relu_like(batch, units, 3, 0.1);
  std::vector<double> g;
  participation_ratio_host(h.data(), batch, units, &g);
  check_fd(h, g, [&](const std::vector<double>& x) { return participation_ratio_host(x.data(), batch, units, nullptr); },
           1e-6, 1e-6);
}

TEST(RegularizersHost, NeighbourhoodIsADiscNearestFirst) {
  Sheet s{10, 10};
  auto u = neighbourhood_units(s, 0, 0, 2.0f, 256);
  // (0,0), then d=1: (0,1), (1,0); d=sqrt2: (1,1); d=2: (0,2), (2,0).
  std::vector<int32_t> expect = {0, 1, 10, 11, 2, 20};
  EXPECT_EQ(u, expect);
  Sheet big{12, 12};  // the radius-5 disc around (6, 6) fits: 81 lattice points
  EXPECT_EQ(neighbourhood_units(big, 6, 6, 5.0f, 256).size(), 81u);
  EXPECT_EQ(neighbourhood_units(big, 6, 6, 5.0f, 10).size(), 10u);
  EXPECT_EQ(neighbourhood_units(s, 9, 9, 1.0f, 256).size(), 3u);  // clipped at the corner
}

TEST(RegularizersHost, SpatialLossFiniteDifferences) {
  const int64_t batch = 8;
  Sheet sheet{4, 5};
  auto h = relu_like(batch, sheet.units(), 4, 0.15);
  std::mt19937_64 rng(7);
  SpatialLossConfig c;
  c.neighbourhoods = 3;
  c.radius = 2.0f;
  auto nbs = sample_neighbourhoods(sheet, c, rng);
  std::vector<double> g;
  const double sl = spatial_loss_host(h.data(), batch, sheet, nbs, &g);
  EXPECT_GE(sl, 0.0);
  EXPECT_LE(sl, 2.0);
  check_fd(h, g, [&](const std::vector<double>& x) { return spatial_loss_host(x.data(), batch, sheet, nbs, nullptr); },
           1e-6, 1e-5);
}

TEST(RegularizersHost, SpatialLossIsLowForSmoothMaps) {
  // Units driven by a few spatially smooth sources: correlation falls with distance -> SL < 1.
  const int64_t batch = 64;
  Sheet sheet{8, 8};
  std::mt19937_64 rng(5);
  std::normal_distribution<double> n(0.0, 1.0);
  std::vector<double> h(static_cast<size_t>(batch * sheet.units()));
  for (int64_t b = 0; b < batch; ++b) {
    double src[4];
    for (double& s : src) s = n(rng);
    for (int32_t r = 0; r < 8; ++r)
      for (int32_t c = 0; c < 8; ++c) {
        const double wr = r / 7.0, wc = c / 7.0;
        h[b * 64 + r * 8 + c] = (1 - wr) * (1 - wc) * src[0] + wr * (1 - wc) * src[1] + (1 - wr) * wc * src[2] +
                                wr * wc * src[3] + 0.05 * n(rng);
      }
  }
  std::vector<std::vector<int32_t>> nbs = {neighbourhood_units(sheet, 4, 4, 5.0f, 256)};
  EXPECT_LT(spatial_loss_host(h.data(), batch, sheet, nbs, nullptr), 0.5);
}

class RegularizersBackend : public testing::BackendTest {};

TEST_P(RegularizersBackend, IdrMatchesHost) {
  const int64_t batch = 6, units = 16;
  auto hd = relu_like(batch, units, 11, 0.25);
  std::vector<float> hf(hd.begin(), hd.end());
  std::vector<double> h(hf.begin(), hf.end());  // the float-rounded values, as the backend sees them
  IdrConfig c;
  c.l1 = 0.1f;
  c.entropy = 0.05f;
  c.pr = 0.2f;
  Tensor y(be(), batch, units, hf);
  std::vector<float> base(size_t(batch * units), 0.25f);
  Tensor dy(be(), batch, units, base);
  IdrRegularizer reg(be(), c, 8, units);
  RegLosses l = reg.apply(y.view(), dy.view());
  std::vector<double> g1, g2, g3;
  const double l1 = l1_activity_host(h.data(), batch, units, &g1);
  const double ent = usage_entropy_host(h.data(), batch, units, &g2);
  const double pr = participation_ratio_host(h.data(), batch, units, &g3);
  EXPECT_NEAR(l.l1, c.l1 * l1, 1e-5 * (1 + l1));
  EXPECT_NEAR(l.entropy, c.entropy * ent, 1e-5);
  EXPECT_NEAR(l.pr, c.pr * pr / units, 1e-5);
  auto got = dy.to_host();
  for (size_t i = 0; i < got.size(); ++i) {
    const double ref = 0.25 + c.l1 * g1[i] + c.entropy * g2[i] + c.pr * g3[i] / units;
    EXPECT_NEAR(got[i], ref, 1e-5 + 1e-4 * std::abs(ref)) << "entry " << i;
  }
}

TEST_P(RegularizersBackend, SpatialMatchesHost) {
  const int64_t batch = 8;
  Sheet sheet{6, 6};
  auto hd = relu_like(batch, sheet.units(), 12, 0.2);
  std::vector<float> hf(hd.begin(), hd.end());
  std::vector<double> h(hf.begin(), hf.end());
  SpatialLossConfig c;
  c.alpha = 0.25f;
  c.neighbourhoods = 4;
  c.radius = 2.5f;
  Tensor y(be(), batch, sheet.units(), hf);
  Tensor dy = Tensor::zeros(be(), batch, sheet.units());
  SpatialRegularizer reg(be(), c, sheet, batch, 99);
  RegLosses l = reg.apply(y.view(), dy.view());
  std::mt19937_64 rng(99);  // the same neighbourhoods as the regularizer draws
  auto nbs = sample_neighbourhoods(sheet, c, rng);
  std::vector<double> g;
  const double sl = spatial_loss_host(h.data(), batch, sheet, nbs, &g);
  EXPECT_NEAR(l.spatial, c.alpha * sl, 1e-9);
  auto got = dy.to_host();
  double max_abs = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], c.alpha * g[i], 1e-6) << "entry " << i;
    max_abs = std::max(max_abs, std::abs(g[i]));
  }
  EXPECT_GT(max_abs, 0.0);
}

NEUROAI_INSTANTIATE_BACKENDS(RegularizersBackend);

}  // namespace
}  // namespace neuroai
