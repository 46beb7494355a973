// SGD and Adam on the CPU. The per-entry math is optim_math.h's (shared with CUDA); the loops here
// only make it vectorize: the update is computed as if alive and a mask then selects it or 0 with
// a bitwise AND (a branch-free select: the compiler turned `alive ? w1 : 0` on three outputs into
// a branch and a scalar loop, which made Adam a third of a dense MLP step). With AVX-512 the same
// loop is compiled a second time for 16-lane vectors (sqrt and divide dominate Adam).
#include <bit>
#include <cstdint>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/simd_dispatch.h"
#include "kernels/optim_math.h"

namespace neuroai::cpu {
namespace {

constexpr int64_t kParallelMin = int64_t(1) << 15;

// x when keep is all ones, +0.0f when keep is 0.
inline float select_bits(uint32_t keep, float x) { return std::bit_cast<float>(std::bit_cast<uint32_t>(x) & keep); }

// All ones when entry i is alive.
template <bool Masked>
inline uint32_t keep_bits(const uint8_t* mask, int64_t i) {
  if constexpr (Masked) {
    return 0u - uint32_t(mask[i] != 0);
  } else {
    return ~0u;
  }
}

// Parameters are private copies (by value, firstprivate): a shared or referenced struct could alias
// the float stores, which forces reloads and keeps the loop from vectorizing. Nesterov is a
// template constant for the same reason as AdamW below.
template <bool Masked, bool Nesterov>
void sgd_loop(const SgdParams p, int64_t n, const float* grad, const uint8_t* mask, float* w, float* momentum) {
  if (momentum) {
#pragma omp parallel for simd firstprivate(p) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      SgdParams pp = p;
      pp.nesterov = Nesterov;
      float wi = w[i], mi = momentum[i];
      sgd_update(pp, true, grad[i], wi, mi);
      const uint32_t keep = keep_bits<Masked>(mask, i);
      w[i] = select_bits(keep, wi);
      momentum[i] = select_bits(keep, mi);
    }
  } else {
#pragma omp parallel for simd firstprivate(p) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      float wi = w[i];
      sgd_update_plain(p, true, grad[i], wi);
      w[i] = select_bits(keep_bits<Masked>(mask, i), wi);
    }
  }
}

template <bool Masked>
void sgd_dispatch(const SgdParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w, float* momentum) {
  if (p.nesterov) {
    sgd_loop<Masked, true>(p, n, grad, mask, w, momentum);
  } else {
    sgd_loop<Masked, false>(p, n, grad, mask, w, momentum);
  }
}

// Entry i of an Adam step. The option is a template constant: GCC unswitches the loop on
// c.decoupled and then vectorized only the AdamW copy.
template <bool Masked, bool Decoupled>
inline void adam_entry(const AdamCoeffs& c, int64_t i, const float* grad, const uint8_t* mask, float* w, float* m,
                       float* v) {
  AdamCoeffs cc = c;
  cc.decoupled = Decoupled;
  float wi = w[i], mi = m[i], vi = v[i];
  adam_update(cc, true, grad[i], wi, mi, vi);
  const uint32_t keep = keep_bits<Masked>(mask, i);
  w[i] = select_bits(keep, wi);
  m[i] = select_bits(keep, mi);
  v[i] = select_bits(keep, vi);
}

// The loop is written out in each variant: OpenMP outlines a parallel region in the function that
// holds it, so a shared inline helper would be compiled for the default target only.
template <bool Masked, bool Decoupled>
void adam_loop(const AdamCoeffs c, int64_t n, const float* grad, const uint8_t* mask, float* w, float* m, float* v) {
#pragma omp parallel for simd firstprivate(c) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) adam_entry<Masked, Decoupled>(c, i, grad, mask, w, m, v);
}

#if defined(__x86_64__) && defined(__GNUC__)
template <bool Masked, bool Decoupled>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,prefer-vector-width=512"))) void adam_loop_avx512(
    const AdamCoeffs c, int64_t n, const float* grad, const uint8_t* mask, float* w, float* m, float* v) {
#pragma omp parallel for simd firstprivate(c) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) adam_entry<Masked, Decoupled>(c, i, grad, mask, w, m, v);
}
#endif

template <bool Masked, bool Decoupled>
void adam_dispatch(const AdamCoeffs c, int64_t n, const float* grad, const uint8_t* mask, float* w, float* m,
                   float* v) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (cpu_has_avx512()) {
    adam_loop_avx512<Masked, Decoupled>(c, n, grad, mask, w, m, v);
    return;
  }
#endif
  adam_loop<Masked, Decoupled>(c, n, grad, mask, w, m, v);
}

template <bool Masked>
void adam_dispatch(const AdamCoeffs c, int64_t n, const float* grad, const uint8_t* mask, float* w, float* m,
                   float* v) {
  if (c.decoupled) {
    adam_dispatch<Masked, true>(c, n, grad, mask, w, m, v);
  } else {
    adam_dispatch<Masked, false>(c, n, grad, mask, w, m, v);
  }
}

}  // namespace

void CpuBackend::sgd_step_impl(const SgdParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w,
                               float* momentum) {
  if (mask) {
    sgd_dispatch<true>(p, n, grad, mask, w, momentum);
  } else {
    sgd_dispatch<false>(p, n, grad, mask, w, momentum);
  }
}

void CpuBackend::adam_step_impl(const AdamParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w,
                                float* m, float* v) {
  const AdamCoeffs c = adam_coeffs(p);
  if (mask) {
    adam_dispatch<true>(c, n, grad, mask, w, m, v);
  } else {
    adam_dispatch<false>(c, n, grad, mask, w, m, v);
  }
}

}  // namespace neuroai::cpu
