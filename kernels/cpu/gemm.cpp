#include <algorithm>

#include <cblas.h>

#include "kernels/cpu/cpu_backend.h"

namespace neuroai::cpu {

// OpenBLAS SGEMM on row-major data; the checked method has handled empty shapes.
void CpuBackend::gemm_impl(bool trans_a, bool trans_b, float alpha, ConstDenseView a, ConstDenseView b, float beta,
                           DenseView c) {
  const int64_t m = c.rows, n = c.cols;
  const int64_t k = trans_a ? a.rows : a.cols;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, blasint(m),
              blasint(n), blasint(k), alpha, a.data, blasint(std::max<int64_t>(1, a.cols)), b.data,
              blasint(std::max<int64_t>(1, b.cols)), beta, c.data, blasint(std::max<int64_t>(1, n)));
}

}  // namespace neuroai::cpu
