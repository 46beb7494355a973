// Structural CSR check on the device: two kernels fold every violation into one 64-bit key with
// atomicMin (the same keys as the CPU, so both report the same first violation); one download.
#include "kernels/csr_validate.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
namespace {

using Key = unsigned long long;

// One thread per row boundary r in [0, rows]: indptr[0] == 0, indptr[r + 1] >= indptr[r], indptr[rows] == nnz.
__global__ void validate_indptr_kernel(const int32_t* indptr, int32_t rows, int64_t nnz, Key* key) {
  for (int64_t r : grid_stride(int64_t(rows) + 1)) {
    uint64_t k = kCsrValid;
    if (r == 0 && indptr[0] != 0) k = csr_violation_key(CsrViolation::IndptrStart, 0, 0);
    if (r < rows && indptr[r + 1] < indptr[r] && k == kCsrValid)
      k = csr_violation_key(CsrViolation::IndptrDecreasing, r, 0);
    if (r == rows && indptr[rows] != nnz && k == kCsrValid) k = csr_violation_key(CsrViolation::IndptrEnd, 0, 0);
    if (k != kCsrValid) atomicMin(key, Key(k));
  }
}

// One warp per row; lanes stride over the row's entries. Rows whose range is broken are skipped:
// the indptr kernel reports a smaller key for them.
__global__ void validate_entries_kernel(const int32_t* indptr, const int32_t* indices, int32_t rows, int32_t cols,
                                        int64_t nnz, Key* key) {
  const int64_t r = global_warp();
  if (r >= rows) return;
  const int64_t start = indptr[r], end = indptr[r + 1];
  if (start < 0 || end > nnz || end < start) return;
  for (int64_t k = start + lane_id(); k < end; k += kWarp) {
    uint64_t e = csr_entry_key(k, start, indices[k], k > start ? indices[k - 1] : 0, cols);
    if (e != kCsrValid) {
      atomicMin(key, Key(e));
      return;
    }
  }
}

}  // namespace

// indptr (rows + 1), indices (nnz): device. key: device, preset to kCsrValid.
cudaError_t launch_validate_csr(const int32_t* indptr, const int32_t* indices, int32_t rows, int32_t cols,
                                int64_t nnz, unsigned long long* key, cudaStream_t stream) {
  NEUROAI_LAUNCH(validate_indptr_kernel, blocks_for(int64_t(rows) + 1), kBlock, 0, stream)(indptr, rows, nnz, key);
  if (rows > 0 && nnz > 0)
    NEUROAI_LAUNCH(validate_entries_kernel, blocks_for_rows(rows), kBlock, 0, stream)(indptr, indices, rows, cols, nnz,
        key);
  return cudaGetLastError();
}

void CudaBackend::validate_csr_impl(ConstCsrView a, const char* what) {
  auto* key = static_cast<Key*>(scratch(sizeof(Key)));
  NEUROAI_CUDA_CHECK(cudaMemsetAsync(key, 0xff, sizeof(Key), stream()));
  NEUROAI_CUDA_CHECK(launch_validate_csr(a.indptr, a.indices, a.rows, a.cols, a.nnz, key, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
  auto* host = static_cast<Key*>(pinned(sizeof(Key)));
  NEUROAI_CUDA_CHECK(cudaMemcpyAsync(host, key, sizeof(Key), cudaMemcpyDeviceToHost, stream()));
  NEUROAI_CUDA_CHECK(cudaStreamSynchronize(stream()));
  const uint64_t found = *host;
  if (found == kCsrValid) return;
  auto read = [this](const int32_t* p, int64_t i) {
    int32_t v = 0;
    download(&v, p + i, sizeof(v));
    return v;
  };
  throw_csr_violation(
      found, what, a.rows, a.cols, a.nnz, [&](int64_t r) { return read(a.indptr, r); },
      [&](int64_t k) { return read(a.indices, k); });
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
