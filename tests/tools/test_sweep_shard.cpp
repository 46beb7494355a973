// Studies across a cluster (issue #14), driven through the neuroai program: `sweep --shard K/N` and
// `--shard slurm` split one grid into disjoint parts that together are exactly the unsharded sweep, the
// shards of one sweep share its folder (also at the same time), rerunning a shard skips its complete
// runs, bad values are usage errors, and `report` merges the shards and names the runs still missing.
// Tiny MLP runs (784 -> 32 -> 32 -> 10, 768 training samples, 1 epoch, one thread): about a second each.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "engine/dataset.h"

namespace fs = std::filesystem;

namespace {

// A job array's variables from the environment ctest runs in (a CI job under SLURM) must not leak in.
const std::string kNoSlurm =
    "env -u SLURM_ARRAY_TASK_ID -u SLURM_ARRAY_TASK_COUNT -u SLURM_ARRAY_TASK_MIN -u SLURM_ARRAY_TASK_STEP ";

using neuroai::test::have_data;
using neuroai::test::kExe;
using neuroai::test::Result;
using neuroai::test::sh;
using neuroai::test::slurp;
using neuroai::test::spit;

fs::path scratch(const std::string& name) { return neuroai::test::scratch_dir("test_sweep_shard", name); }

#define SKIP_WITHOUT_DATA() \
  if (!have_data()) GTEST_SKIP() << "Fashion-MNIST not installed at " << neuroai::kDefaultFashionMnistDir

// switch_density: a fixed CSR hand-off, so two processes running the same run agree exactly.
fs::path write_config(const fs::path& dir) {
  const fs::path p = dir / "base.toml";
  spit(p, "command = \"train mlp\"\nhidden = [32, 32]\nepochs = 1\nbatch = 64\ntrain_limit = 768\n"
          "test_limit = 256\nsparsity = 0.8\nprune_every = 2\nswitch_density = 0.5\nthreads = 1\n"
          "backend = \"cpu\"\nquiet = true\n");
  return p;
}

std::string sweep_cmd(const fs::path& cfg, const std::string& grid, const fs::path& out, const std::string& extra) {
  return kExe + " sweep " + cfg.string() + " " + grid + " --out " + out.string() + " " + extra;
}

std::string fmt_shard(int k, int n) { return "--shard " + std::to_string(k) + "/" + std::to_string(n) + " --dry-run"; }

// The run names of a --dry-run listing, in order (from each command's `--set out=SWEEP/NAME`).
std::vector<std::string> dry_run_names(const std::string& out) {
  std::vector<std::string> names;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    const auto at = line.find("--set out=");
    if (at != std::string::npos) names.push_back(fs::path(line.substr(at + 10)).filename().string());
  }
  return names;
}

nlohmann::json without_timing(nlohmann::json j) {
  for (const char* k : {"samples_per_s", "step_time_ms", "epoch_seconds"}) j.erase(k);
  return j;
}

// Run name -> its metrics lines and final metrics without timing, for every complete run of a sweep.
std::map<std::string, std::string> complete_runs(const fs::path& sweep) {
  std::map<std::string, std::string> runs;
  for (const auto& e : fs::directory_iterator(sweep)) {
    if (!e.is_directory() || !fs::exists(e.path() / "done")) continue;
    std::string s;
    std::ifstream in(e.path() / "metrics.jsonl");
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) s += without_timing(nlohmann::json::parse(line)).dump() + "\n";
    s += without_timing(nlohmann::json::parse(slurp(e.path() / "done"))["final"]).dump();
    runs[e.path().filename().string()] = s;
  }
  return runs;
}

