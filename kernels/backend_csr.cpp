// Checked public methods of the CSR family: shapes, null pointers and residency are validated
// here once; CSR structure through check_csr_arg (full validation while it is enabled).
#include <limits>
#include <utility>

#include "kernels/backend.h"
#include "kernels/error.h"

namespace neuroai {
namespace {

constexpr int64_t kMaxInt32 = std::numeric_limits<int32_t>::max();

void check_dense(ConstDenseView v, const char* op, const char* arg) {
  NEUROAI_CHECK(v.rows >= 0 && v.cols >= 0, "{}: '{}' has negative shape {}x{}", op, arg, v.rows, v.cols);
  NEUROAI_CHECK(v.size() == 0 || v.data != nullptr, "{}: '{}' ({}x{}) has no data", op, arg, v.rows, v.cols);
}

void check_ptr(const void* p, int64_t n, const char* op, const char* arg) {
  NEUROAI_CHECK(n == 0 || p != nullptr, "{}: '{}' is null but must hold {} elements", op, arg, n);
}

}  // namespace

void Backend::spmm_csr(ConstCsrView a, ConstDenseView x, const float* bias, DenseView y, bool accumulate) {
  const char* op = "spmm_csr";
  check_csr_arg(a, op, "a");
  check_ptr(a.values, a.nnz, op, "a.values");
  check_dense(x, op, "x");
  check_dense(y, op, "y");
  NEUROAI_CHECK(x.cols == a.cols, "{}: x has {} columns, expected a.cols = {}", op, x.cols, a.cols);
  NEUROAI_CHECK(y.rows == x.rows && y.cols == a.rows, "{}: y is {}x{}, expected (x.rows, a.rows) = {}x{}", op, y.rows,
                y.cols, x.rows, a.rows);
  check_resident(x.data, op, "x");
  check_resident(bias, op, "bias");
  check_resident(y.data, op, "y");
  spmm_csr_impl(a, x, bias, y, accumulate);
}

void Backend::sddmm_csr(ConstCsrView pattern, ConstDenseView dy, ConstDenseView x, float* out_values, bool accumulate) {
  const char* op = "sddmm_csr";
  check_csr_arg(pattern, op, "pattern");
  check_dense(dy, op, "dy");
  check_dense(x, op, "x");
  NEUROAI_CHECK(dy.cols == pattern.rows, "{}: dy has {} columns, expected pattern.rows = {}", op, dy.cols,
                pattern.rows);
  NEUROAI_CHECK(x.cols == pattern.cols, "{}: x has {} columns, expected pattern.cols = {}", op, x.cols, pattern.cols);
  NEUROAI_CHECK(x.rows == dy.rows, "{}: x has {} rows (batch), expected dy.rows = {}", op, x.rows, dy.rows);
  check_ptr(out_values, pattern.nnz, op, "out_values");
  check_resident(dy.data, op, "dy");
  check_resident(x.data, op, "x");
  check_resident(out_values, op, "out_values");
  sddmm_csr_impl(pattern, dy, x, out_values, accumulate);
}

int64_t Backend::dense_to_csr_count(ConstDenseView w, const uint8_t* mask, int32_t* indptr) {
  const char* op = "dense_to_csr_count";
  check_dense(w, op, "w");
  // int32 indices and row pointers: every entry could be kept.
  NEUROAI_CHECK(w.size() <= kMaxInt32, "{}: w ({}x{}) has more than 2^31 - 1 entries", op, w.rows, w.cols);
  check_ptr(indptr, w.rows + 1, op, "indptr");
  check_resident(w.data, op, "w");
  check_resident(mask, op, "mask");
  check_resident(indptr, op, "indptr");
  return dense_to_csr_count_impl(w, mask, indptr);
}

void Backend::dense_to_csr_fill(ConstDenseView w, const uint8_t* mask, CsrView out) {
  const char* op = "dense_to_csr_fill";
  check_dense(w, op, "w");
  NEUROAI_CHECK(w.size() <= kMaxInt32, "{}: w ({}x{}) has more than 2^31 - 1 entries", op, w.rows, w.cols);
  NEUROAI_CHECK(out.rows == w.rows && out.cols == w.cols, "{}: out is {}x{}, expected w's shape {}x{}", op, out.rows,
                out.cols, w.rows, w.cols);
  NEUROAI_CHECK(out.nnz >= 0 && out.nnz <= w.size(), "{}: out.nnz = {} is outside [0, {}]", op, out.nnz, w.size());
  check_ptr(out.indptr, w.rows + 1, op, "out.indptr");
  check_ptr(out.indices, out.nnz, op, "out.indices");
  check_ptr(out.values, out.nnz, op, "out.values");
  check_resident(w.data, op, "w");
  check_resident(mask, op, "mask");
  check_resident(out.indptr, op, "out.indptr");
  check_resident(out.indices, op, "out.indices");
  check_resident(out.values, op, "out.values");
  dense_to_csr_fill_impl(w, mask, out);
}

void Backend::csr_to_dense(ConstCsrView a, DenseView out) {
  const char* op = "csr_to_dense";
  check_csr_arg(a, op, "a");
  check_ptr(a.values, a.nnz, op, "a.values");
  check_dense(out, op, "out");
  NEUROAI_CHECK(out.rows == a.rows && out.cols == a.cols, "{}: out is {}x{}, expected a's shape {}x{}", op, out.rows,
                out.cols, a.rows, a.cols);
  check_resident(out.data, op, "out");
  csr_to_dense_impl(a, out);
}

void Backend::csr_transpose(ConstCsrView a, CsrView at, int32_t* perm) {
  const char* op = "csr_transpose";
  check_csr_arg(a, op, "a");
  NEUROAI_CHECK(at.rows == a.cols && at.cols == a.rows && at.nnz == a.nnz,
                "{}: at is {}x{} with nnz {}, expected {}x{} with nnz {}", op, at.rows, at.cols, at.nnz, a.cols,
                a.rows, a.nnz);
  check_ptr(at.indptr, int64_t(at.rows) + 1, op, "at.indptr");
  check_ptr(at.indices, at.nnz, op, "at.indices");
  check_ptr(perm, a.nnz, op, "perm");
  // at.values is optional: when given, it is filled like gather(a.values, perm) would.
  NEUROAI_CHECK(at.values == nullptr || a.nnz == 0 || a.values != nullptr,
                "{}: at.values is given but a.values is null", op);
  check_resident(at.indptr, op, "at.indptr");
  check_resident(at.indices, op, "at.indices");
  check_resident(at.values, op, "at.values");
  check_resident(perm, op, "perm");
  csr_transpose_impl(a, at, perm);
}

void Backend::gather(const float* src, const int32_t* idx, int64_t n, float* dst) {
  const char* op = "gather";
  NEUROAI_CHECK(n >= 0, "{}: n = {} is negative", op, n);
  check_ptr(src, n, op, "src");
  check_ptr(idx, n, op, "idx");
  check_ptr(dst, n, op, "dst");
  check_resident(src, op, "src");
  check_resident(idx, op, "idx");
  check_resident(dst, op, "dst");
  gather_impl(src, idx, n, dst);
}

int64_t Backend::scan_flags(const uint8_t* keep, int64_t n, int32_t* pos) {
  const char* op = "scan_flags";
  NEUROAI_CHECK(n >= 0 && n <= kMaxInt32, "{}: n = {} is outside [0, 2^31 - 1]", op, n);
  check_ptr(keep, n, op, "keep");
  check_ptr(pos, n + 1, op, "pos");
  check_resident(keep, op, "keep");
  check_resident(pos, op, "pos");
  return scan_flags_impl(keep, n, pos);
}

void Backend::compact_f32(const float* src, const uint8_t* keep, const int32_t* pos, int64_t n, float* dst) {
  const char* op = "compact_f32";
  NEUROAI_CHECK(n >= 0, "{}: n = {} is negative", op, n);
  for (auto [p, arg] : {std::pair<const void*, const char*>{src, "src"}, {keep, "keep"}, {pos, "pos"}}) {
    check_ptr(p, n, op, arg);
    check_resident(p, op, arg);
  }
  check_resident(dst, op, "dst");
  compact_f32_impl(src, keep, pos, n, dst);
}

void Backend::compact_i32(const int32_t* src, const uint8_t* keep, const int32_t* pos, int64_t n, int32_t* dst) {
  const char* op = "compact_i32";
  NEUROAI_CHECK(n >= 0, "{}: n = {} is negative", op, n);
  for (auto [p, arg] : {std::pair<const void*, const char*>{src, "src"}, {keep, "keep"}, {pos, "pos"}}) {
    check_ptr(p, n, op, arg);
    check_resident(p, op, arg);
  }
  check_resident(dst, op, "dst");
  compact_i32_impl(src, keep, pos, n, dst);
}

void Backend::csr_compact_indptr(const int32_t* indptr, int32_t rows, const int32_t* pos, int32_t* out_indptr) {
  const char* op = "csr_compact_indptr";
  NEUROAI_CHECK(rows >= 0, "{}: rows = {} is negative", op, rows);
  check_ptr(indptr, int64_t(rows) + 1, op, "indptr");
  check_ptr(pos, 1, op, "pos");
  check_ptr(out_indptr, int64_t(rows) + 1, op, "out_indptr");
  check_resident(indptr, op, "indptr");
  check_resident(pos, op, "pos");
  check_resident(out_indptr, op, "out_indptr");
  csr_compact_indptr_impl(indptr, rows, pos, out_indptr);
}

}  // namespace neuroai
