// Dense <-> CSR conversions on the CPU. Rows are independent: counting, filling and scattering
// each run one OpenMP iteration per row; only the row-pointer prefix sum is sequential.
// With AVX-512 a row is taken 16 columns at a time: the kept flags become a 16-bit mask (from the
// uint8 mask or from W != 0), counting is a popcount, and filling compresses the kept values and
// their column indices in registers (vcompressps / vpcompressd) and stores the first popcount lanes.
// Both are bound by reading W: at 1024 x 1024 W (4 MiB) streams from L3 on every call. Neither
// skipping the loads of all-pruned chunks (a mispredicted branch) nor software prefetch was faster.
// The portable path is branch-free (a kept flag is added, not tested), since at middling densities
// a data-dependent branch per entry mispredicts half the time.
#include <cstring>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/simd_dispatch.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace neuroai::cpu {
namespace {

// keep[c] = 1 for the kept columns of one row: mask != 0 when given, else w != 0.
inline void row_flags(const float* w, const uint8_t* mask, int64_t cols, uint8_t* keep) {
  if (mask) {
    for (int64_t c = 0; c < cols; ++c) keep[c] = mask[c] != 0;
  } else {
    for (int64_t c = 0; c < cols; ++c) keep[c] = w[c] != 0.0f;
  }
}

void count_portable(ConstDenseView w, const uint8_t* mask, int32_t* indptr) {
  const int64_t rows = w.rows, cols = w.cols;
#pragma omp parallel
  {
    std::vector<uint8_t> keep(static_cast<size_t>(cols));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      row_flags(w.data + r * cols, mask ? mask + r * cols : nullptr, cols, keep.data());
      int32_t n = 0;
      for (int64_t c = 0; c < cols; ++c) n += keep[c];
      indptr[r + 1] = n;
    }
  }
}

void fill_portable(ConstDenseView w, const uint8_t* mask, CsrView out) {
  const int64_t cols = w.cols;
#pragma omp parallel
  {
    // Every column is written to the row buffers and the cursor advances only past kept ones;
    // the kept prefix is then copied out.
    std::vector<uint8_t> keep(static_cast<size_t>(cols));
    std::vector<int32_t> idx(static_cast<size_t>(cols) + 1);
    std::vector<float> val(static_cast<size_t>(cols) + 1);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < w.rows; ++r) {
      const float* wr = w.data + r * cols;
      row_flags(wr, mask ? mask + r * cols : nullptr, cols, keep.data());
      int64_t n = 0;
      for (int64_t c = 0; c < cols; ++c) {
        idx[n] = int32_t(c);
        val[n] = wr[c];
        n += keep[c];
      }
      std::memcpy(out.indices + out.indptr[r], idx.data(), sizeof(int32_t) * size_t(n));
      std::memcpy(out.values + out.indptr[r], val.data(), sizeof(float) * size_t(n));
    }
  }
}

#if defined(__AVX2__)
#define NEUROAI_AVX512_BW __attribute__((target("avx512f,avx512bw,avx512vl,popcnt")))

// The kept flags of columns [c, c + 16) of one row, `valid` of them inside the row. The loads are
// masked, so nothing past the row is read.
NEUROAI_AVX512_BW inline __mmask16 kept16(const float* w, const uint8_t* mask, int64_t c, __mmask16 valid) {
  if (mask) return _mm_mask_test_epi8_mask(valid, _mm_maskz_loadu_epi8(valid, mask + c), _mm_set1_epi8(-1));
  return _mm512_mask_cmpneq_ps_mask(valid, _mm512_maskz_loadu_ps(valid, w + c), _mm512_setzero_ps());
}

inline __mmask16 valid16(int64_t left) { return left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1); }

NEUROAI_AVX512_BW void count_avx512(ConstDenseView w, const uint8_t* mask, int32_t* indptr) {
  const int64_t rows = w.rows, cols = w.cols;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* wr = w.data + r * cols;
    const uint8_t* mr = mask ? mask + r * cols : nullptr;
    int64_t n = 0, c = 0;
    if (mr) {
      // 64 flags per compare.
      for (; c + 64 <= cols; c += 64) {
        const __m512i m = _mm512_loadu_si512(mr + c);
        n += __builtin_popcountll(_mm512_test_epi8_mask(m, m));
      }
    }
    for (; c < cols; c += 16) n += __builtin_popcount(kept16(wr, mr, c, valid16(cols - c)));
    indptr[r + 1] = int32_t(n);
  }
}

NEUROAI_AVX512_BW void fill_avx512(ConstDenseView w, const uint8_t* mask, CsrView out) {
  const int64_t rows = w.rows, cols = w.cols;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* wr = w.data + r * cols;
    const uint8_t* mr = mask ? mask + r * cols : nullptr;
    int32_t* oi = out.indices + out.indptr[r];
    float* ov = out.values + out.indptr[r];
    __m512i col = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i step = _mm512_set1_epi32(16);
    for (int64_t c = 0; c < cols; c += 16) {
      const __mmask16 valid = valid16(cols - c);
      const __mmask16 keep = kept16(wr, mr, c, valid);
      const int n = __builtin_popcount(keep);
      const __mmask16 first = __mmask16((1u << n) - 1);
      // Masked stores of the first n lanes: no write past this row's entries, so rows written by
      // other threads are never touched.
      _mm512_mask_storeu_ps(ov, first, _mm512_maskz_compress_ps(keep, _mm512_maskz_loadu_ps(keep, wr + c)));
      _mm512_mask_storeu_epi32(oi, first, _mm512_maskz_compress_epi32(keep, col));
      ov += n;
      oi += n;
      col = _mm512_add_epi32(col, step);
    }
  }
}
#undef NEUROAI_AVX512_BW
#endif

bool use_avx512() {
#if defined(__AVX2__)
  return cpu_has_avx512() && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

}  // namespace

int64_t CpuBackend::dense_to_csr_count_impl(ConstDenseView w, const uint8_t* mask, int32_t* indptr) {
  const int64_t rows = w.rows;
  indptr[0] = 0;
#if defined(__AVX2__)
  if (use_avx512()) {
    count_avx512(w, mask, indptr);
  } else {
    count_portable(w, mask, indptr);
  }
#else
  count_portable(w, mask, indptr);
#endif
  for (int64_t r = 0; r < rows; ++r) indptr[r + 1] += indptr[r];
  return indptr[rows];
}

void CpuBackend::dense_to_csr_fill_impl(ConstDenseView w, const uint8_t* mask, CsrView out) {
#if defined(__AVX2__)
  if (use_avx512()) {
    fill_avx512(w, mask, out);
    return;
  }
#endif
  fill_portable(w, mask, out);
}

void CpuBackend::csr_to_dense_impl(ConstCsrView a, DenseView out) {
  const int64_t cols = a.cols;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < a.rows; ++r) {
    float* dst = out.data + r * cols;
    std::memset(dst, 0, sizeof(float) * size_t(cols));
    for (int64_t k = a.indptr[r]; k < a.indptr[r + 1]; ++k) dst[a.indices[k]] = a.values[k];
  }
}

}  // namespace neuroai::cpu
