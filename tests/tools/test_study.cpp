// Pruning studies from the command line (issue #6), driven through the neuroai program itself: config
// files and their refusals, the resolved RUN_DIR/config.toml, exit statuses, sweeps that skip complete
// runs, inspect / export, and SIGKILL + --resume giving exactly the metrics of an uninterrupted run.
// Small model (784 -> 32 -> 32 -> 10) on a Fashion-MNIST subset, one CPU thread: seconds per run.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "engine/dataset.h"
#include "engine/safetensors.h"

namespace fs = std::filesystem;

namespace {

using neuroai::test::have_data;
using neuroai::test::kExe;
using neuroai::test::Result;
using neuroai::test::sh;
using neuroai::test::slurp;
using neuroai::test::spit;

// A scratch folder per test, emptied first.
fs::path scratch(const std::string& name) { return neuroai::test::scratch_dir("test_study", name); }

// The tiny run every test starts from. The manual CSR hand-off (switch_density) keeps runs
// deterministic: the measured break-even would differ between processes.
fs::path write_config(const fs::path& dir, int epochs = 1) {
  const fs::path p = dir / "base.toml";
  spit(p, "command = \"train mlp\"\nhidden = [32, 32]\nepochs = " + std::to_string(epochs) +
              "\nbatch = 64\ntrain_limit = 768\ntest_limit = 256\nsparsity = 0.8\nprune_every = 2\n"
              "switch_density = 0.5\nthreads = 1\nbackend = \"cpu\"\nquiet = true\n");
  return p;
}

std::vector<nlohmann::json> metrics(const fs::path& run) {
  std::vector<nlohmann::json> out;
  std::ifstream in(run / "metrics.jsonl");
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

// Timings differ between any two runs; everything else must match exactly.
nlohmann::json without_timing(nlohmann::json j) {
  for (const char* k : {"samples_per_s", "step_time_ms", "epoch_seconds"}) j.erase(k);
  return j;
}

#define SKIP_WITHOUT_DATA() \
  if (!have_data()) GTEST_SKIP() << "Fashion-MNIST not installed at " << neuroai::kDefaultFashionMnistDir

TEST(StudyConfig, UnknownKeyIsAUsageErrorNamingIt) {
  const fs::path d = scratch("unknown_key");
  spit(d / "c.toml", "command = \"train mlp\"\nepochs = 1\nsparsityy = 0.5\n");
  const Result r = sh(kExe + " train mlp --config " + (d / "c.toml").string());
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("unknown key 'sparsityy'"), std::string::npos) << r.out;
}

TEST(StudyConfig, WrongTypeIsAUsageErrorNamingKeyAndType) {
  const fs::path d = scratch("wrong_type");
  spit(d / "c.toml", "command = \"train mlp\"\nepochs = 1.5\n");
  Result r = sh(kExe + " train mlp --config " + (d / "c.toml").string());
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("key 'epochs' must be an integer"), std::string::npos) << r.out;
  r = sh(kExe + " train mlp --set sparsity=dense");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("key 'sparsity' must be a number"), std::string::npos) << r.out;
  r = sh(kExe + " train mlp --set hidden=[1.5]");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("key 'hidden' must be an array of integers"), std::string::npos) << r.out;
}

TEST(StudyConfig, ConfigForAnotherCommandIsRefused) {
  const fs::path d = scratch("other_command");
  spit(d / "c.toml", "command = \"train gnn\"\n");
  const Result r = sh(kExe + " train mlp --config " + (d / "c.toml").string());
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("is for `neuroai train gnn`"), std::string::npos) << r.out;
}

TEST(StudyConfig, StepScheduleWithoutItsIntervalIsRefused) {
  for (const char* cmd : {"train mlp", "train gru"}) {
    const fs::path d = scratch(std::string("step_lr_") + (cmd[6] == 'm' ? "mlp" : "gru"));
    const Result r = sh(kExe + " " + cmd + " --lr-schedule step --quiet --out " + (d / "run").string());
    EXPECT_EQ(r.rc, 1) << cmd << ": " << r.out;
    EXPECT_NE(r.out.find("--lr-schedule step needs --lr-step-every"), std::string::npos) << cmd << ": " << r.out;
  }
}

