// Recurrent-cell steps on the GPU: the pointwise work of one time step is one kernel (the GEMMs that
// produce gi and gh run before it), the gate arithmetic from kernels/rnn_math.h.
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/rnn_math.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
namespace {

// One thread per (b, j) element of the (B, H) hidden state; reads the three gate blocks of gi and gh.
__global__ void gru_step_forward_kernel(const float* __restrict__ gi, const float* __restrict__ gh,
                                        const float* __restrict__ h_prev, const float* __restrict__ gate_m,
                                        float* __restrict__ h_out, float* __restrict__ saved, int64_t B, int64_t H) {
  const int64_t e = global_thread();
  if (e >= B * H) return;
  const int64_t b = e / H, j = e % H;
  const float* xi = gi + b * 3 * H;
  const float* xh = gh + b * 3 * H;
  float* sv = saved + b * 4 * H;
  const float m = gate_m ? gate_m[j] : 1.0f;
  float r, z, n;
  h_out[e] = rnn_math::gru_forward(xi[j], xi[H + j], xi[2 * H + j], xh[j], xh[H + j], xh[2 * H + j], h_prev[e], m,
                                   &r, &z, &n);
  sv[j] = r;
  sv[H + j] = z;
  sv[2 * H + j] = n;
  sv[3 * H + j] = xh[2 * H + j];
}

// One thread per (b, j) element; writes the unit's three gate gradients in gi and gh and its dh_prev.
__global__ void gru_step_backward_kernel(const float* __restrict__ dh_out, const float* __restrict__ h_prev,
                                         const float* __restrict__ saved, const float* __restrict__ gate_m,
                                         float* __restrict__ dgi, float* __restrict__ dgh,
                                         float* __restrict__ dh_prev, int64_t B, int64_t H) {
  const int64_t e = global_thread();
  if (e >= B * H) return;
  const int64_t b = e / H, j = e % H;
  const float* sv = saved + b * 4 * H;
  const float m = gate_m ? gate_m[j] : 1.0f;
  const auto g = rnn_math::gru_backward(dh_out[e], h_prev[e], sv[j], sv[H + j], sv[2 * H + j], sv[3 * H + j], m);
  float* di = dgi + b * 3 * H;
  float* dg = dgh + b * 3 * H;
  di[j] = g.dr;
  di[H + j] = g.dz;
  di[2 * H + j] = g.dn_in;
  dg[j] = g.dr;
  dg[H + j] = g.dz;
  dg[2 * H + j] = g.dn_h;
  dh_prev[e] = g.dhp;
}

// One thread per (b, j) element of the (B, H) hidden state.
__global__ void rnn_step_forward_kernel(const float* __restrict__ gi, const float* __restrict__ gh,
                                        const float* __restrict__ h_prev, const float* __restrict__ alpha,
                                        const float* __restrict__ gate_m, float* __restrict__ h_out,
                                        float* __restrict__ saved, int64_t B, int64_t H) {
  const int64_t e = global_thread();
  if (e >= B * H) return;
  const int64_t j = e % H;
  const float a = (alpha ? alpha[j] : 1.0f) * (gate_m ? gate_m[j] : 1.0f);
  h_out[e] = rnn_math::rnn_forward(gi[e] + gh[e], h_prev[e], a, &saved[e]);
}

// One thread per (b, j) element of the (B, H) hidden state.
__global__ void rnn_step_backward_kernel(const float* __restrict__ dh_out, const float* __restrict__ saved,
                                         const float* __restrict__ alpha, const float* __restrict__ gate_m,
                                         float* __restrict__ dpre, float* __restrict__ dh_prev, int64_t B, int64_t H) {
  const int64_t e = global_thread();
  if (e >= B * H) return;
  const int64_t j = e % H;
  const float a = (alpha ? alpha[j] : 1.0f) * (gate_m ? gate_m[j] : 1.0f);
  dpre[e] = rnn_math::rnn_backward_pre(dh_out[e], saved[e], a);
  dh_prev[e] = rnn_math::rnn_backward_hp(dh_out[e], a);
}

// One block per column j; its threads stride over the rows and reduce x[r, j]^2 in shared memory.
__global__ void sq_trace_update_kernel(const float* __restrict__ x, int64_t R, int64_t N, float beta,
                                       float* __restrict__ trace) {
  __shared__ float part[kBlock];
  const int64_t j = blockIdx.x;
  float s = 0.0f;
  for (int64_t r = threadIdx.x; r < R; r += blockDim.x) {
    const float v = x[r * N + j];
    s += v * v;
  }
  part[threadIdx.x] = s;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if (int(threadIdx.x) < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) trace[j] = beta * trace[j] + (1.0f - beta) * (part[0] / float(R));
}

}  // namespace

