// masked_linear_forward / _backward: Y = X (W ⊙ M)^T + b and its gradients, against a plain double
// reference, and the backward against central finite differences of that reference in double.
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

// Plain reference in double. x (B, in), w (out, in), mask (out, in) or empty, bias (out) or empty.
std::vector<double> forward_ref(const std::vector<double>& x, const std::vector<double>& w,
                                const std::vector<uint8_t>& mask, const std::vector<double>& bias, int64_t batch,
                                int64_t in, int64_t out) {
  std::vector<double> y(size_t(batch * out));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t o = 0; o < out; ++o) {
      double s = bias.empty() ? 0.0 : bias[size_t(o)];
      for (int64_t i = 0; i < in; ++i) {
        size_t k = size_t(o * in + i);
        if (mask.empty() || mask[k]) s += x[size_t(b * in + i)] * w[k];
      }
      y[size_t(b * out + o)] = s;
    }
  return y;
}

struct Grads {
  std::vector<double> dx, dw, db;
};

Grads backward_ref(const std::vector<double>& x, const std::vector<double>& w, const std::vector<uint8_t>& mask,
                   const std::vector<double>& dy, int64_t batch, int64_t in, int64_t out) {
  Grads g{std::vector<double>(size_t(batch * in)), std::vector<double>(size_t(out * in)),
          std::vector<double>(size_t(out))};
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t o = 0; o < out; ++o) {
      double d = dy[size_t(b * out + o)];
      g.db[size_t(o)] += d;
      for (int64_t i = 0; i < in; ++i) {
        size_t k = size_t(o * in + i);
        if (!mask.empty() && !mask[k]) continue;
        g.dx[size_t(b * in + i)] += d * w[k];
        g.dw[k] += d * x[size_t(b * in + i)];
      }
    }
  return g;
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

struct LinearCase {
  const char* name;
  int64_t batch, in, out;
  double density;
};

const LinearCase kCases[] = {
    {"1x1x1", 1, 1, 1, 1.0},                     // the smallest layer
    {"not_a_tile_multiple", 33, 17, 65, 0.5},    // odd sizes, half the weights pruned
    {"density_1", 8, 24, 16, 1.0},               // a dense layer through the masked path
    {"all_pruned", 5, 7, 3, 0.0},                // mask all zero: Y = bias, dW = 0
    {"single_sample", 1, 40, 30, 0.3},           // batch 1
};

class MaskedLinear : public testing::BackendTest {};

TEST_P(MaskedLinear, ForwardMatchesReference) {
  for (const auto& tc : kCases) {
    for (bool with_bias : {true, false}) {
      SCOPED_TRACE(std::string(tc.name) + (with_bias ? " with bias" : " without bias"));
      auto x = random_ints(size_t(tc.batch * tc.in), 11);
      auto w = random_ints(size_t(tc.out * tc.in), 12);
      auto mask = random_mask(size_t(tc.out * tc.in), tc.density, 13);
      auto bias = random_ints(size_t(tc.out), 14, 1, 4);
      auto ref = forward_ref(to_double(x), to_double(w), mask, with_bias ? to_double(bias) : std::vector<double>{},
                             tc.batch, tc.in, tc.out);
      if (with_bias || tc.density > 0) {
        ASSERT_TRUE(any_nonzero(ref));
      }
      Buf<float> dx(be(), x), dw(be(), w), db(be(), bias), dy(be(), size_t(tc.batch * tc.out));
      Buf<uint8_t> dm(be(), mask);
      be().masked_linear_forward({dx.get(), tc.batch, tc.in}, {dw.get(), tc.out, tc.in}, dm.get(),
                                 with_bias ? db.get() : nullptr, dy.view(tc.batch, tc.out));
      EXPECT_TRUE(all_close(dy.host(), ref, 0.0, 0.0));  // integer inputs: exact
    }
  }
}

TEST_P(MaskedLinear, NullMaskMeansDense) {
  const int64_t batch = 6, in = 9, out = 5;
  auto x = random_ints(size_t(batch * in), 21);
  auto w = random_ints(size_t(out * in), 22);
  auto ref = forward_ref(to_double(x), to_double(w), {}, {}, batch, in, out);
  ASSERT_TRUE(any_nonzero(ref));
  Buf<float> dx(be(), x), dw(be(), w), dy(be(), size_t(batch * out));
  be().masked_linear_forward({dx.get(), batch, in}, {dw.get(), out, in}, nullptr, nullptr, dy.view(batch, out));
  EXPECT_TRUE(all_close(dy.host(), ref, 0.0, 0.0));
}

