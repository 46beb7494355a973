#include "engine/csr_matrix.h"

#include <algorithm>
#include <numeric>

#include "kernels/error.h"

namespace neuroai {

HostCsr HostCsr::from_entries(int32_t rows, int32_t cols, const std::vector<std::pair<int32_t, int32_t>>& entries,
                              std::vector<int32_t>* order) {
  std::vector<int32_t> idx(entries.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) { return entries[a] < entries[b]; });
  HostCsr c;
  c.rows = rows;
  c.cols = cols;
  c.indptr.assign(size_t(rows) + 1, 0);
  for (int32_t k : idx) {
    ++c.indptr[size_t(entries[size_t(k)].first) + 1];
    c.indices.push_back(entries[size_t(k)].second);
  }
  for (int32_t r = 0; r < rows; ++r) c.indptr[size_t(r) + 1] += c.indptr[size_t(r)];
  if (order) *order = std::move(idx);
  return c;
}

CsrMatrix::CsrMatrix(Backend& b, int32_t rows, int32_t cols, int64_t nnz)
    : indptr_(b, int64_t(rows) + 1), indices_(b, nnz), values_(b, nnz), rows_(rows), cols_(cols) {
  NEUROAI_CHECK(rows >= 0 && cols >= 0 && nnz >= 0, "CsrMatrix: shape {}x{} with {} entries", rows, cols, nnz);
}

CsrMatrix::CsrMatrix(Backend& b, const HostCsr& h, const char* what)
    : indptr_(b, h.indptr), indices_(b, h.indices), values_(b, h.nnz()), rows_(h.rows), cols_(h.cols) {
  NEUROAI_CHECK(int64_t(h.indptr.size()) == int64_t(h.rows) + 1 && (h.values.empty() || h.values.size() == h.indices.size()),
                "{}: {} indptr entries and {} values for {} rows and {} entries (expected rows + 1 and nnz)", what,
                h.indptr.size(), h.values.size(), h.rows, h.nnz());
  if (!h.values.empty()) values_.upload(h.values);
  else if (!values_.empty()) b.fill(values_.size(), 0.0f, values_.data());
  validate(what);
}

CsrMatrix::CsrMatrix(Backend& b, const HostCsr& h, float fill, const char* what) : CsrMatrix(b, h, what) {
  if (!values_.empty()) b.fill(values_.size(), fill, values_.data());
}

void CsrMatrix::validate(const char* what) const { indptr_.backend()->validate_csr(view(), what); }

HostCsr CsrMatrix::to_host() const {
  HostCsr h;
  h.rows = rows_;
  h.cols = cols_;
  h.indptr = indptr_.to_host();
  h.indices = indices_.to_host();
  h.values = values_.to_host();
  return h;
}

}  // namespace neuroai
