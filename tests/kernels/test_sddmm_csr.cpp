// sddmm_csr against a plain double reference, and both CSR-linear gradients (dW by sddmm, dX by
// spmm with the transposed pattern) against central finite differences of the forward spmm.
#include <gtest/gtest.h>

#include "backend_fixture.h"
#include "csr_test_util.h"
#include "kernels/error.h"

namespace neuroai::testing {
namespace {

class SddmmCsr : public BackendTest {};

// out[k] = out0[k] + sum_b dY[b, i] X[b, j], in double.
std::vector<double> reference_sddmm(const HostCsr& p, const std::vector<float>& dy, const std::vector<float>& x,
                                    int64_t batch, const std::vector<float>* out0) {
  std::vector<double> out(size_t(p.nnz()));
  for (int32_t i = 0; i < p.rows; ++i)
    for (int32_t k = p.indptr[i]; k < p.indptr[i + 1]; ++k) {
      double s = out0 ? (*out0)[k] : 0.0;
      for (int64_t b = 0; b < batch; ++b) s += double(dy[b * p.rows + i]) * x[b * p.cols + p.indices[k]];
      out[k] = s;
    }
  return out;
}

void check_case(Backend& be, const CsrCase& c) {
  SCOPED_TRACE(c.name);
  HostCsr p = random_csr(c.rows, c.cols, c.density, 61, c.empty_every);
  DevCsr dp(be, p);
  auto dy = random_ints(size_t(c.batch) * c.rows, 62);
  auto x = random_ints(size_t(c.batch) * c.cols, 63);
  auto out0 = random_ints(size_t(p.nnz()), 64);
  Buf<float> ddy(be, dy), dx(be, x), dout(be, size_t(p.nnz()));

  be.sddmm_csr(dp.view(), ddy.view(c.batch, c.rows), dx.view(c.batch, c.cols), dout.get(), false);
  auto ref = reference_sddmm(p, dy, x, c.batch, nullptr);
  EXPECT_TRUE(p.nnz() == 0 || any_nonzero(ref));
  EXPECT_TRUE(all_close(dout.host(), ref, 0, 0)) << "overwrite";

  dout.set(out0);
  be.sddmm_csr(dp.view(), ddy.view(c.batch, c.rows), dx.view(c.batch, c.cols), dout.get(), true);
  ref = reference_sddmm(p, dy, x, c.batch, &out0);
  EXPECT_TRUE(all_close(dout.host(), ref, 0, 0)) << "accumulate";
}

CsrCase named(const std::string& name) {
  for (const auto& c : csr_cases())
    if (c.name == name) return c;
  throw std::runtime_error("no case " + name);
}

TEST_P(SddmmCsr, OneByOne) { check_case(be(), named("one_by_one")); }
TEST_P(SddmmCsr, NotTileMultiple) { check_case(be(), named("not_tile_multiple")); }
TEST_P(SddmmCsr, EmptyRows) { check_case(be(), named("empty_rows")); }
TEST_P(SddmmCsr, NnzZero) { check_case(be(), named("nnz_zero")); }
TEST_P(SddmmCsr, DensityOne) { check_case(be(), named("density_one")); }
TEST_P(SddmmCsr, WideBatch) { check_case(be(), named("wide_batch")); }

// The pattern's values are never read: a pattern without values works.
TEST_P(SddmmCsr, IgnoresValues) {
  HostCsr p = random_csr(6, 7, 0.5, 71);
  DevCsr dp(be(), p);
  CsrView v = dp.view();
  v.values = nullptr;
  auto dy = random_ints(3 * 6, 72), x = random_ints(3 * 7, 73);
  Buf<float> ddy(be(), dy), dx(be(), x), dout(be(), size_t(p.nnz()));
  be().sddmm_csr(v, ddy.view(3, 6), dx.view(3, 7), dout.get(), false);
  EXPECT_TRUE(all_close(dout.host(), reference_sddmm(p, dy, x, 3, nullptr), 0, 0));
}

// L = sum(G ⊙ Y), Y = X W^T: dL/dW_k = sddmm(G, X)[k] and dL/dX = G W (spmm with W^T). Central
// differences in double of L evaluated with the backend's forward spmm; L is linear in each
// parameter and inputs are integers, so a step of 1 is exact.
TEST_P(SddmmCsr, GradientsMatchFiniteDifferences) {
  const int32_t rows = 7, cols = 11;
  const int64_t batch = 5;
  HostCsr w = random_csr(rows, cols, 0.4, 81);
  ASSERT_GT(w.nnz(), 0);
  auto x = random_ints(size_t(batch) * cols, 82);
  auto g = random_ints(size_t(batch) * rows, 83);
  DevCsr dw(be(), w), dwt(be(), cols, rows, w.nnz());
  Buf<float> dx(be(), x), dg(be(), g), dy(be(), size_t(batch) * rows), dgw(be(), size_t(w.nnz()));
  Buf<float> dgx(be(), size_t(batch) * cols);
  Buf<int32_t> perm(be(), size_t(w.nnz()));

  auto loss = [&]() {
    be().spmm_csr(dw.view(), dx.view(batch, cols), nullptr, dy.view(batch, rows), false);
    auto y = dy.host();
    double l = 0;
    for (size_t e = 0; e < y.size(); ++e) l += double(g[e]) * y[e];
    return l;
  };
  be().sddmm_csr(dw.view(), dg.view(batch, rows), dx.view(batch, cols), dgw.get(), false);
  be().csr_transpose(dw.view(), dwt.view(), perm.get());
  be().spmm_csr(dwt.view(), dg.view(batch, rows), nullptr, dgx.view(batch, cols), false);
  auto grad_w = dgw.host(), grad_x = dgx.host();

  std::vector<double> fd_w(grad_w.size()), fd_x(grad_x.size());
  auto values = w.values;
  for (size_t k = 0; k < values.size(); ++k) {
    auto v = values;
    v[k] += 1;
    dw.values.set(v);
    double up = loss();
    v[k] -= 2;
    dw.values.set(v);
    fd_w[k] = (up - loss()) / 2;
  }
  dw.values.set(values);
  for (size_t e = 0; e < x.size(); ++e) {
    auto xs = x;
    xs[e] += 1;
    dx.set(xs);
    double up = loss();
    xs[e] -= 2;
    dx.set(xs);
    fd_x[e] = (up - loss()) / 2;
  }
  EXPECT_TRUE(any_nonzero(fd_w));
  EXPECT_TRUE(any_nonzero(fd_x));
  EXPECT_TRUE(all_close(grad_w, fd_w, 1e-9, 0)) << "dW";
  EXPECT_TRUE(all_close(grad_x, fd_x, 1e-9, 0)) << "dX";
}

TEST_P(SddmmCsr, ShapeErrorsNameTheArgument) {
  HostCsr p = random_csr(4, 5, 0.5, 91);
  DevCsr dp(be(), p);
  Buf<float> ddy(be(), 3 * 4), dx(be(), 2 * 5), dout(be(), size_t(p.nnz()));
  try {
    be().sddmm_csr(dp.view(), ddy.view(3, 4), dx.view(2, 5), dout.get(), false);
    FAIL() << "expected neuroai::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x has 2 rows"), std::string::npos) << e.what();
  }
}

NEUROAI_INSTANTIATE_BACKENDS(SddmmCsr);

}  // namespace
}  // namespace neuroai::testing
