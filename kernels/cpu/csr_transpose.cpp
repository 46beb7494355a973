// CSR transpose on the CPU: a stable counting sort of the entries by column. Walking A in storage
// order (rows ascending) and appending each entry to its column's bucket leaves every output row's
// columns (A's rows) ascending, and makes perm deterministic.
#include <vector>

#include "kernels/cpu/cpu_backend.h"

namespace neuroai::cpu {

void CpuBackend::csr_transpose_impl(ConstCsrView a, CsrView at, int32_t* perm) {
  int32_t* count = at.indptr;  // (cols + 1): counts shifted by one, then their prefix sum
  for (int32_t c = 0; c <= a.cols; ++c) count[c] = 0;
  for (int64_t k = 0; k < a.nnz; ++k) ++count[a.indices[k] + 1];
  for (int32_t c = 0; c < a.cols; ++c) count[c + 1] += count[c];
  std::vector<int32_t> next(at.indptr, at.indptr + a.cols);  // (cols) next free slot of each bucket
  for (int32_t r = 0; r < a.rows; ++r) {
    for (int32_t k = a.indptr[r]; k < a.indptr[r + 1]; ++k) {
      int32_t p = next[a.indices[k]]++;
      at.indices[p] = r;
      perm[p] = k;
    }
  }
  if (at.values != nullptr) {
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < a.nnz; ++p) at.values[p] = a.values[perm[p]];
  }
}

}  // namespace neuroai::cpu