// A number out of range is a usage error that names the option, what it expects and what it got,
// nothing is written.
TEST(StudyConfig, OutOfRangeNumbersNameTheOptionAndTheRange) {
  const fs::path d = scratch("ranges");
  const std::pair<std::string, std::string> cases[] = {
      {"train mlp --lr -1", "--lr: expected a number > 0, got -1"},
      {"train mlp --idr-entropy -0.5", "--idr-entropy: expected a number >= 0, got -0.5"},
      {"train gru --kappa 2", "--kappa: expected a number in [0, 1], got 2"},
      {"train gnn --layers 9", "--layers: expected a number in [1, 8], got 9"},
      {"train rnn --hidden x", "--hidden: expected a number, got 'x'"}};
  for (const auto& [args, message] : cases) {
    const Result r = sh(kExe + " " + args + " --out " + (d / "run").string());
    EXPECT_EQ(r.rc, 2) << args << ": " << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << args << ": " << r.out;
  }
  EXPECT_FALSE(fs::exists(d / "run"));
}

TEST(StudyExit, StatusesAreZeroOneTwo) {
  EXPECT_EQ(sh(kExe + " --version").rc, 0);
  EXPECT_EQ(sh(kExe + " train mlp --no-such-option").rc, 2);
  const fs::path d = scratch("exit");
  EXPECT_EQ(sh(kExe + " train mlp --data " + d.string() + " --out " + (d / "run").string()).rc, 1);
}

TEST(StudyConfig, ResolvedConfigReproducesTheRun) {
  SKIP_WITHOUT_DATA();
  const fs::path d = scratch("roundtrip");
  const fs::path cfg = write_config(d);
  const Result a = sh(kExe + " train mlp --config " + cfg.string() + " --set lr=0.002 --out " + (d / "a").string() +
                      " --json");
  ASSERT_EQ(a.rc, 0) << a.out;
  ASSERT_TRUE(fs::exists(d / "a" / "config.toml"));
  ASSERT_TRUE(fs::exists(d / "a" / "done"));
  const std::string resolved = slurp(d / "a" / "config.toml");
  EXPECT_NE(resolved.find("lr = 0.002"), std::string::npos) << resolved;
  EXPECT_NE(resolved.find("command = 'train mlp'"), std::string::npos) << resolved;
  // --json: the last line is one JSON object with the final metrics.
  std::string out = a.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const auto j = nlohmann::json::parse(out.substr(out.rfind('\n') + 1));
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["exit"], 0);
  EXPECT_TRUE(j["final"].contains("test_acc"));

  const Result b = sh(kExe + " train mlp --config " + (d / "a" / "config.toml").string() + " --out " +
                      (d / "b").string());
  ASSERT_EQ(b.rc, 0) << b.out;
  const auto ma = metrics(d / "a"), mb = metrics(d / "b");
  ASSERT_EQ(ma.size(), 1u);
  ASSERT_EQ(mb.size(), 1u);
  EXPECT_EQ(without_timing(ma[0]).dump(), without_timing(mb[0]).dump());
}

