// Per-element arithmetic of the lateral-inhibition ops (SPEC §4.1-4.3) and the trace updates
// (SPEC §7), shared by the CPU and CUDA backends so the CPU tests cover what the GPU computes.
//
// Neighbourhoods are tabulated once per call: the weight of offset (dr, dc) lives at
// table[(dr + er) * (2 ec + 1) + (dc + ec)], er = min(radius, rows - 1), ec = min(radius, cols - 1)
// (offsets that cannot fit on the sheet are never read, so the table stops there). Offsets with
// dr^2 + dc^2 > radius^2 weigh 0. Both backends sum a unit's neighbours in ascending (dr, dc) order.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

#include "kernels/backend.h"
#include "kernels/hd.h"

namespace neuroai {

// ---- neighbourhood tables ----

NEUROAI_HD int inhibition_extent(int32_t radius, int32_t dim) { return radius < dim - 1 ? radius : dim - 1; }

NEUROAI_HD int64_t inhibition_table_size(int32_t radius, Sheet sheet) {
  return int64_t(2 * inhibition_extent(radius, sheet.rows) + 1) * (2 * inhibition_extent(radius, sheet.cols) + 1);
}

NEUROAI_HD bool inhibition_in_radius(int dr, int dc, int32_t radius) {
  return int64_t(dr) * dr + int64_t(dc) * dc <= int64_t(radius) * radius;
}

// Z of SPEC §4.1: the Gaussian summed over the whole disk d <= radius, centre included, as if the
// sheet were unbounded, so units near an edge see a kernel that sums to less than 1 (zero padding).
NEUROAI_HD float gaussian_normalizer(int32_t radius, float sigma) {
  double z = 0;
  const double inv = 1.0 / (2.0 * double(sigma) * sigma);
  for (int dr = -radius; dr <= radius; ++dr)
    for (int dc = -radius; dc <= radius; ++dc)
      if (inhibition_in_radius(dr, dc, radius)) z += exp(-double(dr * dr + dc * dc) * inv);
  return float(z);
}

// K of SPEC §4.1 at offset (dr, dc), given inv_z = 1 / gaussian_normalizer(radius, sigma).
NEUROAI_HD float gaussian_weight(int dr, int dc, const DivisiveParams& p, float inv_z) {
  if (!inhibition_in_radius(dr, dc, p.radius)) return 0.0f;
  return expf(-float(dr * dr + dc * dc) / (2.0f * p.sigma * p.sigma)) * inv_z;
}

// K^DoG of SPEC §4.2 at offset (dr, dc); the centre weighs 0 (the sum runs over j != i).
NEUROAI_HD float dog_weight(int dr, int dc, const DogParams& p) {
  if ((dr == 0 && dc == 0) || !inhibition_in_radius(dr, dc, p.radius)) return 0.0f;
  const float d2 = float(dr * dr + dc * dc);
  return p.a_e * expf(-d2 / (2.0f * p.sigma_e * p.sigma_e)) - p.a_i * expf(-d2 / (2.0f * p.sigma_i * p.sigma_i));
}

// Entry t of the table for a sheet; inv_z as above (unused by DoG).
NEUROAI_HD float gaussian_table_entry(int64_t t, Sheet sheet, const DivisiveParams& p, float inv_z) {
  const int er = inhibition_extent(p.radius, sheet.rows), ec = inhibition_extent(p.radius, sheet.cols);
  const int width = 2 * ec + 1;
  return gaussian_weight(int(t / width) - er, int(t % width) - ec, p, inv_z);
}

NEUROAI_HD float dog_table_entry(int64_t t, Sheet sheet, const DogParams& p) {
  const int er = inhibition_extent(p.radius, sheet.rows), ec = inhibition_extent(p.radius, sheet.cols);
  const int width = 2 * ec + 1;
  return dog_weight(int(t / width) - er, int(t % width) - ec, p);
}

// ---- divisive normalization (SPEC §4.1) ----

// D_i = k + alpha * sum_j K_ij h_j^2, given the neighbourhood sum.
NEUROAI_HD float divisive_denominator(float sum_k_h2, const DivisiveParams& p) { return p.k + p.alpha * sum_k_h2; }

// D^-beta, the factor applied to h (and, in the backward pass, to dy).
NEUROAI_HD float divisive_scale(float d, const DivisiveParams& p) { return powf(d, -p.beta); }

NEUROAI_HD float divisive_output(float h, float scale) { return h * scale; }

// u_i = g_y_i h_i D_i^(-beta-1): what unit i sends back through the denominators of its neighbours.
NEUROAI_HD float divisive_backward_u(float dy, float h, float d, float scale) { return dy * h * scale / d; }

// g_h_m = g_y_m D_m^-beta - 2 alpha beta h_m sum_i K_im u_i, given that sum.
NEUROAI_HD float divisive_backward_dh(float dy, float h, float scale, float sum_k_u, const DivisiveParams& p) {
  return dy * scale - 2.0f * p.alpha * p.beta * h * sum_k_u;
}

// ---- difference of Gaussians (SPEC §4.2) ----

NEUROAI_HD float dog_output(float h, float sum_k_h, const DogParams& p) {
  const float pre = h + p.gamma * sum_k_h;
  return pre <= 0.0f ? 0.0f : pre;  // NaN passes through, as activation_fwd's ReLU
}

// The ReLU gate, read from the forward output.
NEUROAI_HD float dog_gate(float y, float dy) { return y > 0.0f ? dy : 0.0f; }

NEUROAI_HD float dog_backward_dh(float g, float sum_k_g, const DogParams& p) { return g + p.gamma * sum_k_g; }

// ---- local k-WTA (SPEC §4.3) ----

// True when unit a outranks unit b: larger value first, then lower unit index.
NEUROAI_HD bool kwta_beats(float va, int64_t ia, float vb, int64_t ib) { return va > vb || (va == vb && ia < ib); }

// ---- traces (SPEC §7) ----

NEUROAI_HD float trace_ema(float trace, float mean, float lambda) { return lambda * trace + (1.0f - lambda) * mean; }

// H = clip((1 - eta) H + eta * mean_corr, -clip, clip).
NEUROAI_HD float hebbian_update(float h, float mean_corr, float eta, float clip) {
  const float v = (1.0f - eta) * h + eta * mean_corr;
  return v < -clip ? -clip : (v > clip ? clip : v);
}

// ---- pruning keys (SPEC §2.1) ----

// |score| as an unsigned key: non-negative floats order like their bit patterns (NaN above +inf).
NEUROAI_HD uint32_t prune_key(float score) {
#if defined(__CUDA_ARCH__)
  return uint32_t(__float_as_uint(score)) & 0x7fffffffu;
#else
  return std::bit_cast<uint32_t>(score) & 0x7fffffffu;
#endif
}

}  // namespace neuroai
