// CSR SpMM on the GPU: Y (B, rows) = X (B, cols) * A^T (+ bias, += Y). X is transposed with
// cublasSgeam into Xt (cols, B), so each stored entry (i, j, v) reads the contiguous row Xt[j, :]
// coalesced; the kernel writes Yt (rows, B) and a second geam transposes it into Y, folding in
// the accumulation (beta = 1).
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
namespace {

constexpr int kColsPerLane = 2;  // batch columns per lane: 2 keeps ~2 warps per CSR row at B = 128
constexpr int64_t kBatchTile = kWarp * kColsPerLane;  // batch columns per warp

// One warp per (CSR row, 64-column batch tile); lane l owns batch columns b0 + l + 32 t. The
// row's indices and values are loaded 32 at a time, one per lane, and broadcast with shuffles.
// blockIdx.y strides over the batch tiles, so a batch wider than grid.y's limit still fits.
__global__ void spmm_csr_kernel(const int32_t* __restrict__ indptr, const int32_t* __restrict__ indices,
                                const float* __restrict__ values, int32_t rows, const float* __restrict__ xt,
                                int64_t batch, const float* __restrict__ bias, float* __restrict__ yt) {
  const int64_t row = global_warp();
  if (row >= rows) return;
  const int lane = lane_id();
  const float init = bias ? bias[row] : 0.0f;
  const int32_t start = indptr[row], end = indptr[row + 1];
  for (int64_t tile = blockIdx.y; tile * kBatchTile < batch; tile += gridDim.y) {
    const int64_t b0 = tile * kBatchTile + lane;
    float acc[kColsPerLane];
    for (int t = 0; t < kColsPerLane; ++t) acc[t] = init;
    for (int32_t k0 = start; k0 < end; k0 += kWarp) {
      const int32_t k = k0 + lane;
      const int32_t my_j = k < end ? indices[k] : 0;
      const float my_v = k < end ? values[k] : 0.0f;
      const int n = end - k0 < kWarp ? end - k0 : kWarp;
      for (int q = 0; q < n; ++q) {
        const int64_t j = __shfl_sync(kFullMask, my_j, q);
        const float v = __shfl_sync(kFullMask, my_v, q);
        const float* xr = xt + j * batch;
        for (int t = 0; t < kColsPerLane; ++t) {
          const int64_t b = b0 + t * kWarp;
          if (b < batch) acc[t] += v * __ldg(xr + b);
        }
      }
    }
    for (int t = 0; t < kColsPerLane; ++t) {
      const int64_t b = b0 + t * kWarp;
      if (b < batch) yt[row * batch + b] = acc[t];
    }
  }
}

}  // namespace

// indptr (rows + 1), indices / values (nnz), xt (cols, batch), bias (rows; may be null),
// yt (rows, batch): all device.
cudaError_t launch_spmm_csr(const int32_t* indptr, const int32_t* indices, const float* values, int32_t rows,
                            const float* xt, int64_t batch, const float* bias, float* yt, cudaStream_t stream) {
  const int64_t tiles = (batch + kBatchTile - 1) / kBatchTile;
  const dim3 grid(blocks_for_rows(rows), unsigned(tiles < kMaxGridY ? tiles : kMaxGridY));
  NEUROAI_LAUNCH(spmm_csr_kernel, grid, kBlock, 0, stream)(indptr, indices, values, rows, xt, batch, bias, yt);
  return cudaGetLastError();
}

// dst (n, m) row-major = alpha * src (m, n)^T + beta * dst, with cuBLAS's column-major geam.
void transpose_geam(cublasHandle_t h, const float* src, int64_t m, int64_t n, float beta, float* dst) {
  const float one = 1.0f;
  NEUROAI_CUBLAS_CHECK(cublasSgeam(h, CUBLAS_OP_T, CUBLAS_OP_N, int(m), int(n), &one, src, int(n), &beta, dst,
                                   int(m), dst, int(m)));
}

void CudaBackend::spmm_csr_impl(ConstCsrView a, ConstDenseView x, const float* bias, DenseView y, bool accumulate) {
  const int64_t batch = x.rows;
  if (batch == 0 || a.rows == 0) return;
  float* xt = static_cast<float*>(scratch(sizeof(float) * size_t(batch) * (size_t(a.cols) + size_t(a.rows))));
  float* yt = xt + batch * a.cols;  // (rows, batch)
  if (a.cols > 0) transpose_geam(cublas(), x.data, batch, a.cols, 0.0f, xt);  // Xt (cols, batch)
  NEUROAI_CUDA_CHECK(launch_spmm_csr(a.indptr, a.indices, a.values, a.rows, xt, batch, bias, yt, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
  transpose_geam(cublas(), yt, a.rows, batch, accumulate ? 1.0f : 0.0f, y.data);  // Y (batch, rows)
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