TEST(StudySweep, RunsTheGridOnceAndSummarizes) {
  SKIP_WITHOUT_DATA();
  const fs::path d = scratch("sweep");
  const fs::path cfg = write_config(d);
  const std::string cmd =
      kExe + " sweep " + cfg.string() + " --grid sparsity=0.5,0.9 --seeds 2 --jobs 2 --out " + (d / "sw").string();
  const Result r = sh(cmd);
  ASSERT_EQ(r.rc, 0) << r.out;
  for (const char* run : {"sparsity-0.5_seed-0", "sparsity-0.5_seed-1", "sparsity-0.9_seed-0", "sparsity-0.9_seed-1"})
    EXPECT_TRUE(fs::exists(d / "sw" / run / "done")) << run;
  const std::string csv = slurp(d / "sw" / "summary.csv");
  EXPECT_NE(csv.find("sparsity,runs_done,runs,test_acc_mean,test_acc_std"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\n0.9,2,2,"), std::string::npos) << csv;
  EXPECT_NE(slurp(d / "sw" / "summary.md").find("±"), std::string::npos);
  const auto before = fs::last_write_time(d / "sw" / "sparsity-0.5_seed-0" / "metrics.jsonl");
  const Result again = sh(cmd);
  ASSERT_EQ(again.rc, 0) << again.out;
  EXPECT_NE(again.out.find("4 complete, 0 to run"), std::string::npos) << again.out;
  EXPECT_EQ(fs::last_write_time(d / "sw" / "sparsity-0.5_seed-0" / "metrics.jsonl"), before);
}

TEST(StudySweep, SetSeedIsTheFirstSeedAndOutIsRefused) {
  const fs::path d = scratch("sweep-seed");
  const fs::path cfg = write_config(d);
  const std::string base = kExe + " sweep " + cfg.string() + " --grid sparsity=0.5 --seeds 2 --dry-run --out " +
                           (d / "sw").string();
  const Result r = sh(base + " --set seed=5");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("sparsity-0.5_seed-5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sparsity-0.5_seed-6"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("seed-0"), std::string::npos) << r.out;
  const Result bad = sh(base + " --set out=elsewhere");
  EXPECT_EQ(bad.rc, 2) << bad.out;
  EXPECT_NE(bad.out.find("'out' is set by the sweep itself"), std::string::npos) << bad.out;
}

// eval rebuilds a GNN run's graph and split from its checkpoint and reports the run's last test accuracy.
TEST(StudyTools, EvalOfAGnnCheckpointReportsTheRunsAccuracy) {
  const fs::path d = scratch("eval-gnn");
  ASSERT_EQ(sh(kExe + " train gnn --graph sbm:n=200,k=2,deg=8 --epochs 20 --eval-every 10 --null-replicates 0 "
                      "--quiet --out " + (d / "run").string()).rc,
            0);
  const nlohmann::json last = metrics(d / "run").back();
  const Result r = sh(kExe + " eval " + (d / "run" / "model.safetensors").string());
  ASSERT_EQ(r.rc, 0) << r.out;
  char expected[32];
  std::snprintf(expected, sizeof expected, "test_acc %.4f", last["test_acc"].get<double>());
  EXPECT_NE(r.out.find(expected), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the run reported test_acc"), std::string::npos) << r.out;
}

// A GRU checkpoint records the input standardization it was trained with, and eval applies exactly
// that: the recorded (mean, std) equal the training subset's, and a checkpoint whose record is edited
// scores differently under eval, while the unedited one scores the run's own test accuracy.
TEST(StudyTools, GruCheckpointRecordsItsStandardizationAndEvalUsesIt) {
  if (!have_data()) GTEST_SKIP() << "no Fashion-MNIST";
  const fs::path d = scratch("gru-preprocessing");
  ASSERT_EQ(sh(kExe + " train gru --train-limit 300 --test-limit 200 --hidden 16 --groups 2 --epochs 2 "
                      "--threads 1 --quiet --out " + (d / "run").string()).rc,
            0);
  const fs::path model = d / "run" / "model.safetensors";
  neuroai::SafetensorsFile f = neuroai::read_safetensors(model.string());
  ASSERT_TRUE(f.metadata.count("preprocessing"));
  const auto pre = nlohmann::json::parse(f.metadata.at("preprocessing"));
  neuroai::DataSplit data = neuroai::load_dataset(neuroai::kDefaultFashionMnistDir);
  neuroai::truncate(data, 300, 200);
  const auto [mean, sd] = neuroai::standardize(data);
  EXPECT_FLOAT_EQ(pre["standardize"]["mean"].get<float>(), mean);
  EXPECT_FLOAT_EQ(pre["standardize"]["std"].get<float>(), sd);

  const nlohmann::json last = metrics(d / "run").back();
  char expected[32];
  std::snprintf(expected, sizeof expected, "test_acc %.4f", last["test_acc"].get<double>());
  const Result ok = sh(kExe + " eval --threads 1 " + model.string());
  ASSERT_EQ(ok.rc, 0) << ok.out;
  EXPECT_NE(ok.out.find(expected), std::string::npos) << ok.out;

  f.metadata["preprocessing"] = nlohmann::json{{"standardize", {{"mean", 0.0}, {"std", 1.0}}}}.dump();
  const fs::path raw = d / "raw.safetensors";
  neuroai::write_safetensors(raw.string(), f);
  const Result r = sh(kExe + " eval --threads 1 " + raw.string());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out.find(expected), std::string::npos) << r.out;  // raw pixels: not the run's accuracy

  f.metadata["preprocessing"] = R"({"standardize": {"mean": "x"}})";
  neuroai::write_safetensors(raw.string(), f);
  const Result bad = sh(kExe + " eval --threads 1 " + raw.string());
  EXPECT_EQ(bad.rc, 1) << bad.out;
  EXPECT_NE(bad.out.find("preprocessing.standardize"), std::string::npos) << bad.out;
}

// A run without --out takes the command's default folder, or the next free "-2", "-3" when that holds
// an earlier run; --json ends with the final metrics either way.
TEST(StudyRunDir, RunsWithoutOutNeverReplaceAnEarlierRun) {
  const fs::path d = scratch("free-run-dir");
  const std::string cmd = "cd " + d.string() + " && " + kExe +
                          " train gnn --graph sbm:n=120,k=2,deg=6 --epochs 4 --eval-every 2 --null-replicates 0 "
                          "--threads 1 --quiet --json";
  for (const char* expected : {"runs/gnn-nodes-hebbian", "runs/gnn-nodes-hebbian-2", "runs/gnn-nodes-hebbian-3"}) {
    const Result r = sh(cmd);
    ASSERT_EQ(r.rc, 0) << r.out;
    const auto j = nlohmann::json::parse(r.out.substr(r.out.rfind("\n{") + 1));
    EXPECT_EQ(j["run_dir"], expected) << r.out;
    EXPECT_TRUE(j["final"].contains("test_acc")) << r.out;
    EXPECT_TRUE(fs::exists(d / expected / "done")) << expected;
    EXPECT_TRUE(fs::exists(d / expected / "config.toml")) << expected;
  }
  // The first run's files are the first run's: its metrics were not rewritten by the later runs.
  EXPECT_EQ(metrics(d / "runs/gnn-nodes-hebbian").size(), 3u);  // epochs 2, 4 and the final line
}

// `neuroai train --resume RUN_DIR` takes the family from the run's config.toml.
TEST(StudyResume, TrainResumeTakesTheFamilyFromTheRun) {
  const fs::path d = scratch("resume-family");
  const fs::path run = d / "run";
  ASSERT_EQ(sh(kExe + " train gru --task sines --seq-len 8 --hidden 8 --groups 2 --epochs 2 --batch 16 "
                      "--train-limit 64 --test-limit 16 --threads 1 --backend cpu --quiet --out " + run.string()).rc,
            0);
  const std::string full = slurp(run / "metrics.jsonl");
  // As a kill after the last state but before `done` leaves it: the resume has nothing left to train.
  fs::remove(run / "done");
  const Result r = sh(kExe + " train --resume " + run.string());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("resuming after epoch 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("24x1"), std::string::npos) << r.out;  // W_ih of 3 gates x 8 units: the GRU ran
  EXPECT_TRUE(fs::exists(run / "done"));
  EXPECT_EQ(slurp(run / "metrics.jsonl"), full);
  const Result missing = sh(kExe + " train --resume " + (d / "nothing").string());
  EXPECT_EQ(missing.rc, 2);
  EXPECT_NE(missing.out.find("--resume " + (d / "nothing").string() + ": no such run folder"), std::string::npos)
      << missing.out;
  const Result not_a_run = sh(kExe + " train --resume " + d.string());
  EXPECT_EQ(not_a_run.rc, 2);
  EXPECT_NE(not_a_run.out.find("no config.toml there"), std::string::npos) << not_a_run.out;
}

TEST(StudyTools, InspectAndExport) {
  SKIP_WITHOUT_DATA();
  const fs::path d = scratch("inspect");
  const fs::path cfg = write_config(d);
  ASSERT_EQ(sh(kExe + " train mlp --config " + cfg.string() + " --out " + (d / "run").string()).rc, 0);
  const fs::path model = d / "run" / "model.safetensors";
  const Result in = sh(kExe + " inspect --json " + model.string());
  ASSERT_EQ(in.rc, 0) << in.out;
  const auto j = nlohmann::json::parse(in.out);
  ASSERT_EQ(j["matrices"].size(), 3u);
  EXPECT_EQ(j["matrices"][0]["shape"], nlohmann::json({32, 784}));
  EXPECT_NEAR(j["density"].get<double>(), 0.2, 0.01);

  ASSERT_EQ(sh(kExe + " export " + model.string() + " --out " + (d / "dense.safetensors").string()).rc, 0);
  const auto src = neuroai::read_safetensors(model.string());
  const auto dense = neuroai::read_safetensors((d / "dense.safetensors").string());
  for (int i = 0; i < 3; ++i) {
    const std::string w = "layers." + std::to_string(i) + ".weight";
    ASSERT_TRUE(dense.tensors.count(w)) << w;
    EXPECT_EQ(dense.tensors.at(w).dtype, "F32");
    EXPECT_EQ(dense.tensors.at(w).shape.size(), 2u);
    EXPECT_FALSE(dense.tensors.count(w + ".crow_indices") || dense.tensors.count(w + ".mask"));
    int64_t nz = 0;
    for (float v : neuroai::st_to_f32(dense.tensors.at(w), w)) nz += v != 0.0f;
    EXPECT_EQ(nz, j["matrices"][i]["nnz"].get<int64_t>()) << w;  // pruned = 0, alive != 0 (a.s.)
  }
  ASSERT_EQ(sh(kExe + " export " + model.string() + " --format mtx --out " + (d / "mtx").string()).rc, 0);
  std::ifstream mtx(d / "mtx" / "layers.1.weight.mtx");
  std::string banner, comment;
  int64_t rows = 0, cols = 0, nnz = 0;
  std::getline(mtx, banner);
  std::getline(mtx, comment);
  mtx >> rows >> cols >> nnz;
  EXPECT_EQ(banner, "%%MatrixMarket matrix coordinate real general");
  EXPECT_EQ(rows, 32);
  EXPECT_EQ(cols, 32);
  EXPECT_EQ(nnz, j["matrices"][1]["nnz"].get<int64_t>());
}

// All files of a folder, name -> bytes.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) out[e.path().filename().string()] = slurp(e.path());
  return out;
}

std::vector<std::string> comparable_lines(const fs::path& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(without_timing(nlohmann::json::parse(line)).dump());
  return out;
}

fs::path write_resume_config(const fs::path& dir) {
  const fs::path p = dir / "resume.toml";
  // 3 epochs of 313 steps; the CSR hand-off (switch_density) comes before the end of epoch 1, so the
  // resumed state holds CSR layers with their optimizer moments.
  spit(p, "command = \"train mlp\"\nhidden = [32, 32]\nepochs = 3\nbatch = 64\ntrain_limit = 20000\n"
          "test_limit = 256\nsparsity = 0.8\nprune_every = 2\nswitch_density = 0.5\nthreads = 1\nbackend = \"cpu\"\n"
          "quiet = true\n");
  return p;
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Runs `neuroai ARGS` (output discarded) in a child; once wait_for exists, SIGKILLs it after kill_after_s
// (< 0: lets it finish). Returns the seconds from wait_for's appearance to the child's end, and whether
// a kill ended it.
struct ChildEnd {
  double after_s = 0.0;
  bool killed = false;
};

ChildEnd run_child(const std::string& args, const fs::path& wait_for, double kill_after_s) {
  std::vector<std::string> argv = split_words(args);
  argv.insert(argv.begin(), kExe);
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::fflush(stdout);  // the child must not inherit unwritten output
  const pid_t pid = fork();
  if (pid < 0) return {};
  if (pid == 0) {
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(126);
    execv(kExe.c_str(), cargv.data());
    _exit(127);
  }
  int ws = 0;
  bool ended = false;
  while (!fs::exists(wait_for) && !ended) {
    ended = waitpid(pid, &ws, WNOHANG) == pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const auto t0 = std::chrono::steady_clock::now();
  if (!ended && kill_after_s >= 0) {
    std::this_thread::sleep_for(std::chrono::duration<double>(kill_after_s));
    kill(pid, SIGKILL);
  }
  if (!ended) waitpid(pid, &ws, 0);
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), WIFSIGNALED(ws)};
}

// run_child with a random kill delay of up to max_delay_s after wait_for appears; retried (at most 5
// times, a third of the delay range each time) until a kill lands before the run completes (no
// run/done). Returns whether one did.
bool kill_mid_run(const std::string& args, const fs::path& run, const fs::path& wait_for, double max_delay_s) {
  static std::mt19937 rng(std::random_device{}());
  for (int attempt = 0; attempt < 5; ++attempt) {
    fs::remove_all(run);
    const double delay = std::uniform_real_distribution<double>(0.0, max_delay_s)(rng);
    const bool killed = run_child(args, wait_for, delay).killed && !fs::exists(run / "done");
    std::printf("attempt %d: SIGKILL %.3f s after %s: %s, %zu metrics lines, state %s\n", attempt, delay,
                wait_for.filename().c_str(), killed ? "killed mid-run" : "it had finished", metrics(run).size(),
                fs::exists(run / "state.safetensors") ? "saved" : "not yet saved");
    if (killed) return true;
    max_delay_s /= 3;
  }
  return false;
}

// The run folder's state refused, and the folder left byte for byte as it was, when the state has a
// flipped bit, is cut short, or (with --set) the configuration differs; the intact state then resumes
// and completes. `run` is a complete run; its `done` is removed (as if killed after its last state).
void expect_bad_state_refused(const std::string& command, const fs::path& run, const std::string& other_setting) {
  fs::remove(run / "done");
  const fs::path state = run / "state.safetensors";
  const std::string good = slurp(state);
  ASSERT_GT(good.size(), 200u);
  const std::string resume = kExe + " " + command + " --resume " + run.string();

  std::string flipped = good;
  flipped[flipped.size() - 100] ^= 0x10;  // one bit in the last tensor's data
  spit(state, flipped);
  auto before = snapshot(run);
  Result r = sh(resume);
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find(state.string() + " is corrupt"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("checksum"), std::string::npos) << r.out;
  EXPECT_EQ(snapshot(run), before);

  spit(state, good.substr(0, good.size() / 2));
  before = snapshot(run);
  r = sh(resume);
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find(state.string() + " is corrupt or truncated"), std::string::npos) << r.out;
  EXPECT_EQ(snapshot(run), before);

  spit(state, good);
  before = snapshot(run);
  r = sh(resume + " --set " + other_setting);
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("was saved under another configuration"), std::string::npos) << r.out;
  EXPECT_EQ(snapshot(run), before);

  // The intact state resumes (nothing left to train: the last epoch is re-evaluated) and completes.
  r = sh(resume);
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(fs::exists(run / "done"));
}

