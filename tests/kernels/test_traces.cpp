// trace_update and hebbian_csr_update (SPEC §7) against hand-computed examples and plain double
// references.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend_fixture.h"
#include "engine/csr_matrix.h"
#include "kernels/error.h"

namespace neuroai::testing {
namespace {

// trace[i] = lambda trace[i] + (1 - lambda) mean_b x[b, i].
std::vector<double> ref_trace(const std::vector<float>& x, int64_t batch, const std::vector<float>& trace,
                              double lambda) {
  const int64_t n = int64_t(trace.size());
  std::vector<double> out(n);
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t b = 0; b < batch; ++b) s += x[b * n + i];
    out[i] = lambda * trace[i] + (1 - lambda) * s / double(batch);
  }
  return out;
}

using neuroai::HostCsr;

// A random pattern with every 5th row empty.
HostCsr random_pattern(int32_t rows, int32_t cols, double density, uint64_t seed) {
  const auto mask = random_mask(size_t(rows) * cols, density, seed);
  HostCsr a{rows, cols, {0}, {}};
  for (int32_t i = 0; i < rows; ++i) {
    for (int32_t j = 0; j < cols; ++j)
      if (i % 5 != 4 && mask[size_t(i) * cols + j]) a.indices.push_back(j);
    a.indptr.push_back(int32_t(a.indices.size()));
  }
  return a;
}

// H_k = clip((1 - eta) H_k + eta mean_b post[b, i] pre[b, j], -clip, clip).
std::vector<double> ref_hebbian(const HostCsr& a, const std::vector<float>& post, const std::vector<float>& pre,
                                int64_t batch, double eta, double clip, const std::vector<float>& hebb) {
  std::vector<double> out(hebb.begin(), hebb.end());
  for (int32_t i = 0; i < a.rows; ++i)
    for (int32_t k = a.indptr[i]; k < a.indptr[i + 1]; ++k) {
      const int32_t j = a.indices[k];
      double s = 0;
      for (int64_t b = 0; b < batch; ++b) s += double(post[b * a.rows + i]) * pre[b * a.cols + j];
      out[k] = std::clamp((1 - eta) * hebb[k] + eta * s / double(batch), -clip, clip);
    }
  return out;
}

class Traces : public BackendTest {
protected:
  std::vector<float> trace(const std::vector<float>& x, int64_t batch, std::vector<float> t, float lambda) {
    const int64_t n = int64_t(t.size());
    Buf<float> xd(be(), x), td(be(), t);
    be().trace_update(ConstDenseView(xd.get(), batch, n), lambda, td.get());
    return td.host();
  }
  std::vector<float> hebbian(const HostCsr& a, const std::vector<float>& post, const std::vector<float>& pre,
                             int64_t batch, float eta, float clip, const std::vector<float>& hebb) {
    Buf<int32_t> indptr(be(), a.indptr), indices(be(), a.indices.empty() ? std::vector<int32_t>{0} : a.indices);
    Buf<float> postd(be(), post), pred(be(), pre), h(be(), hebb.empty() ? std::vector<float>{0} : hebb);
    const ConstCsrView pattern(indptr.get(), indices.get(), nullptr, a.rows, a.cols, int64_t(a.indices.size()));
    be().hebbian_csr_update(pattern, ConstDenseView(postd.get(), batch, a.rows), ConstDenseView(pred.get(), batch, a.cols),
                            eta, clip, h.get());
    auto out = h.host();
    out.resize(hebb.size());
    return out;
  }
};

TEST_P(Traces, TraceHandExample) {
  // x = [[1, 2], [3, 4]]: batch mean (2, 3).
  const std::vector<float> x = {1, 2, 3, 4};
  EXPECT_EQ(trace(x, 2, {10, 0}, 0.5f), (std::vector<float>{6, 1.5f}));
  EXPECT_EQ(trace(x, 2, {10, 0}, 1.0f), (std::vector<float>{10, 0}));  // lambda = 1: frozen
  EXPECT_EQ(trace(x, 2, {10, 0}, 0.0f), (std::vector<float>{2, 3}));   // lambda = 0: the batch mean
}

TEST_P(Traces, TraceMatchesReference) {
  // Widths 1, one below and above the CPU chunk of 1024 columns, batch 1 and several.
  uint64_t seed = 60;
  for (int64_t n : {1, 1023, 3001})
    for (int64_t batch : {1, 7}) {
      const auto x = random_floats(batch * n, ++seed, -2.f, 2.f);
      const auto t0 = random_floats(n, ++seed);
      const auto want = ref_trace(x, batch, t0, 0.9);
      ASSERT_TRUE(any_nonzero(want));
      EXPECT_TRUE(all_close(trace(x, batch, t0, 0.9f), want, 1e-6, 1e-5)) << "n " << n << " batch " << batch;
    }
}