// summary.csv without its timing columns (samples_per_s_mean, _std).
std::string summary_without_timing(const fs::path& sweep) {
  std::istringstream in(slurp(sweep / "summary.csv"));
  std::string out, line;
  std::vector<bool> keep;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    if (line.back() == ',') cells.emplace_back();
    if (keep.empty())
      for (const auto& c : cells) keep.push_back(c.rfind("samples_per_s", 0) != 0);
    for (size_t i = 0; i < cells.size(); ++i)
      if (i >= keep.size() || keep[i]) out += cells[i] + ",";
    out += "\n";
  }
  return out;
}

bool have_matplotlib() { return sh("/usr/bin/python3 -c 'import matplotlib'").rc == 0; }

TEST(SweepShard, BadValuesAreUsageErrorsAndWriteNothing) {
  const fs::path d = scratch("bad");
  const fs::path cfg = write_config(d);
  for (const std::string v : {"0/2", "3/2", "1/0", "0/0", "-1/2", "1/-2", "2", "1/2/3", "a/b", "1/", "/2", "",
                              "1.5/2", "10000000000/20000000000"}) {
    const Result r = sh(kNoSlurm + sweep_cmd(cfg, "--grid sparsity=0.5,0.9", d / "sw", "--shard '" + v + "'"));
    EXPECT_EQ(r.rc, 2) << v << ": " << r.out;
    EXPECT_NE(r.out.find("--shard: expected K/N with 1 <= K <= N, got " + v + "\n"), std::string::npos)
        << v << ": " << r.out;
  }
  struct Case {
    std::string env, message;
  };
  const std::vector<Case> slurm = {
      {"", "--shard slurm: SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT are not set; expected a task of a SLURM "
           "job array (sbatch --array=1-N), or give --shard K/N"},
      {"SLURM_ARRAY_TASK_ID=1", "--shard slurm: SLURM_ARRAY_TASK_COUNT is not set"},
      {"SLURM_ARRAY_TASK_COUNT=2", "--shard slurm: SLURM_ARRAY_TASK_ID is not set"},
      {"SLURM_ARRAY_TASK_ID=x SLURM_ARRAY_TASK_COUNT=2", "--shard slurm: SLURM_ARRAY_TASK_ID=x is not a whole number"},
      {"SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_COUNT=2 SLURM_ARRAY_TASK_MIN=1",
       "--shard slurm: SLURM_ARRAY_TASK_ID=3 is not one of the array's 2 ids 1-2 (from SLURM_ARRAY_TASK_MIN)"},
      // Ids from 0 without SLURM_ARRAY_TASK_MIN: not guessed, since id 1 would then be ambiguous.
      {"SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=2",
       "SLURM_ARRAY_TASK_ID=0 is not one of the array's 2 ids 1-2 (counted from 1: SLURM_ARRAY_TASK_MIN is not set)"},
      {"SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_STEP=2",
       "SLURM_ARRAY_TASK_ID=4 is not one of the array's 3 ids 1-5:2"},
      {"SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=0", "is not one of the array's 0 ids"},
  };
  for (const auto& c : slurm) {
    const Result r = sh(kNoSlurm + c.env + " " + sweep_cmd(cfg, "--grid sparsity=0.5,0.9", d / "sw", "--shard slurm"));
    EXPECT_EQ(r.rc, 2) << c.env << ": " << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.env << ": " << r.out;
  }
  EXPECT_FALSE(fs::exists(d / "sw"));
}