// `neuroai COMMAND OPTIONS` uninterrupted (a) and SIGKILLed after its first state, then resumed (b):
// the same metrics (all but the timing fields), model.safetensors and `files`, byte for byte. Then the
// bad-state refusals on b. Returns a's metrics.
std::vector<std::string> expect_exact_resume(const std::string& name, const std::string& command,
                                             const std::string& options, const std::vector<std::string>& files,
                                             const std::string& other_setting) {
  const fs::path d = scratch(name);
  // a: uninterrupted, timing the part of the run after its first state.
  const ChildEnd a =
      run_child(command + " " + options + " --out " + (d / "a").string(), d / "a" / "state.safetensors", -1);
  EXPECT_FALSE(a.killed);
  EXPECT_TRUE(fs::exists(d / "a" / "done"));
  const bool killed = kill_mid_run(command + " " + options + " --out " + (d / "b").string(), d / "b",
                                   d / "b" / "state.safetensors", 0.8 * a.after_s);
  EXPECT_TRUE(killed) << "every run finished before the kill";
  const Result r = sh(kExe + " " + command + " --resume " + (d / "b").string());
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(fs::exists(d / "b" / "done"));
  const auto la = comparable_lines(d / "a" / "metrics.jsonl");
  EXPECT_EQ(la, comparable_lines(d / "b" / "metrics.jsonl"));
  EXPECT_EQ(slurp(d / "a" / "model.safetensors"), slurp(d / "b" / "model.safetensors"));
  for (const auto& f : files) {
    const bool jsonl = f.size() > 6 && f.substr(f.size() - 6) == ".jsonl";
    if (jsonl)
      EXPECT_EQ(comparable_lines(d / "a" / f), comparable_lines(d / "b" / f)) << f;
    else
      EXPECT_EQ(slurp(d / "a" / f), slurp(d / "b" / f)) << f;
  }
  expect_bad_state_refused(command, d / "b", other_setting);
  return la;
}

