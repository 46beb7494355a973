// Optimizer configuration, learning-rate schedules, and Param: a flat fp32 parameter that owns its
// gradient and optimizer moments on the backend, so pruning can mask or compact all of them together.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tensor.h"
#include "kernels/backend.h"

namespace neuroai {

enum class OptimKind { Sgd, Adam };

struct OptimConfig {
  OptimKind kind = OptimKind::Adam;
  float lr = 1e-3f;  // base LR; the schedule multiplies it
  float momentum = 0.9f;  // SGD
  bool nesterov = false;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float weight_decay = 0.0f;
  bool decoupled_wd = false;  // AdamW
};

enum class LrSchedule { Constant, Cosine, Step };

struct LrConfig {
  LrSchedule kind = LrSchedule::Cosine;
  int64_t step_every = 0;  // Step: multiply by step_gamma every step_every steps (0 = never)
  float step_gamma = 0.1f;
  float warmup_frac = 0.0f;  // linear warm-up over this fraction of total_steps (all kinds)
};

// Learning rate at 0-based step `step` of `total_steps`: linear warm-up lr * (step + 1) / W over the first
// W = round(warmup_frac * total_steps) steps, then Constant: lr; Cosine: lr * (1 + cos(pi * p)) / 2 with
// p = (step - W) / (total_steps - W) clamped to [0, 1]; Step: lr * gamma^floor(step / step_every).
float lr_at(const OptimConfig& cfg, const LrConfig& lr, int64_t step, int64_t total_steps);

// A flat fp32 parameter on a backend: weights w (n), gradient g (n), optimizer moments m, v (n; allocated
// at the first step that needs them: SGD momentum uses m, Adam uses m and v) and an optional mask (n;
// 1 = alive). Where the mask is 0, w, g, m and v are kept exactly 0.
class Param {
public:
  Param() = default;
  // w and g zeroed, no mask, no moments.
  Param(Backend& b, int64_t n);
  Param(Param&&) noexcept = default;
  Param& operator=(Param&&) noexcept = default;

  int64_t size() const { return n_; }
  Backend& backend() const { return *b_; }

  float* w() { return w_.data(); }
  const float* w() const { return w_.data(); }
  float* g() { return g_.data(); }
  const float* g() const { return g_.data(); }
  // Null when there is no mask.
  uint8_t* mask() { return mask_.empty() ? nullptr : mask_.data(); }
  const uint8_t* mask() const { return mask_.empty() ? nullptr : mask_.data(); }
  // Null until allocated.
  float* m() { return m_.empty() ? nullptr : m_.data(); }
  const float* m() const { return m_.empty() ? nullptr : m_.data(); }
  float* v() { return v_.empty() ? nullptr : v_.data(); }
  const float* v() const { return v_.empty() ? nullptr : v_.data(); }

  // Adds an all-alive mask (no-op when there is one).
  void enable_mask();
  // Allocates (zeroed) the moments that are missing among those requested.
  void alloc_moments(bool m, bool v);
  void zero_grad();
  void zero_moments();
  // Zeroes w, g, m and v where the mask is 0 (after the mask changed).
  void apply_mask();
  // One optimizer step (sgd_step / adam_step ops) with the mask; t = 1-based step count (Adam bias
  // correction).
  void step(const OptimConfig& cfg, float lr, int64_t t);
  // Keeps the entries with keep[k] != 0, stably: w, g and the moments become new_n long with
  // entry pos[k] = old entry k (pos from scan_flags). Only for parameters without a mask.
  void compact(const uint8_t* keep, const int32_t* pos, int64_t new_n);

  std::vector<float> w_host() const { return w_.to_host(); }
  void set_w_host(const std::vector<float>& w) { w_.upload(w); }

private:
  Backend* b_ = nullptr;
  int64_t n_ = 0;
  Buffer<float> w_;       // (n)
  Buffer<float> g_;       // (n)
  Buffer<float> m_;       // (n) or empty: SGD momentum / Adam first moment
  Buffer<float> v_;       // (n) or empty: Adam second moment
  Buffer<uint8_t> mask_;  // (n) or empty
};

}  // namespace neuroai
