#include <algorithm>

#include "kernels/activation_math.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
namespace {


// Grid-stride over Y's entries, one thread per entry.
__global__ void bias_add_kernel(float* __restrict__ y, const float* __restrict__ bias, int64_t rows, int64_t cols) {
  for (int64_t i : grid_stride(rows * cols)) y[i] += bias[i % cols];
}

// Grid-stride, one thread per element; x may alias y.
template <Activation A>
__global__ void activation_forward_kernel(const float* x, int64_t n, float* y) {
  for (int64_t i : grid_stride(n)) y[i] = activation_fwd<A>(x[i]);
}

// Grid-stride, one thread per element; dy may alias dx.
template <Activation A>
__global__ void activation_backward_kernel(const float* y, const float* dy, int64_t n, float* dx) {
  for (int64_t i : grid_stride(n)) dx[i] = activation_bwd<A>(y[i], dy[i]);
}

// Grid-stride, one thread per element.
__global__ void axpy_kernel(int64_t n, float alpha, const float* __restrict__ x, float* __restrict__ y) {
  for (int64_t i : grid_stride(n)) y[i] += alpha * x[i];
}

// Grid-stride, one thread per element.
__global__ void scale_kernel(int64_t n, float alpha, float* __restrict__ x) {
  for (int64_t i : grid_stride(n)) x[i] *= alpha;
}

// Grid-stride, one thread per element.
__global__ void fill_kernel(int64_t n, float value, float* __restrict__ x) {
  for (int64_t i : grid_stride(n)) x[i] = value;
}

// Grid-stride, one thread per element; a select so pruned inf/nan entries become exactly 0.
__global__ void apply_mask_kernel(int64_t n, const uint8_t* __restrict__ mask, float* __restrict__ x) {
  for (int64_t i : grid_stride(n)) if (!mask[i]) x[i] = 0.0f;
}

// Grid-stride, one thread per element.
__global__ void add_sign_kernel(int64_t n, float alpha, const float* __restrict__ x, float* __restrict__ dx) {
  for (int64_t i : grid_stride(n)) {
    const float v = x[i];
    dx[i] += alpha * (v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f));
  }
}


}  // namespace

// y (rows, cols), bias (cols): device.
cudaError_t launch_bias_add(float* y, const float* bias, int64_t rows, int64_t cols, int sm_count,
                            cudaStream_t stream) {
  NEUROAI_LAUNCH(bias_add_kernel, blocks_per_sms(rows * cols, sm_count), kBlock, 0, stream)(y, bias, rows, cols);
  return cudaGetLastError();
}

// x (n), y (n): device.
cudaError_t launch_activation_forward(Activation act, const float* x, int64_t n, float* y, int sm_count,
                                      cudaStream_t stream) {
  const int grid = blocks_per_sms(n, sm_count);
  switch (act) {
    case Activation::Identity:
      NEUROAI_LAUNCH(activation_forward_kernel<Activation::Identity>, grid, kBlock, 0, stream)(x, n, y);
      break;
    case Activation::Relu:
      NEUROAI_LAUNCH(activation_forward_kernel<Activation::Relu>, grid, kBlock, 0, stream)(x, n, y);
      break;
    case Activation::Tanh:
      NEUROAI_LAUNCH(activation_forward_kernel<Activation::Tanh>, grid, kBlock, 0, stream)(x, n, y);
      break;
    case Activation::Sigmoid:
      NEUROAI_LAUNCH(activation_forward_kernel<Activation::Sigmoid>, grid, kBlock, 0, stream)(x, n, y);
      break;
  }
  return cudaGetLastError();
}

