#include <algorithm>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/optim_math.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
namespace {

// Grid-stride, one thread per parameter; momentum may be null (plain SGD), mask may be null (all alive).
__global__ void sgd_step_kernel(SgdParams p, int64_t n, const float* __restrict__ grad,
                                const uint8_t* __restrict__ mask, float* __restrict__ w,
                                float* __restrict__ momentum) {
  for (int64_t i : grid_stride(n)) {
    const bool alive = !mask || mask[i];
    if (momentum) {
      sgd_update(p, alive, grad[i], w[i], momentum[i]);
    } else {
      sgd_update_plain(p, alive, grad[i], w[i]);
    }
  }
}

// Grid-stride, one thread per parameter; mask may be null (all alive).
__global__ void adam_step_kernel(AdamCoeffs c, int64_t n, const float* __restrict__ grad,
                                 const uint8_t* __restrict__ mask, float* __restrict__ w, float* __restrict__ m,
                                 float* __restrict__ v) {
  for (int64_t i : grid_stride(n))
    adam_update(c, !mask || mask[i], grad[i], w[i], m[i], v[i]);
}

}  // namespace

// grad, mask (or null), w, momentum (or null): n entries each, device.
cudaError_t launch_sgd_step(const SgdParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w,
                            float* momentum, int sm_count, cudaStream_t stream) {
  NEUROAI_LAUNCH(sgd_step_kernel, blocks_per_sms(n, sm_count), kBlock, 0, stream)(p, n, grad, mask, w, momentum);
  return cudaGetLastError();
}

// grad, mask (or null), w, m, v: n entries each, device.
cudaError_t launch_adam_step(const AdamCoeffs& c, int64_t n, const float* grad, const uint8_t* mask, float* w,
                             float* m, float* v, int sm_count, cudaStream_t stream) {
  NEUROAI_LAUNCH(adam_step_kernel, blocks_per_sms(n, sm_count), kBlock, 0, stream)(c, n, grad, mask, w, m, v);
  return cudaGetLastError();
}

void CudaBackend::sgd_step_impl(const SgdParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w,
                                float* momentum) {
  NEUROAI_CUDA_CHECK(launch_sgd_step(p, n, grad, mask, w, momentum, sm_count(), stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::adam_step_impl(const AdamParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w,
                                 float* m, float* v) {
  NEUROAI_CUDA_CHECK(launch_adam_step(adam_coeffs(p), n, grad, mask, w, m, v, sm_count(), stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
