// Per-element arithmetic of the GNN edge ops (SPEC §8), shared by the CPU and CUDA backends so the
// CPU tests cover what the GPU computes.
#pragma once

#include <math.h>

#include "kernels/fast_math.h"
#include "kernels/hd.h"

namespace neuroai {

constexpr float kGnnEps = 1e-8f;

NEUROAI_HD float gnn_sigmoid(float x) { return fast::sigmoid(x); }

// The Hebbian edge rule's values for one pair, given the pair's trace dot product, the two nodes'
// trace norms and the mean norm. rule = (theta_eta, A, B, D), eta = sigmoid(theta_eta).
struct HebbEdge {
  float cos;     // cos(x_u, x_v)
  float ssum;    // s_u + s_v
  float hb_new;  // clip((1 - eta) hb_old + eta (A cos + B ssum + D), -1, 1)
  float a;       // sigmoid(w + alpha hb_new)
};

NEUROAI_HD HebbEdge hebb_edge_forward(float dot, float norm_u, float norm_v, float mean_norm, const float* rule,
                                      float w, float alpha, float hb_old) {
  HebbEdge e;
  e.cos = dot / (norm_u * norm_v + kGnnEps);
  e.ssum = (norm_u + norm_v) / (mean_norm + kGnnEps);
  const float eta = gnn_sigmoid(rule[0]);
  const float pre = (1.0f - eta) * hb_old + eta * (rule[1] * e.cos + rule[2] * e.ssum + rule[3]);
  e.hb_new = fminf(1.0f, fmaxf(-1.0f, pre));
  e.a = gnn_sigmoid(w + alpha * e.hb_new);
  return e;
}

// Gradients of one pair from ga = dL/da. The clip passes the gradient only strictly inside (-1, 1).
// grule[0..3] = d/d(theta_eta, A, B, D).
NEUROAI_HD void hebb_edge_backward(float ga, float a, float alpha, float hb_old, float hb_new, float cos, float ssum,
                                   const float* rule, float* gw, float* galpha, float* grule) {
  const float dz = ga * a * (1.0f - a);
  *gw = dz;
  *galpha = dz * hb_new;
  const float dhb = (hb_new > -1.0f && hb_new < 1.0f) ? dz * alpha : 0.0f;
  const float eta = gnn_sigmoid(rule[0]);
  const float target = rule[1] * cos + rule[2] * ssum + rule[3];
  grule[0] = dhb * (target - hb_old) * eta * (1.0f - eta);
  grule[1] = dhb * eta * cos;
  grule[2] = dhb * eta * ssum;
  grule[3] = dhb * eta;
}

}  // namespace neuroai
