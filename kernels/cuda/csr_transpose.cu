// CSR transpose on the GPU as a stable sort of the entries by column: a CUB radix sort of
// (column, position) pairs (stable, so each output row keeps A's rows ascending and perm is
// deterministic), a column histogram scanned into At's indptr, and a gather of row ids.
#include <cub/cub.cuh>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
namespace {

// One warp per row of A; lanes stride over the row's entries, writing each entry's row and its
// own position (the sort's payload), and counting its column.
__global__ void csr_transpose_prepare_kernel(const int32_t* indptr, const int32_t* indices, int32_t rows,
                                             int32_t* row_of, int32_t* position, int32_t* col_counts) {
  const int64_t row = global_warp();
  if (row >= rows) return;
  for (int32_t k = indptr[row] + lane_id(); k < indptr[row + 1]; k += kWarp) {
    row_of[k] = int32_t(row);
    position[k] = k;
    atomicAdd(col_counts + indices[k], 1);
  }
}

// One thread per output entry p: At.indices[p] = row of A's entry perm[p] (and its value).
__global__ void csr_transpose_finish_kernel(const int32_t* perm, const int32_t* row_of, const float* values,
                                            int64_t nnz, int32_t* at_indices, float* at_values) {
  for (int64_t p : grid_stride(nnz)) {
    const int32_t k = perm[p];
    at_indices[p] = row_of[k];
    if (at_values) at_values[p] = values[k];
  }
}

int bits_for(int32_t max_value) {
  int bits = 1;
  while (bits < 31 && (int64_t(1) << bits) <= max_value) ++bits;
  return bits;
}

}  // namespace

// indptr (rows + 1), indices (nnz): device; row_of / position (nnz) and col_counts (cols + 1,
// zeroed): device scratch.
cudaError_t launch_csr_transpose_prepare(const int32_t* indptr, const int32_t* indices, int32_t rows,
                                         int32_t* row_of, int32_t* position, int32_t* col_counts,
                                         cudaStream_t stream) {
  NEUROAI_LAUNCH(csr_transpose_prepare_kernel, blocks_for_rows(rows), kBlock, 0, stream)(indptr, indices, rows, row_of,
      position, col_counts);
  return cudaGetLastError();
}

// perm (nnz), row_of (nnz), values (nnz; may be null when at_values is), at_indices / at_values (nnz): device.
cudaError_t launch_csr_transpose_finish(const int32_t* perm, const int32_t* row_of, const float* values, int64_t nnz,
                                        int32_t* at_indices, float* at_values, cudaStream_t stream) {
  NEUROAI_LAUNCH(csr_transpose_finish_kernel, blocks_for(nnz), kBlock, 0, stream)(perm, row_of, values, nnz, at_indices,
      at_values);
  return cudaGetLastError();
}

void CudaBackend::csr_transpose_impl(ConstCsrView a, CsrView at, int32_t* perm) {
  const size_t indptr_bytes = sizeof(int32_t) * (size_t(a.cols) + 1);
  if (a.nnz == 0) {
    memset_zero(at.indptr, indptr_bytes);
    return;
  }
  const int n = int(a.nnz);
  const int end_bit = bits_for(a.cols - 1);
  size_t sort_bytes = 0, scan_bytes = 0;
  NEUROAI_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, sort_bytes, static_cast<const uint32_t*>(nullptr),
                                                     static_cast<uint32_t*>(nullptr),
                                                     static_cast<const int32_t*>(nullptr),
                                                     static_cast<int32_t*>(nullptr), n, 0, end_bit, stream()));
  NEUROAI_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, scan_bytes, static_cast<int32_t*>(nullptr),
                                                   static_cast<int32_t*>(nullptr), a.cols + 1, stream()));
  const size_t entry_bytes = align256(sizeof(int32_t) * size_t(n));
  const size_t counts_bytes = align256(indptr_bytes);
  const size_t temp_bytes = sort_bytes > scan_bytes ? sort_bytes : scan_bytes;
  auto* base = static_cast<unsigned char*>(scratch(3 * entry_bytes + counts_bytes + temp_bytes));
  auto* row_of = reinterpret_cast<int32_t*>(base);                      // (nnz)
  auto* position = reinterpret_cast<int32_t*>(base + entry_bytes);      // (nnz)
  auto* sorted_cols = reinterpret_cast<uint32_t*>(base + 2 * entry_bytes);  // (nnz)
  auto* col_counts = reinterpret_cast<int32_t*>(base + 3 * entry_bytes);  // (cols + 1)
  void* temp = base + 3 * entry_bytes + counts_bytes;

  NEUROAI_CUDA_CHECK(cudaMemsetAsync(col_counts, 0, indptr_bytes, stream()));
  NEUROAI_CUDA_CHECK(launch_csr_transpose_prepare(a.indptr, a.indices, a.rows, row_of, position, col_counts, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
  NEUROAI_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(temp, scan_bytes, col_counts, at.indptr, a.cols + 1, stream()));
  NEUROAI_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp, sort_bytes, reinterpret_cast<const uint32_t*>(a.indices),
                                                     sorted_cols, position, perm, n, 0, end_bit, stream()));
  NEUROAI_CUDA_CHECK(launch_csr_transpose_finish(perm, row_of, a.values, a.nnz, at.indices, at.values, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
