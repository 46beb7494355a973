// Per-element SGD and Adam updates shared by the CPU and CUDA backends (PyTorch conventions, see
// SgdParams and AdamParams in kernels/backend.h), so the CPU tests cover what the GPU computes.
// Masked entries (alive == false) have w, m and v set to exactly 0 (SPEC §2.1).
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/backend.h"
#include "kernels/hd.h"

namespace neuroai {

// The per-step scalars of Adam, computed once on the host in double (as PyTorch does in Python).
struct AdamCoeffs {
  float lr = 0;
  float beta1 = 0;
  float beta2 = 0;
  float eps = 0;
  float weight_decay = 0;
  bool decoupled = false;
  float step_size = 0;  // lr / (1 - beta1^t)
  float bc2_sqrt = 0;   // sqrt(1 - beta2^t)
};

inline AdamCoeffs adam_coeffs(const AdamParams& p) {
  AdamCoeffs c;
  c.lr = p.lr;
  c.beta1 = p.beta1;
  c.beta2 = p.beta2;
  c.eps = p.eps;
  c.weight_decay = p.weight_decay;
  c.decoupled = p.decoupled;
  double t = double(p.step);
  c.step_size = float(double(p.lr) / (1.0 - std::pow(double(p.beta1), t)));
  c.bc2_sqrt = float(std::sqrt(1.0 - std::pow(double(p.beta2), t)));
  return c;
}

// One Adam / AdamW update of entry (w, m, v) with gradient g. Written with selects rather than
// branches so the CPU loop vectorizes; the options are loop-invariant.
NEUROAI_HD void adam_update(const AdamCoeffs& c, bool alive, float g, float& w, float& m, float& v) {
  const float wd = c.decoupled ? w * (1.0f - c.lr * c.weight_decay) : w;  // AdamW: decay w first
  const float gd = c.decoupled ? g : g + c.weight_decay * w;             // Adam: L2 term in g
  const float m1 = c.beta1 * m + (1.0f - c.beta1) * gd;
  const float v1 = c.beta2 * v + (1.0f - c.beta2) * gd * gd;
  // PyTorch's order: denom = sqrt(v) / sqrt(bc2) + eps; w -= step_size * m / denom.
  const float denom = sqrtf(v1) / c.bc2_sqrt + c.eps;
  const float w1 = wd - c.step_size * (m1 / denom);
  w = alive ? w1 : 0.0f;
  m = alive ? m1 : 0.0f;
  v = alive ? v1 : 0.0f;
}

// One SGD update with a momentum buffer m (PyTorch, dampening 0).
NEUROAI_HD void sgd_update(const SgdParams& p, bool alive, float g, float& w, float& m) {
  const float gd = g + p.weight_decay * w;
  const float m1 = p.momentum * m + gd;
  const float w1 = w - p.lr * (p.nesterov ? gd + p.momentum * m1 : m1);
  w = alive ? w1 : 0.0f;
  m = alive ? m1 : 0.0f;
}

// One SGD update without a momentum buffer (momentum == 0).
NEUROAI_HD void sgd_update_plain(const SgdParams& p, bool alive, float g, float& w) {
  const float w1 = w - p.lr * (g + p.weight_decay * w);
  w = alive ? w1 : 0.0f;
}

}  // namespace neuroai
