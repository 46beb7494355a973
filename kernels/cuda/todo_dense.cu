// Placeholders for the dense ops until their implementations land; delete each as it is written.
#include "kernels/cuda/cuda_backend.h"
#include "kernels/error.h"

namespace neuroai::cuda {

void CudaBackend::gemm_impl(bool trans_a, bool trans_b, float alpha, ConstDenseView a, ConstDenseView b, float beta, DenseView c) { NEUROAI_FAIL_CAT("cuda backend: gemm is not implemented yet"); }
void CudaBackend::masked_linear_forward_impl(ConstDenseView x, ConstDenseView w, const uint8_t* mask, const float* bias, DenseView y) { NEUROAI_FAIL_CAT("cuda backend: masked_linear_forward is not implemented yet"); }
void CudaBackend::masked_linear_backward_impl(ConstDenseView x, ConstDenseView w, const uint8_t* mask, ConstDenseView dy, DenseView dx, DenseView dw, float* db, bool accumulate) { NEUROAI_FAIL_CAT("cuda backend: masked_linear_backward is not implemented yet"); }
void CudaBackend::bias_add_impl(DenseView y, const float* bias) { NEUROAI_FAIL_CAT("cuda backend: bias_add is not implemented yet"); }
void CudaBackend::col_sum_impl(ConstDenseView x, float* out, bool accumulate) { NEUROAI_FAIL_CAT("cuda backend: col_sum is not implemented yet"); }
void CudaBackend::activation_forward_impl(Activation act, const float* x, int64_t n, float* y) { NEUROAI_FAIL_CAT("cuda backend: activation_forward is not implemented yet"); }
void CudaBackend::activation_backward_impl(Activation act, const float* y, const float* dy, int64_t n, float* dx) { NEUROAI_FAIL_CAT("cuda backend: activation_backward is not implemented yet"); }
void CudaBackend::softmax_xent_impl(ConstDenseView logits, const int32_t* labels, float* loss, DenseView dlogits) { NEUROAI_FAIL_CAT("cuda backend: softmax_xent is not implemented yet"); }
void CudaBackend::argmax_rows_impl(ConstDenseView logits, int32_t* out) { NEUROAI_FAIL_CAT("cuda backend: argmax_rows is not implemented yet"); }
void CudaBackend::reduce_impl(Reduction r, const float* x, int64_t n, float* out) { NEUROAI_FAIL_CAT("cuda backend: reduce is not implemented yet"); }
void CudaBackend::axpy_impl(int64_t n, float alpha, const float* x, float* y) { NEUROAI_FAIL_CAT("cuda backend: axpy is not implemented yet"); }
void CudaBackend::scale_impl(int64_t n, float alpha, float* x) { NEUROAI_FAIL_CAT("cuda backend: scale is not implemented yet"); }
void CudaBackend::fill_impl(int64_t n, float value, float* x) { NEUROAI_FAIL_CAT("cuda backend: fill is not implemented yet"); }
void CudaBackend::apply_mask_impl(int64_t n, const uint8_t* mask, float* x) { NEUROAI_FAIL_CAT("cuda backend: apply_mask is not implemented yet"); }
void CudaBackend::add_sign_impl(int64_t n, float alpha, const float* x, float* dx) { NEUROAI_FAIL_CAT("cuda backend: add_sign is not implemented yet"); }
void CudaBackend::sgd_step_impl(const SgdParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w, float* momentum) { NEUROAI_FAIL_CAT("cuda backend: sgd_step is not implemented yet"); }
void CudaBackend::adam_step_impl(const AdamParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w, float* m, float* v) { NEUROAI_FAIL_CAT("cuda backend: adam_step is not implemented yet"); }

}  // namespace neuroai::cuda
