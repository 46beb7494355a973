// `neuroai sweep CONFIG --grid KEY=V1,V2 ... --seeds N --out SWEEP_DIR`: every combination of the grid
// values times N seeds, each run a subprocess of this same program (`neuroai <command> --config CONFIG
// --set KEY=V ... --set seed=S --set out=SWEEP_DIR/<run>`) with its output in SWEEP_DIR/<run>/log.txt.
// A run whose folder holds `done` is complete and skipped; one with a training state (state.safetensors)
// is resumed. Ends with SWEEP_DIR/summary.csv and summary.md: per setting, mean and std over the seeds
// of the final metrics. `--shard K/N` runs only the K-th of N disjoint parts of the grid, so a scheduler's
// job array can spread one sweep over a cluster (docs/CLUSTER.md); the top-level files are shared by
// every shard (tools/sweep_plan.h).
#include <spawn.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "kernels/error.h"
#include "tools/commands.h"
#include "tools/config.h"
#include "tools/sweep_plan.h"

extern char** environ;

namespace neuroai::tools {

namespace {

namespace fs = std::filesystem;

struct SweepOptions {
  std::string config;
  std::vector<std::string> grid;
  std::vector<std::string> set;
  int seeds = 1;
  int jobs = 1;
  std::string out;
  std::string shard;  // "K/N" or "slurm"
  bool sharded = false;  // --shard given (an empty value is refused, not read as the whole grid)
  bool dry_run = false;
};

struct Shard {
  int k = 1, n = 1;
};

struct Axis {
  std::string key;
  std::vector<std::string> values;
};

struct Run {
  std::vector<std::pair<std::string, std::string>> setting;  // grid key -> value
  int64_t seed = 0;
  std::string name, dir;
  std::vector<std::string> argv;
  int status = -1;  // exit status; -1 not run
};

// More runs than one sweep folder should hold; also what keeps a grid's listing finite.
constexpr uint64_t kMaxRuns = 10000;

std::string normalize_key(std::string k) {
  std::replace(k.begin(), k.end(), '-', '_');
  return k;
}

Axis parse_axis(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
    throw ConfigError(fmt::format("--grid {}: expected KEY=V1,V2,... (';' separates values that contain commas)", spec));
  Axis a{spec.substr(0, eq), {}};
  const std::string vals = spec.substr(eq + 1);
  const char sep = vals.find(';') != std::string::npos ? ';' : ',';
  std::stringstream ss(vals);
  std::string v;
  while (std::getline(ss, v, sep))
    if (!v.empty()) a.values.push_back(v);
  return a;
}

// "sparsity-0.9_lr-0.001" from the setting; characters outside [A-Za-z0-9.+-] become '_'.
std::string setting_name(const std::vector<std::pair<std::string, std::string>>& s) {
  std::string n;
  for (const auto& [k, v] : s) {
    if (!n.empty()) n += "_";
    n += k + "-" + v;
  }
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '+' && c != '_') c = '_';
  return n.empty() ? "base" : n;
}

std::string self_exe() { return fs::read_symlink("/proc/self/exe").string(); }

pid_t spawn(const Run& r) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  const std::string log = (fs::path(r.dir) / "log.txt").string();
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> args;
  for (const auto& a : r.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  NEUROAI_CHECK(rc == 0, "sweep: cannot start {}: {}", args[0], std::strerror(rc));
  return pid;
}

// A whole number in [0, 10^9) written with digits only; false otherwise.
bool parse_count(const std::string& s, int& v) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  v = std::stoi(s);
  return true;
}

