// Placeholders for the csr ops until their implementations land; delete each as it is written.
#include "kernels/cpu/cpu_backend.h"
#include "kernels/error.h"

namespace neuroai::cpu {

void CpuBackend::validate_csr_impl(ConstCsrView a, const char* what) { NEUROAI_FAIL("cpu backend: validate_csr is not implemented yet"); }
void CpuBackend::spmm_csr_impl(ConstCsrView a, ConstDenseView x, const float* bias, DenseView y, bool accumulate) { NEUROAI_FAIL("cpu backend: spmm_csr is not implemented yet"); }
void CpuBackend::sddmm_csr_impl(ConstCsrView pattern, ConstDenseView dy, ConstDenseView x, float* out_values, bool accumulate) { NEUROAI_FAIL("cpu backend: sddmm_csr is not implemented yet"); }
int64_t CpuBackend::dense_to_csr_count_impl(ConstDenseView w, const uint8_t* mask, int32_t* indptr) { NEUROAI_FAIL("cpu backend: dense_to_csr_count is not implemented yet"); }
void CpuBackend::dense_to_csr_fill_impl(ConstDenseView w, const uint8_t* mask, CsrView out) { NEUROAI_FAIL("cpu backend: dense_to_csr_fill is not implemented yet"); }
void CpuBackend::csr_to_dense_impl(ConstCsrView a, DenseView out) { NEUROAI_FAIL("cpu backend: csr_to_dense is not implemented yet"); }
void CpuBackend::csr_transpose_impl(ConstCsrView a, CsrView at, int32_t* perm) { NEUROAI_FAIL("cpu backend: csr_transpose is not implemented yet"); }
void CpuBackend::gather_impl(const float* src, const int32_t* idx, int64_t n, float* dst) { NEUROAI_FAIL("cpu backend: gather is not implemented yet"); }
int64_t CpuBackend::scan_flags_impl(const uint8_t* keep, int64_t n, int32_t* pos) { NEUROAI_FAIL("cpu backend: scan_flags is not implemented yet"); }
void CpuBackend::compact_f32_impl(const float* src, const uint8_t* keep, const int32_t* pos, int64_t n, float* dst) { NEUROAI_FAIL("cpu backend: compact_f32 is not implemented yet"); }
void CpuBackend::compact_i32_impl(const int32_t* src, const uint8_t* keep, const int32_t* pos, int64_t n, int32_t* dst) { NEUROAI_FAIL("cpu backend: compact_i32 is not implemented yet"); }
void CpuBackend::csr_compact_indptr_impl(const int32_t* indptr, int32_t rows, const int32_t* pos, int32_t* out_indptr) { NEUROAI_FAIL("cpu backend: csr_compact_indptr is not implemented yet"); }

}  // namespace neuroai::cpu
