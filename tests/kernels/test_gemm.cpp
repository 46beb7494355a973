// gemm: C = alpha op(A) op(B) + beta C against a plain double-accumulation reference.
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
using testing::random_ints;

// Plain reference: op(A) (m, k), op(B) (k, n), C (m, n), all row-major, double accumulation.
std::vector<float> gemm_ref(bool ta, bool tb, float alpha, const std::vector<float>& a, const std::vector<float>& b,
                            float beta, const std::vector<float>& c, int64_t m, int64_t k, int64_t n) {
  std::vector<float> out(size_t(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) {
        double av = ta ? a[size_t(p * m + i)] : a[size_t(i * k + p)];
        double bv = tb ? b[size_t(j * k + p)] : b[size_t(p * n + j)];
        s += av * bv;
      }
      out[size_t(i * n + j)] = float(double(alpha) * s + (beta == 0.0f ? 0.0 : double(beta) * c[size_t(i * n + j)]));
    }
  return out;
}

struct GemmCase {
  const char* name;
  int64_t m, k, n;
  bool ta, tb;
  float alpha, beta;
};

// Integer-valued inputs and alpha, beta in {0, 0.5, 1, 2}: every sum is exact in fp32, so compare exactly.
const GemmCase kCases[] = {
    {"1x1", 1, 1, 1, false, false, 1.0f, 0.0f},                  // the smallest product
    {"not_a_tile_multiple", 33, 17, 65, false, false, 1.0f, 0.0f},  // odd sizes past every tile edge
    {"trans_a", 33, 17, 65, true, false, 1.0f, 0.0f},            // A stored (k, m)
    {"trans_b", 33, 17, 65, false, true, 1.0f, 0.0f},            // B stored (n, k)
    {"trans_ab", 33, 17, 65, true, true, 2.0f, 0.0f},            // both, alpha != 1
    {"beta1_accumulate", 31, 40, 9, false, false, 1.0f, 1.0f},   // C += A B
    {"alpha_beta", 16, 16, 16, false, true, 0.5f, 2.0f},         // C = 0.5 A B^T + 2 C
    {"vector_times_matrix", 1, 64, 48, false, false, 1.0f, 0.0f},  // m = 1: a row vector
    {"outer_product", 20, 1, 30, false, false, 1.0f, 0.0f},      // k = 1
};

class Gemm : public testing::BackendTest {};

TEST_P(Gemm, MatchesReferenceOnNamedCases) {
  for (const auto& tc : kCases) {
    SCOPED_TRACE(tc.name);
    auto a = random_ints(size_t(tc.m * tc.k), 1);
    auto b = random_ints(size_t(tc.k * tc.n), 2);
    auto c0 = random_ints(size_t(tc.m * tc.n), 3);
    auto ref = gemm_ref(tc.ta, tc.tb, tc.alpha, a, b, tc.beta, c0, tc.m, tc.k, tc.n);
    ASSERT_TRUE(any_nonzero(ref));
    Buf<float> da(be(), a), db(be(), b), dc(be(), c0);
    ConstDenseView av(da.get(), tc.ta ? tc.k : tc.m, tc.ta ? tc.m : tc.k);
    ConstDenseView bv(db.get(), tc.tb ? tc.n : tc.k, tc.tb ? tc.k : tc.n);
    be().gemm(tc.ta, tc.tb, tc.alpha, av, bv, tc.beta, dc.view(tc.m, tc.n));
    EXPECT_TRUE(all_close(dc.host(), ref, 0.0, 0.0));
  }
}

TEST_P(Gemm, RandomFloatsWithinTolerance) {
  const int64_t m = 70, k = 129, n = 45;
  auto a = testing::random_floats(size_t(m * k), 4);
  auto b = testing::random_floats(size_t(k * n), 5);
  std::vector<float> c0(size_t(m * n), 0.0f);
  auto ref = gemm_ref(false, false, 1.0f, a, b, 0.0f, c0, m, k, n);
  Buf<float> da(be(), a), db(be(), b), dc(be(), m * n);
  be().gemm(false, false, 1.0f, {da.get(), m, k}, {db.get(), k, n}, 0.0f, dc.view(m, n));
  // fp32 accumulation over k = 129 terms of magnitude <= 1.
  EXPECT_TRUE(all_close(dc.host(), ref, 1e-5, 1e-5));
}

TEST_P(Gemm, EmptyInnerDimensionScalesC) {
  const int64_t m = 3, n = 4;
  auto c0 = random_ints(size_t(m * n), 6, 1, 5);
  Buf<float> dc(be(), c0);
  be().gemm(false, false, 1.0f, {nullptr, m, 0}, {nullptr, 0, n}, 2.0f, dc.view(m, n));
  std::vector<float> ref(c0);
  for (auto& v : ref) v *= 2.0f;
  EXPECT_TRUE(all_close(dc.host(), ref, 0.0, 0.0));
  be().gemm(false, false, 1.0f, {nullptr, m, 0}, {nullptr, 0, n}, 0.0f, dc.view(m, n));
  EXPECT_FALSE(any_nonzero(dc.host()));
}

TEST_P(Gemm, EmptyOutputIsANoOp) {
  Buf<float> da(be(), 12);
  be().gemm(false, false, 1.0f, {da.get(), 0, 12}, {da.get(), 12, 1}, 0.0f, {nullptr, 0, 1});
  SUCCEED();
}


TEST_P(Gemm, BadShapesRaiseNamingTheArgument) {
  Buf<float> a(be(), 64), b(be(), 64), c(be(), 64);
  // inner dimensions: op(A) is 4x5, B is 4x3
  expect_error_naming([&] { be().gemm(false, false, 1, {a.get(), 4, 5}, {b.get(), 4, 3}, 0, c.view(4, 3)); },
                      {"gemm", "op(b)", "expected op(b).rows == op(a).cols = 5"});
  // with trans_a, op(A) is 5x4 and B (4, 3) fits, but C must then be 5x3
  expect_error_naming([&] { be().gemm(true, false, 1, {a.get(), 4, 5}, {b.get(), 4, 3}, 0, c.view(4, 3)); },
                      {"gemm", "c is 4x3", "expected 5x3"});
  expect_error_naming([&] { be().gemm(false, false, 1, {nullptr, 2, 2}, {b.get(), 2, 2}, 0, c.view(2, 2)); },
                      {"gemm", "a is 2x2", "null"});
  expect_error_naming([&] { be().gemm(false, false, 1, {a.get(), -1, 2}, {b.get(), 2, 2}, 0, c.view(2, 2)); },
                      {"gemm", "a has negative shape"});
}

TEST_P(Gemm, HostPointerOnCudaIsRejected) {
  if (!be().is_cuda()) GTEST_SKIP() << "residency only differs on cuda";
  std::vector<float> host(4);
  Buf<float> b(be(), 4), c(be(), 4);
  expect_error_naming([&] { be().gemm(false, false, 1, {host.data(), 2, 2}, {b.get(), 2, 2}, 0, c.view(2, 2)); },
                      {"gemm", "'a'", "cuda"});
}

NEUROAI_INSTANTIATE_BACKENDS(Gemm);

}  // namespace
}  // namespace neuroai
