#include "engine/optimizer.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "kernels/error.h"

namespace neuroai {

float lr_at(const OptimConfig& cfg, const LrConfig& lr, int64_t step, int64_t total_steps) {
  const int64_t warm = std::llround(double(lr.warmup_frac) * double(total_steps));
  if (warm > 0 && step < warm) return cfg.lr * float(step + 1) / float(warm);
  switch (lr.kind) {
    case LrSchedule::Constant:
      return cfg.lr;
    case LrSchedule::Cosine: {
      const int64_t span = std::max<int64_t>(1, total_steps - warm);
      const double p = std::clamp(double(step - warm) / double(span), 0.0, 1.0);
      return float(double(cfg.lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * p)));
    }
    case LrSchedule::Step:
      if (lr.step_every <= 0) return cfg.lr;
      return float(double(cfg.lr) * std::pow(double(lr.step_gamma), double(step / lr.step_every)));
  }
  return cfg.lr;
}

Param::Param(Backend& b, int64_t n) : b_(&b), n_(n), w_(b, n), g_(b, n) {
  w_.zero();
  g_.zero();
}

void Param::enable_mask() {
  if (!mask_.empty() || n_ == 0) return;
  mask_ = Buffer<uint8_t>(*b_, std::vector<uint8_t>(size_t(n_), 1));
}

void Param::alloc_moments(bool m, bool v) {
  if (m && m_.empty() && n_ > 0) {
    m_ = Buffer<float>(*b_, n_);
    m_.zero();
  }
  if (v && v_.empty() && n_ > 0) {
    v_ = Buffer<float>(*b_, n_);
    v_.zero();
  }
}

void Param::zero_grad() { g_.zero(); }

void Param::zero_moments() {
  m_.zero();
  v_.zero();
}

void Param::apply_mask() {
  if (mask_.empty()) return;
  b_->apply_mask(n_, mask_.data(), w_.data());
  b_->apply_mask(n_, mask_.data(), g_.data());
  if (!m_.empty()) b_->apply_mask(n_, mask_.data(), m_.data());
  if (!v_.empty()) b_->apply_mask(n_, mask_.data(), v_.data());
}

void Param::step(const OptimConfig& cfg, float lr, int64_t t) {
  if (n_ == 0) return;
  if (cfg.kind == OptimKind::Sgd) {
    alloc_moments(true, false);
    SgdParams p;
    p.lr = lr;
    p.momentum = cfg.momentum;
    p.weight_decay = cfg.weight_decay;
    p.nesterov = cfg.nesterov;
    b_->sgd_step(p, n_, g_.data(), mask(), w_.data(), m_.data());
  } else {
    NEUROAI_CHECK(t >= 1, "Param::step: Adam step count t must be >= 1, got {}", t);
    alloc_moments(true, true);
    AdamParams p;
    p.lr = lr;
    p.beta1 = cfg.beta1;
    p.beta2 = cfg.beta2;
    p.eps = cfg.eps;
    p.weight_decay = cfg.weight_decay;
    p.decoupled = cfg.decoupled_wd;
    p.step = t;
    b_->adam_step(p, n_, g_.data(), mask(), w_.data(), m_.data(), v_.data());
  }
}

void Param::compact(const uint8_t* keep, const int32_t* pos, int64_t new_n) {
  NEUROAI_CHECK(mask_.empty(), "Param::compact: a masked parameter cannot be compacted");
  NEUROAI_CHECK(new_n >= 0 && new_n <= n_, "Param::compact: new size {} outside [0, {}]", new_n, n_);
  auto squeeze = [&](Buffer<float>& buf) {
    if (buf.empty()) return;  // moments not allocated yet
    Buffer<float> out(*b_, new_n);
    if (new_n > 0) b_->compact_f32(buf.data(), keep, pos, n_, out.data());
    buf = std::move(out);
  };
  squeeze(w_);
  squeeze(g_);
  squeeze(m_);
  squeeze(v_);
  n_ = new_n;
}

}  // namespace neuroai
