// Dense <-> CSR conversions, transpose + gather, and the scan / compact / compact_indptr path that
// shrinks a CSR matrix after pruning, each against patterns built with plain host loops.
#include <limits>

#include <gtest/gtest.h>

#include "backend_fixture.h"
#include "csr_test_util.h"

namespace neuroai::testing {
namespace {

class CsrConvert : public BackendTest {};

// The CSR of `w` keeping mask != 0 (or w != 0 without a mask), by plain loops.
HostCsr reference_csr(const std::vector<float>& w, const std::vector<uint8_t>* mask, int32_t rows, int32_t cols) {
  HostCsr a;
  a.rows = rows;
  a.cols = cols;
  for (int32_t r = 0; r < rows; ++r) {
    for (int32_t c = 0; c < cols; ++c) {
      size_t e = size_t(r) * cols + c;
      if (mask ? (*mask)[e] != 0 : w[e] != 0.0f) {
        a.indices.push_back(c);
        a.values.push_back(w[e]);
      }
    }
    a.indptr.push_back(int32_t(a.indices.size()));
  }
  return a;
}

// Builds the CSR of w on the backend with count + fill.
HostCsr backend_csr(Backend& be, const std::vector<float>& w, const std::vector<uint8_t>* mask, int32_t rows,
                    int32_t cols) {
  Buf<float> dw(be, w);
  Buf<uint8_t> dm(be, mask ? *mask : std::vector<uint8_t>{});
  Buf<int32_t> indptr(be, size_t(rows) + 1);
  const uint8_t* m = mask ? dm.get() : nullptr;
  int64_t nnz = be.dense_to_csr_count(dw.view(rows, cols), m, indptr.get());
  DevCsr out(be, rows, cols, nnz);
  be.copy(out.indptr.get(), indptr.get(), sizeof(int32_t) * (size_t(rows) + 1));
  be.dense_to_csr_fill(dw.view(rows, cols), m, out.view());
  return {rows, cols, out.indptr.host(), out.indices.host(), out.values.host()};
}

void expect_same(const HostCsr& got, const HostCsr& ref) {
  EXPECT_EQ(got.indptr, ref.indptr);
  EXPECT_EQ(got.indices, ref.indices);
  EXPECT_EQ(got.values, ref.values);
}

// A dense matrix with roughly half its entries zero, empty rows every `empty_every` rows.
std::vector<float> sparse_dense(const CsrCase& c, uint64_t seed) {
  std::vector<double> d = dense_of(random_csr(c.rows, c.cols, c.density, seed, c.empty_every));
  return std::vector<float>(d.begin(), d.end());
}

void check_round_trip(Backend& be, const CsrCase& c) {
  SCOPED_TRACE(c.name);
  auto w = sparse_dense(c, 101);
  HostCsr got = backend_csr(be, w, nullptr, c.rows, c.cols);
  HostCsr ref = reference_csr(w, nullptr, c.rows, c.cols);
  expect_same(got, ref);

  // A mask keeps alive zeros in the pattern and drops dead nonzeros.
  auto mask = random_mask(w.size(), 0.6, 102);
  auto wz = w;
  for (size_t e = 0; e < wz.size(); e += 3) wz[e] = 0.0f;
  HostCsr got_m = backend_csr(be, wz, &mask, c.rows, c.cols);
  HostCsr ref_m = reference_csr(wz, &mask, c.rows, c.cols);
  expect_same(got_m, ref_m);
  bool alive_zero = false;
  for (float v : ref_m.values) alive_zero |= v == 0.0f;
  EXPECT_TRUE(ref_m.nnz() == 0 || alive_zero || c.rows * c.cols < 4) << "case has no alive zero to keep";

  // Back to dense gives the masked matrix.
  DevCsr da(be, got_m);
  Buf<float> dense(be, size_t(c.rows) * c.cols);
  be.csr_to_dense(da.view(), dense.view(c.rows, c.cols));
  std::vector<double> ref_dense(wz.size());
  for (size_t e = 0; e < wz.size(); ++e) ref_dense[e] = mask[e] ? wz[e] : 0.0;
  EXPECT_TRUE(all_close(dense.host(), ref_dense, 0, 0));
}

void check_transpose(Backend& be, const CsrCase& c) {
  SCOPED_TRACE(c.name);
  HostCsr a = random_csr(c.rows, c.cols, c.density, 111, c.empty_every);
  // The transpose by plain loops: walk A's columns, then its rows.
  HostCsr ref;
  ref.rows = a.cols;
  ref.cols = a.rows;
  std::vector<int32_t> ref_perm;
  for (int32_t j = 0; j < a.cols; ++j) {
    for (int32_t i = 0; i < a.rows; ++i)
      for (int32_t k = a.indptr[i]; k < a.indptr[i + 1]; ++k)
        if (a.indices[k] == j) {
          ref.indices.push_back(i);
          ref.values.push_back(a.values[k]);
          ref_perm.push_back(k);
        }
    ref.indptr.push_back(int32_t(ref.indices.size()));
  }
  DevCsr da(be, a), dt(be, a.cols, a.rows, a.nnz());
  Buf<int32_t> perm(be, size_t(a.nnz()));
  Buf<float> gathered(be, size_t(a.nnz()));
  CsrView t = dt.view();
  t.values = nullptr;
  be.csr_transpose(da.view(), t, perm.get());
  be.gather(da.values.get(), perm.get(), a.nnz(), gathered.get());
  EXPECT_EQ(dt.indptr.host(), ref.indptr);
  EXPECT_EQ(dt.indices.host(), ref.indices);
  EXPECT_EQ(perm.host(), ref_perm);
  EXPECT_EQ(gathered.host(), ref.values);
  // Passing at.values fills them directly.
  be.csr_transpose(da.view(), dt.view(), perm.get());
  EXPECT_EQ(dt.values.host(), ref.values);
}

// Prune a CSR matrix with keep flags, then compact it; the result must equal the CSR built from
// the pruned dense matrix (with the surviving entries as its mask, so alive zeros stay).
void check_compaction(Backend& be, const CsrCase& c) {
  SCOPED_TRACE(c.name);
  HostCsr a = random_csr(c.rows, c.cols, c.density, 121, c.empty_every);
  auto keep = random_mask(size_t(a.nnz()), 0.5, 122);
  DevCsr da(be, a);
  Buf<uint8_t> dkeep(be, keep);
  Buf<int32_t> pos(be, size_t(a.nnz()) + 1);
  int64_t total = be.scan_flags(dkeep.get(), a.nnz(), pos.get());
  DevCsr out(be, a.rows, a.cols, total);
  be.compact_i32(da.indices.get(), dkeep.get(), pos.get(), a.nnz(), out.indices.get());
  be.compact_f32(da.values.get(), dkeep.get(), pos.get(), a.nnz(), out.values.get());
  be.csr_compact_indptr(da.indptr.get(), a.rows, pos.get(), out.indptr.get());

  std::vector<int32_t> ref_pos{0};
  for (uint8_t k : keep) ref_pos.push_back(ref_pos.back() + (k ? 1 : 0));
  EXPECT_EQ(pos.host(), ref_pos);
  EXPECT_EQ(total, ref_pos.back());

  std::vector<double> dense = dense_of(a);
  std::vector<float> w(dense.begin(), dense.end());
  std::vector<uint8_t> mask(w.size(), 0);
  for (int32_t r = 0; r < a.rows; ++r)
    for (int32_t k = a.indptr[r]; k < a.indptr[r + 1]; ++k)
      if (keep[k]) mask[size_t(r) * a.cols + a.indices[k]] = 1;
  HostCsr ref = reference_csr(w, &mask, a.rows, a.cols);
  expect_same({a.rows, a.cols, out.indptr.host(), out.indices.host(), out.values.host()}, ref);
  EXPECT_TRUE(ref.nnz() == 0 || any_nonzero(ref.values));
}

CsrCase named(const std::string& name) {
  for (const auto& c : csr_cases())
    if (c.name == name) return c;
  throw std::runtime_error("no case " + name);
}

void check_all(Backend& be, const std::string& name) {
  CsrCase c = named(name);
  check_round_trip(be, c);
  check_transpose(be, c);
  check_compaction(be, c);
}

TEST_P(CsrConvert, OneByOne) { check_all(be(), "one_by_one"); }
TEST_P(CsrConvert, NotTileMultiple) { check_all(be(), "not_tile_multiple"); }
TEST_P(CsrConvert, EmptyRows) { check_all(be(), "empty_rows"); }
TEST_P(CsrConvert, NnzZero) { check_all(be(), "nnz_zero"); }
TEST_P(CsrConvert, DensityOne) { check_all(be(), "density_one"); }
TEST_P(CsrConvert, WideBatch) { check_all(be(), "wide_batch"); }

// Row counts past one warp / vector width and a long scan.
TEST_P(CsrConvert, LargerMatrix) {
  CsrCase c{"larger", 130, 333, 1, 0.2, 7};
  check_all(be(), "not_tile_multiple");
  check_round_trip(be(), c);
  check_transpose(be(), c);
  check_compaction(be(), c);
}

// Negative zero is not kept without a mask (it compares equal to 0), infinities and denormals are;
// any nonzero mask byte keeps its entry. 100 columns: one 64-wide chunk, then 16-wide ones and a tail.
TEST_P(CsrConvert, SpecialValuesAndMaskBytes) {
  constexpr int32_t kRows = 3, kCols = 100;
  std::vector<float> w(size_t(kRows) * kCols, 0.0f);
  std::vector<uint8_t> mask(w.size(), 0);
  const float specials[] = {-0.0f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::denorm_min(), 1.0f, -2.0f};
  const uint8_t bytes[] = {1, 2, 128, 255};
  for (size_t e = 0; e < w.size(); e += 7) w[e] = specials[(e / 7) % 6];
  for (size_t e = 0; e < mask.size(); e += 5) mask[e] = bytes[(e / 5) % 4];
  expect_same(backend_csr(be(), w, nullptr, kRows, kCols), reference_csr(w, nullptr, kRows, kCols));
  HostCsr ref_m = reference_csr(w, &mask, kRows, kCols);
  EXPECT_GT(ref_m.nnz(), 0);
  expect_same(backend_csr(be(), w, &mask, kRows, kCols), ref_m);
}

TEST_P(CsrConvert, GatherPicksIndices) {
  auto src = random_ints(50, 131);
  std::vector<int32_t> idx{49, 0, 7, 7, 23, 1};
  Buf<float> dsrc(be(), src), ddst(be(), idx.size());
  Buf<int32_t> didx(be(), idx);
  be().gather(dsrc.get(), didx.get(), int64_t(idx.size()), ddst.get());
  std::vector<float> ref;
  for (int32_t i : idx) ref.push_back(src[i]);
  EXPECT_EQ(ddst.host(), ref);
}

NEUROAI_INSTANTIATE_BACKENDS(CsrConvert);

}  // namespace
}  // namespace neuroai::testing