TEST(StudyResume, SigkillThenResumeEndsWithTheUninterruptedMetrics) {
  SKIP_WITHOUT_DATA();
  const fs::path d = scratch("resume");
  const fs::path cfg = write_resume_config(d);
  const auto t0 = std::chrono::steady_clock::now();
  const Result a = sh(kExe + " train mlp --config " + cfg.string() + " --out " + (d / "a").string());
  ASSERT_EQ(a.rc, 0) << a.out;
  const double run_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Scenario 0: a random point of the whole run (it may die before the first state: resume restarts).
  // Scenario 1: a random point after the first epoch's state (CSR layers, moments, cut-back logs).
  for (int scenario = 0; scenario < 2; ++scenario) {
    const std::string args = "train mlp --config " + cfg.string() + " --out " + (d / "b").string();
    const fs::path wait_for = d / "b" / (scenario == 0 ? "config.toml" : "state.safetensors");
    ASSERT_TRUE(kill_mid_run(args, d / "b", wait_for, (scenario == 0 ? 0.9 : 0.25) * run_s))
        << "every run finished before the kill";
    const Result r = sh(kExe + " train mlp --resume " + (d / "b").string());
    ASSERT_EQ(r.rc, 0) << r.out;
    ASSERT_TRUE(fs::exists(d / "b" / "done"));
    const auto la = comparable_lines(d / "a" / "metrics.jsonl"), lb = comparable_lines(d / "b" / "metrics.jsonl");
    ASSERT_EQ(la.size(), 3u);
    EXPECT_EQ(la, lb);
    EXPECT_EQ(comparable_lines(d / "a" / "steps.jsonl"), comparable_lines(d / "b" / "steps.jsonl"));
    EXPECT_EQ(slurp(d / "a" / "model.safetensors"), slurp(d / "b" / "model.safetensors"));
    EXPECT_NE(la.back().find("\"format\":\"csr\""), std::string::npos) << la.back();
  }

  // Resuming a complete run changes nothing.
  const auto before = snapshot(d / "b");
  EXPECT_EQ(sh(kExe + " train mlp --resume " + (d / "b").string()).rc, 0);
  EXPECT_EQ(snapshot(d / "b"), before);
}

