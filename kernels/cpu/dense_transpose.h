// Blocked dense transposes for the CSR kernels, which work on "sample-major" copies: X (B, n) becomes
// Xt (n, ld) with the batch contiguous, so that one CSR entry touches one contiguous row of Xt.
// ld >= B is a multiple of 8 and the padding columns are zero, which lets kernels run whole vectors.
#pragma once

#include <cstdint>
#include <cstddef>

#include "kernels/cpu/simd_dispatch.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace neuroai::cpu {

constexpr int64_t kBatchAlign = 16;

inline int64_t padded_batch(int64_t b) { return (b + kBatchAlign - 1) / kBatchAlign * kBatchAlign; }

// Rounds a scratch pointer up to a cache line (allocate 64 bytes extra). With ld a multiple of 16
// floats every row of a transposed copy then starts on a line: a 64-byte vector load that
// straddles two lines costs two, which halved the speed of the CSR kernels.
inline float* align_to_line(void* p) {
  auto u = reinterpret_cast<uintptr_t>(p);
  return reinterpret_cast<float*>((u + 63) & ~uintptr_t(63));
}

#if defined(__AVX2__)
// In-register 8x8 transpose of rows r[0..8).
inline void transpose8x8(__m256 r[8]) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// GCC 12's AVX-512 headers build shuffles from _mm512_undefined_*, which trips false
// (maybe-)uninitialized warnings.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// In-register 16x16 transpose of rows r[0..16).
__attribute__((target("avx512f"))) inline void transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int h = 0; h < 2; ++h)
    for (int j = 0; j < 4; ++j) {
      t[8 * h + j] = _mm512_shuffle_f32x4(r[8 * h + j], r[8 * h + 4 + j], 0x88);
      t[8 * h + 4 + j] = _mm512_shuffle_f32x4(r[8 * h + j], r[8 * h + 4 + j], 0xDD);
    }
  for (int j = 0; j < 8; ++j) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
    r[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xDD);
  }
}

// dst[c * ld_dst + r] = src[r * ld_src + c] for one 16x16 tile (dst (+)= when add).
__attribute__((target("avx512f"))) inline void transpose_tile16(const float* src, int64_t ld_src, float* dst,
                                                                 int64_t ld_dst, bool add) {
  __m512 t[16];
  for (int i = 0; i < 16; ++i) t[i] = _mm512_loadu_ps(src + i * ld_src);
  transpose16x16(t);
  for (int i = 0; i < 16; ++i) {
    float* d = dst + i * ld_dst;
    _mm512_storeu_ps(d, add ? _mm512_add_ps(_mm512_loadu_ps(d), t[i]) : t[i]);
  }
}
#pragma GCC diagnostic pop
#endif

// Columns of src are taken in 64-wide strips: each tile's cache lines are finished by the
// neighbouring tiles right away, and a strip touches few lines per L1 set even when src's row
// stride is a multiple of 4 KiB (where a whole column of tiles aliases to one set). With AVX-512,
// 16x16 tiles take a quarter less time than 8x8 ones here (measured; not so for the reverse
// transpose below, whose 16 strided destination rows then alias in L1).
constexpr int64_t kStrip = 64;

// dst (cols, ld) = src (rows, cols)^T, dst[c, rows..ld) = 0. OpenMP over column strips.
inline void transpose_to_padded(const float* src, int64_t rows, int64_t cols, float* dst, int64_t ld) {
#pragma omp parallel for schedule(static)
  for (int64_t s0 = 0; s0 < cols; s0 += kStrip) {
    const int64_t s1 = s0 + kStrip < cols ? s0 + kStrip : cols;
    int64_t r0 = 0;
#if defined(__AVX2__)
    if (cpu_has_avx512() && s1 - s0 == kStrip) {
      for (; r0 + 16 <= rows; r0 += 16)
        for (int64_t c0 = s0; c0 < s1; c0 += 16)
          transpose_tile16(src + r0 * cols + c0, cols, dst + c0 * ld + r0, ld, false);
    }
    const int64_t full = s0 + (s1 - s0) / 8 * 8;  // end of the strip's whole 8-column tiles
    for (; r0 + 8 <= rows; r0 += 8)
      for (int64_t c0 = s0; c0 < full; c0 += 8) {
        __m256 t[8];
        for (int i = 0; i < 8; ++i) t[i] = _mm256_loadu_ps(src + (r0 + i) * cols + c0);
        transpose8x8(t);
        for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (c0 + i) * ld + r0, t[i]);
      }
    for (int64_t c = full; c < s1; ++c)
      for (int64_t r = 0; r < r0; ++r) dst[c * ld + r] = src[r * cols + c];
#endif
    for (int64_t c = s0; c < s1; ++c) {
      for (int64_t r = r0; r < rows; ++r) dst[c * ld + r] = src[r * cols + c];
      for (int64_t r = rows; r < ld; ++r) dst[c * ld + r] = 0.0f;
    }
  }
}

// dst (rows, cols) (+)= src^T where src is (cols, ld), ld >= rows. OpenMP over 8-row tiles of dst;
// here the 4 KiB-strided side is dst, whose 8 rows per tile stay within an L1 set's ways.
inline void transpose_from_padded(const float* src, int64_t ld, int64_t rows, int64_t cols, float* dst, bool add) {
#pragma omp parallel for schedule(static)
  for (int64_t r0 = 0; r0 < rows; r0 += 8) {
    const int64_t r1 = r0 + 8 < rows ? r0 + 8 : rows;
    int64_t c0 = 0;
#if defined(__AVX2__)
    if (r1 - r0 == 8) {
      for (; c0 + 8 <= cols; c0 += 8) {
        __m256 t[8];
        for (int i = 0; i < 8; ++i) t[i] = _mm256_loadu_ps(src + (c0 + i) * ld + r0);
        transpose8x8(t);
        for (int i = 0; i < 8; ++i) {
          float* d = dst + (r0 + i) * cols + c0;
          // Fetch each destination row's lines 4 ahead: without it the stores of a plain copy wait for
          // their lines (a quarter slower, measured; with add the loads fetch them).
          if ((c0 & 15) == 0) _mm_prefetch(reinterpret_cast<const char*>(d + 64), _MM_HINT_T0);
          _mm256_storeu_ps(d, add ? _mm256_add_ps(_mm256_loadu_ps(d), t[i]) : t[i]);
        }
      }
    }
#endif
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = c0; c < cols; ++c) {
        float v = src[c * ld + r];
        dst[r * cols + c] = add ? dst[r * cols + c] + v : v;
      }
  }
}

}  // namespace neuroai::cpu
