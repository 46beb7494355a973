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

// One row of the pattern per iteration; the row's post activity over the batch is gathered once.
void CpuBackend::hebbian_csr_update_impl(ConstCsrView pattern, ConstDenseView post, ConstDenseView pre, float eta,
                                         float clip, float* hebb) {
  const int64_t batch = post.rows;
  const float inv_b = 1.0f / float(batch);
#pragma omp parallel
  {
    std::vector<float> post_i(batch);  // (B) post[:, i]
#pragma omp for schedule(dynamic, 64)
    for (int32_t i = 0; i < pattern.rows; ++i) {
      const int32_t k0 = pattern.indptr[i], k1 = pattern.indptr[i + 1];
      if (k0 == k1) continue;
      for (int64_t b = 0; b < batch; ++b) post_i[b] = post.data[b * pattern.rows + i];
      for (int32_t k = k0; k < k1; ++k) {
        const float* pre_j = pre.data + pattern.indices[k];
        float s = 0.0f;
        for (int64_t b = 0; b < batch; ++b) s += post_i[b] * pre_j[b * pattern.cols];
        hebb[k] = hebbian_update(hebb[k], s * inv_b, eta, clip);
      }
    }
  }
}

}  // namespace neuroai::cpu
