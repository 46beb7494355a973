// cuda-sim: cublasSgemm and cublasSgeam on CBLAS, with cuBLAS's column-major semantics, argument
// checks and status codes. Operands must be device memory large enough for the shape and leading
// dimension given (cuBLAS would read out of bounds and fail with EXECUTION_FAILED, or fault).
#include <cblas.h>

#include <algorithm>
#include <string>

#include "kernels/cuda/sim/include/cublas_v2.h"
#include "kernels/cuda/sim/include/cusparse.h"

namespace neuroai::cudasim {

struct cublasContext {
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
};
struct cusparseContext {
  cudaStream_t stream = nullptr;
};

namespace {

bool is_op(cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; }

// A column-major (rows, cols) operand with leading dimension ld spans ld * (cols - 1) + rows floats.
bool spans_device(const float* p, int rows, int cols, int ld) {
  if (rows == 0 || cols == 0) return true;
  return is_device_range(p, sizeof(float) * (size_t(ld) * size_t(cols - 1) + size_t(rows)));
}

cublasStatus_t execution_failed(const std::string& what) {
  fail(cudaErrorIllegalAddress, what);
  return CUBLAS_STATUS_EXECUTION_FAILED;
}

}  // namespace

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  *handle = new cublasContext;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream(cublasHandle_t handle, cudaStream_t* stream) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  *stream = handle->stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode != CUBLAS_DEFAULT_MATH && mode != CUBLAS_TENSOR_OP_MATH && mode != CUBLAS_PEDANTIC_MATH &&
      mode != CUBLAS_TF32_TENSOR_OP_MATH)
    return CUBLAS_STATUS_INVALID_VALUE;
  handle->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  *mode = handle->math;
  return CUBLAS_STATUS_SUCCESS;
}

const char* cublasGetStatusName(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
      return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

const char* cublasGetStatusString(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS:
      return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "the library was not initialized";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "an unsupported value or parameter was passed to the function";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "the GPU program failed to execute";
    default:
      return cublasGetStatusName(s);
  }
}

cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                           int k, const float* alpha, const float* a, int lda, const float* b, int ldb,
                           const float* beta, float* c, int ldc) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  const bool ta = transa != CUBLAS_OP_N, tb = transb != CUBLAS_OP_N;
  // cuBLAS's own checks, in its order.
  if (!is_op(transa) || !is_op(transb) || m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
  if (lda < std::max(1, ta ? k : m) || ldb < std::max(1, tb ? n : k) || ldc < std::max(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  if (alpha == nullptr || beta == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  DeviceScope scope;
  const bool reads_ab = k > 0 && *alpha != 0.0f;
  if (reads_ab && (!spans_device(a, ta ? k : m, ta ? m : k, lda) || !spans_device(b, tb ? n : k, tb ? k : n, ldb)))
    return execution_failed("cublasSgemm: A or B is not device memory of the shape and leading dimension given");
  if (!spans_device(c, m, n, ldc))
    return execution_failed("cublasSgemm: C is not device memory of the shape and leading dimension given");
  if (!reads_ab) {  // C = beta C; beta = 0 writes zeros without reading C, as cuBLAS does
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i) {
        float& x = c[size_t(j) * ldc + i];
        x = *beta == 0.0f ? 0.0f : *beta * x;
      }
    return CUBLAS_STATUS_SUCCESS;
  }
  cblas_sgemm(CblasColMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, *alpha, a, lda, b,
              ldb, *beta, c, ldc);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgeam(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                           const float* alpha, const float* a, int lda, const float* beta, const float* b, int ldb,
                           float* c, int ldc) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  const bool ta = transa != CUBLAS_OP_N, tb = transb != CUBLAS_OP_N;
  if (!is_op(transa) || !is_op(transb) || m < 0 || n < 0) return CUBLAS_STATUS_INVALID_VALUE;
  if (lda < std::max(1, ta ? n : m) || ldb < std::max(1, tb ? n : m) || ldc < std::max(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  // In place only as cuBLAS allows it: C = A needs lda == ldc and no transpose of A; likewise B.
  if (c == a && (ta || lda != ldc)) return CUBLAS_STATUS_INVALID_VALUE;
  if (c == b && (tb || ldb != ldc)) return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  if (alpha == nullptr || beta == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  DeviceScope scope;
  const bool reads_a = *alpha != 0.0f, reads_b = *beta != 0.0f;
  if ((reads_a && !spans_device(a, ta ? n : m, ta ? m : n, lda)) ||
      (reads_b && !spans_device(b, tb ? n : m, tb ? m : n, ldb)))
    return execution_failed("cublasSgeam: A or B is not device memory of the shape and leading dimension given");
  if (!spans_device(c, m, n, ldc))
    return execution_failed("cublasSgeam: C is not device memory of the shape and leading dimension given");
  // Out of place the order does not matter; in place each element reads only itself.
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      float s = 0.0f;
      if (reads_a) s += *alpha * (ta ? a[size_t(i) * lda + j] : a[size_t(j) * lda + i]);
      if (reads_b) s += *beta * (tb ? b[size_t(i) * ldb + j] : b[size_t(j) * ldb + i]);
      c[size_t(j) * ldc + i] = s;
    }
  return CUBLAS_STATUS_SUCCESS;
}

cusparseStatus_t cusparseCreate(cusparseHandle_t* handle) {
  *handle = new cusparseContext;
  return CUSPARSE_STATUS_SUCCESS;
}

cusparseStatus_t cusparseDestroy(cusparseHandle_t handle) {
  if (!handle) return CUSPARSE_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUSPARSE_STATUS_SUCCESS;
}

cusparseStatus_t cusparseSetStream(cusparseHandle_t handle, cudaStream_t stream) {
  if (!handle) return CUSPARSE_STATUS_NOT_INITIALIZED;
  handle->stream = stream;
  return CUSPARSE_STATUS_SUCCESS;
}

const char* cusparseGetErrorString(cusparseStatus_t s) {
  switch (s) {
    case CUSPARSE_STATUS_SUCCESS:
      return "success";
    case CUSPARSE_STATUS_NOT_INITIALIZED:
      return "initialization error";
    case CUSPARSE_STATUS_INVALID_VALUE:
      return "invalid value";
  }
  return "unknown cuSPARSE status";
}

}  // namespace neuroai::cudasim
