#include "kernels/cpu/cpu_backend.h"
#include "kernels/optim_math.h"

namespace neuroai::cpu {
namespace {

constexpr int64_t kParallelMin = int64_t(1) << 15;

// One loop per (mask given?) so that neither the loop body nor the mask test branches.
// Parameters are private copies (by value, firstprivate): a shared or referenced struct could alias
// the float stores, which forces reloads and keeps the loop from vectorizing.
template <bool Masked>
void sgd_loop(const SgdParams p, int64_t n, const float* grad, const uint8_t* mask, float* w, float* momentum) {
  if (momentum) {
#pragma omp parallel for simd firstprivate(p) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) sgd_update(p, !Masked || mask[i] != 0, grad[i], w[i], momentum[i]);
  } else {
#pragma omp parallel for simd firstprivate(p) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) sgd_update_plain(p, !Masked || mask[i] != 0, grad[i], w[i]);
  }
}

template <bool Masked>
void adam_loop(const AdamCoeffs c, int64_t n, const float* grad, const uint8_t* mask, float* w, float* m, float* v) {
#pragma omp parallel for simd firstprivate(c) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) adam_update(c, !Masked || mask[i] != 0, grad[i], w[i], m[i], v[i]);
}

}  // namespace

void CpuBackend::sgd_step_impl(const SgdParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w,
                               float* momentum) {
  if (mask) {
    sgd_loop<true>(p, n, grad, mask, w, momentum);
  } else {
    sgd_loop<false>(p, n, grad, mask, w, momentum);
  }
}

void CpuBackend::adam_step_impl(const AdamParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w,
                                float* m, float* v) {
  const AdamCoeffs c = adam_coeffs(p);
  if (mask) {
    adam_loop<true>(c, n, grad, mask, w, m, v);
  } else {
    adam_loop<false>(c, n, grad, mask, w, m, v);
  }
}

}  // namespace neuroai::cpu