TEST_P(MaskedLinear, BackwardMatchesReference) {
  for (const auto& tc : kCases) {
    SCOPED_TRACE(tc.name);
    auto x = random_ints(size_t(tc.batch * tc.in), 31);
    auto w = random_ints(size_t(tc.out * tc.in), 32);
    auto mask = random_mask(size_t(tc.out * tc.in), tc.density, 33);
    auto gy = random_ints(size_t(tc.batch * tc.out), 34);
    auto ref = backward_ref(to_double(x), to_double(w), mask, to_double(gy), tc.batch, tc.in, tc.out);
    ASSERT_TRUE(any_nonzero(ref.db));
    Buf<float> dx(be(), x), dw(be(), w), dgy(be(), gy);
    Buf<float> gx(be(), size_t(tc.batch * tc.in)), gw(be(), size_t(tc.out * tc.in)), gb(be(), size_t(tc.out));
    Buf<uint8_t> dm(be(), mask);
    be().masked_linear_backward({dx.get(), tc.batch, tc.in}, {dw.get(), tc.out, tc.in}, dm.get(),
                                {dgy.get(), tc.batch, tc.out}, gx.view(tc.batch, tc.in), gw.view(tc.out, tc.in),
                                gb.get(), false);
    EXPECT_TRUE(all_close(gx.host(), ref.dx, 0.0, 0.0));
    EXPECT_TRUE(all_close(gw.host(), ref.dw, 0.0, 0.0));
    EXPECT_TRUE(all_close(gb.host(), ref.db, 0.0, 0.0));
    auto gw_host = gw.host();
    for (size_t k = 0; k < mask.size(); ++k)
      if (!mask[k]) {
        ASSERT_EQ(gw_host[k], 0.0f) << "masked dW entry " << k << " must be exactly 0";
      }
  }
}

TEST_P(MaskedLinear, BackwardAccumulatesAndLeavesMaskedEntriesUntouched) {
  const int64_t batch = 9, in = 13, out = 7;
  auto x = random_ints(size_t(batch * in), 41);
  auto w = random_ints(size_t(out * in), 42);
  auto mask = random_mask(size_t(out * in), 0.6, 43);
  auto gy = random_ints(size_t(batch * out), 44);
  auto gx0 = random_ints(size_t(batch * in), 45);
  auto gw0 = random_ints(size_t(out * in), 46, 5, 9);  // masked entries hold a sentinel that must survive
  auto gb0 = random_ints(size_t(out), 47);
  auto ref = backward_ref(to_double(x), to_double(w), mask, to_double(gy), batch, in, out);
  for (size_t i = 0; i < ref.dx.size(); ++i) ref.dx[i] += gx0[i];
  for (size_t i = 0; i < ref.dw.size(); ++i) ref.dw[i] += gw0[i];
  for (size_t i = 0; i < ref.db.size(); ++i) ref.db[i] += gb0[i];
  Buf<float> dx(be(), x), dw(be(), w), dgy(be(), gy), gx(be(), gx0), gw(be(), gw0), gb(be(), gb0);
  Buf<uint8_t> dm(be(), mask);
  be().masked_linear_backward({dx.get(), batch, in}, {dw.get(), out, in}, dm.get(), {dgy.get(), batch, out},
                              gx.view(batch, in), gw.view(out, in), gb.get(), true);
  EXPECT_TRUE(all_close(gx.host(), ref.dx, 0.0, 0.0));
  EXPECT_TRUE(all_close(gw.host(), ref.dw, 0.0, 0.0));
  EXPECT_TRUE(all_close(gb.host(), ref.db, 0.0, 0.0));
}

TEST_P(MaskedLinear, BackwardSkipsNullOutputs) {
  const int64_t batch = 4, in = 6, out = 5;
  auto x = random_ints(size_t(batch * in), 51);
  auto w = random_ints(size_t(out * in), 52);
  auto mask = random_mask(size_t(out * in), 0.5, 53);
  auto gy = random_ints(size_t(batch * out), 54);
  auto ref = backward_ref(to_double(x), to_double(w), mask, to_double(gy), batch, in, out);
  Buf<float> dx(be(), x), dw(be(), w), dgy(be(), gy), gw(be(), size_t(out * in));
  Buf<uint8_t> dm(be(), mask);
  // dW only (the first layer needs no dX), with accumulate on a zeroed buffer.
  be().fill(int64_t(gw.size()), 0.0f, gw.get());
  be().masked_linear_backward({dx.get(), batch, in}, {dw.get(), out, in}, dm.get(), {dgy.get(), batch, out}, {},
                              gw.view(out, in), nullptr, true);
  EXPECT_TRUE(all_close(gw.host(), ref.dw, 0.0, 0.0));
}

