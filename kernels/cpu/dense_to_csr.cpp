// Dense <-> CSR conversions on the CPU. Rows are independent: counting, filling and scattering
// each run one OpenMP iteration per row; only the row-pointer prefix sum is sequential. Counting
// and filling are branch-free (a kept flag is added, not tested), since at middling densities a
// data-dependent branch per entry mispredicts half the time.
#include <cstring>
#include <vector>

#include "kernels/cpu/cpu_backend.h"

namespace neuroai::cpu {
namespace {

// keep[c] = 1 for the kept columns of one row: mask != 0 when given, else w != 0.
inline void row_flags(const float* w, const uint8_t* mask, int64_t cols, uint8_t* keep) {
  if (mask) {
    for (int64_t c = 0; c < cols; ++c) keep[c] = mask[c] != 0;
  } else {
    for (int64_t c = 0; c < cols; ++c) keep[c] = w[c] != 0.0f;
  }
}

}  // namespace

int64_t CpuBackend::dense_to_csr_count_impl(ConstDenseView w, const uint8_t* mask, int32_t* indptr) {
  const int64_t rows = w.rows, cols = w.cols;
  indptr[0] = 0;
#pragma omp parallel
  {
    std::vector<uint8_t> keep(static_cast<size_t>(cols));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      row_flags(w.data + r * cols, mask ? mask + r * cols : nullptr, cols, keep.data());
      int32_t n = 0;
      for (int64_t c = 0; c < cols; ++c) n += keep[c];
      indptr[r + 1] = n;
    }
  }
  for (int64_t r = 0; r < rows; ++r) indptr[r + 1] += indptr[r];
  return indptr[rows];
}

void CpuBackend::dense_to_csr_fill_impl(ConstDenseView w, const uint8_t* mask, CsrView out) {
  const int64_t cols = w.cols;
#pragma omp parallel
  {
    // Every column is written to the row buffers and the cursor advances only past kept ones;
    // the kept prefix is then copied out.
    std::vector<uint8_t> keep(static_cast<size_t>(cols));
    std::vector<int32_t> idx(static_cast<size_t>(cols) + 1);
    std::vector<float> val(static_cast<size_t>(cols) + 1);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < w.rows; ++r) {
      const float* wr = w.data + r * cols;
      row_flags(wr, mask ? mask + r * cols : nullptr, cols, keep.data());
      int64_t n = 0;
      for (int64_t c = 0; c < cols; ++c) {
        idx[n] = int32_t(c);
        val[n] = wr[c];
        n += keep[c];
      }
      std::memcpy(out.indices + out.indptr[r], idx.data(), sizeof(int32_t) * size_t(n));
      std::memcpy(out.values + out.indptr[r], val.data(), sizeof(float) * size_t(n));
    }
  }
}

void CpuBackend::csr_to_dense_impl(ConstCsrView a, DenseView out) {
  const int64_t cols = a.cols;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < a.rows; ++r) {
    float* dst = out.data + r * cols;
    std::memset(dst, 0, sizeof(float) * size_t(cols));
    for (int64_t k = a.indptr[r]; k < a.indptr[r + 1]; ++k) dst[a.indices[k]] = a.values[k];
  }
}

}  // namespace neuroai::cpu
