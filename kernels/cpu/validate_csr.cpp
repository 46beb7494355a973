#include <algorithm>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/csr_validate.h"

namespace neuroai::cpu {

void CpuBackend::validate_csr_impl(ConstCsrView a, const char* what) {
  const int32_t* indptr = a.indptr;  // (rows + 1)
  const int32_t* indices = a.indices;  // (nnz)
  uint64_t key = kCsrValid;
  if (indptr[0] != 0) key = csr_violation_key(CsrViolation::IndptrStart, 0, 0);
  for (int32_t r = 0; r < a.rows && key == kCsrValid; ++r)
    if (indptr[r + 1] < indptr[r]) key = csr_violation_key(CsrViolation::IndptrDecreasing, r, 0);
  if (key == kCsrValid && indptr[a.rows] != a.nnz) key = csr_violation_key(CsrViolation::IndptrEnd, 0, 0);
  if (key == kCsrValid) {
    // indptr is now known to be a monotone path from 0 to nnz, so every row's range is in bounds.
#pragma omp parallel for schedule(static) reduction(min : key)
    for (int32_t r = 0; r < a.rows; ++r) {
      int64_t start = indptr[r], end = indptr[r + 1];
      for (int64_t k = start; k < end; ++k) {
        uint64_t e = csr_entry_key(k, start, indices[k], k > start ? indices[k - 1] : 0, a.cols);
        if (e != kCsrValid) {
          key = std::min(key, e);
          break;
        }
      }
    }
  }
  if (key != kCsrValid)
    throw_csr_violation(
        key, what, a.rows, a.cols, a.nnz, [&](int64_t r) { return indptr[r]; },
        [&](int64_t k) { return indices[k]; });
}

}  // namespace neuroai::cpu
