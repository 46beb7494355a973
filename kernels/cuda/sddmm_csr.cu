// CSR SDDMM on the GPU: out[k] (+)= dot(dY[:, i], X[:, j]) for each stored entry k = (i, j).
// dY and X are transposed with cublasSgeam into dYt (rows, B) and Xt (cols, B) so both operands
// of every dot product are contiguous rows read coalesced.
#include "kernels/cuda/csr_util.cuh"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"

namespace neuroai::cuda {
namespace {

// One warp per CSR row; for each entry the lanes stride over the batch (dYt's row stays in L1
// across the row's entries) and a shuffle reduction finishes the dot product.
__global__ void sddmm_csr_kernel(const int32_t* __restrict__ indptr, const int32_t* __restrict__ indices,
                                 int32_t rows, const float* __restrict__ dyt, const float* __restrict__ xt,
                                 int64_t batch, float* __restrict__ out, bool accumulate) {
  const int64_t row = csr::global_warp();
  if (row >= rows) return;
  const int lane = csr::lane_id();
  const float* dr = dyt + row * batch;
  const int32_t start = indptr[row], end = indptr[row + 1];
  for (int32_t k = start; k < end; ++k) {
    const float* xr = xt + int64_t(indices[k]) * batch;
    float s = 0.0f;
    for (int64_t b = lane; b < batch; b += csr::kWarp) s += __ldg(dr + b) * __ldg(xr + b);
    s = csr::warp_sum(s);
    if (lane == 0) out[k] = accumulate ? out[k] + s : s;
  }
}

}  // namespace

// indptr (rows + 1), indices (nnz), dyt (rows, batch), xt (cols, batch), out (nnz): all device.
cudaError_t launch_sddmm_csr(const int32_t* indptr, const int32_t* indices, int32_t rows, const float* dyt,
                             const float* xt, int64_t batch, float* out, bool accumulate, cudaStream_t stream) {
  sddmm_csr_kernel<<<csr::blocks_for_rows(rows), csr::kBlock, 0, stream>>>(indptr, indices, rows, dyt, xt, batch,
                                                                           out, accumulate);
  return cudaGetLastError();
}

void CudaBackend::sddmm_csr_impl(ConstCsrView pattern, ConstDenseView dy, ConstDenseView x, float* out_values,
                                 bool accumulate) {
  if (pattern.nnz == 0) return;
  const int64_t batch = x.rows;
  if (batch == 0) {
    if (!accumulate) memset_zero(out_values, sizeof(float) * size_t(pattern.nnz));
    return;
  }
  float* dyt = static_cast<float*>(scratch(sizeof(float) * size_t(batch) * (size_t(pattern.rows) + pattern.cols)));
  float* xt = dyt + batch * pattern.rows;  // (cols, batch)
  transpose_geam(cublas(), dy.data, batch, pattern.rows, 0.0f, dyt);
  transpose_geam(cublas(), x.data, batch, pattern.cols, 0.0f, xt);
  NEUROAI_CUDA_CHECK(launch_sddmm_csr(pattern.indptr, pattern.indices, pattern.rows, dyt, xt, batch, out_values,
                                      accumulate, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

}  // namespace neuroai::cuda