// Every N: the shards' runs are disjoint, together the unsharded list, each in the grid's own order, and
// run i (from 0) of the grid belongs to shard i mod N + 1. N = 7 > 6 runs: shard 7 has none.
TEST(SweepShard, ShardsPartitionTheGridRoundRobin) {
  const fs::path d = scratch("partition");
  const fs::path cfg = write_config(d);
  const std::string grid = "--grid sparsity=0.5,0.7,0.9 --grid lr=0.01,0.02 --seeds 2";
  const Result whole = sh(kNoSlurm + sweep_cmd(cfg, grid, d / "sw", "--dry-run"));
  ASSERT_EQ(whole.rc, 0) << whole.out;
  const std::vector<std::string> all = dry_run_names(whole.out);
  ASSERT_EQ(all.size(), 12u) << whole.out;
  EXPECT_EQ(all[0], "sparsity-0.5_lr-0.01_seed-0");
  EXPECT_EQ(all[1], "sparsity-0.5_lr-0.01_seed-1");
  EXPECT_EQ(all[2], "sparsity-0.5_lr-0.02_seed-0");
  for (int n : {1, 2, 3, 5, 13}) {
    std::multiset<std::string> together;
    for (int k = 1; k <= n; ++k) {
      const Result r = sh(kNoSlurm + sweep_cmd(cfg, grid, d / "sw", fmt_shard(k, n)));
      ASSERT_EQ(r.rc, 0) << r.out;
      std::vector<std::string> want;
      for (size_t i = 0; i < all.size(); ++i)
        if (int(i % size_t(n)) == k - 1) want.push_back(all[i]);
      EXPECT_EQ(dry_run_names(r.out), want) << k << "/" << n << ": " << r.out;
      const std::string head = "sweep: shard " + std::to_string(k) + "/" + std::to_string(n) + ": " +
                               std::to_string(want.size()) + " of 12 runs (6 settings x 2 seeds)";
      EXPECT_NE(r.out.find(head), std::string::npos) << r.out;
      together.insert(want.begin(), want.end());
    }
    EXPECT_EQ(together, std::multiset<std::string>(all.begin(), all.end())) << "N = " << n;
  }
}

// --shard slurm: K from the task id, normalised by SLURM_ARRAY_TASK_MIN (and _STEP); N from the count.
TEST(SweepShard, SlurmEnvironmentNamesTheShard) {
  const fs::path d = scratch("slurm");
  const fs::path cfg = write_config(d);
  const std::string grid = "--grid sparsity=0.5,0.6,0.7,0.8,0.9";
  struct Case {
    std::string env;
    int k, n;
  };
  const std::vector<Case> cases = {
      {"SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_COUNT=3", 1, 3},  // --array=0-2
      {"SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_COUNT=3", 3, 3},
      {"SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=3", 3, 3},  // --array=1-3
      {"SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=2", 2, 2},                          // no MIN: from 1
      {"SLURM_ARRAY_TASK_ID=15 SLURM_ARRAY_TASK_MIN=11 SLURM_ARRAY_TASK_STEP=2 SLURM_ARRAY_TASK_COUNT=3", 3, 3},
  };
  for (const auto& c : cases) {
    const Result r = sh(kNoSlurm + c.env + " " + sweep_cmd(cfg, grid, d / "sw", "--shard slurm --dry-run"));
    ASSERT_EQ(r.rc, 0) << c.env << ": " << r.out;
    const std::string want = "sweep: shard " + std::to_string(c.k) + "/" + std::to_string(c.n) + ": ";
    EXPECT_NE(r.out.find(want), std::string::npos) << c.env << ": " << r.out;
    const Result kn = sh(kNoSlurm + sweep_cmd(cfg, grid, d / "sw", fmt_shard(c.k, c.n)));
    ASSERT_EQ(kn.rc, 0) << kn.out;
    EXPECT_EQ(dry_run_names(r.out), dry_run_names(kn.out)) << c.env;
    EXPECT_FALSE(dry_run_names(r.out).empty()) << c.env;
  }
}

