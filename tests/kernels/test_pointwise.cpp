// Pointwise ops and reductions: bias_add, col_sum, activations (forward, and backward against
// central differences in double), apply_mask, add_sign, axpy, scale, fill, reduce.
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
using testing::random_ints;
using testing::random_mask;

// Past the CPU backend's OpenMP threshold (1 << 15), and not a multiple of any vector width.
constexpr int64_t kLarge = (int64_t(1) << 16) + 3;


class Pointwise : public testing::BackendTest {};

// ---- bias_add, col_sum ------------------------------------------------------------------------

struct MatCase {
  const char* name;
  int64_t rows, cols;
};
const MatCase kMatCases[] = {
    {"1x1", 1, 1},
    {"not_a_tile_multiple", 33, 65},
    {"wide_row", 3, 1100},     // more than one CPU column block
    {"tall_narrow", 300, 10},  // many rows, few columns (a logits-shaped gradient)
};

TEST_P(Pointwise, BiasAdd) {
  for (const auto& tc : kMatCases) {
    SCOPED_TRACE(tc.name);
    auto y = random_ints(size_t(tc.rows * tc.cols), 1);
    auto bias = random_ints(size_t(tc.cols), 2, 4, 6);  // |bias| > |y|: the sum is never 0
    std::vector<double> ref(y.size());
    for (int64_t r = 0; r < tc.rows; ++r)
      for (int64_t c = 0; c < tc.cols; ++c)
        ref[size_t(r * tc.cols + c)] = double(y[size_t(r * tc.cols + c)]) + bias[size_t(c)];
    ASSERT_TRUE(any_nonzero(ref));
    Buf<float> dy(be(), y), db(be(), bias);
    be().bias_add(dy.view(tc.rows, tc.cols), db.get());
    EXPECT_TRUE(all_close(dy.host(), ref, 0.0, 0.0));
  }
}

TEST_P(Pointwise, ColSumOverwriteAndAccumulate) {
  for (const auto& tc : kMatCases) {
    SCOPED_TRACE(tc.name);
    auto x = random_ints(size_t(tc.rows * tc.cols), 3, 1, 4);  // positive: column sums never 0
    auto out0 = random_ints(size_t(tc.cols), 4);
    std::vector<double> ref(size_t(tc.cols));
    for (int64_t r = 0; r < tc.rows; ++r)
      for (int64_t c = 0; c < tc.cols; ++c) ref[size_t(c)] += x[size_t(r * tc.cols + c)];
    ASSERT_TRUE(any_nonzero(ref));
    Buf<float> dx(be(), x), out(be(), out0);
    be().col_sum({dx.get(), tc.rows, tc.cols}, out.get(), false);
    EXPECT_TRUE(all_close(out.host(), ref, 0.0, 0.0));
    out.set(out0);
    for (size_t c = 0; c < ref.size(); ++c) ref[c] += out0[c];
    be().col_sum({dx.get(), tc.rows, tc.cols}, out.get(), true);
    EXPECT_TRUE(all_close(out.host(), ref, 0.0, 0.0));
  }
}

TEST_P(Pointwise, ColSumOfNoRowsIsZero) {
  Buf<float> out(be(), std::vector<float>{1, 2, 3});
  be().col_sum({nullptr, 0, 3}, out.get(), false);
  EXPECT_FALSE(any_nonzero(out.host()));
}

// ---- activations ------------------------------------------------------------------------------

double act_ref(Activation a, double x) {
  switch (a) {
    case Activation::Relu: return x > 0 ? x : 0;
    case Activation::Tanh: return std::tanh(x);
    case Activation::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Activation::Identity: break;
  }
  return x;
}

struct ActCase {
  const char* name;
  Activation act;
};
const ActCase kActs[] = {{"identity", Activation::Identity},
                         {"relu", Activation::Relu},
                         {"tanh", Activation::Tanh},
                         {"sigmoid", Activation::Sigmoid}};