TEST(StudyResume, CorruptOrTruncatedStateIsRefusedAndNothingChanges) {
  SKIP_WITHOUT_DATA();
  const fs::path d = scratch("corrupt");
  const fs::path cfg = write_config(d, 2);
  ASSERT_EQ(sh(kExe + " train mlp --config " + cfg.string() + " --out " + (d / "run").string()).rc, 0);
  expect_bad_state_refused("train mlp", d / "run", "lr=0.01");
}

// Small MLP runs (784 -> 16 -> 16 -> 10, 2048 samples): the options whose state goes beyond the layers.
const std::string kSmallMlp =
    "--hidden 16,16 --batch 64 --train-limit 2048 --test-limit 128 --switch-density 0.5 --threads 1 --backend cpu "
    "--quiet";

// Lottery tickets: one epoch per round, so every state lies on a round boundary (the resumed run does the
// next round itself; rounds done and the rewind snapshot come from the state).
TEST(StudyResume, MlpIterativePruningResumesExactly) {
  SKIP_WITHOUT_DATA();
  const auto la = expect_exact_resume("resume_iterative", "train mlp",
                                      kSmallMlp + " --epochs 1 --prune iterative --rounds 2 --rewind-step 5",
                                      {"steps.jsonl"}, "rounds=3");
  ASSERT_EQ(la.size(), 3u);
  EXPECT_NE(la.back().find("\"round\":2"), std::string::npos) << la.back();
}