// L(X, W, b) = sum(Y ⊙ R) for a fixed random R, so dY = R; derivatives by central differences in double.
TEST_P(MaskedLinear, BackwardMatchesFiniteDifferences) {
  const int64_t batch = 3, in = 5, out = 4;
  auto x = random_floats(size_t(batch * in), 61);
  auto w = random_floats(size_t(out * in), 62);
  auto bias = random_floats(size_t(out), 63);
  auto mask = random_mask(size_t(out * in), 0.6, 64);
  auto r = random_floats(size_t(batch * out), 65);
  auto xd = to_double(x), wd = to_double(w), bd = to_double(bias), rd = to_double(r);
  auto loss = [&] {
    auto y = forward_ref(xd, wd, mask, bd, batch, in, out);
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += y[i] * rd[i];
    return s;
  };
  const double h = 1e-6;
  auto numeric = [&](std::vector<double>& p) {
    std::vector<double> g(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      double keep = p[i];
      p[i] = keep + h;
      double lp = loss();
      p[i] = keep - h;
      double lm = loss();
      p[i] = keep;
      g[i] = (lp - lm) / (2 * h);
    }
    return g;
  };
  auto num_dx = numeric(xd), num_dw = numeric(wd), num_db = numeric(bd);
  ASSERT_TRUE(any_nonzero(num_dx));
  ASSERT_TRUE(any_nonzero(num_dw));

  Buf<float> dx(be(), x), dw(be(), w), dgy(be(), r);
  Buf<float> gx(be(), x.size()), gw(be(), w.size()), gb(be(), size_t(out));
  Buf<uint8_t> dm(be(), mask);
  be().masked_linear_backward({dx.get(), batch, in}, {dw.get(), out, in}, dm.get(), {dgy.get(), batch, out},
                              gx.view(batch, in), gw.view(out, in), gb.get(), false);
  // fp32 gradients of O(1) inputs against a double difference quotient.
  EXPECT_TRUE(all_close(gx.host(), num_dx, 1e-5, 1e-4));
  EXPECT_TRUE(all_close(gw.host(), num_dw, 1e-5, 1e-4));
  EXPECT_TRUE(all_close(gb.host(), num_db, 1e-5, 1e-4));
}

TEST_P(MaskedLinear, EmptyBatchAndEmptyInputs) {
  Buf<float> w(be(), random_ints(12, 71)), bias(be(), std::vector<float>{1, 2, 3}), y(be(), 6), gb(be(), 3);
  Buf<uint8_t> m(be(), std::vector<uint8_t>(12, 1));
  // in = 0: Y is the bias broadcast.
  be().masked_linear_forward({nullptr, 2, 0}, {w.get(), 3, 0}, nullptr, bias.get(), y.view(2, 3));
  EXPECT_TRUE(all_close(y.host(), std::vector<float>{1, 2, 3, 1, 2, 3}, 0.0, 0.0));
  // B = 0: gradients are empty sums.
  be().fill(3, 5.0f, gb.get());
  be().masked_linear_backward({nullptr, 0, 4}, {w.get(), 3, 4}, m.get(), {nullptr, 0, 3}, {}, {}, gb.get(), false);
  EXPECT_FALSE(any_nonzero(gb.host()));
}


TEST_P(MaskedLinear, BadShapesRaiseNamingTheArgument) {
  Buf<float> x(be(), 64), w(be(), 64), y(be(), 64), g(be(), 64);
  expect_error_naming(
      [&] { be().masked_linear_forward({x.get(), 4, 4}, {w.get(), 10, 5}, nullptr, nullptr, y.view(4, 10)); },
      {"masked_linear_forward: w is 10x5 but x has 4 columns (expected w.cols == x.cols)"});
  expect_error_naming(
      [&] { be().masked_linear_forward({x.get(), 4, 5}, {w.get(), 3, 5}, nullptr, nullptr, y.view(3, 4)); },
      {"masked_linear_forward", "y is 3x4", "expected 4x3"});
  expect_error_naming(
      [&] {
        be().masked_linear_backward({x.get(), 4, 5}, {w.get(), 3, 5}, nullptr, {g.get(), 4, 2}, {}, {}, nullptr,
                                    false);
      },
      {"masked_linear_backward", "dy is 4x2", "expected 4x3"});
  expect_error_naming(
      [&] {
        be().masked_linear_backward({x.get(), 4, 5}, {w.get(), 3, 5}, nullptr, {g.get(), 4, 3}, y.view(5, 4), {},
                                    nullptr, false);
      },
      {"masked_linear_backward", "dx is 5x4", "expected 4x5"});
  expect_error_naming(
      [&] {
        be().masked_linear_backward({x.get(), 4, 5}, {w.get(), 3, 5}, nullptr, {g.get(), 4, 3}, {}, y.view(5, 3),
                                    nullptr, false);
      },
      {"masked_linear_backward", "dw is 5x3", "expected 3x5"});
  expect_error_naming(
      [&] { be().masked_linear_forward({nullptr, 4, 5}, {w.get(), 3, 5}, nullptr, nullptr, y.view(4, 3)); },
      {"masked_linear_forward", "x is 4x5", "null"});
}

NEUROAI_INSTANTIATE_BACKENDS(MaskedLinear);

}  // namespace
}  // namespace neuroai
