// CSR SDDMM on the CPU: out[k] (+)= dot(dY[:, i], X[:, j]) for each stored entry k = (i, j).
// dY and X are transposed once into dYt (rows, ld) and Xt (cols, ld), so each entry is a dot
// product of two contiguous rows. Entries are taken 8 at a time so that many independent
// accumulators hide the FMA latency and dYt[i, b] is loaded once per group; a transposing
// reduction then yields the group's sums in one vector.
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/dense_transpose.h"
#include "kernels/cpu/simd_dispatch.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace neuroai::cpu {
namespace {

// Writes (or adds) out[0 .. n) for the n entries of one CSR row; dy is dYt's row, ld its length.
using RowFn = void (*)(const int32_t* idx, int64_t n, const float* dy, const float* xt, int64_t ld, float* out,
                       bool accumulate);

[[maybe_unused]] void row_portable(const int32_t* idx, int64_t n, const float* dy, const float* xt, int64_t ld,
                                   float* out, bool accumulate) {
  for (int64_t k = 0; k < n; ++k) {
    const float* xr = xt + int64_t(idx[k]) * ld;
    float s = 0.0f;
    for (int64_t b = 0; b < ld; ++b) s += dy[b] * xr[b];
    out[k] = accumulate ? out[k] + s : s;
  }
}

#if defined(__AVX2__) && defined(__FMA__)
// Sums each of a[0..8) horizontally: result lane q = sum of a[q]'s lanes.
inline __m256 hsum8(const __m256 a[8]) {
  __m256 s01 = _mm256_hadd_ps(a[0], a[1]), s23 = _mm256_hadd_ps(a[2], a[3]);
  __m256 s45 = _mm256_hadd_ps(a[4], a[5]), s67 = _mm256_hadd_ps(a[6], a[7]);
  __m256 s0123 = _mm256_hadd_ps(s01, s23), s4567 = _mm256_hadd_ps(s45, s67);
  // s0123 lanes: [a0 lo, a1 lo, a2 lo, a3 lo, a0 hi, a1 hi, a2 hi, a3 hi] (partial sums of halves).
  __m256 lo = _mm256_permute2f128_ps(s0123, s4567, 0x20), hi = _mm256_permute2f128_ps(s0123, s4567, 0x31);
  return _mm256_add_ps(lo, hi);
}

void row_avx2(const int32_t* idx, int64_t n, const float* dy, const float* xt, int64_t ld, float* out,
              bool accumulate) {
  for (int64_t k0 = 0; k0 < n; k0 += 8) {
    const int64_t m = n - k0 < 8 ? n - k0 : 8;
    const float* xr[8];
    // A short last group repeats its last entry; the extra sums are not stored.
    for (int q = 0; q < 8; ++q) xr[q] = xt + int64_t(idx[k0 + (q < m ? q : m - 1)]) * ld;
    __m256 acc[8];
    for (int q = 0; q < 8; ++q) acc[q] = _mm256_setzero_ps();
    for (int64_t b = 0; b < ld; b += 8) {
      __m256 d = _mm256_load_ps(dy + b);
      for (int q = 0; q < 8; ++q) acc[q] = _mm256_fmadd_ps(d, _mm256_load_ps(xr[q] + b), acc[q]);
    }
    __m256 s = hsum8(acc);
    if (m == 8) {
      _mm256_storeu_ps(out + k0, accumulate ? _mm256_add_ps(_mm256_loadu_ps(out + k0), s) : s);
    } else {
      alignas(32) float tmp[8];
      _mm256_store_ps(tmp, s);
      for (int q = 0; q < m; ++q) out[k0 + q] = accumulate ? out[k0 + q] + tmp[q] : tmp[q];
    }
  }
}

// 8 entries per group with zmm accumulators (16 would leave too few registers for the row
// pointers); the batch (ld) is a multiple of 16. GCC 12's AVX-512 headers build lane extracts
// from _mm512_undefined_*, which trips a false -Wmaybe-uninitialized.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f"))) void row_avx512(const int32_t* idx, int64_t n, const float* dy, const float* xt,
                                                   int64_t ld, float* out, bool accumulate) {
  for (int64_t k0 = 0; k0 < n; k0 += 8) {
    const int64_t m = n - k0 < 8 ? n - k0 : 8;
    const float* xr[8];
    for (int q = 0; q < 8; ++q) xr[q] = xt + int64_t(idx[k0 + (q < m ? q : m - 1)]) * ld;
    __m512 acc[8];
    for (int q = 0; q < 8; ++q) acc[q] = _mm512_setzero_ps();
    for (int64_t b = 0; b < ld; b += 16) {
      __m512 d = _mm512_load_ps(dy + b);
      for (int q = 0; q < 8; ++q) acc[q] = _mm512_fmadd_ps(d, _mm512_load_ps(xr[q] + b), acc[q]);
    }
    __m256 half[8];
    for (int q = 0; q < 8; ++q)
      half[q] = _mm256_add_ps(_mm512_castps512_ps256(acc[q]),
                              _mm512_castps512_ps256(_mm512_shuffle_f32x4(acc[q], acc[q], 0xEE)));
    __m256 s = hsum8(half);
    if (m == 8) {
      _mm256_storeu_ps(out + k0, accumulate ? _mm256_add_ps(_mm256_loadu_ps(out + k0), s) : s);
    } else {
      alignas(32) float tmp[8];
      _mm256_store_ps(tmp, s);
      for (int q = 0; q < m; ++q) out[k0 + q] = accumulate ? out[k0 + q] + tmp[q] : tmp[q];
    }
  }
}
#pragma GCC diagnostic pop
#endif

RowFn pick_row_kernel() {
#if defined(__AVX2__) && defined(__FMA__)
  return cpu_has_avx512() ? row_avx512 : row_avx2;
#else
  return row_portable;
#endif
}

}  // namespace

void CpuBackend::sddmm_csr_impl(ConstCsrView pattern, ConstDenseView dy, ConstDenseView x, float* out_values,
                                bool accumulate) {
  if (pattern.nnz == 0) return;
  const int64_t batch = x.rows;
  if (batch == 0) {
    if (!accumulate)
#pragma omp parallel for schedule(static)
      for (int64_t k = 0; k < pattern.nnz; ++k) out_values[k] = 0.0f;
    return;
  }
  const int64_t ld = padded_batch(batch);
  float* dyt = align_to_line(scratch(sizeof(float) * size_t(ld) * (size_t(pattern.rows) + size_t(pattern.cols)) + 64));
  float* xt = dyt + ld * pattern.rows;  // (cols, ld)
  transpose_to_padded(dy.data, batch, pattern.rows, dyt, ld);
  transpose_to_padded(x.data, batch, pattern.cols, xt, ld);
  RowFn row = pick_row_kernel();
#pragma omp parallel for schedule(dynamic, 16)
  for (int32_t i = 0; i < pattern.rows; ++i) {
    int64_t start = pattern.indptr[i], n = pattern.indptr[i + 1] - start;
    if (n > 0) row(pattern.indices + start, n, dyt + i * ld, xt, ld, out_values + start, accumulate);
  }
}

}  // namespace neuroai::cpu
