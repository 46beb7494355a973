#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu_backend.h"

namespace neuroai::cpu {
namespace {

constexpr int64_t kParallelMin = int64_t(1) << 15;
// Columns per block in col_sum: one block's accumulators stay in L1 while the rows stream past.
constexpr int64_t kColBlock = 512;

}  // namespace

void CpuBackend::col_sum_impl(ConstDenseView x, float* out, bool accumulate) {
  const int64_t rows = x.rows, cols = x.cols;
  const int64_t blocks = (cols + kColBlock - 1) / kColBlock;
#pragma omp parallel for if (x.size() > kParallelMin && blocks > 1)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t c0 = blk * kColBlock, c1 = std::min(cols, c0 + kColBlock), w = c1 - c0;
    float acc[kColBlock];
    for (int64_t c = 0; c < w; ++c) acc[c] = accumulate ? out[c0 + c] : 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = x.data + r * cols + c0;
#pragma omp simd
      for (int64_t c = 0; c < w; ++c) acc[c] += row[c];
    }
    for (int64_t c = 0; c < w; ++c) out[c0 + c] = acc[c];
  }
}

void CpuBackend::reduce_impl(Reduction r, const float* x, int64_t n, float* out) {
  double s = 0.0;
  switch (r) {
    case Reduction::Sum:
#pragma omp parallel for simd reduction(+ : s) if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) s += double(x[i]);
      break;
    case Reduction::SumSquares:
#pragma omp parallel for simd reduction(+ : s) if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) s += double(x[i]) * double(x[i]);
      break;
    case Reduction::SumAbs:
#pragma omp parallel for simd reduction(+ : s) if (n > kParallelMin)
      for (int64_t i = 0; i < n; ++i) s += std::fabs(double(x[i]));
      break;
  }
  out[0] = float(s);
}

}  // namespace neuroai::cpu