// --shard K/N or --shard slurm (K and N from the job array's environment). A usage error (exit 2) for
// anything else, before any work.
Shard parse_shard(bool given, const std::string& spec) {
  Shard sh;
  if (!given) return sh;
  if (spec != "slurm") {
    const auto slash = spec.find('/');
    const bool ok = slash != std::string::npos && parse_count(spec.substr(0, slash), sh.k) &&
                    parse_count(spec.substr(slash + 1), sh.n) && sh.k >= 1 && sh.k <= sh.n;
    if (!ok) throw ConfigError(fmt::format("--shard: expected K/N with 1 <= K <= N, got {}", spec));
    return sh;
  }
  const auto env = [](const char* name) -> const char* {
    const char* v = std::getenv(name);
    return v && *v ? v : nullptr;
  };
  const char* id = env("SLURM_ARRAY_TASK_ID");
  const char* count = env("SLURM_ARRAY_TASK_COUNT");
  if (!id || !count)
    throw ConfigError(fmt::format("--shard slurm: {} not set; expected a task of a SLURM job array "
                                  "(sbatch --array=1-N), or give --shard K/N",
                                  id ? "SLURM_ARRAY_TASK_COUNT is"
                                     : count ? "SLURM_ARRAY_TASK_ID is"
                                             : "SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT are"));
  int task = 0, min = 1, step = 1;
  const auto number = [](const char* name, const char* v, int& out) {
    if (!parse_count(v, out))
      throw ConfigError(fmt::format("--shard slurm: {}={} is not a whole number", name, v));
  };
  number("SLURM_ARRAY_TASK_ID", id, task);
  number("SLURM_ARRAY_TASK_COUNT", count, sh.n);
  if (const char* v = env("SLURM_ARRAY_TASK_MIN")) number("SLURM_ARRAY_TASK_MIN", v, min);
  if (const char* v = env("SLURM_ARRAY_TASK_STEP")) number("SLURM_ARRAY_TASK_STEP", v, step);
  const bool ok = sh.n >= 1 && step >= 1 && task >= min && (task - min) % step == 0 && (task - min) / step < sh.n;
  if (!ok)
    throw ConfigError(fmt::format(
        "--shard slurm: SLURM_ARRAY_TASK_ID={} is not one of the array's {} ids {}-{}{} ({}); expected an array of "
        "consecutive ids such as --array=1-{}",
        task, sh.n, min, min + step * (std::max(sh.n, 1) - 1), step > 1 ? fmt::format(":{}", step) : "",
        env("SLURM_ARRAY_TASK_MIN") ? "from SLURM_ARRAY_TASK_MIN" : "counted from 1: SLURM_ARRAY_TASK_MIN is not set",
        std::max(sh.n, 1)));
  sh.k = (task - min) / step + 1;
  return sh;
}

