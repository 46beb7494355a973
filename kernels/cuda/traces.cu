// Activity traces (SPEC §7.1) and the per-edge Hebbian trace on a CSR pattern (SPEC §7.2) on the GPU.
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/inhibition_math.h"

namespace neuroai::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / 32;

// One thread per column: sums the batch in ascending b (consecutive threads read consecutive
// columns, so every row read coalesces), then blends into the trace.
__global__ void trace_update_kernel(const float* __restrict__ x, int64_t batch, int64_t n, float lambda,
                                    float* __restrict__ trace) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float s = 0.0f;
  for (int64_t b = 0; b < batch; ++b) s += x[b * n + i];
  trace[i] = trace_ema(trace[i], s * (1.0f / float(batch)), lambda);
}

// One warp per pattern row i, lanes stride over the row's entries (one entry per lane at a time):
// post[b, i] is the same for the whole warp, pre[b, j] is gathered.
__global__ void hebbian_csr_update_kernel(const int32_t* __restrict__ indptr, const int32_t* __restrict__ indices,
                                          int32_t rows, int32_t cols, const float* __restrict__ post,
                                          const float* __restrict__ pre, int64_t batch, float eta, float clip,
                                          float* __restrict__ hebb) {
  const int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  const float inv_b = 1.0f / float(batch);
  for (int32_t k = indptr[row] + lane; k < indptr[row + 1]; k += 32) {
    const int32_t j = indices[k];
    float s = 0.0f;
    for (int64_t b = 0; b < batch; ++b) s += post[b * rows + row] * pre[b * cols + j];
    hebb[k] = hebbian_update(hebb[k], s * inv_b, eta, clip);
  }
}

}  // namespace

// x (batch, n), trace (n): device.
cudaError_t launch_trace_update(const float* x, int64_t batch, int64_t n, float lambda, float* trace,
                                cudaStream_t stream) {
  trace_update_kernel<<<unsigned((n + kThreads - 1) / kThreads), kThreads, 0, stream>>>(x, batch, n, lambda, trace);
  return cudaGetLastError();
}

// indptr (rows + 1), indices (nnz), post (batch, rows), pre (batch, cols), hebb (nnz): device.
cudaError_t launch_hebbian_csr_update(const int32_t* indptr, const int32_t* indices, int32_t rows, int32_t cols,
                                      const float* post, const float* pre, int64_t batch, float eta, float clip,
                                      float* hebb, cudaStream_t stream) {
  const unsigned blocks = unsigned((int64_t(rows) + kWarpsPerBlock - 1) / kWarpsPerBlock);
  hebbian_csr_update_kernel<<<blocks, kThreads, 0, stream>>>(indptr, indices, rows, cols, post, pre, batch, eta, clip,
                                                             hebb);
  return cudaGetLastError();
}

void CudaBackend::trace_update_impl(ConstDenseView x, float lambda, float* trace) {
  NEUROAI_CUDA_CHECK(launch_trace_update(x.data, x.rows, x.cols, lambda, trace, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::hebbian_csr_update_impl(ConstCsrView pattern, ConstDenseView post, ConstDenseView pre, float eta,
                                          float clip, float* hebb) {
  NEUROAI_CUDA_CHECK(launch_hebbian_csr_update(pattern.indptr, pattern.indices, pattern.rows, pattern.cols, post.data,
                                               pre.data, post.rows, eta, clip, hebb, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

}  // namespace neuroai::cuda