// The spatial loss samples neighbourhoods from a generator per sheet; merging changes masks and biases.
TEST(StudyResume, MlpSpatialLossAndMergeResumeExactly) {
  SKIP_WITHOUT_DATA();
  const auto la = expect_exact_resume("resume_spatial", "train mlp",
                                      kSmallMlp + " --epochs 3 --spatial-loss 0.25 --merge", {"steps.jsonl"},
                                      "spatial_loss=0.5");
  EXPECT_EQ(la.size(), 3u);
}

// Recurrent models on the synthetic sines task (no data needed): relevance pruning with the CSR hand-off,
// IDR and merging.
const std::string kSmallRnn =
    "--task sines --seq-len 16 --hidden 16 --groups 4 --epochs 4 --batch 32 --train-limit 2048 --test-limit 64 "
    "--sparsity 0.6 --prune-every 4 --switch-density 0.7 --idr-l1 1e-4 --merge --threads 1 --backend cpu --quiet";

TEST(StudyResume, GruResumesExactly) {
  const auto la = expect_exact_resume("resume_gru", "train gru", kSmallRnn, {}, "clip=0.5");
  ASSERT_EQ(la.size(), 4u);
  EXPECT_NE(la.back().find("\"format\":\"csr\""), std::string::npos) << la.back();
}

TEST(StudyResume, RnnResumesExactly) {
  const auto la = expect_exact_resume("resume_rnn", "train rnn", kSmallRnn + " --alpha 0.5", {}, "alpha=0.7");
  EXPECT_EQ(la.size(), 4u);
}

// Link prediction (fresh negatives from the run's generator every epoch) with community pruning (Louvain
// on the current edge weights), state every 5 of 60 full-graph epochs.
TEST(StudyResume, GnnResumesExactly) {
  const auto la = expect_exact_resume(
      "resume_gnn", "train gnn",
      "--graph sbm:n=600,k=4,deg=10,ratio=0.1 --task links --epochs 60 --eval-every 5 --hidden 16 --prune-every 3 "
      "--edge-prune community --null-replicates 2 --threads 1 --backend cpu --quiet",
      {"kept_edges.txt"}, "edge_lr=0.02");
  ASSERT_EQ(la.size(), 13u);  // 12 evaluations and the final line
  EXPECT_NE(la.back().find("\"final\":true"), std::string::npos) << la.back();
}

}  // namespace
