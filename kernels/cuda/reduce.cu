#include <cub/cub.cuh>
#include <cuda/std/functional>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
namespace {

constexpr int kColTile = 32;  // columns per block (one warp wide, so row reads coalesce)
constexpr int kRowLanes = 8;  // row slices per block, summed in shared memory at the end

// Block (32, 8) per 32 columns: threadIdx.x picks the column, threadIdx.y strides over the rows;
// the 8 partial sums are added in a fixed order, so the result is deterministic.
__global__ void col_sum_kernel(const float* __restrict__ x, int64_t rows, int64_t cols, float* __restrict__ out,
                               bool accumulate) {
  __shared__ float part[kRowLanes][kColTile];
  const int64_t c = int64_t(blockIdx.x) * kColTile + threadIdx.x;
  float s = 0.0f;
  if (c < cols)
    for (int64_t r = threadIdx.y; r < rows; r += kRowLanes) s += x[r * cols + c];
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    float t = 0.0f;
    for (int k = 0; k < kRowLanes; ++k) t += part[k][threadIdx.x];
    out[c] = accumulate ? out[c] + t : t;
  }
}

struct Identity {
  __device__ float operator()(float v) const { return v; }
};
struct Square {
  __device__ float operator()(float v) const { return v * v; }
};
struct Abs {
  __device__ float operator()(float v) const { return fabsf(v); }
};

// Two CUB calls: the first sizes the temporary storage, the second reduces into out[0].
template <class Transform>
cudaError_t transform_reduce(CudaBackend& be, const float* x, int64_t n, float* out) {
  size_t bytes = 0;
  cudaError_t err = cub::DeviceReduce::TransformReduce(nullptr, bytes, x, out, n, ::cuda::std::plus<float>{},
                                                       Transform{}, 0.0f, be.stream());
  if (err != cudaSuccess) return err;
  // A null temp pointer would turn the second call into another size query.
  void* temp = be.scratch(bytes > 0 ? bytes : 16);
  return cub::DeviceReduce::TransformReduce(temp, bytes, x, out, n, ::cuda::std::plus<float>{}, Transform{}, 0.0f,
                                            be.stream());
}

}  // namespace

// x (rows, cols), out (cols): device.
cudaError_t launch_col_sum(const float* x, int64_t rows, int64_t cols, float* out, bool accumulate,
                           cudaStream_t stream) {
  const dim3 block(kColTile, kRowLanes);
  const dim3 grid(unsigned((cols + kColTile - 1) / kColTile));
  NEUROAI_LAUNCH(col_sum_kernel, grid, block, 0, stream)(x, rows, cols, out, accumulate);
  return cudaGetLastError();
}

void CudaBackend::col_sum_impl(ConstDenseView x, float* out, bool accumulate) {
  NEUROAI_CUDA_CHECK(launch_col_sum(x.data, x.rows, x.cols, out, accumulate, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::reduce_impl(Reduction r, const float* x, int64_t n, float* out) {
  switch (r) {
    case Reduction::Sum: NEUROAI_CUDA_CHECK(transform_reduce<Identity>(*this, x, n, out)); break;
    case Reduction::SumSquares: NEUROAI_CUDA_CHECK(transform_reduce<Square>(*this, x, n, out)); break;
    case Reduction::SumAbs: NEUROAI_CUDA_CHECK(transform_reduce<Abs>(*this, x, n, out)); break;
  }
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
