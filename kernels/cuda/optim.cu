#include <algorithm>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/optim_math.h"

namespace neuroai::cuda {
namespace {

constexpr int kThreads = 256;

int grid_for(int64_t n, int sm_count) {
  return int(std::max<int64_t>(1, std::min<int64_t>((n + kThreads - 1) / kThreads, int64_t(sm_count) * 32)));
}

// Grid-stride, one thread per parameter; momentum may be null (plain SGD), mask may be null (all alive).
__global__ void sgd_step_kernel(SgdParams p, int64_t n, const float* __restrict__ grad,
                                const uint8_t* __restrict__ mask, float* __restrict__ w,
                                float* __restrict__ momentum) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
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
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    adam_update(c, !mask || mask[i], grad[i], w[i], m[i], v[i]);
}

}  // namespace

// grad, mask (or null), w, momentum (or null): n entries each, device.
cudaError_t launch_sgd_step(const SgdParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w,
                            float* momentum, int sm_count, cudaStream_t stream) {
  sgd_step_kernel<<<grid_for(n, sm_count), kThreads, 0, stream>>>(p, n, grad, mask, w, momentum);
  return cudaGetLastError();
}

// grad, mask (or null), w, m, v: n entries each, device.
cudaError_t launch_adam_step(const AdamCoeffs& c, int64_t n, const float* grad, const uint8_t* mask, float* w,
                             float* m, float* v, int sm_count, cudaStream_t stream) {
  adam_step_kernel<<<grid_for(n, sm_count), kThreads, 0, stream>>>(c, n, grad, mask, w, m, v);
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

}  // namespace neuroai::cuda
