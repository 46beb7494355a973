// Gradual magnitude pruning schedule, cubic (Zhu & Gupta 2017; SPEC §2.3).
#pragma once

#include <cstdint>
#include <string>

namespace neuroai {

// s_t = s_f + (s_i - s_f) (1 - (t - t0) / (n dt))^3 on the prune steps t in {t0, t0 + dt, ..., t0 + n dt}.
struct GmpSchedule {
  double s_i = 0.0, s_f = 0.9;
  int64_t t0 = 0, dt = 100, n = 1;

  // s_i before t0; s_f from t0 + n dt on; between prune steps, the value of the last prune step <= step
  // (masks change only on prune steps).
  double sparsity_at(int64_t step) const;
  // step in {t0, t0 + dt, ..., t0 + n dt}.
  bool is_prune_step(int64_t step) const;
  // The step after which the sparsity no longer changes: t0 + n dt.
  int64_t end_step() const { return t0 + n * dt; }
  // From total steps and fractions: t0 = round(start * total), end = round(end * total),
  // dt = min(dt, max(1, end - t0)), n = max(1, (end - t0) / dt): the last event is never after `end`.
  static GmpSchedule from_fractions(double s_i, double s_f, int64_t total_steps, double start, double end, int64_t dt);
  // For the run's log: a note when from_fractions shortened the requested interval (a run too short for
  // it), naming the option; empty otherwise. unit: "step" or "epoch".
  std::string shortened_note(int64_t requested_dt, const char* option, const char* unit) const;
};

}  // namespace neuroai
