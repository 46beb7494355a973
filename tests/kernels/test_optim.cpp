// sgd_step and adam_step over 3 steps against a plain double reference of the PyTorch formulas;
// masked entries (and their moments) end exactly 0.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "backend_fixture.h"
#include "kernels/error.h"

namespace neuroai {
namespace {

using testing::all_close;
using testing::any_nonzero;
using testing::Buf;
using testing::expect_error_naming;
using testing::random_floats;
using testing::random_mask;


constexpr int kSteps = 3;
// Past the CPU backend's OpenMP threshold on the large case; 1 and 37 cover tails.
const int64_t kSizes[] = {1, 37, (int64_t(1) << 15) + 5};

// torch.optim.SGD (dampening 0), one element, double.
void sgd_ref(const SgdParams& p, double g, double& w, double& m) {
  double d = g + double(p.weight_decay) * w;
  if (p.momentum != 0.0f) {
    m = double(p.momentum) * m + d;
    d = p.nesterov ? d + double(p.momentum) * m : m;
  }
  w -= double(p.lr) * d;
}

// torch.optim.Adam / AdamW, one element, double.
void adam_ref(const AdamParams& p, double g, double& w, double& m, double& v) {
  if (p.decoupled) {
    w *= 1.0 - double(p.lr) * double(p.weight_decay);
  } else {
    g += double(p.weight_decay) * w;
  }
  m = double(p.beta1) * m + (1.0 - double(p.beta1)) * g;
  v = double(p.beta2) * v + (1.0 - double(p.beta2)) * g * g;
  double bc1 = 1.0 - std::pow(double(p.beta1), double(p.step));
  double bc2 = 1.0 - std::pow(double(p.beta2), double(p.step));
  w -= double(p.lr) / bc1 * m / (std::sqrt(v) / std::sqrt(bc2) + double(p.eps));
}

struct SgdCase {
  const char* name;
  SgdParams p;
  bool with_mask;
};
const SgdCase kSgdCases[] = {
    {"plain_no_momentum", {.lr = 0.1f, .momentum = 0.0f}, false},
    {"momentum", {.lr = 0.05f, .momentum = 0.9f}, false},
    {"nesterov_weight_decay", {.lr = 0.05f, .momentum = 0.8f, .weight_decay = 0.01f, .nesterov = true}, false},
    {"momentum_masked", {.lr = 0.05f, .momentum = 0.9f, .weight_decay = 0.001f}, true},
    {"plain_masked", {.lr = 0.1f, .momentum = 0.0f}, true},
};

class Optim : public testing::BackendTest {};

TEST_P(Optim, SgdThreeStepsMatchPyTorchReference) {
  for (const auto& tc : kSgdCases) {
    for (int64_t n : kSizes) {
      SCOPED_TRACE(std::string(tc.name) + " n=" + std::to_string(n));
      auto w0 = random_floats(size_t(n), 1);
      auto mask = random_mask(size_t(n), 0.6, 2);
      if (tc.with_mask) mask[0] = 0;
      const bool use_buf = tc.p.momentum != 0.0f;
      // Masked entries start non-zero in w and the buffer: the step must zero them.
      std::vector<float> m0(size_t(n), use_buf ? 0.25f : 0.0f);
      std::vector<double> w(w0.begin(), w0.end()), m(m0.begin(), m0.end());
      Buf<float> dw(be(), w0), dm(be(), m0), dg(be(), size_t(n));
      Buf<uint8_t> dmask(be(), mask);
      for (int s = 0; s < kSteps; ++s) {
        auto g = random_floats(size_t(n), 10 + uint64_t(s));
        dg.set(g);
        for (size_t i = 0; i < size_t(n); ++i) {
          if (tc.with_mask && !mask[i]) {
            w[i] = m[i] = 0;
          } else {
            sgd_ref(tc.p, g[i], w[i], m[i]);
          }
        }
        be().sgd_step(tc.p, n, dg.get(), tc.with_mask ? dmask.get() : nullptr, dw.get(), use_buf ? dm.get() : nullptr);
      }
      // n = 1 with a mask has its only entry pruned.
      if (!(tc.with_mask && n == 1)) {
        ASSERT_TRUE(any_nonzero(w));
      }
      EXPECT_TRUE(all_close(dw.host(), w, 1e-6, 1e-5));
      if (use_buf) {
        EXPECT_TRUE(all_close(dm.host(), m, 1e-6, 1e-5));
      }
      if (tc.with_mask) {
        auto gw = dw.host(), gm = dm.host();
        for (size_t i = 0; i < mask.size(); ++i)
          if (!mask[i]) {
            ASSERT_EQ(gw[i], 0.0f) << i;
            if (use_buf) {
              ASSERT_EQ(gm[i], 0.0f) << i;
            }
          }
      }
    }
  }
}

struct AdamCase {
  const char* name;
  AdamParams p;
  bool with_mask;
};
const AdamCase kAdamCases[] = {
    {"adam_defaults", {}, false},
    {"adam_l2", {.lr = 1e-2f, .weight_decay = 0.01f}, false},
    {"adamw", {.lr = 1e-2f, .beta1 = 0.8f, .beta2 = 0.99f, .weight_decay = 0.05f, .decoupled = true}, false},
    {"adamw_masked", {.lr = 1e-2f, .weight_decay = 0.01f, .decoupled = true}, true},
    {"adam_large_eps_masked", {.lr = 1e-3f, .eps = 1e-3f}, true},
};

TEST_P(Optim, AdamThreeStepsMatchPyTorchReference) {
  for (const auto& tc : kAdamCases) {
    for (int64_t n : kSizes) {
      SCOPED_TRACE(std::string(tc.name) + " n=" + std::to_string(n));
      auto w0 = random_floats(size_t(n), 3);
      auto mask = random_mask(size_t(n), 0.6, 4);
      if (tc.with_mask) mask[0] = 0;
      std::vector<float> m0(size_t(n), 0.0f), v0(size_t(n), 0.0f);
      if (tc.with_mask)  // masked moments start non-zero: the step must zero them
        for (size_t i = 0; i < mask.size(); ++i)
          if (!mask[i]) m0[i] = v0[i] = 0.5f;
      std::vector<double> w(w0.begin(), w0.end()), m(m0.begin(), m0.end()), v(v0.begin(), v0.end());
      Buf<float> dw(be(), w0), dm(be(), m0), dv(be(), v0), dg(be(), size_t(n));
      Buf<uint8_t> dmask(be(), mask);
      AdamParams p = tc.p;
      for (int s = 0; s < kSteps; ++s) {
        p.step = s + 1;
        auto g = random_floats(size_t(n), 20 + uint64_t(s));
        dg.set(g);
        for (size_t i = 0; i < size_t(n); ++i) {
          if (tc.with_mask && !mask[i]) {
            w[i] = m[i] = v[i] = 0;
          } else {
            adam_ref(p, g[i], w[i], m[i], v[i]);
          }
        }
        be().adam_step(p, n, dg.get(), tc.with_mask ? dmask.get() : nullptr, dw.get(), dm.get(), dv.get());
      }
      // n = 1 with a mask has its only entry pruned.
      if (!(tc.with_mask && n == 1)) {
        ASSERT_TRUE(any_nonzero(w));
        ASSERT_TRUE(any_nonzero(v));
      }
      // Adam's step is ~lr per entry, so an absolute tolerance far below lr checks the update itself.
      EXPECT_TRUE(all_close(dw.host(), w, 1e-6, 1e-5));
      EXPECT_TRUE(all_close(dm.host(), m, 1e-6, 1e-5));
      EXPECT_TRUE(all_close(dv.host(), v, 1e-7, 1e-5));
      if (tc.with_mask) {
        auto gw = dw.host(), gm = dm.host(), gv = dv.host();
        for (size_t i = 0; i < mask.size(); ++i)
          if (!mask[i]) {
            ASSERT_EQ(gw[i], 0.0f) << i;
            ASSERT_EQ(gm[i], 0.0f) << i;
            ASSERT_EQ(gv[i], 0.0f) << i;
          }
      }
    }
  }
}

TEST_P(Optim, BadParametersRaiseNamingTheArgument) {
  Buf<float> g(be(), 4), w(be(), 4), m(be(), 4), v(be(), 4);
  expect_error_naming([&] { be().adam_step({.step = 0}, 4, g.get(), nullptr, w.get(), m.get(), v.get()); },
                      {"adam_step", "step is 0", "step >= 1"});
  expect_error_naming([&] { be().adam_step({.beta1 = 1.0f}, 4, g.get(), nullptr, w.get(), m.get(), v.get()); },
                      {"adam_step", "beta1 is 1", "beta1 < 1"});
  expect_error_naming([&] { be().adam_step({}, 4, g.get(), nullptr, w.get(), nullptr, v.get()); },
                      {"adam_step", "m is null"});
  expect_error_naming([&] { be().adam_step({}, -3, g.get(), nullptr, w.get(), m.get(), v.get()); },
                      {"adam_step", "n is -3"});
  expect_error_naming([&] { be().sgd_step({.momentum = 0.9f}, 4, g.get(), nullptr, w.get(), nullptr); },
                      {"sgd_step", "momentum buffer is null"});
  expect_error_naming([&] { be().sgd_step({.lr = -1.0f}, 4, g.get(), nullptr, w.get(), m.get()); },
                      {"sgd_step", "lr is -1"});
  expect_error_naming(
      [&] { be().sgd_step({.momentum = 0.0f, .nesterov = true}, 4, g.get(), nullptr, w.get(), nullptr); },
      {"sgd_step", "nesterov"});
  expect_error_naming([&] { be().sgd_step({}, 4, nullptr, nullptr, w.get(), m.get()); }, {"sgd_step", "grad is null"});
}

NEUROAI_INSTANTIATE_BACKENDS(Optim);

}  // namespace
}  // namespace neuroai