TEST_P(Traces, HebbianHandExample) {
  // Pattern 2x3 with entries (0,0), (0,2), (1,1); post (B=2, 2), pre (B=2, 3).
  const HostCsr a{2, 3, {0, 2, 3}, {0, 2, 1}};
  const std::vector<float> post = {1, 2, 3, -1}, pre = {1, 0, 2, 2, 1, -1};
  // mean_b post*pre: (0,0) (1*1 + 3*2)/2 = 3.5; (0,2) (1*2 + 3*-1)/2 = -0.5; (1,1) (2*0 + -1*1)/2 = -0.5.
  const std::vector<float> h0 = {1, 0, -2};
  EXPECT_EQ(hebbian(a, post, pre, 2, 0.5f, 10.0f, h0), (std::vector<float>{2.25f, -0.25f, -1.25f}));
  EXPECT_EQ(hebbian(a, post, pre, 2, 0.5f, 1.0f, h0), (std::vector<float>{1.0f, -0.25f, -1.0f}));  // clipped
  EXPECT_EQ(hebbian(a, post, pre, 2, 0.0f, 10.0f, h0), h0);                                       // eta = 0
}

TEST_P(Traces, HebbianMatchesReference) {
  uint64_t seed = 70;
  struct Case {
    int32_t rows, cols;
    double density;
    int64_t batch;
  };
  // Empty rows throughout; density 1 but for those; a single entry.
  // batch 20: not a multiple of the SDDMM kernel's 16-wide padding.
  for (const Case& c : {Case{50, 40, 0.2, 4}, Case{33, 70, 1.0, 3}, Case{1, 1, 1.0, 1}, Case{64, 100, 0.1, 20}}) {
    const HostCsr a = random_pattern(c.rows, c.cols, c.density, ++seed);
    const auto post = random_floats(c.batch * c.rows, ++seed, -2.f, 2.f);
    const auto pre = random_floats(c.batch * c.cols, ++seed, -2.f, 2.f);
    const auto h0 = random_floats(a.indices.size(), ++seed);
    const auto want = ref_hebbian(a, post, pre, c.batch, 0.3, 0.5, h0);
    if (!a.indices.empty()) {
      ASSERT_TRUE(any_nonzero(want));
    }
    const auto got = hebbian(a, post, pre, c.batch, 0.3f, 0.5f, h0);
    EXPECT_TRUE(all_close(got, want, 1e-6, 1e-5)) << c.rows << "x" << c.cols;
    if (a.indices.size() > 10) {
      EXPECT_TRUE(std::any_of(got.begin(), got.end(), [](float v) { return std::fabs(v) == 0.5f; })) << "no clipping";
    }
  }
}

TEST_P(Traces, HebbianEmptyPatternIsANoOp) {
  const HostCsr a{4, 3, {0, 0, 0, 0, 0}, {}};
  EXPECT_TRUE(hebbian(a, random_floats(8, 1), random_floats(6, 2), 2, 0.5f, 1.0f, {}).empty());
}

TEST_P(Traces, BadArgumentsRaise) {
  Buf<float> x(be(), 6), t(be(), 3), post(be(), 4), pre(be(), 6), h(be(), 3);
  Buf<int32_t> indptr(be(), std::vector<int32_t>{0, 2, 3}), indices(be(), std::vector<int32_t>{0, 2, 1});
  const ConstDenseView xv(x.get(), 2, 3);
  EXPECT_THROW(be().trace_update(xv, 1.5f, t.get()), Error);
  EXPECT_THROW(be().trace_update(xv, -0.1f, t.get()), Error);
  EXPECT_THROW(be().trace_update(xv, 0.5f, nullptr), Error);
  EXPECT_THROW(be().trace_update(ConstDenseView(x.get(), 0, 3), 0.5f, t.get()), Error);
  const ConstCsrView a(indptr.get(), indices.get(), nullptr, 2, 3, 3);
  auto heb = [&](float eta, float clip, int64_t post_rows = 2, int64_t pre_cols = 3) {
    be().hebbian_csr_update(a, ConstDenseView(post.get(), post_rows, 2), ConstDenseView(pre.get(), 2, pre_cols), eta,
                            clip, h.get());
  };
  EXPECT_NO_THROW(heb(0.5f, 1.0f));
  EXPECT_THROW(heb(-0.1f, 1.0f), Error);
  EXPECT_THROW(heb(1.1f, 1.0f), Error);
  EXPECT_THROW(heb(0.5f, 0.0f), Error);
  EXPECT_THROW(heb(0.5f, 1.0f, 1), Error);     // pre has another batch size
  EXPECT_THROW(heb(0.5f, 1.0f, 2, 2), Error);  // pre.cols != pattern.cols
}

NEUROAI_INSTANTIATE_BACKENDS(Traces);

}  // namespace
}  // namespace neuroai::testing
