#include <algorithm>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {

// cuBLAS is column-major; a row-major (r, c) matrix is its column-major transpose. So
// C^T = op(B)^T op(A)^T is a column-major GEMM with the operands swapped and the same op flags.
void CudaBackend::gemm_impl(bool trans_a, bool trans_b, float alpha, ConstDenseView a, ConstDenseView b, float beta,
                            DenseView c) {
  const int64_t m = c.rows, n = c.cols;
  const int64_t k = trans_a ? a.rows : a.cols;
  NEUROAI_CUBLAS_CHECK(cublasSgemm(cublas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   int(n), int(m), int(k), &alpha, b.data, int(std::max<int64_t>(1, b.cols)), a.data,
                                   int(std::max<int64_t>(1, a.cols)), &beta, c.data,
                                   int(std::max<int64_t>(1, n))));
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