// y (n), dy (n), dx (n): device.
cudaError_t launch_activation_backward(Activation act, const float* y, const float* dy, int64_t n, float* dx,
                                       int sm_count, cudaStream_t stream) {
  const int grid = blocks_per_sms(n, sm_count);
  switch (act) {
    case Activation::Identity:
      NEUROAI_LAUNCH(activation_backward_kernel<Activation::Identity>, grid, kBlock, 0, stream)(y, dy, n, dx);
      break;
    case Activation::Relu:
      NEUROAI_LAUNCH(activation_backward_kernel<Activation::Relu>, grid, kBlock, 0, stream)(y, dy, n, dx);
      break;
    case Activation::Tanh:
      NEUROAI_LAUNCH(activation_backward_kernel<Activation::Tanh>, grid, kBlock, 0, stream)(y, dy, n, dx);
      break;
    case Activation::Sigmoid:
      NEUROAI_LAUNCH(activation_backward_kernel<Activation::Sigmoid>, grid, kBlock, 0, stream)(y, dy, n, dx);
      break;
  }
  return cudaGetLastError();
}

// x (n), y (n): device.
cudaError_t launch_axpy(int64_t n, float alpha, const float* x, float* y, int sm_count, cudaStream_t stream) {
  NEUROAI_LAUNCH(axpy_kernel, blocks_per_sms(n, sm_count), kBlock, 0, stream)(n, alpha, x, y);
  return cudaGetLastError();
}

// x (n): device.
cudaError_t launch_scale(int64_t n, float alpha, float* x, int sm_count, cudaStream_t stream) {
  NEUROAI_LAUNCH(scale_kernel, blocks_per_sms(n, sm_count), kBlock, 0, stream)(n, alpha, x);
  return cudaGetLastError();
}

// x (n): device.
cudaError_t launch_fill(int64_t n, float value, float* x, int sm_count, cudaStream_t stream) {
  NEUROAI_LAUNCH(fill_kernel, blocks_per_sms(n, sm_count), kBlock, 0, stream)(n, value, x);
  return cudaGetLastError();
}

// mask (n), x (n): device.
cudaError_t launch_apply_mask(int64_t n, const uint8_t* mask, float* x, int sm_count, cudaStream_t stream) {
  NEUROAI_LAUNCH(apply_mask_kernel, blocks_per_sms(n, sm_count), kBlock, 0, stream)(n, mask, x);
  return cudaGetLastError();
}

// x (n), dx (n): device.
cudaError_t launch_add_sign(int64_t n, float alpha, const float* x, float* dx, int sm_count, cudaStream_t stream) {
  NEUROAI_LAUNCH(add_sign_kernel, blocks_per_sms(n, sm_count), kBlock, 0, stream)(n, alpha, x, dx);
  return cudaGetLastError();
}

void CudaBackend::bias_add_impl(DenseView y, const float* bias) {
  NEUROAI_CUDA_CHECK(launch_bias_add(y.data, bias, y.rows, y.cols, sm_count(), stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::activation_forward_impl(Activation act, const float* x, int64_t n, float* y) {
  NEUROAI_CUDA_CHECK(launch_activation_forward(act, x, n, y, sm_count(), stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::activation_backward_impl(Activation act, const float* y, const float* dy, int64_t n, float* dx) {
  NEUROAI_CUDA_CHECK(launch_activation_backward(act, y, dy, n, dx, sm_count(), stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::axpy_impl(int64_t n, float alpha, const float* x, float* y) {
  NEUROAI_CUDA_CHECK(launch_axpy(n, alpha, x, y, sm_count(), stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::scale_impl(int64_t n, float alpha, float* x) {
  NEUROAI_CUDA_CHECK(launch_scale(n, alpha, x, sm_count(), stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::fill_impl(int64_t n, float value, float* x) {
  NEUROAI_CUDA_CHECK(launch_fill(n, value, x, sm_count(), stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::apply_mask_impl(int64_t n, const uint8_t* mask, float* x) {
  NEUROAI_CUDA_CHECK(launch_apply_mask(n, mask, x, sm_count(), stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::add_sign_impl(int64_t n, float alpha, const float* x, float* dx) {
  NEUROAI_CUDA_CHECK(launch_add_sign(n, alpha, x, dx, sm_count(), stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
