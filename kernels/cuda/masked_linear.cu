#include <algorithm>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
namespace {

// Grid-stride over the n weights; out = W ⊙ M as a select, so pruned inf/nan weights still give 0.
__global__ void masked_copy_kernel(const float* __restrict__ w, const uint8_t* __restrict__ mask, int64_t n,
                                   float* __restrict__ out) {
  for (int64_t i : grid_stride(n))
    out[i] = mask[i] ? w[i] : 0.0f;
}

// Grid-stride over the n weights; dW += G only where the mask is alive (masked dW entries untouched).
__global__ void masked_accumulate_kernel(const float* __restrict__ g, const uint8_t* __restrict__ mask, int64_t n,
                                         float* __restrict__ dw) {
  for (int64_t i : grid_stride(n))
    if (mask[i]) dw[i] += g[i];
}

// Grid-stride over Y's entries; writes bias[o] into every row so the GEMM can accumulate onto it.
__global__ void broadcast_rows_kernel(const float* __restrict__ bias, int64_t rows, int64_t cols,
                                      float* __restrict__ y) {
  const int64_t n = rows * cols;
  for (int64_t i : grid_stride(n))
    y[i] = bias[i % cols];
}

// w (n), mask (n), out (n): device. out = W ⊙ M.
cudaError_t launch_masked_copy(const float* w, const uint8_t* mask, int64_t n, float* out, int sm_count,
                               cudaStream_t stream) {
  NEUROAI_LAUNCH(masked_copy_kernel, blocks_per_sms(n, sm_count), kBlock, 0, stream)(w, mask, n, out);
  return cudaGetLastError();
}

// g (n), mask (n), dw (n): device. dw += G ⊙ M, masked entries untouched.
cudaError_t launch_masked_accumulate(const float* g, const uint8_t* mask, int64_t n, float* dw, int sm_count,
                                     cudaStream_t stream) {
  NEUROAI_LAUNCH(masked_accumulate_kernel, blocks_per_sms(n, sm_count), kBlock, 0, stream)(g, mask, n, dw);
  return cudaGetLastError();
}

// bias (cols), y (rows, cols): device.
cudaError_t launch_broadcast_rows(const float* bias, int64_t rows, int64_t cols, float* y, int sm_count,
                                  cudaStream_t stream) {
  NEUROAI_LAUNCH(broadcast_rows_kernel, blocks_per_sms(rows * cols, sm_count), kBlock, 0, stream)(bias, rows, cols, y);
  return cudaGetLastError();
}

}  // namespace

void CudaBackend::masked_linear_forward_impl(ConstDenseView x, ConstDenseView w, const uint8_t* mask,
                                             const float* bias, DenseView y) {
  const int64_t batch = x.rows, in = x.cols, out = w.rows;
  const float* wm = w.data;
  if (mask) {
    float* s = static_cast<float*>(scratch(size_t(w.size()) * sizeof(float)));  // (out, in)
    NEUROAI_CUDA_CHECK(launch_masked_copy(w.data, mask, w.size(), s, sm_count(), stream()));
    NEUROAI_CUDA_LAUNCH_CHECK(stream());
    wm = s;
  }
  if (bias) {
    NEUROAI_CUDA_CHECK(launch_broadcast_rows(bias, batch, out, y.data, sm_count(), stream()));
    NEUROAI_CUDA_LAUNCH_CHECK(stream());
  }
  // Row-major Y (B, out) = X Wm^T is column-major Y^T (out, B) = Wm (as col-major (in, out))^T X^T.
  const float one = 1.0f, beta = bias ? 1.0f : 0.0f;
  NEUROAI_CUBLAS_CHECK(cublasSgemm(cublas(), CUBLAS_OP_T, CUBLAS_OP_N, int(out), int(batch), int(in), &one, wm,
                                   int(in), x.data, int(in), &beta, y.data, int(out)));
}

void CudaBackend::masked_linear_backward_impl(ConstDenseView x, ConstDenseView w, const uint8_t* mask,
                                              ConstDenseView dy, DenseView dx, DenseView dw, float* db,
                                              bool accumulate) {
  const int64_t batch = x.rows, in = x.cols, out = w.rows, nw = w.size();
  const float one = 1.0f, zero = 0.0f, beta = accumulate ? 1.0f : 0.0f;
  // One scratch holds W ⊙ M (for dX) and dY^T X (for an accumulated masked dW).
  const bool need_wm = dx.data && mask;
  const bool need_g = dw.data && mask && accumulate;
  float* s = (need_wm || need_g) ? static_cast<float*>(scratch(size_t(nw) * (need_wm + need_g) * sizeof(float)))
                                 : nullptr;
  if (dx.data) {
    const float* wm = w.data;
    if (mask) {
      NEUROAI_CUDA_CHECK(launch_masked_copy(w.data, mask, nw, s, sm_count(), stream()));
      NEUROAI_CUDA_LAUNCH_CHECK(stream());
      wm = s;
    }
    // Row-major dX (B, in) = dY (B, out) Wm (out, in): column-major dX^T (in, B) = Wm^T dY^T.
    NEUROAI_CUBLAS_CHECK(cublasSgemm(cublas(), CUBLAS_OP_N, CUBLAS_OP_N, int(in), int(batch), int(out), &one, wm,
                                     int(in), dy.data, int(out), &beta, dx.data, int(in)));
  }
  if (dw.data) {
    // Row-major dW (out, in) = dY^T X: column-major dW^T (in, out) = X^T dY (X^T is col-major (in, B)).
    float* g = need_g ? s + (need_wm ? nw : 0) : dw.data;
    NEUROAI_CUBLAS_CHECK(cublasSgemm(cublas(), CUBLAS_OP_N, CUBLAS_OP_T, int(in), int(out), int(batch), &one, x.data,
                                     int(in), dy.data, int(out), need_g ? &zero : &beta, g, int(in)));
    if (need_g) {
      NEUROAI_CUDA_CHECK(launch_masked_accumulate(g, mask, nw, dw.data, sm_count(), stream()));
      NEUROAI_CUDA_LAUNCH_CHECK(stream());
    } else if (mask) {
      apply_mask_impl(nw, mask, dw.data);
    }
  }
  if (db) col_sum_impl(dy, db, accumulate);
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
