// CSR SpMM on the CPU: Y (B, rows) = X (B, cols) * A^T (+ bias, += Y).
// X is transposed once into Xt (cols, ld) so that each stored entry (i, j, v) adds v * Xt[j, :] to
// the contiguous row Yt[i, :]; the batch is the vector dimension and a block of batch columns stays
// in registers while a CSR row is walked. Yt is transposed back.
// The loop does one vector load per FMA, so its speed is the load rate. Unblocked, Xt (512 KiB at
// 1024 x 128) streams from L2 once per stored entry. So the work is tiled in two dimensions: a batch
// block (the registers) times a K block of Xt's rows small enough to stay in L1, and every CSR row
// is walked once per K block from a per-row cursor, its accumulators kept in Yt between blocks.
// Each (row, K block) segment then costs an extra load and store of its accumulators and an
// unpredictable loop exit, so K blocks are only made as small as keeps a few entries per segment.
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/dense_transpose.h"
#include "kernels/cpu/simd_dispatch.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace neuroai::cpu {
namespace {

// The rows [i0, i1) of one tile: for each row, the segment of its entries from cursor[i] on whose
// column is below k_end (all of them when k_end = INT32_MAX). Its accumulators Yt[i, b0 .. b0 + 16 *
// NB) start from the bias in the first K block (load = false) and from Yt in later ones; xt and yt
// point at column b0. The cursors advance past the segment.
struct Tile {
  const int32_t* indptr;
  const int32_t* idx;
  const float* val;
  const float* bias;  // nullptr: 0
  const float* xt;    // (cols, ld) + b0
  float* yt;          // (rows, ld) + b0
  int64_t* cursor;    // (rows)
  int64_t ld;
  int32_t k_end;
  bool load;
};
using TileFn = void (*)(const Tile& t, int64_t i0, int64_t i1);

// The end of the segment of row entries [k, n) with idx < k_end (a row's indices are sorted).
inline int64_t segment_end_scalar(const int32_t* idx, int64_t k, int64_t n, int32_t k_end) {
  if (k_end == INT32_MAX) return n;
  while (k < n && idx[k] < k_end) ++k;
  return k;
}

template <int NB>
[[maybe_unused]] void tile_portable(const Tile& t, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) {
    float* out = t.yt + i * t.ld;
    int64_t k = t.cursor[i];
    const int64_t end = segment_end_scalar(t.idx, k, t.indptr[i + 1], t.k_end);
    const float init = t.bias ? t.bias[i] : 0.0f;
    float acc[16 * NB];
    for (int b = 0; b < 16 * NB; ++b) acc[b] = t.load ? out[b] : init;
    for (; k < end; ++k) {
      const float* xr = t.xt + int64_t(t.idx[k]) * t.ld;
      for (int b = 0; b < 16 * NB; ++b) acc[b] += t.val[k] * xr[b];
    }
    for (int b = 0; b < 16 * NB; ++b) out[b] = acc[b];
    t.cursor[i] = k;
  }
}

#if defined(__AVX2__) && defined(__FMA__)
// NB blocks of 16 floats = 2 * NB ymm accumulators; NB = 4 keeps 8 FMAs in flight.
template <int NB>
void tile_avx2(const Tile& t, int64_t i0, int64_t i1) {
  constexpr int kV = 2 * NB;
  for (int64_t i = i0; i < i1; ++i) {
    float* out = t.yt + i * t.ld;
    int64_t k = t.cursor[i];
    const int64_t end = segment_end_scalar(t.idx, k, t.indptr[i + 1], t.k_end);
    const float init = t.bias ? t.bias[i] : 0.0f;
    __m256 acc[kV];
    for (int v = 0; v < kV; ++v) acc[v] = t.load ? _mm256_load_ps(out + 8 * v) : _mm256_set1_ps(init);
    for (; k < end; ++k) {
      const float* xr = t.xt + int64_t(t.idx[k]) * t.ld;
      __m256 w = _mm256_broadcast_ss(t.val + k);
      for (int v = 0; v < kV; ++v) acc[v] = _mm256_fmadd_ps(w, _mm256_load_ps(xr + 8 * v), acc[v]);
    }
    for (int v = 0; v < kV; ++v) _mm256_store_ps(out + 8 * v, acc[v]);
    t.cursor[i] = k;
  }
}

// As segment_end_scalar, counting 16 indices per compare so that the FMA loop has a single exit test.
__attribute__((target("avx512f"))) inline int64_t segment_end_avx512(const int32_t* idx, int64_t k, int64_t n,
                                                                      int32_t k_end) {
  if (k_end == INT32_MAX) return n;
  const __m512i bound = _mm512_set1_epi32(k_end);
  while (k < n) {
    const int64_t left = n - k;
    const __mmask16 valid = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
    const __mmask16 below = _mm512_mask_cmplt_epi32_mask(valid, _mm512_maskz_loadu_epi32(valid, idx + k), bound);
    const int count = __builtin_popcount(below);
    k += count;
    if (count < 16) break;
  }
  return k;
}

