// Small launch helpers shared by the CSR family's kernels.
#pragma once

#include <cstdint>

#include <cublas_v2.h>

namespace neuroai::cuda::csr {

constexpr int kWarp = 32;
constexpr int kBlock = 256;                      // threads per block
constexpr int kWarpsPerBlock = kBlock / kWarp;  // for one-warp-per-row kernels
constexpr unsigned kFullMask = 0xffffffffu;

// Blocks for one thread per element, capped: kernels use grid-stride loops beyond the cap.
inline unsigned blocks_for(int64_t n) {
  int64_t b = (n + kBlock - 1) / kBlock;
  if (b < 1) b = 1;
  return unsigned(b < (int64_t(1) << 20) ? b : (int64_t(1) << 20));
}

// Blocks for one warp per row.
inline unsigned blocks_for_rows(int64_t rows) {
  int64_t b = (rows + kWarpsPerBlock - 1) / kWarpsPerBlock;
  return unsigned(b < 1 ? 1 : b);
}

__device__ inline int64_t global_warp() { return (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp; }
__device__ inline int lane_id() { return int(threadIdx.x % kWarp); }

__device__ inline float warp_sum(float v) {
  for (int off = kWarp / 2; off > 0; off /= 2) v += __shfl_xor_sync(kFullMask, v, off);
  return v;
}

// Rounds a byte offset up to 256 for carving several arrays out of one scratch buffer.
inline size_t align256(size_t bytes) { return (bytes + 255) / 256 * 256; }

}  // namespace neuroai::cuda::csr

namespace neuroai::cuda {
// dst (n, m) row-major = src (m, n)^T + beta * dst, on the handle's stream (cublasSgeam; spmm_csr.cu).
void transpose_geam(cublasHandle_t h, const float* src, int64_t m, int64_t n, float beta, float* dst);
}  // namespace neuroai::cuda
