// Activity traces (SPEC §7.1) on the GPU. The per-edge Hebbian trace on a CSR pattern (SPEC §7.2) is an
// SDDMM with its own epilogue, in sddmm_csr.cu.
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/inhibition_math.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
namespace {

// One thread per column: sums the batch in ascending b (consecutive threads read consecutive
// columns, so every row read coalesces), then blends into the trace.
__global__ void trace_update_kernel(const float* __restrict__ x, int64_t batch, int64_t n, float lambda,
                                    float* __restrict__ trace) {
  const int64_t i = global_thread();
  if (i >= n) return;
  float s = 0.0f;
  for (int64_t b = 0; b < batch; ++b) s += x[b * n + i];
  trace[i] = trace_ema(trace[i], s * (1.0f / float(batch)), lambda);
}

}  // namespace

// x (batch, n), trace (n): device.
cudaError_t launch_trace_update(const float* x, int64_t batch, int64_t n, float lambda, float* trace,
                                cudaStream_t stream) {
  NEUROAI_LAUNCH(trace_update_kernel, unsigned((n + kBlock - 1) / kBlock), kBlock, 0, stream)(x, batch, n, lambda,
      trace);
  return cudaGetLastError();
}

void CudaBackend::trace_update_impl(ConstDenseView x, float lambda, float* trace) {
  NEUROAI_CUDA_CHECK(launch_trace_update(x.data, x.rows, x.cols, lambda, trace, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
