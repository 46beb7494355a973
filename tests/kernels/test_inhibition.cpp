// Lateral inhibition ops against plain double references written straight from SPEC §4.1-4.3, and
// their backward passes against central finite differences of those references.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <vector>

#include "backend_fixture.h"
#include "kernels/error.h"

namespace neuroai::testing {
namespace {

using Vec = std::vector<double>;

double dist2(Sheet s, int64_t i, int64_t j) {
  const double dr = double(i / s.cols - j / s.cols), dc = double(i % s.cols - j % s.cols);
  return dr * dr + dc * dc;
}

// SPEC §4.1: K_ij = exp(-d^2 / 2 sigma^2) / Z for d <= R, Z over the whole disk ignoring the edges;
// D_i = k + alpha sum_j K_ij h_j^2; y_i = h_i D_i^-beta. h (B, N) row-major.
void ref_divisive(const Vec& h, int64_t batch, Sheet s, const DivisiveParams& p, Vec* y, Vec* d) {
  const int64_t n = s.units();
  const double r2 = double(p.radius) * p.radius, two_s2 = 2.0 * double(p.sigma) * p.sigma;
  double z = 0;
  for (int dr = -p.radius; dr <= p.radius; ++dr)
    for (int dc = -p.radius; dc <= p.radius; ++dc)
      if (dr * dr + dc * dc <= r2) z += std::exp(-(dr * dr + dc * dc) / two_s2);
  y->assign(batch * n, 0);
  d->assign(batch * n, 0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < n; ++i) {
      double sum = 0;
      for (int64_t j = 0; j < n; ++j) {
        const double d2 = dist2(s, i, j);
        if (d2 <= r2) sum += std::exp(-d2 / two_s2) / z * h[b * n + j] * h[b * n + j];
      }
      (*d)[b * n + i] = p.k + p.alpha * sum;
      (*y)[b * n + i] = h[b * n + i] * std::pow((*d)[b * n + i], -double(p.beta));
    }
}

// SPEC §4.2: pre_i = h_i + gamma sum_{j != i, d <= R} (a_e e^{-d^2/2se^2} - a_i e^{-d^2/2si^2}) h_j.
Vec ref_dog_pre(const Vec& h, int64_t batch, Sheet s, const DogParams& p) {
  const int64_t n = s.units();
  const double r2 = double(p.radius) * p.radius;
  Vec pre(batch * n);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < n; ++i) {
      double sum = 0;
      for (int64_t j = 0; j < n; ++j) {
        const double d2 = dist2(s, i, j);
        if (j == i || d2 > r2) continue;
        const double k = p.a_e * std::exp(-d2 / (2.0 * p.sigma_e * p.sigma_e)) -
                         p.a_i * std::exp(-d2 / (2.0 * p.sigma_i * p.sigma_i));
        sum += k * h[b * n + j];
      }
      pre[b * n + i] = h[b * n + i] + p.gamma * sum;
    }
  return pre;
}

Vec ref_dog(const Vec& h, int64_t batch, Sheet s, const DogParams& p) {
  Vec y = ref_dog_pre(h, batch, s, p);
  for (double& v : y) v = std::max(v, 0.0);
  return y;
}

// SPEC §4.3: per (sample, tile) sort units by (value desc, index asc) and keep the first k.
std::vector<uint8_t> ref_kwta(const std::vector<float>& h, int64_t batch, Sheet s, const KwtaParams& p) {
  const int64_t n = s.units();
  std::vector<uint8_t> win(batch * n, 0);
  for (int64_t b = 0; b < batch; ++b)
    for (int r0 = 0; r0 < s.rows; r0 += p.tile)
      for (int c0 = 0; c0 < s.cols; c0 += p.tile) {
        std::vector<int64_t> units;
        for (int r = r0; r < std::min(s.rows, r0 + p.tile); ++r)
          for (int c = c0; c < std::min(s.cols, c0 + p.tile); ++c) units.push_back(int64_t(r) * s.cols + c);
        std::sort(units.begin(), units.end(), [&](int64_t a, int64_t c) {
          const float va = h[b * n + a], vc = h[b * n + c];
          return va != vc ? va > vc : a < c;
        });
        for (size_t q = 0; q < units.size() && q < size_t(p.k); ++q) win[b * n + units[q]] = 1;
      }
  return win;
}

Vec to_double(const std::vector<float>& v) { return Vec(v.begin(), v.end()); }

// Central differences of L(h) = sum g ⊙ f(h) in double, one element of h at a time.
Vec finite_diff(const std::function<Vec(const Vec&)>& f, const Vec& h, const Vec& g, double eps) {
  Vec grad(h.size());
  Vec hp = h;
  for (size_t m = 0; m < h.size(); ++m) {
    hp[m] = h[m] + eps;
    const Vec up = f(hp);
    hp[m] = h[m] - eps;
    const Vec dn = f(hp);
    hp[m] = h[m];
    double l = 0;
    for (size_t i = 0; i < g.size(); ++i) l += g[i] * (up[i] - dn[i]);
    grad[m] = l / (2 * eps);
  }
  return grad;
}

// The sheets every forward test runs on: one unit, not a tile multiple, a whole number of tiles.
const std::vector<Sheet> kSheets = {{1, 1}, {5, 7}, {8, 8}};
constexpr int64_t kBatch = 3;

class Inhibition : public BackendTest {
protected:
  std::vector<float> divisive_forward(const std::vector<float>& h, Sheet s, const DivisiveParams& p,
                                      std::vector<float>* d_out) {
    const int64_t n = s.units(), batch = int64_t(h.size()) / n;
    Buf<float> hd(be(), h), y(be(), h.size()), d(be(), h.size());
    be().divisive_norm_forward(ConstDenseView(hd.get(), batch, n), s, p, y.view(batch, n), d.view(batch, n));
    if (d_out) *d_out = d.host();
    return y.host();
  }
  std::vector<float> dog_forward(const std::vector<float>& h, Sheet s, const DogParams& p) {
    const int64_t n = s.units(), batch = int64_t(h.size()) / n;
    Buf<float> hd(be(), h), y(be(), h.size());
    be().dog_forward(ConstDenseView(hd.get(), batch, n), s, p, y.view(batch, n));
    return y.host();
  }
};

TEST_P(Inhibition, DivisiveForwardMatchesReference) {
  std::vector<DivisiveParams> params(3);
  params[1] = {2.0f, 0.5f, 0.5f, 1.0f, 0};    // radius 0: only the unit itself
  params[2] = {0.5f, 3.0f, 1.25f, 2.0f, 9};  // radius beyond the 8x8 sheet
  uint64_t seed = 10;
  for (Sheet s : kSheets)
    for (const DivisiveParams& p : params) {
      const auto h = random_floats(kBatch * s.units(), ++seed, -2.f, 2.f);
      Vec y_ref, d_ref;
      ref_divisive(to_double(h), kBatch, s, p, &y_ref, &d_ref);
      ASSERT_TRUE(any_nonzero(y_ref));
      std::vector<float> d;
      const auto y = divisive_forward(h, s, p, &d);
      EXPECT_TRUE(all_close(y, y_ref, 1e-6, 1e-5)) << s.rows << "x" << s.cols << " radius " << p.radius;
      EXPECT_TRUE(all_close(d, d_ref, 1e-6, 1e-5)) << s.rows << "x" << s.cols << " radius " << p.radius;
    }
}

TEST_P(Inhibition, DivisiveBackwardMatchesFiniteDifferences) {
  uint64_t seed = 20;
  for (Sheet s : kSheets) {
    const DivisiveParams p;
    const int64_t n = s.units(), batch = 2;
    const auto h = random_floats(batch * n, ++seed, -2.f, 2.f);
    const auto g = random_floats(batch * n, ++seed);
    std::vector<float> d;
    divisive_forward(h, s, p, &d);
    Buf<float> hd(be(), h), dd(be(), d), gd(be(), g), dh(be(), h.size());
    be().divisive_norm_backward(ConstDenseView(hd.get(), batch, n), ConstDenseView(dd.get(), batch, n),
                                ConstDenseView(gd.get(), batch, n), s, p, dh.view(batch, n));
    const Vec fd = finite_diff(
        [&](const Vec& x) {
          Vec y, dn;
          ref_divisive(x, batch, s, p, &y, &dn);
          return y;
        },
        to_double(h), to_double(g), 1e-5);
    ASSERT_TRUE(any_nonzero(fd));
    EXPECT_TRUE(all_close(dh.host(), fd, 1e-5, 1e-4)) << s.rows << "x" << s.cols;
  }
}

TEST_P(Inhibition, DogForwardMatchesReference) {
  std::vector<DogParams> params(3);
  params[1].radius = 0;                               // no neighbours: y = ReLU(h)
  params[2] = {1.5f, 2.5f, 2.0f, 1.0f, 0.3f, 2};  // a small window inside the sheets
  uint64_t seed = 30;
  for (Sheet s : kSheets)
    for (const DogParams& p : params) {
      const auto h = random_floats(kBatch * s.units(), ++seed, -1.f, 2.f);
      const Vec y_ref = ref_dog(to_double(h), kBatch, s, p);
      ASSERT_TRUE(any_nonzero(y_ref));
      EXPECT_TRUE(all_close(dog_forward(h, s, p), y_ref, 1e-6, 1e-5)) << s.rows << "x" << s.cols;
    }
}

TEST_P(Inhibition, DogBackwardMatchesFiniteDifferences) {
  uint64_t seed = 40;
  for (Sheet s : kSheets) {
    DogParams p;
    p.gamma = 0.3f;
    const int64_t n = s.units(), batch = 2;
    const auto h = random_floats(batch * n, ++seed);
    const auto g = random_floats(batch * n, ++seed);
    // Central differences are only valid away from the ReLU's kink.
    const Vec pre = ref_dog_pre(to_double(h), batch, s, p);
    for (double v : pre) ASSERT_GT(std::fabs(v), 1e-4) << "pick another seed";
    const auto y = dog_forward(h, s, p);
    Buf<float> yd(be(), y), gd(be(), g), dh(be(), h.size());
    be().dog_backward(ConstDenseView(yd.get(), batch, n), ConstDenseView(gd.get(), batch, n), s, p,
                      dh.view(batch, n));
    const Vec fd = finite_diff([&](const Vec& x) { return ref_dog(x, batch, s, p); }, to_double(h), to_double(g), 1e-6);
    ASSERT_TRUE(any_nonzero(fd));
    EXPECT_TRUE(all_close(dh.host(), fd, 1e-5, 1e-4)) << s.rows << "x" << s.cols;
  }
}

// Integer-valued inputs in [-2, 2]: many ties inside each tile, broken by the lower unit index.
TEST_P(Inhibition, KwtaWinnersAndTies) {
  const std::vector<std::pair<Sheet, KwtaParams>> cases = {
      {{1, 1}, {4, 1}},  // one unit, one clipped tile
      {{5, 7}, {4, 3}},  // edge tiles of 4x3, 1x4 and 1x3 units (the last keeps all 3)
      {{8, 8}, {4, 4}},  // whole tiles, default k = 25%
      {{8, 8}, {1, 1}},  // every unit its own tile: everything wins
      {{6, 6}, {3, 9}},  // k = tile*tile: everything wins
  };
  uint64_t seed = 50;
  for (const auto& [s, p] : cases) {
    const int64_t n = s.units();
    const auto h = random_ints(kBatch * n, ++seed, -2, 2);
    const auto want = ref_kwta(h, kBatch, s, p);
    ASSERT_TRUE(any_nonzero(want));
    Buf<float> hd(be(), h), y(be(), h.size());
    Buf<uint8_t> win(be(), h.size());
    be().kwta_forward(ConstDenseView(hd.get(), kBatch, n), s, p, y.view(kBatch, n), win.get());
    const auto got = win.host();
    EXPECT_EQ(got, want) << s.rows << "x" << s.cols << " tile " << p.tile << " k " << p.k;
    const auto yh = y.host();
    for (size_t i = 0; i < h.size(); ++i) EXPECT_EQ(yh[i], got[i] ? h[i] : 0.0f);
    // Winners per tile = min(k, units in the clipped tile).
    for (int64_t b = 0; b < kBatch; ++b)
      for (int r0 = 0; r0 < s.rows; r0 += p.tile)
        for (int c0 = 0; c0 < s.cols; c0 += p.tile) {
          const int tr = std::min(s.rows, r0 + p.tile) - r0, tc = std::min(s.cols, c0 + p.tile) - c0;
          int wins = 0;
          for (int r = r0; r < r0 + tr; ++r)
            for (int c = c0; c < c0 + tc; ++c) wins += got[b * n + int64_t(r) * s.cols + c];
          EXPECT_EQ(wins, std::min(p.k, tr * tc));
        }
    // Gradient flows only to winners.
    const auto dy = random_ints(h.size(), ++seed, -5, 5);
    Buf<float> dyd(be(), dy), dh(be(), h.size());
    be().kwta_backward(win.get(), ConstDenseView(dyd.get(), kBatch, n), dh.view(kBatch, n));
    const auto dhh = dh.host();
    for (size_t i = 0; i < h.size(); ++i) EXPECT_EQ(dhh[i], got[i] ? dy[i] : 0.0f);
  }
}

TEST_P(Inhibition, EmptyBatchIsANoOp) {
  EXPECT_NO_THROW(be().divisive_norm_forward(ConstDenseView(nullptr, 0, 4), {2, 2}, {}, DenseView{nullptr, 0, 4},
                                             DenseView{nullptr, 0, 4}));
  EXPECT_NO_THROW(be().kwta_forward(ConstDenseView(nullptr, 0, 4), {2, 2}, {}, DenseView{nullptr, 0, 4}, nullptr));
}

TEST_P(Inhibition, BadArgumentsRaise) {
  const Sheet s{2, 3};
  Buf<float> h(be(), 12), y(be(), 12), d(be(), 12);
  Buf<uint8_t> w(be(), 12);
  const ConstDenseView hv(h.get(), 2, 6);
  auto div = [&](DivisiveParams p, Sheet sh = {2, 3}) {
    be().divisive_norm_forward(hv, sh, p, y.view(2, 6), d.view(2, 6));
  };
  EXPECT_NO_THROW(div({}));
  EXPECT_THROW(div({1, 1, 0.75f, 0.0f, 3}), Error);   // sigma = 0
  EXPECT_THROW(div({1, 1, 0.75f, 1.5f, -1}), Error);  // radius < 0
  EXPECT_THROW(div({1, 1, -0.5f, 1.5f, 3}), Error);   // beta < 0
  EXPECT_THROW(div({}, {3, 3}), Error);               // h.cols != units
  EXPECT_THROW(be().divisive_norm_forward(hv, s, {}, y.view(2, 6), d.view(6, 2)), Error);
  EXPECT_THROW(be().divisive_norm_backward(hv, ConstDenseView(d.get(), 2, 6), ConstDenseView(y.get(), 1, 6), s, {},
                                           d.view(2, 6)),
               Error);
  DogParams dp;
  dp.sigma_i = 0;
  EXPECT_THROW(be().dog_forward(hv, s, dp, y.view(2, 6)), Error);
  EXPECT_THROW(be().dog_backward(hv, ConstDenseView(y.get(), 2, 6), s, {}, d.view(2, 5)), Error);
  EXPECT_THROW(be().kwta_forward(hv, s, {0, 1}, y.view(2, 6), w.get()), Error);   // tile 0
  EXPECT_THROW(be().kwta_forward(hv, s, {2, 0}, y.view(2, 6), w.get()), Error);   // k 0
  EXPECT_THROW(be().kwta_forward(hv, s, {2, 5}, y.view(2, 6), w.get()), Error);   // k > tile^2
  EXPECT_THROW(be().kwta_forward(hv, s, {2, 2}, y.view(2, 6), nullptr), Error);   // no winners
  EXPECT_THROW(be().kwta_backward(w.get(), hv, y.view(6, 2)), Error);
}

NEUROAI_INSTANTIATE_BACKENDS(Inhibition);

}  // namespace
}  // namespace neuroai::testing
