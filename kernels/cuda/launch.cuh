// One set of launch conventions for every kernels/cuda/*.cu: block size, grid sizing, thread and warp
// indices, grid-stride loops, warp reductions, and the one launch helper. NEUROAI_LAUNCH is <<<>>>
// under nvcc and the SIMT simulator (kernels/cuda/sim/) under the host compiler, so the kernel
// bodies are the same source for both.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/cuda/cuda_api.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {

constexpr int kWarp = 32;
constexpr int kBlock = 256;                      // threads per block, unless a kernel says otherwise
constexpr int kWarpsPerBlock = kBlock / kWarp;  // for one-warp-per-row kernels
constexpr unsigned kFullMask = 0xffffffffu;
constexpr int64_t kMaxGridX = 0x7fffffff;        // sm_90's limit on grid.x
constexpr unsigned kMaxGridY = 65535;             // sm_90's limit on grid.y and grid.z

// Blocks of `threads` for one thread per element, at least 1. A grid-stride kernel may cap the
// grid at max_blocks (a few per SM keeps every SM busy without paying for idle blocks).
inline unsigned blocks_for(int64_t n, int threads = kBlock, int64_t max_blocks = kMaxGridX) {
  int64_t b = (n + threads - 1) / threads;
  if (b > max_blocks) b = max_blocks;
  return unsigned(b < 1 ? 1 : b);
}

// Blocks of kBlock threads for a grid-stride kernel over n elements: at most 32 a multiprocessor, enough
// to keep every SM busy without launching idle blocks.
inline unsigned blocks_per_sms(int64_t n, int sm_count) { return blocks_for(n, kBlock, int64_t(sm_count) * 32); }

// Blocks of kBlock threads for one warp per row.
inline unsigned blocks_for_rows(int64_t rows) { return blocks_for(rows, kWarpsPerBlock); }

// Rounds a byte offset up to 256 for carving several arrays out of one scratch buffer.
inline size_t align256(size_t bytes) { return (bytes + 255) / 256 * 256; }

__device__ inline int64_t global_thread() { return int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline int64_t grid_threads() { return int64_t(gridDim.x) * blockDim.x; }
__device__ inline int64_t global_warp() { return global_thread() / kWarp; }
__device__ inline int lane_id() { return int(threadIdx.x % kWarp); }

// for (int64_t i : grid_stride(n)): this thread's elements of [0, n), a grid's width apart.
struct GridStride {
  struct It {
    int64_t i, step;
    __device__ int64_t operator*() const { return i; }
    __device__ It& operator++() {
      i += step;
      return *this;
    }
    __device__ bool operator!=(const It& end) const { return i < end.i; }
  };
  int64_t n;
  __device__ It begin() const { return {global_thread(), grid_threads()}; }
  __device__ It end() const { return {n, 0}; }
};
__device__ inline GridStride grid_stride(int64_t n) { return {n}; }

// Sums and maxima over the 32 lanes of a full warp; every lane gets the result.
__device__ inline float warp_sum(float v) {
  for (int off = kWarp / 2; off > 0; off /= 2) v += __shfl_xor_sync(kFullMask, v, off);
  return v;
}
__device__ inline float warp_max(float v) {
  for (int off = kWarp / 2; off > 0; off /= 2) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, off));
  return v;
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI

// NEUROAI_LAUNCH(kernel, grid, block, shared_bytes, stream)(args...); check with cudaGetLastError().
#if defined(NEUROAI_CUDA_SIM)
#define NEUROAI_LAUNCH(kernel, grid, block, smem, stream)                                                       \
  ::neuroai::cudasim::launcher(kernel, ::neuroai::cudasim::LaunchSite{#kernel, __FILE__, __LINE__}, (grid), (block), \
                               (smem), (stream))
#else
#define NEUROAI_LAUNCH(kernel, grid, block, smem, stream) kernel<<<(grid), (block), (smem), (stream)>>>
#endif
