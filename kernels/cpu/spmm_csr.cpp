// CSR SpMM on the CPU: Y (B, rows) = X (B, cols) * A^T (+ bias, += Y).
// X is transposed once into Xt (cols, ld) so that each stored entry (i, j, v) adds v * Xt[j, :] to
// the contiguous row Yt[i, :]; the batch is the vector dimension and a block of 64 (AVX2) or 128
// (AVX-512) batch columns stays in registers while a CSR row is walked. Yt is transposed back.
// The loop does one vector load per FMA, so its speed is the load rate from L1/L2: rows of Xt
// are cache-line aligned, and blocking the columns to keep Xt's slice in L1 was measured slower
// (every row then reloads and stores its accumulators once per block).
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/dense_transpose.h"
#include "kernels/cpu/simd_dispatch.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace neuroai::cpu {
namespace {

// out[0, 16 * NB) = init + sum_k val[k] * xt[idx[k] * ld + (0 .. 16 * NB)] for one CSR row.
using RowFn = void (*)(const int32_t* idx, const float* val, int64_t n, const float* xt, int64_t ld, float init,
                       float* out);

template <int NB>
[[maybe_unused]] void row_portable(const int32_t* idx, const float* val, int64_t n, const float* xt, int64_t ld,
                                   float init, float* out) {
  float acc[16 * NB];
  for (int b = 0; b < 16 * NB; ++b) acc[b] = init;
  for (int64_t k = 0; k < n; ++k) {
    const float* xr = xt + int64_t(idx[k]) * ld;
    for (int b = 0; b < 16 * NB; ++b) acc[b] += val[k] * xr[b];
  }
  for (int b = 0; b < 16 * NB; ++b) out[b] = acc[b];
}

#if defined(__AVX2__) && defined(__FMA__)
// NB blocks of 16 floats = 2 * NB ymm accumulators; NB = 4 keeps 8 FMAs in flight.
template <int NB>
void row_avx2(const int32_t* idx, const float* val, int64_t n, const float* xt, int64_t ld, float init, float* out) {
  constexpr int kV = 2 * NB;
  __m256 acc[kV];
  for (int v = 0; v < kV; ++v) acc[v] = _mm256_set1_ps(init);
  for (int64_t k = 0; k < n; ++k) {
    const float* xr = xt + int64_t(idx[k]) * ld;
    __m256 w = _mm256_broadcast_ss(val + k);
    for (int v = 0; v < kV; ++v) acc[v] = _mm256_fmadd_ps(w, _mm256_load_ps(xr + 8 * v), acc[v]);
  }
  for (int v = 0; v < kV; ++v) _mm256_store_ps(out + 8 * v, acc[v]);
}

template <int NB>
__attribute__((target("avx512f"))) void row_avx512(const int32_t* idx, const float* val, int64_t n, const float* xt,
                                                   int64_t ld, float init, float* out) {
  __m512 acc[NB];
  for (int v = 0; v < NB; ++v) acc[v] = _mm512_set1_ps(init);
  for (int64_t k = 0; k < n; ++k) {
    const float* xr = xt + int64_t(idx[k]) * ld;
    __m512 w = _mm512_set1_ps(val[k]);
    for (int v = 0; v < NB; ++v) acc[v] = _mm512_fmadd_ps(w, _mm512_load_ps(xr + 16 * v), acc[v]);
  }
  for (int v = 0; v < NB; ++v) _mm512_store_ps(out + 16 * v, acc[v]);
}
#endif

struct RowKernel {
  int64_t width;  // batch columns per call
  RowFn fn;
};

// The widest row kernel that fits in `remaining` (a multiple of 16) batch columns.
RowKernel pick_row_kernel(int64_t remaining) {
#if defined(__AVX2__) && defined(__FMA__)
  if (cpu_has_avx512()) {
    if (remaining >= 128) return {128, row_avx512<8>};
    if (remaining >= 64) return {64, row_avx512<4>};
    if (remaining >= 32) return {32, row_avx512<2>};
    return {16, row_avx512<1>};
  }
  if (remaining >= 64) return {64, row_avx2<4>};
  if (remaining >= 32) return {32, row_avx2<2>};
  return {16, row_avx2<1>};
#else
  if (remaining >= 64) return {64, row_portable<4>};
  if (remaining >= 32) return {32, row_portable<2>};
  return {16, row_portable<1>};
#endif
}

}  // namespace

void CpuBackend::spmm_csr_impl(ConstCsrView a, ConstDenseView x, const float* bias, DenseView y, bool accumulate) {
  const int64_t batch = x.rows;
  if (batch == 0 || a.rows == 0) return;
  const int64_t ld = padded_batch(batch);
  float* xt = align_to_line(scratch(sizeof(float) * size_t(ld) * (size_t(a.cols) + size_t(a.rows)) + 64));
  float* yt = xt + ld * a.cols;  // (rows, ld)
  transpose_to_padded(x.data, batch, a.cols, xt, ld);
#pragma omp parallel
  {
    RowKernel kernel{};
    for (int64_t b0 = 0; b0 < ld; b0 += kernel.width) {
      kernel = pick_row_kernel(ld - b0);
      const RowFn row = kernel.fn;
#pragma omp for schedule(dynamic, 16) nowait
      for (int32_t i = 0; i < a.rows; ++i) {
        int64_t start = a.indptr[i];
        row(a.indices + start, a.values + start, a.indptr[i + 1] - start, xt + b0, ld, bias ? bias[i] : 0.0f,
            yt + i * ld + b0);
      }
    }
  }
  transpose_from_padded(yt, ld, batch, a.rows, y.data, accumulate);
}

}  // namespace neuroai::cpu
