// CSR matrices in the engine: HostCsr on the host, CsrMatrix owning its three arrays on one backend.
// Conventions are kernels/backend.h's: rows x cols, indptr[rows + 1], int32 column indices strictly
// increasing within a row, fp32 values. A CsrMatrix made from host arrays is validated once, when it
// is made (Error naming `what` and the first violation); an op's output is validated by the op that
// fills it, or by validate().
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace neuroai {

struct HostCsr {
  int32_t rows = 0, cols = 0;
  std::vector<int32_t> indptr{0};
  std::vector<int32_t> indices{};
  std::vector<float> values{};  // empty: a pattern without values
  int64_t nnz() const { return int64_t(indices.size()); }

  // The pattern of (row, col) entries given in any order (no duplicates), rows sorted by column.
  // order (when not null) receives, for each stored entry, the index of the entry it came from.
  static HostCsr from_entries(int32_t rows, int32_t cols, const std::vector<std::pair<int32_t, int32_t>>& entries,
                              std::vector<int32_t>* order = nullptr);
};

class CsrMatrix {
public:
  CsrMatrix() = default;
  // Uploads h (its values, or every value = fill when h has none) and validates the structure.
  CsrMatrix(Backend& b, const HostCsr& h, const char* what);
  CsrMatrix(Backend& b, const HostCsr& h, float fill, const char* what);
  // rows x cols with room for nnz entries, contents undefined: the output of an op such as
  // csr_transpose.
  CsrMatrix(Backend& b, int32_t rows, int32_t cols, int64_t nnz);

  int32_t rows() const { return rows_; }
  int32_t cols() const { return cols_; }
  int64_t nnz() const { return indices_.size(); }
  Backend* backend() const { return indptr_.backend(); }
  bool empty() const { return indptr_.empty(); }

  CsrView view() { return {indptr_.data(), indices_.data(), values_.data(), rows_, cols_, nnz()}; }
  ConstCsrView view() const { return {indptr_.data(), indices_.data(), values_.data(), rows_, cols_, nnz()}; }
  int32_t* indptr() { return indptr_.data(); }
  int32_t* indices() { return indices_.data(); }
  float* values() { return values_.data(); }
  const int32_t* indptr() const { return indptr_.data(); }
  const int32_t* indices() const { return indices_.data(); }
  const float* values() const { return values_.data(); }

  // Error naming `what` and the first violation when the arrays do not form a valid CSR matrix.
  void validate(const char* what) const;
  HostCsr to_host() const;

private:
  Buffer<int32_t> indptr_, indices_;
  Buffer<float> values_;
  int32_t rows_ = 0, cols_ = 0;
};

}  // namespace neuroai
