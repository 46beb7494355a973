// Activity traces (SPEC §7.1) and the per-edge Hebbian trace on a CSR pattern (SPEC §7.2).
#include <algorithm>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/inhibition_math.h"

namespace neuroai::cpu {

// Columns are split into chunks per thread; each chunk sums the batch row by row (contiguous,
// vectorized), in ascending b like the CUDA kernel.
void CpuBackend::trace_update_impl(ConstDenseView x, float lambda, float* trace) {
  constexpr int64_t kChunk = 1024;
  const int64_t n = x.cols, chunks = (n + kChunk - 1) / kChunk;
  const float inv_b = 1.0f / float(x.rows);
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < chunks; ++ch) {
    const int64_t c0 = ch * kChunk, len = std::min(kChunk, n - c0);
    float sum[kChunk] = {};
    for (int64_t b = 0; b < x.rows; ++b) {
      const float* xb = x.data + b * n + c0;
#pragma omp simd
      for (int64_t c = 0; c < len; ++c) sum[c] += xb[c];
    }
    for (int64_t c = 0; c < len; ++c) trace[c0 + c] = trace_ema(trace[c0 + c], sum[c] * inv_b, lambda);
  }
}

// The batch sums are an SDDMM on the pattern (post^T pre sampled at the stored entries), so the
// transposed, vectorized SDDMM kernel computes them; the update is then one pass over the entries.
void CpuBackend::hebbian_csr_update_impl(ConstCsrView pattern, ConstDenseView post, ConstDenseView pre, float eta,
                                         float clip, float* hebb) {
  if (pattern.nnz == 0) return;
  std::vector<float> sums(static_cast<size_t>(pattern.nnz));  // (nnz) sum_b post[b, i] * pre[b, j]
  sddmm_csr_impl(pattern, post, pre, sums.data(), false);
  const float inv_b = 1.0f / float(post.rows);
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < pattern.nnz; ++k) hebb[k] = hebbian_update(hebb[k], sums[size_t(k)] * inv_b, eta, clip);
}

}  // namespace neuroai::cpu