int run(CLI::App& app, const SweepOptions& o) {
  const Shard shard = parse_shard(o.sharded, o.shard);
  const std::string command = check_config_file(app, o.config);
  NEUROAI_CHECK(has_option(app, command, "out"), "sweep: `neuroai {}` has no --out run folder to sweep into", command);
  std::vector<Axis> axes;
  // Runs are counted before they are listed: a grid of a few kilobytes can name billions of them.
  uint64_t n_runs = uint64_t(o.seeds);
  for (const auto& g : o.grid) {
    axes.push_back(parse_axis(g));
    const Axis& a = axes.back();
    if (a.key == "seed" || a.key == "out")
      throw ConfigError(fmt::format("--grid {}: '{}' is set by the sweep itself (--seeds, --out)", g, a.key));
    for (size_t i = 0; i + 1 < axes.size(); ++i)
      if (normalize_key(axes[i].key) == normalize_key(a.key))
        throw ConfigError(fmt::format("--grid {}: '{}' has an axis already; expected each key once", g, a.key));
    for (size_t i = 0; i < a.values.size(); ++i)
      for (size_t k = 0; k < i; ++k)
        if (a.values[k] == a.values[i])  // two runs would share one run folder
          throw ConfigError(fmt::format("--grid {}: value '{}' is listed twice; expected distinct values", g,
                                        a.values[i]));
    n_runs *= a.values.size();
    if (n_runs > kMaxRuns)
      throw ConfigError(fmt::format("--grid: more than {} runs (settings x seeds); expected a smaller grid, or "
                                    "several sweeps",
                                    kMaxRuns));
    for (const auto& v : a.values) check_key_value(app, command, a.key, v);
  }
  // The first seed: the config's, or --set seed=S.
  int64_t seed0 = toml::parse_file(o.config)["seed"].value<int64_t>().value_or(0);
  for (const auto& kv : o.set) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) throw ConfigError(fmt::format("--set {}: expected KEY=VALUE", kv));
    const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
    check_key_value(app, command, key, value);
    if (key == "out") throw ConfigError(fmt::format("--set {}: 'out' is set by the sweep itself (--out)", kv));
    if (key == "seed") seed0 = toml::parse("v = " + value)["v"].value<int64_t>().value_or(0);  // 0x10, 1_000
  }
  const std::string exe = self_exe();
  const std::string config = fs::absolute(o.config).string();
  const bool can_resume = has_option(app, command, "resume");
  // Every combination: the last axis varies fastest.
  std::vector<std::vector<std::pair<std::string, std::string>>> settings = {{}};
  for (const auto& a : axes) {
    std::vector<std::vector<std::pair<std::string, std::string>>> next;
    for (const auto& s : settings)
      for (const auto& v : a.values) {
        auto t = s;
        t.emplace_back(a.key, v);
        next.push_back(t);
      }
    settings = next;
  }
  SweepPlan plan;
  plan.command = command;
  plan.config = config;
  plan.set = o.set;
  for (const auto& a : axes) plan.keys.push_back(a.key);
  plan.seeds = o.seeds;
  std::vector<Run> runs;
  for (const auto& s : settings)
    for (int i = 0; i < o.seeds; ++i) {
      Run r;
      r.setting = s;
      r.seed = seed0 + i;
      r.name = setting_name(s) + fmt::format("_seed-{}", r.seed);
      r.dir = (fs::path(o.out) / r.name).string();
      std::istringstream words(command);
      r.argv.push_back(exe);
      for (std::string w; words >> w;) r.argv.push_back(w);
      const bool resume = can_resume && fs::exists(fs::path(r.dir) / "state.safetensors");
      if (resume) {
        r.argv.insert(r.argv.end(), {"--resume", r.dir});
      } else {
        r.argv.insert(r.argv.end(), {"--config", config});
        for (const auto& kv : o.set) r.argv.insert(r.argv.end(), {"--set", kv});
        for (const auto& [k, v] : s) r.argv.insert(r.argv.end(), {"--set", k + "=" + v});
        r.argv.insert(r.argv.end(), {"--set", fmt::format("seed={}", r.seed), "--set", "out=" + r.dir});
      }
      plan.runs.push_back({r.setting, r.seed, r.name});
      runs.push_back(std::move(r));
    }
  fs::create_directories(o.out);
  std::vector<Run*> todo;
  size_t mine = 0;  // runs of this shard
  for (size_t i = 0; i < runs.size(); ++i) {
    if (shard_of(i, shard.n) != shard.k) continue;
    ++mine;
    if (!fs::exists(fs::path(runs[i].dir) / "done")) todo.push_back(&runs[i]);
  }
  const std::string which = !o.sharded ? "" : fmt::format("shard {}/{}: {} of ", shard.k, shard.n, mine);
  fmt::print("sweep: {}{} runs ({} settings x {} seeds) of `neuroai {}`: {} complete, {} to run, {} at a time\n", which,
             runs.size(), settings.size(), o.seeds, command, mine - todo.size(), todo.size(), o.jobs);
  if (o.dry_run) {
    for (const Run* r : todo) fmt::print("  {}\n", fmt::join(r->argv, " "));
    return 0;
  }
  if (const size_t replaced = write_plan(o.out, plan))
    fmt::print("sweep: {}/{} listed another grid ({} runs); it now lists this one\n", o.out, kSweepPlanFile, replaced);
  std::fflush(stdout);
  std::map<pid_t, Run*> running;
  size_t next = 0, finished = 0;
  int failed = 0;
  while (next < todo.size() || !running.empty()) {
    while (next < todo.size() && int(running.size()) < o.jobs) {
      Run* r = todo[next++];
      fs::create_directories(r->dir);
      running[spawn(*r)] = r;
      fmt::print("  started  {}\n", r->name);
      std::fflush(stdout);
    }
    int ws = 0;
    const pid_t pid = waitpid(-1, &ws, 0);
    if (pid < 0) break;
    auto it = running.find(pid);
    if (it == running.end()) continue;
    Run* r = it->second;
    running.erase(it);
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    ++finished;
    if (r->status != 0) ++failed;
    const auto m = final_metrics(r->dir);
    fmt::print("  finished {} [{}/{}]: {}\n", r->name, finished, todo.size(),
               r->status == 0 ? fmt::format("test_acc {:.4f}", m.count("test_acc") ? m.at("test_acc") : NAN)
                              : fmt::format("FAILED (exit {}; see {}/log.txt)", r->status, r->dir));
    std::fflush(stdout);
  }
  const SweepStatus st = write_summary(o.out, plan);
  if (o.sharded)
    fmt::print("sweep: shard {}/{} ran {} of its {} runs ({} were complete already); {} runs in the grid\n", shard.k,
               shard.n, finished, mine, mine - todo.size(), runs.size());
  std::string rest;
  if (!st.not_started.empty())
    rest += fmt::format(", {} not started{}", st.not_started.size(), o.sharded ? " (other shards)" : "");
  if (!st.unfinished.empty()) rest += fmt::format(", {} unfinished", st.unfinished.size());
  fmt::print("wrote {0}/summary.csv and {0}/summary.md: {1} of {2} runs of the grid complete{3}\n", o.out, st.complete,
             runs.size(), rest);
  NEUROAI_CHECK(failed == 0, "sweep: {} of {} runs failed (their log.txt says why); rerun the same command to retry them",
                failed, todo.size());
  return 0;
}

}  // namespace

