#include "engine/schedule.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "kernels/error.h"

namespace neuroai {

namespace {
void check_valid(const GmpSchedule& g) {
  NEUROAI_CHECK(g.dt > 0 && g.n > 0, "GMP schedule: dt = {} and n = {}; expected both > 0", g.dt, g.n);
}
}  // namespace

double GmpSchedule::sparsity_at(int64_t step) const {
  check_valid(*this);
  if (step < t0) return s_i;
  if (step >= end_step()) return s_f;
  int64_t k = (step - t0) / dt;  // index of the last prune step <= step
  if (k == 0) return s_i;        // exactly: s_f + (s_i - s_f) rounds below s_i, breaking monotonicity
  double frac = 1.0 - double(k) / double(n);
  return s_f + (s_i - s_f) * frac * frac * frac;
}

bool GmpSchedule::is_prune_step(int64_t step) const {
  check_valid(*this);
  return step >= t0 && step <= end_step() && (step - t0) % dt == 0;
}

GmpSchedule GmpSchedule::from_fractions(double s_i, double s_f, int64_t total_steps, double start, double end,
                                        int64_t dt) {
  NEUROAI_CHECK(s_i >= 0.0 && s_i < 1.0 && s_f >= 0.0 && s_f < 1.0,
                "GMP schedule: sparsities s_i = {} and s_f = {}; expected both in [0, 1)", s_i, s_f);
  NEUROAI_CHECK(total_steps >= 0, "GMP schedule: total_steps = {}; expected >= 0", total_steps);
  NEUROAI_CHECK(start >= 0.0 && start <= end && end <= 1.0,
                "GMP schedule: start = {} and end = {} fractions of training; expected 0 <= start <= end <= 1", start,
                end);
  NEUROAI_CHECK(dt > 0, "GMP schedule: prune interval dt = {}; expected > 0 steps", dt);
  GmpSchedule g;
  g.s_i = s_i;
  g.s_f = s_f;
  g.t0 = std::llround(start * double(total_steps));
  const int64_t window = std::llround(end * double(total_steps)) - g.t0;
  // An interval longer than the window would put the last prune event after `end` (or after the last
  // step of a short run, which would then never reach s_f): one event at `end` instead.
  g.dt = std::min(dt, std::max<int64_t>(1, window));
  g.n = std::max<int64_t>(1, window / g.dt);
  return g;
}

std::string GmpSchedule::shortened_note(int64_t requested_dt, const char* option, const char* unit) const {
  if (dt >= requested_dt) return {};
  return fmt::format("note: {} {} is longer than the pruning window of this run ({} {}s): pruning every {} {}s, "
                     "the target reached at {} {}",
                     option, requested_dt, end_step() - t0, unit, dt, unit, unit, end_step());
}

}  // namespace neuroai
