// Gathers, flag scans and stable compaction of per-entry arrays (used to shrink a CSR matrix after
// pruning: scan the keep flags, compact indices/values/optimizer state, recompute indptr).
#include "kernels/cpu/cpu_backend.h"

namespace neuroai::cpu {

void CpuBackend::gather_impl(const float* src, const int32_t* idx, int64_t n, float* dst) {
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < n; ++k) dst[k] = src[idx[k]];
}

int64_t CpuBackend::scan_flags_impl(const uint8_t* keep, int64_t n, int32_t* pos) {
  int32_t total = 0;
  for (int64_t k = 0; k < n; ++k) {
    pos[k] = total;
    total += keep[k] != 0 ? 1 : 0;
  }
  pos[n] = total;
  return total;
}

namespace {
template <class T>
void compact(const T* src, const uint8_t* keep, const int32_t* pos, int64_t n, T* dst) {
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < n; ++k)
    if (keep[k] != 0) dst[pos[k]] = src[k];
}
}  // namespace

void CpuBackend::compact_f32_impl(const float* src, const uint8_t* keep, const int32_t* pos, int64_t n, float* dst) {
  compact(src, keep, pos, n, dst);
}

void CpuBackend::compact_i32_impl(const int32_t* src, const uint8_t* keep, const int32_t* pos, int64_t n,
                                  int32_t* dst) {
  compact(src, keep, pos, n, dst);
}

void CpuBackend::csr_compact_indptr_impl(const int32_t* indptr, int32_t rows, const int32_t* pos,
                                         int32_t* out_indptr) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r <= rows; ++r) out_indptr[r] = pos[indptr[r]];
}

}  // namespace neuroai::cpu