TEST_P(Pointwise, ActivationForwardMatchesReference) {
  for (const auto& tc : kActs) {
    for (int64_t n : {int64_t(1), int64_t(1000), kLarge}) {
      SCOPED_TRACE(std::string(tc.name) + " n=" + std::to_string(n));
      auto x = random_floats(size_t(n), 5, -4.0f, 4.0f);
      std::vector<double> ref(x.size());
      for (size_t i = 0; i < x.size(); ++i) ref[i] = act_ref(tc.act, x[i]);
      ASSERT_TRUE(any_nonzero(ref));
      Buf<float> dx(be(), x), dy(be(), size_t(n));
      be().activation_forward(tc.act, dx.get(), n, dy.get());
      EXPECT_TRUE(all_close(dy.host(), ref, 1e-6, 1e-6));
      be().activation_forward(tc.act, dx.get(), n, dx.get());  // in place
      EXPECT_TRUE(all_close(dx.host(), ref, 1e-6, 1e-6));
    }
  }
}

// dx = dy * f'(x) from the forward output y, against central differences of the double reference.
TEST_P(Pointwise, ActivationBackwardMatchesFiniteDifferences) {
  const int64_t n = 257;
  auto x = random_floats(size_t(n), 6, -3.0f, 3.0f);
  for (auto& v : x)
    if (std::fabs(v) < 1e-3f) v = 0.5f;  // keep ReLU's kink out of the difference quotient
  auto gy = random_floats(size_t(n), 7);
  const double h = 1e-6;
  for (const auto& tc : kActs) {
    SCOPED_TRACE(tc.name);
    std::vector<double> num(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      num[i] = gy[i] * (act_ref(tc.act, double(x[i]) + h) - act_ref(tc.act, double(x[i]) - h)) / (2 * h);
    ASSERT_TRUE(any_nonzero(num));
    Buf<float> dx(be(), x), y(be(), size_t(n)), dgy(be(), gy), gx(be(), size_t(n));
    be().activation_forward(tc.act, dx.get(), n, y.get());
    be().activation_backward(tc.act, y.get(), dgy.get(), n, gx.get());
    // The derivative is evaluated at the fp32 output y, so allow fp32 rounding of y.
    EXPECT_TRUE(all_close(gx.host(), num, 1e-6, 1e-5));
  }
}

// ---- apply_mask, add_sign, axpy, scale, fill ---------------------------------------------------

TEST_P(Pointwise, ApplyMaskZeroesPrunedEntriesEvenInf) {
  for (int64_t n : {int64_t(1), int64_t(77), kLarge}) {
    SCOPED_TRACE(n);
    auto x = random_ints(size_t(n), 8, 1, 9);
    auto mask = random_mask(size_t(n), 0.5, 9);
    mask[0] = 0;
    x[0] = INFINITY;
    std::vector<float> ref(x);
    for (size_t i = 0; i < ref.size(); ++i)
      if (!mask[i]) ref[i] = 0.0f;
    Buf<float> dx(be(), x);
    Buf<uint8_t> dm(be(), mask);
    be().apply_mask(n, dm.get(), dx.get());
    auto got = dx.host();
    if (n > 1) {
      ASSERT_TRUE(any_nonzero(ref));
    }
    EXPECT_TRUE(all_close(got, ref, 0.0, 0.0));
  }
}

TEST_P(Pointwise, AddSignTreatsZeroAsZero) {
  for (int64_t n : {int64_t(1), int64_t(101), kLarge}) {
    SCOPED_TRACE(n);
    auto x = random_ints(size_t(n), 10, -2, 2);  // about a fifth are exactly 0
    auto d0 = random_ints(size_t(n), 11);
    std::vector<double> ref(static_cast<size_t>(n));
    for (size_t i = 0; i < ref.size(); ++i) ref[i] = d0[i] + 0.5 * ((x[i] > 0) - (x[i] < 0));
    Buf<float> dx(be(), x), dd(be(), d0);
    be().add_sign(n, 0.5f, dx.get(), dd.get());
    EXPECT_TRUE(all_close(dd.host(), ref, 0.0, 0.0));
  }
}

TEST_P(Pointwise, AxpyScaleFill) {
  for (int64_t n : {int64_t(1), int64_t(333), kLarge}) {
    SCOPED_TRACE(n);
    auto x = random_ints(size_t(n), 12);
    auto y0 = random_ints(size_t(n), 13);
    std::vector<double> ref(static_cast<size_t>(n));
    for (size_t i = 0; i < ref.size(); ++i) ref[i] = y0[i] - 2.0 * x[i];
    ASSERT_TRUE(any_nonzero(ref));
    Buf<float> dx(be(), x), dy(be(), y0);
    be().axpy(n, -2.0f, dx.get(), dy.get());
    EXPECT_TRUE(all_close(dy.host(), ref, 0.0, 0.0));
    for (auto& v : ref) v *= 0.25;
    be().scale(n, 0.25f, dy.get());
    EXPECT_TRUE(all_close(dy.host(), ref, 0.0, 0.0));
    be().fill(n, 1.5f, dy.get());
    EXPECT_TRUE(all_close(dy.host(), std::vector<float>(size_t(n), 1.5f), 0.0, 0.0));
  }
}

// ---- reduce -----------------------------------------------------------------------------------

TEST_P(Pointwise, ReduceSumSumSquaresSumAbs) {
  struct {
    const char* name;
    Reduction r;
  } reductions[] = {{"sum", Reduction::Sum}, {"sum_squares", Reduction::SumSquares}, {"sum_abs", Reduction::SumAbs}};
  for (int64_t n : {int64_t(1), int64_t(1000), kLarge}) {
    auto x = random_ints(size_t(n), 14, -5, 4);  // biased so the plain sum is not near 0
    for (const auto& rc : reductions) {
      SCOPED_TRACE(std::string(rc.name) + " n=" + std::to_string(n));
      double ref = 0;
      for (float v : x) {
        if (rc.r == Reduction::Sum) ref += v;
        if (rc.r == Reduction::SumSquares) ref += double(v) * v;
        if (rc.r == Reduction::SumAbs) ref += std::fabs(v);
      }
      ASSERT_NE(ref, 0.0);
      Buf<float> dx(be(), x), out(be(), 1);
      be().reduce(rc.r, dx.get(), n, out.get());
      // Integer partial sums below 2^24 are exact in any order.
      EXPECT_TRUE(all_close(out.host(), std::vector<double>{ref}, 0.0, 0.0));
    }
  }
}

TEST_P(Pointwise, ReduceFloatsWithinTolerance) {
  auto x = random_floats(size_t(kLarge), 15, 0.0f, 1.0f);
  double ref = 0;
  for (float v : x) ref += v;
  Buf<float> dx(be(), x), out(be(), 1);
  be().reduce(Reduction::Sum, dx.get(), kLarge, out.get());
  // CUDA sums in fp32 along a tree; relative error ~ log2(n) * 2^-24.
  EXPECT_TRUE(all_close(out.host(), std::vector<double>{ref}, 0.0, 1e-5));
}

TEST_P(Pointwise, ReduceOfNothingIsZero) {
  Buf<float> out(be(), std::vector<float>{7.0f});
  be().reduce(Reduction::SumAbs, nullptr, 0, out.get());
  EXPECT_EQ(out.host()[0], 0.0f);
}

// ---- bad arguments ----------------------------------------------------------------------------

TEST_P(Pointwise, BadArgumentsRaiseNamingTheArgument) {
  Buf<float> a(be(), 8), b(be(), 8);
  expect_error_naming([&] { be().axpy(-1, 1.0f, a.get(), b.get()); }, {"axpy", "n is -1", "n >= 0"});
  expect_error_naming([&] { be().axpy(4, 1.0f, nullptr, b.get()); }, {"axpy", "x is null"});
  expect_error_naming([&] { be().scale(4, 1.0f, nullptr); }, {"scale", "x is null"});
  expect_error_naming([&] { be().fill(-2, 1.0f, a.get()); }, {"fill", "n is -2"});
  expect_error_naming([&] { be().apply_mask(4, nullptr, a.get()); }, {"apply_mask", "mask is null"});
  expect_error_naming([&] { be().add_sign(4, 1.0f, a.get(), nullptr); }, {"add_sign", "dx is null"});
  expect_error_naming([&] { be().bias_add(a.view(2, 4), nullptr); }, {"bias_add", "bias is null", "4"});
  expect_error_naming([&] { be().col_sum({a.get(), 2, 4}, nullptr, false); }, {"col_sum", "out is null"});
  expect_error_naming([&] { be().reduce(Reduction::Sum, a.get(), 8, nullptr); }, {"reduce", "out is null"});
  expect_error_naming([&] { be().activation_forward(Activation::Relu, a.get(), 8, nullptr); },
                      {"activation_forward", "y is null"});
  expect_error_naming([&] { be().activation_backward(Activation::Tanh, a.get(), nullptr, 8, b.get()); },
                      {"activation_backward", "dy is null"});
}

NEUROAI_INSTANTIATE_BACKENDS(Pointwise);

}  // namespace
}  // namespace neuroai
