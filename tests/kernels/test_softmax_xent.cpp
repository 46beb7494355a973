// softmax_xent (mean cross-entropy and dlogits) and argmax_rows, against a plain double reference;
// dlogits also against central differences of the reference loss.
#include <bit>
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


// Mean over rows of -log softmax(z)[label], in double with the max subtracted.
double loss_ref(const std::vector<double>& z, const std::vector<int32_t>& labels, int64_t batch, int64_t classes) {
  double total = 0;
  for (int64_t b = 0; b < batch; ++b) {
    const double* row = z.data() + b * classes;
    double mx = row[0];
    for (int64_t c = 1; c < classes; ++c) mx = std::max(mx, row[c]);
    double s = 0;
    for (int64_t c = 0; c < classes; ++c) s += std::exp(row[c] - mx);
    total += mx + std::log(s) - row[labels[size_t(b)]];
  }
  return total / double(batch);
}

std::vector<double> grad_ref(const std::vector<double>& z, const std::vector<int32_t>& labels, int64_t batch,
                             int64_t classes) {
  std::vector<double> g(z.size());
  for (int64_t b = 0; b < batch; ++b) {
    const double* row = z.data() + b * classes;
    double mx = row[0];
    for (int64_t c = 1; c < classes; ++c) mx = std::max(mx, row[c]);
    double s = 0;
    for (int64_t c = 0; c < classes; ++c) s += std::exp(row[c] - mx);
    for (int64_t c = 0; c < classes; ++c)
      g[size_t(b * classes + c)] = (std::exp(row[c] - mx) / s - (c == labels[size_t(b)] ? 1.0 : 0.0)) / double(batch);
  }
  return g;
}