template <int NB>
__attribute__((target("avx512f"))) void tile_avx512(const Tile& t, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) {
    float* out = t.yt + i * t.ld;
    int64_t k = t.cursor[i];
    const int64_t end = segment_end_avx512(t.idx, k, t.indptr[i + 1], t.k_end);
    const float init = t.bias ? t.bias[i] : 0.0f;
    __m512 acc[NB];
    for (int v = 0; v < NB; ++v) acc[v] = t.load ? _mm512_load_ps(out + 16 * v) : _mm512_set1_ps(init);
    for (; k < end; ++k) {
      const float* xr = t.xt + int64_t(t.idx[k]) * t.ld;
      __m512 w = _mm512_set1_ps(t.val[k]);
      for (int v = 0; v < NB; ++v) acc[v] = _mm512_fmadd_ps(w, _mm512_load_ps(xr + 16 * v), acc[v]);
    }
    for (int v = 0; v < NB; ++v) _mm512_store_ps(out + 16 * v, acc[v]);
    t.cursor[i] = k;
  }
}
#endif

struct TileKernel {
  int64_t width;  // batch columns per call
  TileFn fn;
};

// The widest kernel that fits in `remaining` (a multiple of 16) batch columns. The full 128-wide
// block is best even with tiling: narrower blocks walk the CSR rows more often for the same work.
TileKernel pick_tile_kernel(int64_t r) {
#if defined(__AVX2__) && defined(__FMA__)
  if (cpu_has_avx512()) {
    if (r >= 128) return {128, tile_avx512<8>};
    if (r >= 64) return {64, tile_avx512<4>};
    if (r >= 32) return {32, tile_avx512<2>};
    return {16, tile_avx512<1>};
  }
  if (r >= 64) return {64, tile_avx2<4>};
  if (r >= 32) return {32, tile_avx2<2>};
  return {16, tile_avx2<1>};
#else
  if (r >= 64) return {64, tile_portable<4>};
  if (r >= 32) return {32, tile_portable<2>};
  return {16, tile_portable<1>};
#endif
}

// Columns per K block for a batch block `width` wide, with per_col = entries per row per column.
// Xt's slice (kb x width floats) fits in 32 KiB of L1, unless that leaves fewer than about 12
// entries per segment: each segment costs an accumulator reload and a mispredicted loop exit,
// which at 5% density outweighs streaming Xt from L2 (measured on a 48 KiB-L1 Xeon: 1.1x faster at
// 20-50% density, a few percent at 10%, equal at 5%, so 5% and below run unblocked).
int64_t k_block(int64_t width, int64_t cols, double per_col) {
  constexpr int64_t kL1Bytes = 32 * 1024;
  constexpr double kMinSegment = 12.0;
  int64_t kb = kL1Bytes / (width * int64_t(sizeof(float)));
  while (kb < cols && per_col * double(kb) < kMinSegment) kb *= 2;
  return kb;
}

}  // namespace

void CpuBackend::spmm_csr_impl(ConstCsrView a, ConstDenseView x, const float* bias, DenseView y, bool accumulate) {
  const int64_t batch = x.rows;
  if (batch == 0 || a.rows == 0) return;
  const int64_t ld = padded_batch(batch);
  const int64_t rows = a.rows, cols = a.cols;
  float* xt = align_to_line(scratch(sizeof(float) * size_t(ld) * (size_t(cols) + size_t(rows)) + 64 +
                                    sizeof(int64_t) * size_t(rows)));
  float* yt = xt + ld * cols;                                 // (rows, ld)
  auto* cursor = reinterpret_cast<int64_t*>(yt + ld * rows);  // (rows): next entry of each row
  transpose_to_padded(x.data, batch, cols, xt, ld);

  const double per_col = double(a.nnz) / double(rows) / double(cols > 0 ? cols : 1);  // entries per row per column
  // Rows go to threads in chunks with the same static schedule in every K block, so that each
  // cursor is advanced by one thread only.
  constexpr int64_t kChunk = 32;
  const int64_t chunks = (rows + kChunk - 1) / kChunk;
#pragma omp parallel
  {
    TileKernel kernel{};
    for (int64_t b0 = 0; b0 < ld; b0 += kernel.width) {
      kernel = pick_tile_kernel(ld - b0);
      const int64_t kb = k_block(kernel.width, cols, per_col);
#pragma omp for schedule(static) nowait
      for (int64_t c = 0; c < chunks; ++c)
        for (int64_t i = c * kChunk; i < std::min(rows, (c + 1) * kChunk); ++i) cursor[i] = a.indptr[i];
      // At least one block, which writes the bias when there are no columns.
      for (int64_t k0 = 0; k0 < std::max<int64_t>(cols, 1); k0 += kb) {
        const Tile tile{a.indptr, a.indices, a.values, bias, xt + b0, yt + b0, cursor, ld,
                        k0 + kb >= cols ? INT32_MAX : int32_t(k0 + kb), k0 > 0};
#pragma omp for schedule(static) nowait
        for (int64_t c = 0; c < chunks; ++c) kernel.fn(tile, c * kChunk, std::min(rows, (c + 1) * kChunk));
      }
    }
  }
  transpose_from_padded(yt, ld, batch, rows, y.data, accumulate);
}

}  // namespace neuroai::cpu