// The test the issue names: shard 2/2, then report (shard 1 missing), then 1/2 (from SLURM variables) at
// the same time as a rerun of 2/2 into the same folder; together exactly the runs of the unsharded sweep
// (names, metrics, summary), and report merges them.
TEST(SweepShard, ShardsTogetherAreTheUnshardedSweepAndReportMergesThem) {
  SKIP_WITHOUT_DATA();
  const fs::path d = scratch("together");
  const fs::path cfg = write_config(d);
  const std::string grid = "--grid sparsity=0.5,0.7,0.9";
  const Result whole = sh(kNoSlurm + sweep_cmd(cfg, grid, d / "whole", "--jobs 2"));
  ASSERT_EQ(whole.rc, 0) << whole.out;

  const fs::path sharded = d / "sharded";
  const Result two = sh(kNoSlurm + sweep_cmd(cfg, grid, sharded, "--shard 2/2"));
  ASSERT_EQ(two.rc, 0) << two.out;
  EXPECT_NE(two.out.find("sweep: shard 2/2: 1 of 3 runs"), std::string::npos) << two.out;
  EXPECT_NE(two.out.find("sweep: shard 2/2 ran 1 of its 1 runs"), std::string::npos) << two.out;
  EXPECT_NE(two.out.find("1 of 3 runs of the grid complete, 2 not started (other shards)"), std::string::npos)
      << two.out;
  EXPECT_TRUE(fs::exists(sharded / "sparsity-0.7_seed-0" / "done"));
  EXPECT_FALSE(fs::exists(sharded / "sparsity-0.5_seed-0"));
  EXPECT_NE(slurp(sharded / "summary.md").find("Not started (2; with `--shard`, their shard has not run yet): "
                                               "sparsity-0.5_seed-0, sparsity-0.9_seed-0."),
            std::string::npos);

  const bool figures = have_matplotlib();
  const Result partial = sh(kExe + " report " + sharded.string());
  if (figures) {
    EXPECT_EQ(partial.rc, 0) << partial.out;
  }
  EXPECT_NE(partial.out.find("report: " + sharded.string() + ": 1 of 3 runs of the grid complete; the summary and "
                             "figures cover those only"),
            std::string::npos)
      << partial.out;
  EXPECT_NE(partial.out.find("report: 2 runs not started (with --shard: their shard has not run yet): "
                             "sparsity-0.5_seed-0, sparsity-0.9_seed-0"),
            std::string::npos)
      << partial.out;

  const auto before = fs::last_write_time(sharded / "sparsity-0.7_seed-0" / "metrics.jsonl");
  const std::string one_cmd = kNoSlurm + "SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=2 " +
                              sweep_cmd(cfg, grid, sharded, "--shard slurm");
  const std::string again_cmd = kNoSlurm + sweep_cmd(cfg, grid, sharded, "--shard 2/2");
  const Result both = sh("(" + one_cmd + " > " + (d / "one.log").string() + " 2>&1; echo $? > " +
                         (d / "one.rc").string() + ") & (" + again_cmd + " > " + (d / "again.log").string() +
                         " 2>&1; echo $? > " + (d / "again.rc").string() + "); wait");
  ASSERT_EQ(both.rc, 0) << both.out;
  const std::string one = slurp(d / "one.log"), again = slurp(d / "again.log");
  ASSERT_EQ(slurp(d / "one.rc"), "0\n") << one;
  ASSERT_EQ(slurp(d / "again.rc"), "0\n") << again;
  EXPECT_NE(one.find("sweep: shard 1/2: 2 of 3 runs (3 settings x 1 seeds) of `neuroai train mlp`: 0 complete, 2 to run"),
            std::string::npos)
      << one;
  EXPECT_NE(again.find("sweep: shard 2/2: 1 of 3 runs (3 settings x 1 seeds) of `neuroai train mlp`: 1 complete, 0 "
                       "to run"),
            std::string::npos)
      << again;
  EXPECT_EQ(again.find("  started  "), std::string::npos) << again;
  EXPECT_EQ(fs::last_write_time(sharded / "sparsity-0.7_seed-0" / "metrics.jsonl"), before);

  const auto want = complete_runs(d / "whole"), got = complete_runs(sharded);
  ASSERT_EQ(want.size(), 3u);
  EXPECT_EQ(got, want);
  EXPECT_EQ(slurp(sharded / "sweep.json"), slurp(d / "whole" / "sweep.json"));  // the plan is the grid's alone
  // The shard that wrote last had seen every run; report rewrites the summary from the run folders anyway.
  const Result merged = sh(kExe + " report " + sharded.string());
  if (figures) {
    EXPECT_EQ(merged.rc, 0) << merged.out;
  }
  EXPECT_NE(merged.out.find("report: " + sharded.string() + ": 3 of 3 runs of the grid complete\n"), std::string::npos)
      << merged.out;
  EXPECT_EQ(merged.out.find("not started"), std::string::npos) << merged.out;
  EXPECT_EQ(summary_without_timing(sharded), summary_without_timing(d / "whole"));
  EXPECT_NE(slurp(sharded / "summary.csv").find("\n0.5,1,1,"), std::string::npos) << slurp(sharded / "summary.csv");
  EXPECT_NE(slurp(sharded / "summary.md").find("Complete: 3 of 3 runs of the grid."), std::string::npos);
  if (figures) {
    const std::string page = slurp(sharded / "report" / "report.md");
    for (const auto& [name, metrics] : want) EXPECT_NE(page.find("[" + name + "]"), std::string::npos) << page;
    EXPECT_NE(page.find("Complete: 3 of 3 runs of the grid."), std::string::npos) << page;
  }
}

