// What a sweep folder holds at its top level, shared by `neuroai sweep` (which writes it) and
// `neuroai report` (which merges the run folders of every shard of a sweep into one summary):
// - SWEEP_DIR/sweep.json, the plan: the grid's runs in the grid's own order. It depends only on the
//   grid, so every shard of a job array writes the same bytes.
// - SWEEP_DIR/summary.csv and summary.md: per setting, mean and std over the seeds of the final metrics
//   of the complete runs, and which runs of the grid are not complete.
// Shards of one sweep may run at once on several machines of a cluster with a shared filesystem; every
// write of these files holds SWEEP_DIR/.sweep.lock, so no two shards write them at the same time and the
// last one to write the summary has seen every run that was complete when the earlier ones wrote.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace neuroai::tools {

inline constexpr const char* kSweepPlanFile = "sweep.json";

struct SweepRun {
  std::vector<std::pair<std::string, std::string>> setting;  // grid key -> value, in axis order
  int64_t seed = 0;
  std::string name;  // the run's folder under the sweep folder: "sparsity-0.9_seed-1"
};

struct SweepPlan {
  std::string command;            // "train mlp"
  std::string config;             // the config file, absolute
  std::vector<std::string> set;   // --set KEY=VALUE for every run
  std::vector<std::string> keys;  // the grid's axes, in order
  int seeds = 1;
  std::vector<SweepRun> runs;  // every combination (the last axis fastest) times the seeds
};

// The shard (1-based) of n that the run at `index` of the plan belongs to: index mod n + 1. Round robin
// rather than blocks, so a grid sorted by cost (sparsity, width) spreads its slow runs over the shards.
int shard_of(size_t index, int n);

// Writes SWEEP_DIR/sweep.json (atomically, under the lock). A plan already there with other runs is
// replaced; returns how many runs it had (0 when there was none or it had the same runs).
size_t write_plan(const std::string& dir, const SweepPlan& plan);
// Reads SWEEP_DIR/sweep.json; Error naming the file and what is wrong when it is not a plan.
SweepPlan read_plan(const std::string& dir);

// The final metrics of a complete run (RUN_DIR/done), with density = nnz / weights over its layers when
// it lists them; empty when the run is not complete.
std::map<std::string, double> final_metrics(const std::string& run_dir);

struct SweepStatus {
  size_t complete = 0;
  std::vector<std::string> not_started;  // no run folder yet (e.g. its shard has not run)
  std::vector<std::string> unfinished;   // a run folder without `done`: running, interrupted or failed
};
SweepStatus sweep_status(const std::string& dir, const SweepPlan& plan);

// Writes SWEEP_DIR/summary.csv and summary.md from the run folders of every run of the plan (under the
// lock); returns what it found.
SweepStatus write_summary(const std::string& dir, const SweepPlan& plan);

// "a, b, c" for at most `limit` names, then "and N more".
std::string name_list(const std::vector<std::string>& names, size_t limit = 10);

}  // namespace neuroai::tools
