// Per-element arithmetic of the recurrent cells (SPEC §6.1) with the phase gate (SPEC §6.2), shared by
// the CPU and CUDA backends so the CPU tests cover what the GPU computes.
//
// GRU in the PyTorch/cuDNN form, gate order (r, z, n):
//   r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n), h_cell = (1 - z) ⊙ n + z ⊙ h,
// leaky RNN: h~ = tanh(gi + gh), h_cell = h + α (h~ - h),
// and the phase gate on either cell: h' = m ⊙ h_cell + (1 - m) ⊙ h.
#pragma once

#include <math.h>

#include "kernels/fast_math.h"
#include "kernels/hd.h"

namespace neuroai::rnn_math {

NEUROAI_HD float sigmoid(float x) { return fast::sigmoid(x); }

// Phase gate of a unit at step t (SPEC §6.2): m = 1 - κ (1 - cos(ω t + φ)) / 2.
NEUROAI_HD float phase_gate(float kappa, float omega, float phi, float t) {
  return 1.0f - kappa * (1.0f - cosf(omega * t + phi)) * 0.5f;
}

// One GRU unit forward. Writes the gates r, z, n and returns h'.
NEUROAI_HD float gru_forward(float gir, float giz, float gin, float ghr, float ghz, float ghn, float hp, float m,
                             float* r, float* z, float* n) {
  const float rr = sigmoid(gir + ghr);
  const float zz = sigmoid(giz + ghz);
  const float nn = fast::tanh(gin + rr * ghn);
  *r = rr;
  *z = zz;
  *n = nn;
  const float cell = (1.0f - zz) * nn + zz * hp;
  return m * cell + (1.0f - m) * hp;
}

// Gradients of one GRU unit from dh = dL/dh'. gh_r and gh_z receive the same gradient as gi_r and gi_z;
// gh_n receives dgin * r. dhp is the direct path only (not through W_hh).
struct GruGrads {
  float dr, dz, dn_in, dn_h, dhp;  // dL/d(gi_r + gh_r), dL/d(gi_z + gh_z), dL/d gi_n, dL/d gh_n, direct dL/dh
};

NEUROAI_HD GruGrads gru_backward(float dh, float hp, float r, float z, float n, float ghn, float m) {
  const float dcell = m * dh;
  const float dn = dcell * (1.0f - z);
  const float dz = dcell * (hp - n);
  const float dan = dn * (1.0f - n * n);
  const float dr = dan * ghn;
  GruGrads g;
  g.dr = dr * r * (1.0f - r);
  g.dz = dz * z * (1.0f - z);
  g.dn_in = dan;
  g.dn_h = dan * r;
  g.dhp = (1.0f - m) * dh + dcell * z;
  return g;
}

// One leaky-RNN unit forward with the effective step a = m α; *ht receives h~. Returns h'.
NEUROAI_HD float rnn_forward(float pre, float hp, float a, float* ht) {
  const float t = fast::tanh(pre);
  *ht = t;
  return hp + a * (t - hp);
}

// dL/d pre and the direct dL/dh of one leaky-RNN unit from dh = dL/dh'.
NEUROAI_HD float rnn_backward_pre(float dh, float ht, float a) { return dh * a * (1.0f - ht * ht); }
NEUROAI_HD float rnn_backward_hp(float dh, float a) { return dh * (1.0f - a); }

}  // namespace neuroai::rnn_math