// Many shards finishing at once over one folder (here: a sweep whose runs are all complete, so each shard
// only rewrites the plan and the summary): every one succeeds and the files are whole. Without the sweep
// folder's lock, two writers share summary.csv.tmp and the second rename fails, or half-written files land.
TEST(SweepShard, ConcurrentShardsNeverCorruptTheTopLevelFiles) {
  const fs::path d = scratch("concurrent");
  const fs::path cfg = write_config(d);
  const std::string grid = "--grid sparsity=0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8 --seeds 3";
  const fs::path sw = d / "sw";
  const Result list = sh(kNoSlurm + sweep_cmd(cfg, grid, sw, "--dry-run"));
  ASSERT_EQ(list.rc, 0) << list.out;
  const auto names = dry_run_names(list.out);
  ASSERT_EQ(names.size(), 24u);
  for (size_t i = 0; i < names.size(); ++i) {  // complete runs, as far as the sweep is concerned
    fs::create_directories(sw / names[i]);
    spit(sw / names[i] / "done", nlohmann::json({{"final", {{"test_acc", 0.5 + 0.01 * double(i)}}}}).dump());
  }
  const Result ref = sh(kNoSlurm + sweep_cmd(cfg, grid, sw, ""));
  ASSERT_EQ(ref.rc, 0) << ref.out;
  const std::string csv = slurp(sw / "summary.csv"), md = slurp(sw / "summary.md"), plan = slurp(sw / "sweep.json");
  ASSERT_NE(csv.find("\n0.1,3,3,0.51,0.01\n"), std::string::npos) << csv;
  for (int round = 0; round < 4; ++round) {
    fs::remove(sw / "summary.csv");
    fs::remove(sw / "sweep.json");
    std::string cmd;
    for (int k = 1; k <= 8; ++k)
      cmd += "(" + kNoSlurm + sweep_cmd(cfg, grid, sw, "--shard " + std::to_string(k) + "/8") + " > " +
             (d / ("s" + std::to_string(k) + ".log")).string() + " 2>&1 || echo FAILED " + std::to_string(k) + ") & ";
    const Result r = sh(cmd + "wait");
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_EQ(r.out.find("FAILED"), std::string::npos) << r.out << slurp(d / "s1.log");
    EXPECT_EQ(slurp(sw / "summary.csv"), csv) << "round " << round;
    EXPECT_EQ(slurp(sw / "summary.md"), md) << "round " << round;
    EXPECT_EQ(slurp(sw / "sweep.json"), plan) << "round " << round;
  }
  EXPECT_FALSE(fs::exists(sw / "summary.csv.tmp"));
  EXPECT_FALSE(fs::exists(sw / "sweep.json.tmp"));
}

}  // namespace
