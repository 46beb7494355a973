// Placeholders for the dense ops until their implementations land; delete each as it is written.
#include "kernels/cpu/cpu_backend.h"
#include "kernels/error.h"

namespace neuroai::cpu {

void CpuBackend::gemm_impl(bool trans_a, bool trans_b, float alpha, ConstDenseView a, ConstDenseView b, float beta, DenseView c) { NEUROAI_FAIL("cpu backend: gemm is not implemented yet"); }
void CpuBackend::masked_linear_forward_impl(ConstDenseView x, ConstDenseView w, const uint8_t* mask, const float* bias, DenseView y) { NEUROAI_FAIL("cpu backend: masked_linear_forward is not implemented yet"); }
void CpuBackend::masked_linear_backward_impl(ConstDenseView x, ConstDenseView w, const uint8_t* mask, ConstDenseView dy, DenseView dx, DenseView dw, float* db, bool accumulate) { NEUROAI_FAIL("cpu backend: masked_linear_backward is not implemented yet"); }
void CpuBackend::bias_add_impl(DenseView y, const float* bias) { NEUROAI_FAIL("cpu backend: bias_add is not implemented yet"); }
void CpuBackend::col_sum_impl(ConstDenseView x, float* out, bool accumulate) { NEUROAI_FAIL("cpu backend: col_sum is not implemented yet"); }
void CpuBackend::activation_forward_impl(Activation act, const float* x, int64_t n, float* y) { NEUROAI_FAIL("cpu backend: activation_forward is not implemented yet"); }
void CpuBackend::activation_backward_impl(Activation act, const float* y, const float* dy, int64_t n, float* dx) { NEUROAI_FAIL("cpu backend: activation_backward is not implemented yet"); }
void CpuBackend::softmax_xent_impl(ConstDenseView logits, const int32_t* labels, float* loss, DenseView dlogits) { NEUROAI_FAIL("cpu backend: softmax_xent is not implemented yet"); }
void CpuBackend::argmax_rows_impl(ConstDenseView logits, int32_t* out) { NEUROAI_FAIL("cpu backend: argmax_rows is not implemented yet"); }
void CpuBackend::reduce_impl(Reduction r, const float* x, int64_t n, float* out) { NEUROAI_FAIL("cpu backend: reduce is not implemented yet"); }
void CpuBackend::axpy_impl(int64_t n, float alpha, const float* x, float* y) { NEUROAI_FAIL("cpu backend: axpy is not implemented yet"); }
void CpuBackend::scale_impl(int64_t n, float alpha, float* x) { NEUROAI_FAIL("cpu backend: scale is not implemented yet"); }
void CpuBackend::fill_impl(int64_t n, float value, float* x) { NEUROAI_FAIL("cpu backend: fill is not implemented yet"); }
void CpuBackend::apply_mask_impl(int64_t n, const uint8_t* mask, float* x) { NEUROAI_FAIL("cpu backend: apply_mask is not implemented yet"); }
void CpuBackend::add_sign_impl(int64_t n, float alpha, const float* x, float* dx) { NEUROAI_FAIL("cpu backend: add_sign is not implemented yet"); }
void CpuBackend::sgd_step_impl(const SgdParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w, float* momentum) { NEUROAI_FAIL("cpu backend: sgd_step is not implemented yet"); }
void CpuBackend::adam_step_impl(const AdamParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w, float* m, float* v) { NEUROAI_FAIL("cpu backend: adam_step is not implemented yet"); }

}  // namespace neuroai::cpu
