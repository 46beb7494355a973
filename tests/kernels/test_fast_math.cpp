// The host's call-free exp / tanh / sigmoid (kernels/fast_math.h) against double-precision std::exp /
// std::tanh over a dense grid, at the edges of their ranges, and on NaN.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "kernels/fast_math.h"

namespace neuroai {
namespace {

// x from -lim to lim: fine steps near 0 (where tanh switches form at 0.625), coarser beyond.
template <class F>
void for_grid(double lim, F f) {
  for (double x = -lim; x <= lim; x += (std::abs(x) < 2.0 ? 1e-4 : 1e-2)) f(float(x));
}

TEST(FastMath, ExpWithinTwoUlpOnItsRange) {
  double worst = 0.0;
  for_grid(87.0, [&](float x) {
    const double want = std::exp(double(x));
    worst = std::max(worst, std::abs(double(fast::exp(x)) - want) / want);
  });
  EXPECT_LT(worst, 2.5e-7);
  EXPECT_EQ(fast::exp(0.0f), 1.0f);
  // Clamped outside [-87, 88]: tiny and huge but finite and positive.
  EXPECT_GT(fast::exp(-1000.0f), 0.0f);
  EXPECT_LT(fast::exp(-1000.0f), 2e-38f);
  EXPECT_TRUE(std::isfinite(fast::exp(1000.0f)));
  EXPECT_GT(fast::exp(1000.0f), 1e38f);
}

TEST(FastMath, TanhAndSigmoidMatchDouble) {
  double worst_small_rel = 0.0, worst_abs = 0.0, worst_sig = 0.0;
  for_grid(40.0, [&](float x) {
    const double t = std::tanh(double(x)), got = fast::tanh(x);
    worst_abs = std::max(worst_abs, std::abs(got - t));
    if (std::abs(x) < 0.625f && x != 0.0f) worst_small_rel = std::max(worst_small_rel, std::abs(got - t) / std::abs(t));
    worst_sig = std::max(worst_sig, std::abs(double(fast::sigmoid(x)) - 1.0 / (1.0 + std::exp(-double(x)))));
  });
  EXPECT_LT(worst_small_rel, 3e-7);  // relative accuracy where tanh(x) ~ x
  EXPECT_LT(worst_abs, 2e-7);
  EXPECT_LT(worst_sig, 2e-7);
  EXPECT_EQ(fast::tanh(0.0f), 0.0f);
  EXPECT_EQ(fast::tanh(1e-30f), 1e-30f);
  EXPECT_EQ(fast::tanh(100.0f), 1.0f);
  EXPECT_EQ(fast::tanh(-std::numeric_limits<float>::infinity()), -1.0f);
  EXPECT_EQ(fast::tanh(-0.7f), -fast::tanh(0.7f));  // odd on both sides of the switch
  EXPECT_EQ(fast::sigmoid(200.0f), 1.0f);
  EXPECT_GE(fast::sigmoid(-200.0f), 0.0f);
  EXPECT_LT(fast::sigmoid(-200.0f), 1e-13f);  // the argument stops at -30
}

TEST(FastMath, NanPropagates) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(fast::exp(nan)));
  EXPECT_TRUE(std::isnan(fast::tanh(nan)));
  EXPECT_TRUE(std::isnan(fast::sigmoid(nan)));
}

}  // namespace
}  // namespace neuroai