std::vector<int32_t> random_labels(size_t n, int32_t classes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> d(0, classes - 1);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

struct XentCase {
  const char* name;
  int64_t batch, classes;
  float scale;  // logits drawn from [-scale, scale]
};
const XentCase kCases[] = {
    {"1x1", 1, 1, 1.0f},                     // one class: loss 0, gradient 0
    {"mnist_like", 33, 10, 3.0f},            // a batch of 10-class logits
    {"more_classes_than_a_warp", 5, 77, 2.0f},  // several lanes per row on CUDA
    {"large_logits", 4, 10, 500.0f},         // exp would overflow without the max shift
};

class SoftmaxXent : public testing::BackendTest {};

TEST_P(SoftmaxXent, LossAndGradientMatchReference) {
  for (const auto& tc : kCases) {
    SCOPED_TRACE(tc.name);
    auto z = random_floats(size_t(tc.batch * tc.classes), 1, -tc.scale, tc.scale);
    auto labels = random_labels(size_t(tc.batch), int32_t(tc.classes), 2);
    std::vector<double> zd(z.begin(), z.end());
    double ref_loss = loss_ref(zd, labels, tc.batch, tc.classes);
    auto ref_grad = grad_ref(zd, labels, tc.batch, tc.classes);
    if (tc.classes > 1) {
      ASSERT_NE(ref_loss, 0.0);
      ASSERT_TRUE(any_nonzero(ref_grad));
    }
    Buf<float> dz(be(), z), loss(be(), 1), grad(be(), z.size());
    Buf<int32_t> dl(be(), labels);
    be().softmax_xent({dz.get(), tc.batch, tc.classes}, dl.get(), loss.get(), grad.view(tc.batch, tc.classes));
    // fp32 log-sum-exp of logits up to |500|: a few ulp of the largest logit.
    const double loss_tol = 1e-6 * std::max(1.0f, tc.scale);
    EXPECT_TRUE(all_close(loss.host(), std::vector<double>{ref_loss}, loss_tol, 1e-5));
    EXPECT_TRUE(all_close(grad.host(), ref_grad, 1e-6, 1e-4));
    // Loss only.
    be().fill(1, -1.0f, loss.get());
    be().softmax_xent({dz.get(), tc.batch, tc.classes}, dl.get(), loss.get(), {});
    EXPECT_TRUE(all_close(loss.host(), std::vector<double>{ref_loss}, loss_tol, 1e-5));
  }
}

TEST_P(SoftmaxXent, GradientMatchesFiniteDifferences) {
  const int64_t batch = 4, classes = 7;
  auto z = random_floats(size_t(batch * classes), 3, -2.0f, 2.0f);
  auto labels = random_labels(size_t(batch), int32_t(classes), 4);
  std::vector<double> zd(z.begin(), z.end());
  std::vector<double> num(z.size());
  const double h = 1e-6;
  for (size_t i = 0; i < zd.size(); ++i) {
    double keep = zd[i];
    zd[i] = keep + h;
    double lp = loss_ref(zd, labels, batch, classes);
    zd[i] = keep - h;
    double lm = loss_ref(zd, labels, batch, classes);
    zd[i] = keep;
    num[i] = (lp - lm) / (2 * h);
  }
  ASSERT_TRUE(any_nonzero(num));
  Buf<float> dz(be(), z), loss(be(), 1), grad(be(), z.size());
  Buf<int32_t> dl(be(), labels);
  be().softmax_xent({dz.get(), batch, classes}, dl.get(), loss.get(), grad.view(batch, classes));
  EXPECT_TRUE(all_close(grad.host(), num, 1e-6, 1e-4));
}

TEST_P(SoftmaxXent, BadLabel) {
  const int64_t batch = 3, classes = 4;
  auto z = random_floats(size_t(batch * classes), 5);
  std::vector<int32_t> labels = {1, 4, 0};  // labels[1] is out of range
  Buf<float> dz(be(), z), loss(be(), std::vector<float>{42.0f}), grad(be(), z.size());
  Buf<int32_t> dl(be(), labels);
  if (!be().is_cuda()) {
    expect_error_naming(
        [&] { be().softmax_xent({dz.get(), batch, classes}, dl.get(), loss.get(), grad.view(batch, classes)); },
        {"softmax_xent", "labels[1] is 4", "0 <= label < 4"});
    EXPECT_EQ(loss.host()[0], 42.0f) << "nothing is written before the labels are checked";
    return;
  }
  // CUDA cannot check device labels without a sync: the bad row counts as loss 0 and gets no gradient.
  std::vector<double> zd(z.begin(), z.end());
  double l0 = loss_ref({zd.begin(), zd.begin() + 4}, {1}, 1, classes);
  double l2 = loss_ref({zd.begin() + 8, zd.end()}, {0}, 1, classes);
  be().softmax_xent({dz.get(), batch, classes}, dl.get(), loss.get(), grad.view(batch, classes));
  EXPECT_TRUE(all_close(loss.host(), std::vector<double>{(l0 + l2) / batch}, 1e-6, 1e-5));
  auto g = grad.host();
  for (int64_t c = 0; c < classes; ++c) EXPECT_EQ(g[size_t(classes + c)], 0.0f);
}

TEST_P(SoftmaxXent, BadShapesRaiseNamingTheArgument) {
  Buf<float> z(be(), 12), loss(be(), 1), grad(be(), 12);
  Buf<int32_t> labels(be(), std::vector<int32_t>{0, 0, 0});
  expect_error_naming([&] { be().softmax_xent({z.get(), 3, 4}, labels.get(), loss.get(), grad.view(4, 3)); },
                      {"softmax_xent", "dlogits is 4x3", "expected 3x4"});
  expect_error_naming([&] { be().softmax_xent({z.get(), 3, 4}, labels.get(), nullptr, {}); },
                      {"softmax_xent", "loss is null"});
  expect_error_naming([&] { be().softmax_xent({z.get(), 3, 4}, nullptr, loss.get(), {}); },
                      {"softmax_xent", "labels is null"});
  expect_error_naming([&] { be().softmax_xent({z.get(), 3, 0}, labels.get(), loss.get(), {}); },
                      {"softmax_xent", "logits is 3x0", "at least 1 class"});
}

// ---- argmax_rows -------------------------------------------------------------------------------

class ArgmaxRows : public testing::BackendTest {};

TEST_P(ArgmaxRows, MatchesReferenceAndBreaksTiesLow) {
  struct {
    const char* name;
    int64_t rows, cols;
  } cases[] = {{"1x1", 1, 1}, {"mnist_like", 37, 10}, {"wider_than_a_warp", 6, 100}};
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    // Few distinct values, so most rows have ties for the maximum.
    auto z = testing::random_ints(size_t(tc.rows * tc.cols), 6, -2, 2);
    std::vector<int32_t> ref(size_t(tc.rows));
    for (int64_t r = 0; r < tc.rows; ++r) {
      int64_t best = 0;
      for (int64_t c = 0; c < tc.cols; ++c)
        if (z[size_t(r * tc.cols + c)] > z[size_t(r * tc.cols + best)]) best = c;
      ref[size_t(r)] = int32_t(best);
    }
    Buf<float> dz(be(), z);
    Buf<int32_t> out(be(), size_t(tc.rows));
    be().argmax_rows({dz.get(), tc.rows, tc.cols}, out.get());
    EXPECT_EQ(out.host(), ref);
  }
}

