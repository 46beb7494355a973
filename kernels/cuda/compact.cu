// Gathers, flag scans and stable compaction of per-entry arrays on the GPU (shrinking a CSR
// matrix after pruning). The scan is a CUB inclusive sum written one slot to the right, so
// pos[0] = 0 and pos[n] = the number kept.
#include <cub/cub.cuh>
#include <thrust/iterator/transform_iterator.h>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
namespace {

// One thread per output element (grid-stride).
__global__ void gather_kernel(const float* src, const int32_t* idx, int64_t n, float* dst) {
  for (int64_t k : grid_stride(n))
    dst[k] = src[idx[k]];
}

// One thread per input element (grid-stride); kept elements go to their scanned position.
template <class T>
__global__ void compact_kernel(const T* src, const uint8_t* keep, const int32_t* pos, int64_t n, T* dst) {
  for (int64_t k : grid_stride(n))
    if (keep[k] != 0) dst[pos[k]] = src[k];
}

// One thread per row pointer r in [0, rows].
__global__ void csr_compact_indptr_kernel(const int32_t* indptr, int32_t rows, const int32_t* pos,
                                          int32_t* out_indptr) {
  for (int64_t r : grid_stride(int64_t(rows) + 1))
    out_indptr[r] = pos[indptr[r]];
}

struct FlagToInt {
  __host__ __device__ int32_t operator()(uint8_t v) const { return v != 0 ? 1 : 0; }
};

}  // namespace

// src (max idx + 1), idx (n), dst (n): device.
cudaError_t launch_gather(const float* src, const int32_t* idx, int64_t n, float* dst, cudaStream_t stream) {
  NEUROAI_LAUNCH(gather_kernel, blocks_for(n), kBlock, 0, stream)(src, idx, n, dst);
  return cudaGetLastError();
}

// src / keep / pos (n), dst (pos[n]): device.
template <class T>
cudaError_t launch_compact(const T* src, const uint8_t* keep, const int32_t* pos, int64_t n, T* dst,
                           cudaStream_t stream) {
  NEUROAI_LAUNCH(compact_kernel<T>, blocks_for(n), kBlock, 0, stream)(src, keep, pos, n, dst);
  return cudaGetLastError();
}

// indptr / out_indptr (rows + 1), pos (indptr[rows] + 1): device.
cudaError_t launch_csr_compact_indptr(const int32_t* indptr, int32_t rows, const int32_t* pos, int32_t* out_indptr,
                                      cudaStream_t stream) {
  NEUROAI_LAUNCH(csr_compact_indptr_kernel, blocks_for(int64_t(rows) + 1), kBlock, 0, stream)(indptr, rows, pos,
      out_indptr);
  return cudaGetLastError();
}

void CudaBackend::gather_impl(const float* src, const int32_t* idx, int64_t n, float* dst) {
  if (n == 0) return;
  NEUROAI_CUDA_CHECK(launch_gather(src, idx, n, dst, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

int64_t CudaBackend::scan_flags_impl(const uint8_t* keep, int64_t n, int32_t* pos) {
  NEUROAI_CUDA_CHECK(cudaMemsetAsync(pos, 0, sizeof(int32_t), stream()));
  if (n == 0) return 0;
  auto flags = thrust::make_transform_iterator(keep, FlagToInt{});
  size_t temp_bytes = 0;
  NEUROAI_CUDA_CHECK(cub::DeviceScan::InclusiveSum(nullptr, temp_bytes, flags, pos + 1, int(n), stream()));
  NEUROAI_CUDA_CHECK(cub::DeviceScan::InclusiveSum(scratch(temp_bytes), temp_bytes, flags, pos + 1, int(n), stream()));
  auto* total = static_cast<int32_t*>(pinned(sizeof(int32_t)));
  NEUROAI_CUDA_CHECK(cudaMemcpyAsync(total, pos + n, sizeof(int32_t), cudaMemcpyDeviceToHost, stream()));
  NEUROAI_CUDA_CHECK(cudaStreamSynchronize(stream()));
  return *total;
}

void CudaBackend::compact_f32_impl(const float* src, const uint8_t* keep, const int32_t* pos, int64_t n, float* dst) {
  if (n == 0) return;
  NEUROAI_CUDA_CHECK(launch_compact(src, keep, pos, n, dst, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::compact_i32_impl(const int32_t* src, const uint8_t* keep, const int32_t* pos, int64_t n,
                                   int32_t* dst) {
  if (n == 0) return;
  NEUROAI_CUDA_CHECK(launch_compact(src, keep, pos, n, dst, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::csr_compact_indptr_impl(const int32_t* indptr, int32_t rows, const int32_t* pos,
                                          int32_t* out_indptr) {
  NEUROAI_CUDA_CHECK(launch_csr_compact_indptr(indptr, rows, pos, out_indptr, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
