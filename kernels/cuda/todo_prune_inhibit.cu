// Placeholders for the prune_inhibit ops until their implementations land; delete each as it is written.
#include "kernels/cuda/cuda_backend.h"
#include "kernels/error.h"

namespace neuroai::cuda {

void CudaBackend::prune_smallest_impl(std::span<const PruneTarget> targets, int64_t n_prune) { NEUROAI_FAIL_CAT("cuda backend: prune_smallest is not implemented yet"); }
int64_t CudaBackend::count_nonzero_impl(const uint8_t* flags, int64_t n) { NEUROAI_FAIL_CAT("cuda backend: count_nonzero is not implemented yet"); }
void CudaBackend::divisive_norm_forward_impl(ConstDenseView h, Sheet sheet, const DivisiveParams& p, DenseView y, DenseView d) { NEUROAI_FAIL_CAT("cuda backend: divisive_norm_forward is not implemented yet"); }
void CudaBackend::divisive_norm_backward_impl(ConstDenseView h, ConstDenseView d, ConstDenseView dy, Sheet sheet, const DivisiveParams& p, DenseView dh) { NEUROAI_FAIL_CAT("cuda backend: divisive_norm_backward is not implemented yet"); }
void CudaBackend::dog_forward_impl(ConstDenseView h, Sheet sheet, const DogParams& p, DenseView y) { NEUROAI_FAIL_CAT("cuda backend: dog_forward is not implemented yet"); }
void CudaBackend::dog_backward_impl(ConstDenseView y, ConstDenseView dy, Sheet sheet, const DogParams& p, DenseView dh) { NEUROAI_FAIL_CAT("cuda backend: dog_backward is not implemented yet"); }
void CudaBackend::kwta_forward_impl(ConstDenseView h, Sheet sheet, const KwtaParams& p, DenseView y, uint8_t* winners) { NEUROAI_FAIL_CAT("cuda backend: kwta_forward is not implemented yet"); }
void CudaBackend::kwta_backward_impl(const uint8_t* winners, ConstDenseView dy, DenseView dh) { NEUROAI_FAIL_CAT("cuda backend: kwta_backward is not implemented yet"); }
void CudaBackend::trace_update_impl(ConstDenseView x, float lambda, float* trace) { NEUROAI_FAIL_CAT("cuda backend: trace_update is not implemented yet"); }
void CudaBackend::hebbian_csr_update_impl(ConstCsrView pattern, ConstDenseView post, ConstDenseView pre, float eta, float clip, float* hebb) { NEUROAI_FAIL_CAT("cuda backend: hebbian_csr_update is not implemented yet"); }

}  // namespace neuroai::cuda
