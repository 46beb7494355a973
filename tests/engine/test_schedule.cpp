// The cubic GMP schedule (SPEC §2.3): end points, monotonicity, front-loaded increments, prune steps.
#include <cmath>

#include <gtest/gtest.h>

#include "engine/schedule.h"
#include "kernels/error.h"

namespace neuroai {
namespace {

GmpSchedule example() {
  GmpSchedule g;
  g.s_i = 0.1;
  g.s_f = 0.9;
  g.t0 = 500;
  g.dt = 100;
  g.n = 10;
  return g;
}

TEST(GmpSchedule, EndPoints) {
  GmpSchedule g = example();
  EXPECT_DOUBLE_EQ(g.sparsity_at(0), 0.1);
  EXPECT_DOUBLE_EQ(g.sparsity_at(499), 0.1);
  EXPECT_EQ(g.sparsity_at(500), 0.1);  // s_{t0} = s_i, exactly
  EXPECT_EQ(g.sparsity_at(1500), 0.9);  // s_{t0 + n dt} = s_f, exactly
  EXPECT_DOUBLE_EQ(g.sparsity_at(1000000), 0.9);
  EXPECT_EQ(g.end_step(), 1500);
}

TEST(GmpSchedule, CubicValuesOnPruneStepsConstantBetween) {
  GmpSchedule g = example();
  // k = 3 prune steps in: s = 0.9 + (0.1 - 0.9) (1 - 3/10)^3.
  double s3 = 0.9 - 0.8 * 0.7 * 0.7 * 0.7;
  EXPECT_NEAR(g.sparsity_at(800), s3, 1e-15);
  EXPECT_NEAR(g.sparsity_at(850), s3, 1e-15);
  EXPECT_NEAR(g.sparsity_at(899), s3, 1e-15);
  EXPECT_GT(g.sparsity_at(900), s3);
}

TEST(GmpSchedule, MonotoneWithLargestIncrementsFirst) {
  GmpSchedule g = example();
  double prev = g.sparsity_at(0), prev_inc = INFINITY;
  for (int64_t t = 1; t <= 2000; ++t) EXPECT_GE(g.sparsity_at(t), g.sparsity_at(t - 1)) << t;
  for (int64_t k = 1; k <= g.n; ++k) {
    double s = g.sparsity_at(g.t0 + k * g.dt);
    double inc = s - prev;
    EXPECT_GT(inc, 0.0);
    EXPECT_LT(inc, prev_inc) << "increments shrink: step " << k;
    prev = s;
    prev_inc = inc;
  }
}

TEST(GmpSchedule, PruneSteps) {
  GmpSchedule g = example();
  EXPECT_FALSE(g.is_prune_step(400));
  EXPECT_TRUE(g.is_prune_step(500));
  EXPECT_FALSE(g.is_prune_step(550));
  EXPECT_TRUE(g.is_prune_step(600));
  EXPECT_TRUE(g.is_prune_step(1500));
  EXPECT_FALSE(g.is_prune_step(1600));
  int count = 0;
  for (int64_t t = 0; t < 3000; ++t) count += g.is_prune_step(t);
  EXPECT_EQ(count, 11);  // t0, t0 + dt, ..., t0 + n dt
}

TEST(GmpSchedule, FromFractions) {
  GmpSchedule g = GmpSchedule::from_fractions(0.0, 0.9, 10000, 0.1, 0.7, 100);
  EXPECT_EQ(g.t0, 1000);
  EXPECT_EQ(g.n, 60);
  EXPECT_EQ(g.end_step(), 7000);
  EXPECT_DOUBLE_EQ(g.sparsity_at(7000), 0.9);
  // A window shorter than dt prunes once, at `end`, so a short run still reaches s_f.
  GmpSchedule short_run = GmpSchedule::from_fractions(0.0, 0.5, 100, 0.1, 0.5, 100);
  EXPECT_EQ(short_run.t0, 10);
  EXPECT_EQ(short_run.dt, 40);
  EXPECT_EQ(short_run.n, 1);
  EXPECT_EQ(short_run.end_step(), 50);
  EXPECT_TRUE(short_run.is_prune_step(50));
  EXPECT_DOUBLE_EQ(short_run.sparsity_at(50), 0.5);
  // A run of 8 steps with the default interval of 100 (the trainers' case): one event at step 6.
  GmpSchedule tiny = GmpSchedule::from_fractions(0.0, 0.9, 8, 0.05, 0.75, 100);
  EXPECT_EQ(tiny.end_step(), 6);
  EXPECT_DOUBLE_EQ(tiny.sparsity_at(6), 0.9);
  // The run's log says so, naming the option; a schedule that kept its interval says nothing.
  EXPECT_EQ(tiny.shortened_note(100, "--prune-every", "step"),
            "note: --prune-every 100 is longer than the pruning window of this run (6 steps): pruning every 6 "
            "steps, the target reached at step 6");
  EXPECT_EQ(g.shortened_note(100, "--prune-every", "step"), "");
}

TEST(GmpSchedule, BadArgumentsThrow) {
  EXPECT_THROW(GmpSchedule::from_fractions(0.0, 1.0, 100, 0.1, 0.5, 10), Error);
  EXPECT_THROW(GmpSchedule::from_fractions(0.0, 0.9, 100, 0.6, 0.5, 10), Error);
  EXPECT_THROW(GmpSchedule::from_fractions(0.0, 0.9, 100, 0.1, 0.5, 0), Error);
  GmpSchedule g;
  g.dt = 0;
  EXPECT_THROW(g.sparsity_at(3), Error);
}

}  // namespace
}  // namespace neuroai