Command add_sweep(CLI::App& app) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App* cmd = app.add_subcommand("sweep", "Run a grid of settings x seeds from a config file; summary.csv / .md");
  cmd->add_option("CONFIG", o->config, "TOML config of one run (with command = \"train mlp\" or another)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--grid", o->grid, "KEY=V1,V2,... (repeatable; ';' separates values that contain commas)")
      ->allow_extra_args(false);
  cmd->add_option("--set", o->set, "KEY=VALUE for every run (repeatable)")->allow_extra_args(false);
  cmd->add_option("--seeds", o->seeds, "Seeds per setting: seed, seed + 1, ... (seed from CONFIG or --set seed=S, default 0)")
      ->check(positive())
      ->capture_default_str();
  cmd->add_option("--jobs", o->jobs, "Runs at a time (each uses the config's --threads)")
      ->check(positive())
      ->capture_default_str();
  cmd->add_option("--out", o->out, "Sweep folder: one run folder per setting and seed, summary.csv, summary.md")
      ->required();
  cmd->add_option("--shard", o->shard,
                  "K/N: run only the K-th of N disjoint parts of the grid (1 <= K <= N): the run at index i of the "
                  "grid's order (from 0; the last --grid axis fastest, then the seeds) belongs to part i mod N + 1. "
                  "Shards of one sweep share its --out folder and may run at once; give every one the same grid and "
                  "N. `slurm`: K and N from a SLURM job array: N = SLURM_ARRAY_TASK_COUNT, K = (SLURM_ARRAY_TASK_ID - "
                  "SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP + 1, so --array=1-N and --array=0-(N-1) both work "
                  "(ids counted from 1 when SLURM_ARRAY_TASK_MIN is not set; see docs/CLUSTER.md)")
      ->allow_extra_args(false)
      ->each([o](const std::string&) { o->sharded = true; });
  cmd->add_flag("--dry-run", o->dry_run, "Print the commands of the runs still to do and stop");
  CLI::App* root = &app;
  return {cmd, [root, o]() { return run(*root, *o); }};
}

}  // namespace neuroai::tools