// gi, gh (B, 3H), h_prev, h_out (B, H), saved (B, 4H), gate_m (H) or null; all device memory.
cudaError_t launch_gru_step_forward(const float* gi, const float* gh, const float* h_prev, const float* gate_m,
                                    float* h_out, float* saved, int64_t B, int64_t H, cudaStream_t s) {
  NEUROAI_LAUNCH(gru_step_forward_kernel, blocks_for(B * H), kBlock, 0, s)(gi, gh, h_prev, gate_m, h_out, saved, B, H);
  return cudaGetLastError();
}

// dh_out, h_prev, dh_prev (B, H), saved (B, 4H), dgi, dgh (B, 3H), gate_m (H) or null; all device memory.
cudaError_t launch_gru_step_backward(const float* dh_out, const float* h_prev, const float* saved,
                                     const float* gate_m, float* dgi, float* dgh, float* dh_prev, int64_t B, int64_t H,
                                     cudaStream_t s) {
  NEUROAI_LAUNCH(gru_step_backward_kernel, blocks_for(B * H), kBlock, 0, s)(dh_out, h_prev, saved, gate_m, dgi, dgh,
      dh_prev, B, H);
  return cudaGetLastError();
}

// gi, gh, h_prev, h_out, saved (B, H); alpha, gate_m (H) or null; all device memory.
cudaError_t launch_rnn_step_forward(const float* gi, const float* gh, const float* h_prev, const float* alpha,
                                    const float* gate_m, float* h_out, float* saved, int64_t B, int64_t H,
                                    cudaStream_t s) {
  NEUROAI_LAUNCH(rnn_step_forward_kernel, blocks_for(B * H), kBlock, 0, s)(gi, gh, h_prev, alpha, gate_m, h_out, saved,
      B, H);
  return cudaGetLastError();
}

// dh_out, saved, dpre, dh_prev (B, H); alpha, gate_m (H) or null; all device memory.
cudaError_t launch_rnn_step_backward(const float* dh_out, const float* saved, const float* alpha, const float* gate_m,
                                     float* dpre, float* dh_prev, int64_t B, int64_t H, cudaStream_t s) {
  NEUROAI_LAUNCH(rnn_step_backward_kernel, blocks_for(B * H), kBlock, 0, s)(dh_out, saved, alpha, gate_m, dpre, dh_prev,
      B, H);
  return cudaGetLastError();
}

// x (R, N) and trace (N) in device memory; R, N > 0.
cudaError_t launch_sq_trace_update(const float* x, int64_t R, int64_t N, float beta, float* trace, cudaStream_t s) {
  NEUROAI_LAUNCH(sq_trace_update_kernel, int(N), kBlock, 0, s)(x, R, N, beta, trace);
  return cudaGetLastError();
}

void CudaBackend::gru_step_forward_impl(ConstDenseView gi, ConstDenseView gh, ConstDenseView h_prev,
                                        const float* gate_m, DenseView h_out, DenseView saved) {
  NEUROAI_CUDA_CHECK(launch_gru_step_forward(gi.data, gh.data, h_prev.data, gate_m, h_out.data, saved.data,
                                             h_prev.rows, h_prev.cols, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::gru_step_backward_impl(ConstDenseView dh_out, ConstDenseView h_prev, ConstDenseView saved,
                                         const float* gate_m, DenseView dgi, DenseView dgh, DenseView dh_prev) {
  NEUROAI_CUDA_CHECK(launch_gru_step_backward(dh_out.data, h_prev.data, saved.data, gate_m, dgi.data, dgh.data,
                                              dh_prev.data, h_prev.rows, h_prev.cols, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::rnn_step_forward_impl(ConstDenseView gi, ConstDenseView gh, ConstDenseView h_prev,
                                        const float* alpha, const float* gate_m, DenseView h_out, DenseView saved) {
  NEUROAI_CUDA_CHECK(launch_rnn_step_forward(gi.data, gh.data, h_prev.data, alpha, gate_m, h_out.data, saved.data,
                                             h_prev.rows, h_prev.cols, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::rnn_step_backward_impl(ConstDenseView dh_out, ConstDenseView saved, const float* alpha,
                                         const float* gate_m, DenseView dpre, DenseView dh_prev) {
  NEUROAI_CUDA_CHECK(launch_rnn_step_backward(dh_out.data, saved.data, alpha, gate_m, dpre.data, dh_prev.data,
                                              saved.rows, saved.cols, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::sq_trace_update_impl(ConstDenseView x, float beta, float* trace) {
  NEUROAI_CUDA_CHECK(launch_sq_trace_update(x.data, x.rows, x.cols, beta, trace, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
