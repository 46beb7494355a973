// Checks for every CUDA runtime, cuBLAS and cuSPARSE call and every launch. They report the call,
// the file and the line. NEUROAI_CUDA_SYNC_DEBUG=1 in the environment synchronizes after each launch.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusparse.h>

#include "kernels/cuda/cuda_api.h"
#include "kernels/error.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
bool sync_debug();  // NEUROAI_CUDA_SYNC_DEBUG set (read once)
}

#define NEUROAI_CUDA_CHECK(call)                                                                       \
  do {                                                                                                 \
    cudaError_t err_ = (call);                                                                         \
    if (err_ != cudaSuccess)                                                                           \
      NEUROAI_FAIL_CAT("CUDA error ", cudaGetErrorName(err_), " (", cudaGetErrorString(err_), ") in ", #call);                                                      \
  } while (0)

#define NEUROAI_CUBLAS_CHECK(call)                                                                     \
  do {                                                                                                 \
    cublasStatus_t st_ = (call);                                                                       \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                                  \
      NEUROAI_FAIL_CAT("cuBLAS error ", cublasGetStatusName(st_), " (", cublasGetStatusString(st_), ") in ", #call);                                                      \
  } while (0)

#define NEUROAI_CUSPARSE_CHECK(call)                                                                   \
  do {                                                                                                 \
    cusparseStatus_t st_ = (call);                                                                     \
    if (st_ != CUSPARSE_STATUS_SUCCESS)                                                                \
      NEUROAI_FAIL_CAT("cuSPARSE error ", int(st_), " (", cusparseGetErrorString(st_), ") in ", #call);                                                      \
  } while (0)

// After a <<<>>> launch or a launch_<op>() call: checks the launch, and synchronizes in debug mode.
#define NEUROAI_CUDA_LAUNCH_CHECK(stream)                                                              \
  do {                                                                                                 \
    NEUROAI_CUDA_CHECK(cudaGetLastError());                                                            \
    if (::neuroai::cuda::sync_debug()) NEUROAI_CUDA_CHECK(cudaStreamSynchronize(stream));              \
  } while (0)
