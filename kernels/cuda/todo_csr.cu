// Placeholders for the csr ops until their implementations land; delete each as it is written.
#include "kernels/cuda/cuda_backend.h"
#include "kernels/error.h"

namespace neuroai::cuda {

void CudaBackend::validate_csr_impl(ConstCsrView a, const char* what) { NEUROAI_FAIL_CAT("cuda backend: validate_csr is not implemented yet"); }
void CudaBackend::spmm_csr_impl(ConstCsrView a, ConstDenseView x, const float* bias, DenseView y, bool accumulate) { NEUROAI_FAIL_CAT("cuda backend: spmm_csr is not implemented yet"); }
void CudaBackend::sddmm_csr_impl(ConstCsrView pattern, ConstDenseView dy, ConstDenseView x, float* out_values, bool accumulate) { NEUROAI_FAIL_CAT("cuda backend: sddmm_csr is not implemented yet"); }
int64_t CudaBackend::dense_to_csr_count_impl(ConstDenseView w, const uint8_t* mask, int32_t* indptr) { NEUROAI_FAIL_CAT("cuda backend: dense_to_csr_count is not implemented yet"); }
void CudaBackend::dense_to_csr_fill_impl(ConstDenseView w, const uint8_t* mask, CsrView out) { NEUROAI_FAIL_CAT("cuda backend: dense_to_csr_fill is not implemented yet"); }
void CudaBackend::csr_to_dense_impl(ConstCsrView a, DenseView out) { NEUROAI_FAIL_CAT("cuda backend: csr_to_dense is not implemented yet"); }
void CudaBackend::csr_transpose_impl(ConstCsrView a, CsrView at, int32_t* perm) { NEUROAI_FAIL_CAT("cuda backend: csr_transpose is not implemented yet"); }
void CudaBackend::gather_impl(const float* src, const int32_t* idx, int64_t n, float* dst) { NEUROAI_FAIL_CAT("cuda backend: gather is not implemented yet"); }
int64_t CudaBackend::scan_flags_impl(const uint8_t* keep, int64_t n, int32_t* pos) { NEUROAI_FAIL_CAT("cuda backend: scan_flags is not implemented yet"); }
void CudaBackend::compact_f32_impl(const float* src, const uint8_t* keep, const int32_t* pos, int64_t n, float* dst) { NEUROAI_FAIL_CAT("cuda backend: compact_f32 is not implemented yet"); }
void CudaBackend::compact_i32_impl(const int32_t* src, const uint8_t* keep, const int32_t* pos, int64_t n, int32_t* dst) { NEUROAI_FAIL_CAT("cuda backend: compact_i32 is not implemented yet"); }
void CudaBackend::csr_compact_indptr_impl(const int32_t* indptr, int32_t rows, const int32_t* pos, int32_t* out_indptr) { NEUROAI_FAIL_CAT("cuda backend: csr_compact_indptr is not implemented yet"); }

}  // namespace neuroai::cuda
