// CSR SDDMM on the GPU: out[k] (+)= dot(dY[:, i], X[:, j]) for each stored entry k = (i, j).
// dY and X are transposed with cublasSgeam into dYt (rows, B) and Xt (cols, B) so both operands
// of every dot product are contiguous rows read coalesced. The Hebbian CSR update (SPEC §7.2) is
// the same sampled product with a different epilogue, so it is defined here too.
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/inhibition_math.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
namespace {

// out[k] = s or out[k] + s.
struct StoreEpilogue {
  float* out;
  bool accumulate;
  __device__ void operator()(int32_t k, float s) const { out[k] = accumulate ? out[k] + s : s; }
};

// hebb[k] = clip((1 - eta) hebb[k] + eta * s / B).
struct HebbianEpilogue {
  float* hebb;
  float inv_batch, eta, clip;
  __device__ void operator()(int32_t k, float s) const { hebb[k] = hebbian_update(hebb[k], s * inv_batch, eta, clip); }
};

// One warp per CSR row; for each entry the lanes stride over the batch (dYt's row stays in L1
// across the row's entries) and a shuffle reduction finishes the dot product; lane 0 applies the
// epilogue to it.
template <class Epilogue>
__global__ void sddmm_csr_kernel(const int32_t* __restrict__ indptr, const int32_t* __restrict__ indices,
                                 int32_t rows, const float* __restrict__ dyt, const float* __restrict__ xt,
                                 int64_t batch, Epilogue epilogue) {
  const int64_t row = global_warp();
  if (row >= rows) return;
  const int lane = lane_id();
  const float* dr = dyt + row * batch;
  const int32_t start = indptr[row], end = indptr[row + 1];
  for (int32_t k = start; k < end; ++k) {
    const float* xr = xt + int64_t(indices[k]) * batch;
    float s = 0.0f;
    for (int64_t b = lane; b < batch; b += kWarp) s += __ldg(dr + b) * __ldg(xr + b);
    s = warp_sum(s);
    if (lane == 0) epilogue(k, s);
  }
}

// Transposes dy (batch, rows) and x (batch, cols) into the backend's scratch and runs the kernel.
// batch >= 1 and pattern.nnz >= 1.
template <class Epilogue>
void run_sddmm(CudaBackend& be, ConstCsrView pattern, ConstDenseView dy, ConstDenseView x, Epilogue epilogue) {
  const int64_t batch = x.rows;
  float* dyt = static_cast<float*>(be.scratch(sizeof(float) * size_t(batch) * (size_t(pattern.rows) + pattern.cols)));
  float* xt = dyt + batch * pattern.rows;  // (cols, batch)
  transpose_geam(be.cublas(), dy.data, batch, pattern.rows, 0.0f, dyt);
  transpose_geam(be.cublas(), x.data, batch, pattern.cols, 0.0f, xt);
  NEUROAI_LAUNCH(sddmm_csr_kernel<Epilogue>, blocks_for_rows(pattern.rows), kBlock, 0, be.stream())(pattern.indptr,
      pattern.indices, pattern.rows, dyt, xt, batch, epilogue);
  NEUROAI_CUDA_CHECK(cudaGetLastError());
  NEUROAI_CUDA_LAUNCH_CHECK(be.stream());
}

}  // namespace

void CudaBackend::sddmm_csr_impl(ConstCsrView pattern, ConstDenseView dy, ConstDenseView x, float* out_values,
                                 bool accumulate) {
  if (pattern.nnz == 0) return;
  if (x.rows == 0) {
    if (!accumulate) memset_zero(out_values, sizeof(float) * size_t(pattern.nnz));
    return;
  }
  run_sddmm(*this, pattern, dy, x, StoreEpilogue{out_values, accumulate});
}

// post (batch, rows), pre (batch, cols): the batch sums are the SDDMM of the pattern.
void CudaBackend::hebbian_csr_update_impl(ConstCsrView pattern, ConstDenseView post, ConstDenseView pre, float eta,
                                          float clip, float* hebb) {
  if (pattern.nnz == 0) return;
  run_sddmm(*this, pattern, post, pre, HebbianEpilogue{hebb, 1.0f / float(post.rows), eta, clip});
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
