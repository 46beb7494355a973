// spmm_csr against a plain double reference: the forward product Y = X A^T + bias, accumulation,
// and the input gradient dX = dY W computed as spmm with W's transpose (csr_transpose + gather).
#include <random>

#include <gtest/gtest.h>

#include "backend_fixture.h"
#include "csr_test_util.h"
#include "kernels/error.h"

namespace neuroai::testing {
namespace {

class SpmmCsr : public BackendTest {};

// Y (B, rows) = y0 + X (B, cols) * A^T + bias, in double.
std::vector<double> reference_spmm(const HostCsr& a, const std::vector<float>& x, int64_t batch,
                                   const std::vector<float>* bias, const std::vector<float>* y0) {
  std::vector<double> w = dense_of(a), y(size_t(batch) * a.rows);
  for (int64_t b = 0; b < batch; ++b)
    for (int32_t i = 0; i < a.rows; ++i) {
      double s = y0 ? (*y0)[b * a.rows + i] : 0.0;
      if (bias) s += (*bias)[i];
      for (int32_t j = 0; j < a.cols; ++j) s += double(x[b * a.cols + j]) * w[size_t(i) * a.cols + j];
      y[b * a.rows + i] = s;
    }
  return y;
}

void check_forward(Backend& be, const HostCsr& a, int64_t batch) {
  const CsrCase c{"", a.rows, a.cols, batch, 0.0};
  DevCsr da(be, a);
  auto x = random_ints(size_t(c.batch) * c.cols, 12);
  auto bias = random_ints(size_t(c.rows), 13);
  auto y0 = random_ints(size_t(c.batch) * c.rows, 14);
  Buf<float> dx(be, x), dbias(be, bias), dy(be, size_t(c.batch) * c.rows);

  be.spmm_csr(da.view(), dx.view(c.batch, c.cols), dbias.get(), dy.view(c.batch, c.rows), false);
  auto ref = reference_spmm(a, x, c.batch, &bias, nullptr);
  EXPECT_TRUE(any_nonzero(ref));
  EXPECT_TRUE(all_close(dy.host(), ref, 0, 0)) << "forward with bias";

  be.spmm_csr(da.view(), dx.view(c.batch, c.cols), nullptr, dy.view(c.batch, c.rows), false);
  ref = reference_spmm(a, x, c.batch, nullptr, nullptr);
  EXPECT_TRUE(all_close(dy.host(), ref, 0, 0)) << "forward without bias";

  dy.set(y0);
  be.spmm_csr(da.view(), dx.view(c.batch, c.cols), dbias.get(), dy.view(c.batch, c.rows), true);
  ref = reference_spmm(a, x, c.batch, &bias, &y0);
  EXPECT_TRUE(all_close(dy.host(), ref, 0, 0)) << "accumulate";
}

void check_case(Backend& be, const CsrCase& c) {
  SCOPED_TRACE(c.name);
  check_forward(be, random_csr(c.rows, c.cols, c.density, 11, c.empty_every), c.batch);
}

// dX (B, cols) = dY (B, rows) * W with W's transpose from csr_transpose + gather.
void check_transposed(Backend& be, const HostCsr& w, int64_t batch) {
  const CsrCase c{"", w.rows, w.cols, batch, w.nnz() > 0 ? 1.0 : 0.0};
  DevCsr dw(be, w), dwt(be, w.cols, w.rows, w.nnz());
  Buf<int32_t> perm(be, size_t(w.nnz()));
  CsrView wt = dwt.view();
  wt.values = nullptr;
  be.csr_transpose(dw.view(), wt, perm.get());
  be.gather(dw.values.get(), perm.get(), w.nnz(), dwt.values.get());
  auto g = random_ints(size_t(c.batch) * c.rows, 22);
  Buf<float> dg(be, g), dx(be, size_t(c.batch) * c.cols);
  be.spmm_csr(dwt.view(), dg.view(c.batch, c.rows), nullptr, dx.view(c.batch, c.cols), false);

  std::vector<double> wd = dense_of(w), ref(size_t(c.batch) * c.cols, 0.0);
  for (int64_t b = 0; b < c.batch; ++b)
    for (int32_t j = 0; j < c.cols; ++j) {
      double s = 0;
      for (int32_t i = 0; i < c.rows; ++i) s += double(g[b * c.rows + i]) * wd[size_t(i) * c.cols + j];
      ref[b * c.cols + j] = s;
    }
  EXPECT_TRUE(c.density == 0 || any_nonzero(ref));
  EXPECT_TRUE(all_close(dx.host(), ref, 0, 0)) << "dX = dY W via the transposed pattern";
}

void check_transposed(Backend& be, const CsrCase& c) {
  SCOPED_TRACE(c.name);
  check_transposed(be, random_csr(c.rows, c.cols, c.density, 21, c.empty_every), c.batch);
}

CsrCase named(const std::string& name) {
  for (const auto& c : csr_cases())
    if (c.name == name) return c;
  throw std::runtime_error("no case " + name);
}

TEST_P(SpmmCsr, OneByOne) { check_case(be(), named("one_by_one")); check_transposed(be(), named("one_by_one")); }
TEST_P(SpmmCsr, NotTileMultiple) {
  check_case(be(), named("not_tile_multiple"));
  check_transposed(be(), named("not_tile_multiple"));
}
TEST_P(SpmmCsr, EmptyRows) { check_case(be(), named("empty_rows")); check_transposed(be(), named("empty_rows")); }
TEST_P(SpmmCsr, DensityOne) { check_case(be(), named("density_one")); check_transposed(be(), named("density_one")); }
TEST_P(SpmmCsr, WideBatch) { check_case(be(), named("wide_batch")); check_transposed(be(), named("wide_batch")); }

// Wide enough in the batch and in K for the CPU kernel's 2-D tiling (128-wide batch blocks, K blocks
// of 64 or more columns walked from per-row cursors): the batch (150) and K (300) are not multiples
// of the blocks, some rows have all their entries in one K block (the first, the last, one entry
// at each end, a run across a block boundary, a full block), and one row is empty.
TEST_P(SpmmCsr, KBlocks) {
  constexpr int32_t kRows = 14, kCols = 300;
  const std::vector<std::vector<int32_t>> fixed = {
      {},                                        // empty
      {0},                                       // one entry, first column
      {kCols - 1},                               // one entry, last column
      {60, 61, 62, 63, 64, 65, 66, 67},          // across a 64-column boundary
      {126, 127, 128, 129},                      // across a 128-column boundary
      {250, 251, 260, 270, 280, 290, 299},       // only in the last block
  };
  HostCsr a;
  a.rows = kRows;
  a.cols = kCols;
  for (const auto& row : fixed) {
    for (int32_t c : row) a.indices.push_back(c);
    a.indptr.push_back(int32_t(a.indices.size()));
  }
  for (int32_t c = 0; c < 40; ++c) a.indices.push_back(c);  // a long run in the first block
  a.indptr.push_back(int32_t(a.indices.size()));
  for (int32_t c = 64; c < 128; ++c) a.indices.push_back(c);  // exactly one full 64-column block
  a.indptr.push_back(int32_t(a.indices.size()));
  HostCsr r = random_csr(kRows - int32_t(a.indptr.size()) + 1, kCols, 0.5, 61);
  for (int32_t i = 0; i < r.rows; ++i) {
    for (int32_t k = r.indptr[i]; k < r.indptr[i + 1]; ++k) a.indices.push_back(r.indices[k]);
    a.indptr.push_back(int32_t(a.indices.size()));
  }
  std::mt19937_64 rng(62);
  std::uniform_int_distribution<int> mag(-3, 3);
  for (size_t k = 0; k < a.indices.size(); ++k) {
    const int v = mag(rng);
    a.values.push_back(float(v == 0 ? 2 : v));
  }
  ASSERT_EQ(a.rows + 1, int32_t(a.indptr.size()));
  for (int64_t batch : {150, 128, 40}) {
    SCOPED_TRACE(batch);
    check_forward(be(), a, batch);
    check_transposed(be(), a, batch);
  }
}

// With nothing stored, Y is the bias (or unchanged when accumulating without bias).
TEST_P(SpmmCsr, NnzZero) {
  CsrCase c = named("nnz_zero");
  HostCsr a = random_csr(c.rows, c.cols, 0.0, 31);
  ASSERT_EQ(a.nnz(), 0);
  DevCsr da(be(), a);
  auto x = random_ints(size_t(c.batch) * c.cols, 32);
  auto bias = random_ints(size_t(c.rows), 33);
  Buf<float> dx(be(), x), dbias(be(), bias), dy(be(), size_t(c.batch) * c.rows);
  be().spmm_csr(da.view(), dx.view(c.batch, c.cols), dbias.get(), dy.view(c.batch, c.rows), false);
  auto ref = reference_spmm(a, x, c.batch, &bias, nullptr);
  EXPECT_TRUE(any_nonzero(ref));
  EXPECT_TRUE(all_close(dy.host(), ref, 0, 0));
  check_transposed(be(), c);
}

// A batch of zero samples and a matrix with zero rows are no-ops, not errors.
TEST_P(SpmmCsr, EmptyShapes) {
  HostCsr a = random_csr(4, 5, 0.5, 41);
  DevCsr da(be(), a);
  Buf<float> dy(be(), 1);
  be().spmm_csr(da.view(), ConstDenseView(nullptr, 0, 5), nullptr, DenseView{nullptr, 0, 4}, false);
  HostCsr e = random_csr(0, 5, 0.5, 42);
  DevCsr de(be(), e);
  Buf<float> dx(be(), random_ints(10, 43));
  be().spmm_csr(de.view(), dx.view(2, 5), nullptr, DenseView{nullptr, 2, 0}, false);
}

TEST_P(SpmmCsr, ShapeErrorsNameTheArgument) {
  HostCsr a = random_csr(4, 5, 0.5, 51);
  DevCsr da(be(), a);
  Buf<float> dx(be(), 3 * 6), dy(be(), 3 * 4);
  try {
    be().spmm_csr(da.view(), dx.view(3, 6), nullptr, dy.view(3, 4), false);
    FAIL() << "expected neuroai::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x has 6 columns"), std::string::npos) << e.what();
  }
  try {
    be().spmm_csr(da.view(), dx.view(3, 5), nullptr, dy.view(4, 3), false);
    FAIL() << "expected neuroai::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("y is 4x3"), std::string::npos) << e.what();
  }
}

// A batch wider than 65535 tiles of 64 columns (grid.y's limit on sm_90) still covers every column:
// the CUDA kernel strides blockIdx.y over the tiles. One 1x1 entry keeps it cheap.
TEST_P(SpmmCsr, BatchBeyondGridY) {
  const int64_t batch = int64_t(65535) * 64 + 100;
  HostCsr a;
  a.rows = 1;
  a.cols = 1;
  a.indptr = {0, 1};
  a.indices = {0};
  a.values = {3.0f};
  DevCsr da(be(), a);
  std::vector<float> x(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) x[size_t(b)] = float(b % 1000);
  Buf<float> dx(be(), x), dy(be(), size_t(batch));
  be().spmm_csr(da.view(), dx.view(batch, 1), nullptr, dy.view(batch, 1), false);
  auto y = dy.host();
  for (int64_t b = 0; b < batch; ++b) ASSERT_EQ(y[size_t(b)], 3.0f * x[size_t(b)]) << "column " << b;
}

NEUROAI_INSTANTIATE_BACKENDS(SpmmCsr);

}  // namespace
}  // namespace neuroai::testing
