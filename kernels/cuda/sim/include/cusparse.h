// cuda-sim: cuSPARSE is a benchmark baseline only, so the simulator has its handle calls and no
// routines; a benchmark that needs cuSPARSE runs on a real GPU.
#pragma once

#include "kernels/cuda/sim/include/cuda_runtime.h"

namespace neuroai::cudasim {

struct cusparseContext;
using cusparseHandle_t = cusparseContext*;
enum cusparseStatus_t {
  CUSPARSE_STATUS_SUCCESS = 0,
  CUSPARSE_STATUS_NOT_INITIALIZED = 1,
  CUSPARSE_STATUS_INVALID_VALUE = 3,
};
cusparseStatus_t cusparseCreate(cusparseHandle_t* handle);
cusparseStatus_t cusparseDestroy(cusparseHandle_t handle);
cusparseStatus_t cusparseSetStream(cusparseHandle_t handle, cudaStream_t stream);
const char* cusparseGetErrorString(cusparseStatus_t status);

}  // namespace neuroai::cudasim
