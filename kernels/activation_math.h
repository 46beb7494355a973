// Per-element activations and their derivatives, shared by the CPU and CUDA backends. The backward
// is written in terms of the forward output y (so the forward input need not be kept).
#pragma once

#include <cmath>

#include "kernels/backend.h"
#include "kernels/fast_math.h"
#include "kernels/hd.h"

namespace neuroai {

template <Activation A>
NEUROAI_HD float activation_fwd(float x) {
  if constexpr (A == Activation::Relu) {
    // NaN passes through, as in PyTorch (x > 0 ? x : 0 would turn it into 0 and hide a divergence).
    return x <= 0.0f ? 0.0f : x;
  } else if constexpr (A == Activation::Tanh) {
    return fast::tanh(x);
  } else if constexpr (A == Activation::Sigmoid) {
    return fast::sigmoid(x);
  } else {
    return x;
  }
}

// dx = dy * f'(x), with f'(x) expressed through y = f(x). ReLU's gate is y > 0, as PyTorch's
// threshold_backward: a NaN output passes no gradient, a NaN gradient passes where y > 0.
template <Activation A>
NEUROAI_HD float activation_bwd(float y, float dy) {
  if constexpr (A == Activation::Relu) {
    return y > 0.0f ? dy : 0.0f;
  } else if constexpr (A == Activation::Tanh) {
    return dy * (1.0f - y * y);
  } else if constexpr (A == Activation::Sigmoid) {
    return dy * y * (1.0f - y);
  } else {
    return dy;
  }
}

}  // namespace neuroai
