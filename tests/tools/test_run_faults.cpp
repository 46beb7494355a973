// The run folder under faults (issue #15), through the neuroai program with the fault shim preloaded
// (tests/tools/fault_shim.cpp):
// - kill -9 at 50 seeded points spread over `train mlp`, `train gru` and `train gnn`: each point is an
//   operation that changes a file of the run folder (most of them inside checkpoint and state writes;
//   a write is cut in half first), which covers every state a kill can leave. Every run then resumes to
//   exactly the metrics and model of the uninterrupted run, or is refused with a message;
// - full disk (ENOSPC) and I/O errors (EIO) while writing the state, the model or the metrics: exit 1,
//   a message naming the file, no temporary or half-written file left, and the run resumes exactly;
// - a read-only or missing run folder refused before any training, nothing in it changed;
// - a second process on a run folder refused while the first holds its lock, never writing beside it.
// Tiny runs (under a second each) on one CPU thread, so the file is quick on CI's 2 cores.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/safetensors.h"
#include "engine/train_state.h"
#include "run_util.h"

namespace neuroai::test {
namespace {

struct Family {
  std::string name, command, options;
};

// ctest runs each test in its own process, side by side: each process keeps its files in a folder named
// for the first test it runs.
const std::string& suite_dir() {
  static const std::string d =
      std::string("test_run_faults_tmp/") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  return d;
}

fs::path data_dir() { return fs::path(NEUROAI_BINARY_DIR) / suite_dir() / "images"; }

// Fixed CSR hand-off (--switch-density): a measured break-even would differ between processes.
const std::vector<Family>& families() {
  static const std::vector<Family> f = {
      {"mlp", "train mlp",
       "--data " + data_dir().string() +
           " --hidden 16,16 --epochs 3 --batch 32 --sparsity 0.8 --prune-every 2 --switch-density 0.5 --threads 1 "
           "--backend cpu --quiet"},
      {"gru", "train gru",
       "--task sines --seq-len 8 --hidden 8 --groups 2 --epochs 3 --batch 16 --train-limit 128 --test-limit 32 "
       "--sparsity 0.6 --prune-every 2 --switch-density 0.7 --threads 1 --backend cpu --quiet"},
      {"gnn", "train gnn",
       "--graph sbm:n=120,k=2,deg=6 --epochs 12 --eval-every 3 --hidden 8 --prune-every 2 --null-replicates 0 "
       "--threads 1 --backend cpu --quiet"},
  };
  return f;
}

// An uninterrupted run of a family under the counting shim: its operations, metrics and model.
struct Reference {
  std::vector<Op> ops;
  std::vector<std::string> metrics;
  std::string model;
};

const Reference& reference(const Family& fam) {
  static std::map<std::string, Reference> refs;
  auto it = refs.find(fam.name);
  if (it != refs.end()) return it->second;
  const fs::path d = scratch(suite_dir(), "ref_" + fam.name);
  const fs::path run = d / "run";
  const Child r = run_neuroai(fam.command + " " + fam.options + " --out " + run.string(),
                            shim_env(d, "count", 0, d / "ops.log"), d / "out.txt");
  EXPECT_EQ(r.rc, 0) << fam.name << ": " << r.out;
  Reference ref;
  ref.ops = read_ops(d / "ops.log");
  ref.metrics = comparable_lines(run / "metrics.jsonl");
  ref.model = slurp(run / "model.safetensors");
  EXPECT_GT(ref.ops.size(), 10u) << fam.name << ": the shim counted no operations; is it preloaded?";
  EXPECT_FALSE(ref.metrics.empty()) << fam.name;
  return refs.emplace(fam.name, std::move(ref)).first->second;
}

class RunFaults : public ::testing::Test {
protected:
  void SetUp() override {
    static const bool made = (make_tiny_images(data_dir()), true);
    (void)made;
  }
};

// No torn file under a final name: every .jsonl line parses, every safetensors file reads (a state also
// passes its checksum). After a kill, a temporary file (never read) and a cut last line of a log (which
// a resume drops) may be left; otherwise neither.
void expect_no_torn_files(const fs::path& run, const std::string& what, bool after_kill = false) {
  if (!fs::is_directory(run)) return;
  for (const auto& e : fs::directory_iterator(run)) {
    const std::string name = e.path().filename().string();
    if (!after_kill) {
      EXPECT_FALSE(name.ends_with(".tmp")) << what << ": left " << name;
    }
    if (name.ends_with(".jsonl")) {
      const auto lines = comparable_lines(e.path());
      for (size_t i = 0; i < lines.size(); ++i)
        EXPECT_FALSE(lines[i].starts_with("TORN") && !(after_kill && i + 1 == lines.size())) << what << ": " << name;
    }
    if (name == "state.safetensors") {
      EXPECT_NO_THROW(read_state_file(e.path().string())) << what;
    }
    if (name == "model.safetensors") {
      EXPECT_NO_THROW(read_safetensors(e.path().string())) << what;
    }
  }
}

// Resumes run (no shim); true when it ends with exactly the reference's metrics and model. A refusal
// must be one line naming why; `refused` says whether it was.
bool resume_matches(const Family& fam, const Reference& ref, const fs::path& run, const std::string& what,
                    bool* refused) {
  *refused = false;
  const Child r = run_neuroai(fam.command + " --resume " + run.string(), {}, run.parent_path() / "resume.txt");
  if (r.rc != 0) {
    *refused = r.signal == 0 && r.last_line().starts_with("neuroai: ");
    EXPECT_TRUE(*refused) << what << ": resume ended badly: " << r.out;
    std::printf("%s: resume refused: %s\n", what.c_str(), r.last_line().c_str());
    return false;
  }
  const bool same = comparable_lines(run / "metrics.jsonl") == ref.metrics && slurp(run / "model.safetensors") == ref.model;
  EXPECT_TRUE(same) << what << ": the resumed run's metrics or model differ from the uninterrupted run";
  EXPECT_TRUE(fs::exists(run / "done")) << what;
  EXPECT_TRUE(fs::exists(run / "config.json")) << what;
  expect_no_torn_files(run, what + ", resumed");
  return same;
}

TEST_F(RunFaults, KillAtFiftyPointsResumesExactlyOrIsRefused) {
  // 17 + 17 + 16 points; seeded, so a failure names a point that reproduces.
  std::mt19937 rng(15);
  int survived = 0, resumed = 0, refused_n = 0, in_checkpoint = 0, total = 0;
  const int per_family[] = {17, 17, 16};
  for (size_t fi = 0; fi < families().size(); ++fi) {
    const Family& fam = families()[fi];
    const Reference& ref = reference(fam);
    ASSERT_GT(ref.ops.size(), size_t(per_family[fi]));
    std::vector<long> points(ref.ops.size());
    for (size_t i = 0; i < points.size(); ++i) points[i] = long(i + 1);
    std::shuffle(points.begin(), points.end(), rng);
    points.resize(size_t(per_family[fi]));
    std::sort(points.begin(), points.end());
    for (long at : points) {
      const Op& op = ref.ops[size_t(at - 1)];
      const bool ckpt = op.path.find(".safetensors") != std::string::npos;
      in_checkpoint += ckpt;
      ++total;
      const std::string what = fam.name + " kill at op " + std::to_string(at) + "/" + std::to_string(ref.ops.size()) +
                               " (" + op.kind + " " + fs::path(op.path).filename().string() + ")";
      const fs::path d = scratch(suite_dir(), "kill_" + fam.name);
      const fs::path run = d / "run";
      const Child k = run_neuroai(fam.command + " " + fam.options + " --out " + run.string(), shim_env(d, "kill", at),
                                d / "out.txt");
      EXPECT_EQ(k.signal, SIGKILL) << what << ": " << k.out;
      expect_no_torn_files(run, what, true);
      bool refused = false;
      const bool same = fs::exists(run / "config.toml") ? resume_matches(fam, ref, run, what, &refused) : false;
      if (!fs::exists(run / "config.toml")) {
        // Killed before the run folder had its config: there is nothing to resume, and resume says so.
        const Child r = run_neuroai(fam.command + " --resume " + run.string(), {}, d / "resume.txt");
        refused = (r.rc == 1 || r.rc == 2) && r.signal == 0 && r.out.starts_with("--resume " + run.string() + ":");
        EXPECT_TRUE(refused) << what << ": " << r.out;
      }
      survived += same || refused;
      resumed += same;
      refused_n += refused;
    }
  }
  std::printf("kill -9: %d of %d points survived (%d resumed exactly, %d refused with a message); %d inside "
              "checkpoint or state writes\n",
              survived, total, resumed, refused_n, in_checkpoint);
  EXPECT_EQ(total, 50);
  EXPECT_EQ(survived, total);
  EXPECT_GE(in_checkpoint, 10);  // the draw does land inside checkpoint writes
}

TEST_F(RunFaults, FullDiskAndIoErrorsKeepThePreviousStateAndNameTheFile) {
  std::mt19937 rng(1515);
  int passed = 0, cases = 0;
  for (const Family& fam : families()) {
    const Reference& ref = reference(fam);
    for (const char* target : {"state.safetensors", "model.safetensors", "metrics.jsonl"}) {
      for (const std::string& mode : std::vector<std::string>{"enospc", "eio"}) {
        // A full disk fails a write; an I/O error may strike any operation (open, write, fsync, rename).
        std::vector<long> candidates;
        for (const Op& op : ref.ops)
          if (fs::path(op.path).filename().string().starts_with(target) &&
              (mode == "eio" || op.kind.starts_with("write") || op.kind == "pwrite"))
            candidates.push_back(op.index);
        ASSERT_FALSE(candidates.empty()) << fam.name << " " << target << " " << mode;
        const long at = candidates[std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(rng)];
        const Op& op = ref.ops[size_t(at - 1)];
        const std::string what = fam.name + " " + mode + " at op " + std::to_string(at) + " (" + op.kind + " " +
                                 fs::path(op.path).filename().string() + ")";
        ++cases;
        const fs::path d = scratch(suite_dir(), "io_" + fam.name);
        const fs::path run = d / "run";
        const Child r = run_neuroai(fam.command + " " + fam.options + " --out " + run.string(), shim_env(d, mode, at),
                                  d / "out.txt");
        const int failures_before = ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
        EXPECT_EQ(r.rc, 1) << what << ": " << r.out;
        EXPECT_TRUE(r.last_line().starts_with("neuroai: error: ")) << what << ": " << r.out;
        EXPECT_NE(r.last_line().find((run / target).string()), std::string::npos) << what << ": " << r.out;
        EXPECT_NE(r.last_line().find(mode == "eio" ? "Input/output error" : "No space left on device"),
                  std::string::npos)
            << what << ": " << r.out;
        EXPECT_FALSE(fs::exists(run / "done")) << what;
        expect_no_torn_files(run, what);
        bool refused = false;
        const bool same = resume_matches(fam, ref, run, what, &refused);
        EXPECT_FALSE(refused) << what;
        const int failures_after = ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
        passed += same && failures_after == failures_before;
      }
    }
  }
  std::printf("full disk / I/O errors: %d of %d cases passed\n", passed, cases);
  EXPECT_EQ(passed, cases);
}

// A run killed after its first state, to resume in the folder tests below.
fs::path interrupted_run(const std::string& name) {
  const Family& fam = families()[2];
  const Reference& ref = reference(fam);
  long at = 0;
  for (const Op& op : ref.ops)
    if (op.kind == "rename" && op.path.ends_with("/state.safetensors") && at == 0) at = op.index + 1;
  const fs::path d = scratch(suite_dir(), name);
  const Child k = run_neuroai(fam.command + " " + fam.options + " --out " + (d / "run").string(), shim_env(d, "kill", at),
                            d / "out.txt");
  EXPECT_EQ(k.signal, SIGKILL) << k.out;
  EXPECT_TRUE(fs::exists(d / "run" / "state.safetensors"));
  return d / "run";
}

TEST_F(RunFaults, ReadOnlyOrMissingRunFolderIsRefusedBeforeTraining) {
  const Family& fam = families()[2];
  const fs::path run = interrupted_run("readonly");
  const auto before = snapshot(run);
  // A read-only file system (the shim answers EROFS to every change under the folder; permission bits
  // would not stop root, who runs CI).
  Child r = run_neuroai(fam.command + " --resume " + run.string(), shim_env(run, "erofs"), run.parent_path() / "o.txt");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_EQ(r.out, "neuroai: error: " + run.string() +
                       ": the run folder is not writable (Read-only file system); expected a folder this process can "
                       "write, nothing was run\n");
  EXPECT_EQ(snapshot(run), before);
  // A fresh run into a folder on a read-only file system.
  r = run_neuroai(fam.command + " " + fam.options + " --out " + (run / "sub").string(), shim_env(run, "erofs"),
                  run.parent_path() / "o.txt");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find((run / "sub").string() + ": cannot create the run folder (Read-only file system)"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(run / "sub"));
  EXPECT_EQ(snapshot(run), before);
  // Permission bits, where they apply (not as root).
  fs::permissions(run, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                  fs::perm_options::remove);
  const bool bits_bind = ::access(run.c_str(), W_OK) != 0;
  r = run_neuroai(fam.command + " --resume " + run.string(), {}, run.parent_path() / "o.txt");
  fs::permissions(run, fs::perms::owner_write, fs::perm_options::add);
  if (bits_bind) {
    EXPECT_EQ(r.rc, 1) << r.out;
    EXPECT_NE(r.out.find(run.string() + ": the run folder is not writable (Permission denied)"), std::string::npos)
        << r.out;
    EXPECT_EQ(snapshot(run), before);
  } else {
    std::printf("running as root: a folder without write bits is writable; the EROFS cases above stand for it\n");
  }
  // A missing folder: a usage error naming it, and nothing created.
  r = run_neuroai(fam.command + " --resume " + (run / "missing").string(), {}, run.parent_path() / "o.txt");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find((run / "missing").string()), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(run / "missing"));
  // The folder still resumes to the uninterrupted run's end.
  bool refused = false;
  EXPECT_TRUE(resume_matches(fam, reference(fam), run, "after the refusals", &refused));
}

TEST_F(RunFaults, SecondProcessOnARunFolderIsRefusedWhileTheFirstHoldsItsLock) {
  const Family& fam = families()[2];
  const Reference& ref = reference(fam);
  // The first run stops itself at its first write of metrics.jsonl: it holds the lock and has written
  // config.toml and its first state.
  long at = 0;
  for (const Op& op : ref.ops)
    if (op.path.ends_with("/metrics.jsonl") && op.kind.starts_with("write") && at == 0) at = op.index;
  ASSERT_GT(at, 0);
  const fs::path d = scratch(suite_dir(), "lock");
  const fs::path run = d / "run";
  Child first = run_neuroai(fam.command + " " + fam.options + " --out " + run.string(), shim_env(d, "stop", at),
                          d / "first.txt", true);
  ASSERT_TRUE(first.stopped) << first.out;
  const auto before = snapshot(run);
  ASSERT_TRUE(before.count("config.toml"));
  // A second fresh run and a resume into the same folder: refused, nothing in the folder changed.
  for (const std::string& args :
       {fam.command + " " + fam.options + " --out " + run.string(), fam.command + " --resume " + run.string()}) {
    const Child second = run_neuroai(args, {}, d / "second.txt");
    EXPECT_EQ(second.rc, 1) << second.out;
    EXPECT_EQ(second.out, "neuroai: error: " + run.string() + ": another neuroai process is using this run folder (it "
                          "holds " + (run / ".lock").string() + "); wait for it to end or use another folder\n");
    EXPECT_EQ(snapshot(run), before);
  }
  finish(first);
  EXPECT_EQ(first.rc, 0) << first.out;
  EXPECT_EQ(comparable_lines(run / "metrics.jsonl"), ref.metrics);
  EXPECT_EQ(slurp(run / "model.safetensors"), ref.model);
  // Released at the end: a resume of the complete run now goes through (and changes nothing).
  const Child again = run_neuroai(fam.command + " --resume " + run.string(), {}, d / "again.txt");
  EXPECT_EQ(again.rc, 0) << again.out;
  std::printf("lock: the second process was refused twice while the first held the folder; the first then "
              "completed with the uninterrupted run's metrics\n");
}

}  // namespace
}  // namespace neuroai::test
