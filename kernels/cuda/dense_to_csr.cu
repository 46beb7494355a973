// Dense <-> CSR conversions on the GPU: per-row counts, a CUB exclusive scan into indptr, then an
// ordered fill in which each warp compacts its row 32 columns at a time with a ballot.
#include <cub/cub.cuh>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
namespace {

__device__ inline bool kept(const float* w, const uint8_t* mask, int64_t e) {
  return mask ? mask[e] != 0 : w[e] != 0.0f;
}

// One warp per row; lanes stride over the columns and the warp sums its kept flags.
// counts has rows + 1 entries; the last is set to 0 so an exclusive scan ends in nnz.
__global__ void dense_to_csr_count_kernel(const float* w, const uint8_t* mask, int32_t rows, int32_t cols,
                                          int32_t* counts) {
  const int64_t row = global_warp();
  if (row > rows) return;
  const int lane = lane_id();
  if (row == rows) {
    if (lane == 0) counts[rows] = 0;
    return;
  }
  int32_t n = 0;
  for (int64_t c = lane; c < cols; c += kWarp) n += kept(w, mask, row * cols + c) ? 1 : 0;
  n = __reduce_add_sync(kFullMask, n);
  if (lane == 0) counts[row] = n;
}

// One warp per row; each 32-column chunk is compacted in order with a ballot and a popcount of
// the lanes below, so columns come out ascending.
__global__ void dense_to_csr_fill_kernel(const float* w, const uint8_t* mask, int32_t rows, int32_t cols,
                                         const int32_t* indptr, int32_t* indices, float* values) {
  const int64_t row = global_warp();
  if (row >= rows) return;
  const int lane = lane_id();
  const unsigned below = (1u << lane) - 1u;
  int64_t base = indptr[row];
  for (int64_t c0 = 0; c0 < cols; c0 += kWarp) {
    const int64_t c = c0 + lane;
    const bool keep = c < cols && kept(w, mask, row * cols + c);
    const unsigned ballot = __ballot_sync(kFullMask, keep);
    if (keep) {
      const int64_t k = base + __popc(ballot & below);
      indices[k] = int32_t(c);
      values[k] = w[row * cols + c];
    }
    base += __popc(ballot);
  }
}

// One warp per row; lanes stride over the row's entries and scatter them into the zeroed output.
__global__ void csr_to_dense_kernel(const int32_t* indptr, const int32_t* indices, const float* values, int32_t rows,
                                    int32_t cols, float* out) {
  const int64_t row = global_warp();
  if (row >= rows) return;
  for (int64_t k = indptr[row] + lane_id(); k < indptr[row + 1]; k += kWarp)
    out[row * cols + indices[k]] = values[k];
}

}  // namespace

// w (rows, cols), mask (rows, cols; may be null), counts (rows + 1): device.
cudaError_t launch_dense_to_csr_count(const float* w, const uint8_t* mask, int32_t rows, int32_t cols,
                                      int32_t* counts, cudaStream_t stream) {
  NEUROAI_LAUNCH(dense_to_csr_count_kernel, blocks_for_rows(int64_t(rows) + 1), kBlock, 0, stream)(w, mask, rows, cols,
      counts);
  return cudaGetLastError();
}

// w, mask as above; indptr (rows + 1), indices / values (nnz): device.
cudaError_t launch_dense_to_csr_fill(const float* w, const uint8_t* mask, int32_t rows, int32_t cols,
                                     const int32_t* indptr, int32_t* indices, float* values, cudaStream_t stream) {
  NEUROAI_LAUNCH(dense_to_csr_fill_kernel, blocks_for_rows(rows), kBlock, 0, stream)(w, mask, rows, cols, indptr,
      indices, values);
  return cudaGetLastError();
}

// indptr (rows + 1), indices / values (nnz), out (rows, cols) already zeroed: device.
cudaError_t launch_csr_to_dense(const int32_t* indptr, const int32_t* indices, const float* values, int32_t rows,
                                int32_t cols, float* out, cudaStream_t stream) {
  NEUROAI_LAUNCH(csr_to_dense_kernel, blocks_for_rows(rows), kBlock, 0, stream)(indptr, indices, values, rows, cols,
      out);
  return cudaGetLastError();
}

int64_t CudaBackend::dense_to_csr_count_impl(ConstDenseView w, const uint8_t* mask, int32_t* indptr) {
  const int32_t rows = int32_t(w.rows), cols = int32_t(w.cols);
  const int n = rows + 1;
  size_t temp_bytes = 0;
  NEUROAI_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, temp_bytes, static_cast<int32_t*>(nullptr),
                                                   static_cast<int32_t*>(nullptr), n, stream()));
  const size_t counts_bytes = align256(sizeof(int32_t) * size_t(n));
  auto* base = static_cast<unsigned char*>(scratch(counts_bytes + temp_bytes));
  auto* counts = reinterpret_cast<int32_t*>(base);  // (rows + 1)
  NEUROAI_CUDA_CHECK(launch_dense_to_csr_count(w.data, mask, rows, cols, counts, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
  NEUROAI_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(base + counts_bytes, temp_bytes, counts, indptr, n, stream()));
  auto* total = static_cast<int32_t*>(pinned(sizeof(int32_t)));
  NEUROAI_CUDA_CHECK(cudaMemcpyAsync(total, indptr + rows, sizeof(int32_t), cudaMemcpyDeviceToHost, stream()));
  NEUROAI_CUDA_CHECK(cudaStreamSynchronize(stream()));
  return *total;
}

void CudaBackend::dense_to_csr_fill_impl(ConstDenseView w, const uint8_t* mask, CsrView out) {
  if (w.rows == 0 || out.nnz == 0) return;
  NEUROAI_CUDA_CHECK(launch_dense_to_csr_fill(w.data, mask, int32_t(w.rows), int32_t(w.cols), out.indptr,
                                              out.indices, out.values, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::csr_to_dense_impl(ConstCsrView a, DenseView out) {
  memset_zero(out.data, sizeof(float) * size_t(out.size()));
  if (a.nnz == 0) return;
  NEUROAI_CUDA_CHECK(launch_csr_to_dense(a.indptr, a.indices, a.values, a.rows, a.cols, out.data, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
