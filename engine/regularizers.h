// Activity regularizers on a hidden layer's output y (B, N): the IDR terms of SPEC §3.1-3.3 (L1,
// SAUCIE usage entropy, participation ratio) and the TDANN spatial loss of SPEC §5 (d1).
// Each `apply` adds d(loss)/dy to the layer's output gradient and returns the loss value (already
// multiplied by its lambda). The host functions in double are the definitions the tests check
// against finite differences; the backend paths compute the same quantities.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "engine/tensor.h"
#include "kernels/backend.h"

namespace neuroai {

// SPEC §3 (D1): idr = l1 * L1 + entropy * H_usage + pr * PR / N. Zero turns a term off.
struct IdrConfig {
  float l1 = 0.0f;       // SPEC default when on: 1e-4
  float entropy = 0.0f;  // SPEC sweep 1e-3 - 1e-1
  float pr = 0.0f;       // applied to PR / N
  bool any() const { return l1 != 0.0f || entropy != 0.0f || pr != 0.0f; }
};

// SPEC §5 (d1): n_nb neighbourhoods per layer and step, each the units within `radius` of a random
// centre (at most max_units, nearest first); loss = alpha * mean over neighbourhoods of
// 1 - Corr(lowtri r, lowtri 1/(1 + d)).
struct SpatialLossConfig {
  float alpha = 0.0f;  // SPEC default when on: 0.25
  int neighbourhoods = 8;
  float radius = 5.0f;
  int max_units = 256;
  bool on() const { return alpha != 0.0f; }
};

// Loss values of the regularizers (each already multiplied by its lambda / alpha).
struct RegLosses {
  double l1 = 0.0, entropy = 0.0, pr = 0.0, spatial = 0.0;
  double total() const { return l1 + entropy + pr + spatial; }
  RegLosses& operator+=(const RegLosses& o) {
    l1 += o.l1;
    entropy += o.entropy;
    pr += o.pr;
    spatial += o.spatial;
    return *this;
  }
};

// ---- host definitions (double; h is (B, N) row-major; grad, when given, is resized to B * N) ----

// SPEC §3.1 without lambda: (1/B) sum |h|; gradient sign(h) / B.
double l1_activity_host(const double* h, int64_t batch, int64_t units, std::vector<double>* grad);
// SPEC §3.2 without lambda: H = -sum_i p_i log(p_i + 1e-9), p_i = u_i / S, u_i = sum_b h_bi, h >= 0.
// The gradient is exact for the 1e-9 guard (it tends to -(log p_i + H) / S); S < 1e-8 gives 0.
double usage_entropy_host(const double* h, int64_t batch, int64_t units, std::vector<double>* grad);
// SPEC §3.3 participation ratio PR = T_c^2 / Q of the batch-centered activations (not divided by N);
// 0 with a zero gradient when T_c < 1e-8 or B < 2.
double participation_ratio_host(const double* h, int64_t batch, int64_t units, std::vector<double>* grad);

// Units of sheet within radius of (r0, c0), nearest first (ties: lower index), at most max_units.
std::vector<int32_t> neighbourhood_units(Sheet sheet, int32_t r0, int32_t c0, float radius, int max_units);
// The neighbourhoods for one step: random centres drawn from rng.
std::vector<std::vector<int32_t>> sample_neighbourhoods(Sheet sheet, const SpatialLossConfig& c, std::mt19937_64& rng);
// SPEC §5 (d1) without alpha: mean over nbs of 1 - Corr(lowtri r, lowtri D); r_ij is the Pearson
// correlation over the batch with a 1e-8 guard (r = 0 for a constant unit). Neighbourhoods with
// fewer than 3 units are skipped.
double spatial_loss_host(const double* h, int64_t batch, Sheet sheet, const std::vector<std::vector<int32_t>>& nbs,
                         std::vector<double>* grad);

// ---- backend paths ----

// The IDR terms for one layer of N units; buffers sized for batches up to max_batch.
class IdrRegularizer {
public:
  IdrRegularizer(Backend& b, const IdrConfig& c, int64_t max_batch, int64_t units);
  // y (B, N), dy (B, N): dy += d(idr)/dy. Returns the terms' values.
  RegLosses apply(ConstDenseView y, DenseView dy);
  const IdrConfig& config() const { return c_; }

private:
  Backend* b_;
  IdrConfig c_;
  int64_t units_;
  Buffer<float> scalar_;  // (2)
  Buffer<float> colsum_;  // (N)
  Tensor centered_;       // (max_batch, N)
  Tensor gram_;           // (max_batch, max_batch)
};

// The spatial loss for one sheet; activations are downloaded, the gradient computed on the host and
// added to dy with axpy.
class SpatialRegularizer {
public:
  SpatialRegularizer(Backend& b, const SpatialLossConfig& c, Sheet sheet, int64_t max_batch, uint64_t seed);
  RegLosses apply(ConstDenseView y, DenseView dy);
  // The neighbourhood sampler, its only state (saved and restored by --resume).
  std::mt19937_64& rng() { return rng_; }
  const std::mt19937_64& rng() const { return rng_; }

private:
  Backend* b_;
  SpatialLossConfig c_;
  Sheet sheet_;
  std::mt19937_64 rng_;
  Buffer<float> grad_;  // (max_batch, N)
};

}  // namespace neuroai
