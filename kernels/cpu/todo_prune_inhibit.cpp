// Placeholders for the prune_inhibit ops until their implementations land; delete each as it is written.
#include "kernels/cpu/cpu_backend.h"
#include "kernels/error.h"

namespace neuroai::cpu {

void CpuBackend::prune_smallest_impl(std::span<const PruneTarget> targets, int64_t n_prune) { NEUROAI_FAIL("cpu backend: prune_smallest is not implemented yet"); }
int64_t CpuBackend::count_nonzero_impl(const uint8_t* flags, int64_t n) { NEUROAI_FAIL("cpu backend: count_nonzero is not implemented yet"); }
void CpuBackend::divisive_norm_forward_impl(ConstDenseView h, Sheet sheet, const DivisiveParams& p, DenseView y, DenseView d) { NEUROAI_FAIL("cpu backend: divisive_norm_forward is not implemented yet"); }
void CpuBackend::divisive_norm_backward_impl(ConstDenseView h, ConstDenseView d, ConstDenseView dy, Sheet sheet, const DivisiveParams& p, DenseView dh) { NEUROAI_FAIL("cpu backend: divisive_norm_backward is not implemented yet"); }
void CpuBackend::dog_forward_impl(ConstDenseView h, Sheet sheet, const DogParams& p, DenseView y) { NEUROAI_FAIL("cpu backend: dog_forward is not implemented yet"); }
void CpuBackend::dog_backward_impl(ConstDenseView y, ConstDenseView dy, Sheet sheet, const DogParams& p, DenseView dh) { NEUROAI_FAIL("cpu backend: dog_backward is not implemented yet"); }
void CpuBackend::kwta_forward_impl(ConstDenseView h, Sheet sheet, const KwtaParams& p, DenseView y, uint8_t* winners) { NEUROAI_FAIL("cpu backend: kwta_forward is not implemented yet"); }
void CpuBackend::kwta_backward_impl(const uint8_t* winners, ConstDenseView dy, DenseView dh) { NEUROAI_FAIL("cpu backend: kwta_backward is not implemented yet"); }
void CpuBackend::trace_update_impl(ConstDenseView x, float lambda, float* trace) { NEUROAI_FAIL("cpu backend: trace_update is not implemented yet"); }
void CpuBackend::hebbian_csr_update_impl(ConstCsrView pattern, ConstDenseView post, ConstDenseView pre, float eta, float clip, float* hebb) { NEUROAI_FAIL("cpu backend: hebbian_csr_update is not implemented yet"); }

}  // namespace neuroai::cpu