TEST_P(ArgmaxRows, TieAcrossWarpLanesGoesToLowestColumn) {
  // Columns 40 and 8 hold the maximum (lanes 8 of different strides on CUDA).
  std::vector<float> z(64, 0.0f);
  z[40] = 3.0f;
  z[8] = 3.0f;
  Buf<float> dz(be(), z);
  Buf<int32_t> out(be(), 1);
  be().argmax_rows({dz.get(), 1, 64}, out.get());
  EXPECT_EQ(out.host()[0], 8);
}

// One rule on every backend, PyTorch's: a NaN ranks above every number and the first NaN wins.
// Row 1 puts the NaNs in different lanes' strided columns, so the warp merge decides.
TEST_P(ArgmaxRows, NanRanksHighestOnEveryBackend) {
  const float nan = std::nanf("");
  std::vector<float> z(2 * 70, 0.0f);
  z[0] = 3, z[1] = nan, z[2] = 1, z[3] = 5;           // row 0: [3, NaN, 1, 5, 0...] -> 1
  z[70 + 7] = 9, z[70 + 40] = nan, z[70 + 65] = nan;  // row 1: first NaN at column 40
  Buf<float> dz(be(), z);
  Buf<int32_t> out(be(), 2);
  be().argmax_rows({dz.get(), 2, 70}, out.get());
  EXPECT_EQ(out.host(), (std::vector<int32_t>{1, 40}));
}

// The loss is summed in a fixed order, so the same inputs give the same bits every time (a float
// atomicAdd per row would not, on a GPU).
TEST_P(SoftmaxXent, LossIsBitwiseRepeatable) {
  const int64_t batch = 1000, classes = 10;
  auto z = random_floats(size_t(batch * classes), 71, -4.f, 4.f);
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) labels[size_t(b)] = int32_t((b * 7) % classes);
  Buf<float> dz(be(), z), loss(be(), 1);
  Buf<int32_t> dl(be(), labels);
  be().softmax_xent({dz.get(), batch, classes}, dl.get(), loss.get(), DenseView{});
  const float first = loss.host()[0];
  EXPECT_GT(first, 0.0f);
  for (int rep = 0; rep < 5; ++rep) {
    be().softmax_xent({dz.get(), batch, classes}, dl.get(), loss.get(), DenseView{});
    ASSERT_EQ(std::bit_cast<uint32_t>(loss.host()[0]), std::bit_cast<uint32_t>(first)) << "repeat " << rep;
  }
}

TEST_P(ArgmaxRows, BadShapes) {
  Buf<float> z(be(), 8);
  expect_error_naming([&] { be().argmax_rows({z.get(), 2, 4}, nullptr); }, {"argmax_rows", "out is null"});
  expect_error_naming([&] { be().argmax_rows({z.get(), 2, 0}, nullptr); }, {"argmax_rows", "logits is 2x0"});
}

NEUROAI_INSTANTIATE_BACKENDS(SoftmaxXent);
NEUROAI_INSTANTIATE_BACKENDS(ArgmaxRows);

}  // namespace
}  // namespace neuroai
