// Param (weights + grad + moments + mask) and the learning-rate schedules, against plain double
// references of the PyTorch SGD / Adam conventions.
#include <cmath>
#include <numbers>

#include "backend_fixture.h"
#include "engine/optimizer.h"

namespace neuroai {
namespace {

using testing::all_close;
using testing::random_floats;
using testing::random_mask;

class OptimizerTest : public testing::BackendTest {};

template <class T>
std::vector<T> host(Backend& b, const T* p, int64_t n) {
  std::vector<T> h(static_cast<size_t>(n));
  if (n > 0) b.download(h.data(), p, size_t(n) * sizeof(T));
  return h;
}

// Plain references (double), one call per step; masked entries are held at 0.
void sgd_ref(const OptimConfig& c, double lr, const std::vector<float>& g, const std::vector<uint8_t>& mask,
             std::vector<double>& w, std::vector<double>& m) {
  for (size_t i = 0; i < w.size(); ++i) {
    if (!mask.empty() && !mask[i]) {
      w[i] = m[i] = 0;
      continue;
    }
    const double gp = double(g[i]) + double(c.weight_decay) * w[i];
    m[i] = double(c.momentum) * m[i] + gp;
    w[i] -= lr * (c.nesterov ? gp + double(c.momentum) * m[i] : m[i]);
  }
}

void adam_ref(const OptimConfig& c, double lr, int64_t t, const std::vector<float>& g,
              const std::vector<uint8_t>& mask, std::vector<double>& w, std::vector<double>& m,
              std::vector<double>& v) {
  const double b1 = c.beta1, b2 = c.beta2;
  for (size_t i = 0; i < w.size(); ++i) {
    if (!mask.empty() && !mask[i]) {
      w[i] = m[i] = v[i] = 0;
      continue;
    }
    double gi = g[i];
    if (c.decoupled_wd)
      w[i] -= lr * double(c.weight_decay) * w[i];
    else
      gi += double(c.weight_decay) * w[i];
    m[i] = b1 * m[i] + (1 - b1) * gi;
    v[i] = b2 * v[i] + (1 - b2) * gi * gi;
    const double mh = m[i] / (1 - std::pow(b1, double(t))), vh = v[i] / (1 - std::pow(b2, double(t)));
    w[i] -= lr * mh / (std::sqrt(vh) + double(c.eps));
  }
}

TEST(LrSchedule, ConstantCosineStepWarmup) {
  OptimConfig c;
  c.lr = 0.1f;
  LrConfig s;
  s.kind = LrSchedule::Constant;
  EXPECT_FLOAT_EQ(lr_at(c, s, 0, 100), 0.1f);
  EXPECT_FLOAT_EQ(lr_at(c, s, 99, 100), 0.1f);

  s.kind = LrSchedule::Cosine;
  EXPECT_FLOAT_EQ(lr_at(c, s, 0, 100), 0.1f);
  EXPECT_NEAR(lr_at(c, s, 50, 100), 0.05f, 1e-7);
  EXPECT_NEAR(lr_at(c, s, 100, 100), 0.0f, 1e-7);
  for (int64_t t = 1; t <= 100; ++t) EXPECT_LE(lr_at(c, s, t, 100), lr_at(c, s, t - 1, 100));

  s.kind = LrSchedule::Step;
  s.step_every = 30;
  s.step_gamma = 0.5f;
  EXPECT_FLOAT_EQ(lr_at(c, s, 29, 100), 0.1f);
  EXPECT_FLOAT_EQ(lr_at(c, s, 30, 100), 0.05f);
  EXPECT_FLOAT_EQ(lr_at(c, s, 65, 100), 0.025f);

  s.kind = LrSchedule::Cosine;
  s.warmup_frac = 0.1f;  // 10 warm-up steps, then the cosine over the remaining 90
  EXPECT_FLOAT_EQ(lr_at(c, s, 0, 100), 0.01f);
  EXPECT_FLOAT_EQ(lr_at(c, s, 9, 100), 0.1f);
  EXPECT_FLOAT_EQ(lr_at(c, s, 10, 100), 0.1f);
  EXPECT_NEAR(lr_at(c, s, 55, 100), 0.05f, 1e-7);
}

struct OptCase {
  const char* name;
  OptimConfig cfg;
  bool masked;
};

std::vector<OptCase> opt_cases() {
  std::vector<OptCase> cs;
  OptimConfig sgd;
  sgd.kind = OptimKind::Sgd;
  sgd.lr = 0.05f;
  cs.push_back({"sgd_momentum_masked", sgd, true});
  sgd.nesterov = true;
  sgd.weight_decay = 0.01f;
  cs.push_back({"sgd_nesterov_wd", sgd, false});
  OptimConfig adam;
  adam.lr = 0.01f;
  cs.push_back({"adam_masked", adam, true});
  adam.weight_decay = 0.05f;
  adam.decoupled_wd = true;
  cs.push_back({"adamw_masked", adam, true});
  adam.decoupled_wd = false;
  cs.push_back({"adam_l2", adam, false});
  return cs;
}

// Several steps of Param::step against the reference: masked entries of w, m and v stay exactly 0.
TEST_P(OptimizerTest, StepMatchesReference) {
  const int64_t n = 203;  // not a vector-width multiple
  for (const auto& c : opt_cases()) {
    SCOPED_TRACE(c.name);
    Param p(be(), n);
    auto w0 = random_floats(size_t(n), 11);
    std::vector<uint8_t> mask;
    if (c.masked) {
      mask = random_mask(size_t(n), 0.6, 12);
      for (size_t i = 0; i < w0.size(); ++i)
        if (!mask[i]) w0[i] = 0;
    }
    p.set_w_host(w0);
    if (c.masked) {
      p.enable_mask();
      be().upload(p.mask(), mask.data(), mask.size());
    }
    std::vector<double> w(w0.begin(), w0.end()), m(size_t(n), 0.0), v(size_t(n), 0.0);
    for (int64_t t = 1; t <= 4; ++t) {
      const auto g = random_floats(size_t(n), 100 + uint64_t(t));
      be().upload(p.g(), g.data(), g.size() * sizeof(float));
      const float lr = c.cfg.lr * float(t);
      p.step(c.cfg, lr, t);
      if (c.cfg.kind == OptimKind::Sgd)
        sgd_ref(c.cfg, lr, g, mask, w, m);
      else
        adam_ref(c.cfg, lr, t, g, mask, w, m, v);
    }
    ASSERT_TRUE(testing::any_nonzero(w));
    EXPECT_TRUE(all_close(p.w_host(), w, 1e-6, 1e-5));
    EXPECT_TRUE(all_close(host(be(), p.m(), n), m, 1e-6, 1e-5));
    if (c.cfg.kind == OptimKind::Adam) {
      EXPECT_TRUE(all_close(host(be(), p.v(), n), v, 1e-7, 1e-5));
    }
    if (c.masked) {
      const auto hw = p.w_host(), hm = host(be(), p.m(), n);
      for (int64_t i = 0; i < n; ++i) {
        if (!mask[size_t(i)]) {
          EXPECT_EQ(hw[size_t(i)], 0.0f);
          EXPECT_EQ(hm[size_t(i)], 0.0f);
        }
      }
    }
  }
}

// apply_mask zeroes w, g and the moments where the mask dropped to 0.
TEST_P(OptimizerTest, ApplyMaskZeroesEverything) {
  const int64_t n = 50;
  Param p(be(), n);
  p.set_w_host(random_floats(size_t(n), 1));
  const auto g = random_floats(size_t(n), 2);
  be().upload(p.g(), g.data(), g.size() * sizeof(float));
  OptimConfig adam;
  p.step(adam, 0.01f, 1);
  be().upload(p.g(), g.data(), g.size() * sizeof(float));
  p.enable_mask();
  const auto mask = random_mask(size_t(n), 0.5, 3);
  be().upload(p.mask(), mask.data(), mask.size());
  p.apply_mask();
  const auto hw = p.w_host(), hg = host(be(), p.g(), n), hm = host(be(), p.m(), n), hv = host(be(), p.v(), n);
  for (size_t i = 0; i < size_t(n); ++i) {
    if (mask[i]) {
      EXPECT_NE(hw[i], 0.0f);
      continue;
    }
    EXPECT_EQ(hw[i], 0.0f);
    EXPECT_EQ(hg[i], 0.0f);
    EXPECT_EQ(hm[i], 0.0f);
    EXPECT_EQ(hv[i], 0.0f);
  }
}

// compact keeps the kept entries of w, g, m, v in order.
TEST_P(OptimizerTest, CompactKeepsOrder) {
  const int64_t n = 77;
  Param p(be(), n);
  const auto w = random_floats(size_t(n), 5);
  const auto g = random_floats(size_t(n), 6);
  p.set_w_host(w);
  be().upload(p.g(), g.data(), g.size() * sizeof(float));
  OptimConfig adam;
  p.step(adam, 0.01f, 1);
  const auto w1 = p.w_host(), m1 = host(be(), p.m(), n), v1 = host(be(), p.v(), n);
  const auto keep = random_mask(size_t(n), 0.4, 7);
  Buffer<uint8_t> keep_d(be(), keep);
  Buffer<int32_t> pos(be(), n + 1);
  const int64_t kept = be().scan_flags(keep_d.data(), n, pos.data());
  p.compact(keep_d.data(), pos.data(), kept);
  ASSERT_EQ(p.size(), kept);
  std::vector<float> ew, eg, em, ev;
  for (size_t i = 0; i < size_t(n); ++i)
    if (keep[i]) {
      ew.push_back(w1[i]);
      eg.push_back(g[i]);
      em.push_back(m1[i]);
      ev.push_back(v1[i]);
    }
  EXPECT_TRUE(all_close(p.w_host(), ew, 0, 0));
  EXPECT_TRUE(all_close(host(be(), p.g(), kept), eg, 0, 0));
  EXPECT_TRUE(all_close(host(be(), p.m(), kept), em, 0, 0));
  EXPECT_TRUE(all_close(host(be(), p.v(), kept), ev, 0, 0));
}

NEUROAI_INSTANTIATE_BACKENDS(OptimizerTest);

}  // namespace
}  // namespace neuroai
