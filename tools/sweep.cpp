// `neuroai sweep CONFIG --grid KEY=V1,V2 ... --seeds N --out SWEEP_DIR`: every combination of the grid
// values times N seeds, each run a subprocess of this same program (`neuroai <command> --config CONFIG
// --set KEY=V ... --set seed=S --set out=SWEEP_DIR/<run>`) with its output in SWEEP_DIR/<run>/log.txt.
// A run whose folder holds `done` is complete and skipped; one with a training state (state.safetensors)
// is resumed. Ends with SWEEP_DIR/summary.csv and summary.md: per setting, mean and std over the seeds
// of the final metrics.
#include <spawn.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "engine/safetensors.h"
#include "kernels/error.h"
#include "tools/commands.h"
#include "tools/config.h"

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
  bool dry_run = false;
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

// Columns of the summary, in order, when a run's final metrics have them.
const std::vector<std::string> kMetrics = {"test_acc", "test_loss", "sparsity", "density", "samples_per_s",
                                           "participation_ratio", "pr_between_class", "pr_within_class",
                                           "twonn_id", "activation_sparsity", "train_loss"};

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

nlohmann::json read_done(const std::string& dir) {
  std::ifstream in(fs::path(dir) / "done");
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

// The final metrics of a complete run, with density = nnz / weights over its layers when it lists them.
std::map<std::string, double> final_metrics(const std::string& dir) {
  std::map<std::string, double> m;
  const auto done = read_done(dir);
  if (!done.contains("final") || !done["final"].is_object()) return m;
  const auto& f = done["final"];
  for (const auto& [k, v] : f.items())
    if (v.is_number()) m[k] = v.get<double>();
  if (f.contains("layers") && f["layers"].is_array()) {
    double nnz = 0, total = 0;
    for (const auto& l : f["layers"]) {
      if (!l.contains("nnz")) continue;
      if (l.contains("shape")) {
        total += l["shape"][0].get<double>() * l["shape"][1].get<double>();
      } else if (l.contains("in") && l.contains("out")) {  // RNN metrics lines
        total += l["in"].get<double>() * l["out"].get<double>();
      } else {
        continue;
      }
      nnz += l["nnz"].get<double>();
    }
    if (total > 0) m["density"] = nnz / total;
  }
  return m;
}

void write_summary(const SweepOptions& o, const std::vector<Axis>& axes, const std::vector<Run>& runs) {
  // Settings in run order; each with its complete runs' metrics.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Run*>> by_setting;
  for (const auto& r : runs) {
    const std::string key = setting_name(r.setting);
    if (!by_setting.count(key)) order.push_back(key);
    by_setting[key].push_back(&r);
  }
  std::vector<std::string> metrics;
  std::map<std::string, std::map<std::string, std::vector<double>>> values;  // setting -> metric -> per seed
  for (const auto& key : order)
    for (const Run* r : by_setting[key])
      if (fs::exists(fs::path(r->dir) / "done"))
        for (const auto& [k, v] : final_metrics(r->dir)) values[key][k].push_back(v);
  for (const auto& m : kMetrics)
    for (const auto& key : order)
      if (values[key].count(m)) {
        metrics.push_back(m);
        break;
      }
  auto mean_std = [](const std::vector<double>& v) {
    double s = 0, s2 = 0;
    for (double x : v) s += x;
    const double mean = v.empty() ? NAN : s / double(v.size());
    for (double x : v) s2 += (x - mean) * (x - mean);
    const double sd = v.size() > 1 ? std::sqrt(s2 / double(v.size() - 1)) : 0.0;  // sample std
    return std::pair{mean, sd};
  };
  std::string csv, md;
  for (const auto& a : axes) csv += a.key + ",";
  csv += "runs_done,runs";
  for (const auto& m : metrics) csv += fmt::format(",{}_mean,{}_std", m, m);
  csv += "\n";
  md = fmt::format("# Sweep {}\n\nConfig `{}`, {} seed(s) per setting; mean ± std (sample std) over the seeds "
                   "of each run's final metrics.\n\n| ",
                   o.out, o.config, o.seeds);
  for (const auto& a : axes) md += a.key + " | ";
  md += "runs | ";
  for (const auto& m : metrics) md += m + " | ";
  md += "\n|";
  for (size_t i = 0; i < axes.size() + 1 + metrics.size(); ++i) md += "---|";
  md += "\n";
  for (const auto& key : order) {
    const auto& rs = by_setting[key];
    int done = 0;
    for (const Run* r : rs) done += fs::exists(fs::path(r->dir) / "done");
    std::string row_csv, row_md = "| ";
    for (const auto& [k, v] : rs.front()->setting) {
      row_csv += (v.find(',') != std::string::npos ? "\"" + v + "\"" : v) + ",";
      row_md += v + " | ";
    }
    row_csv += fmt::format("{},{}", done, rs.size());
    row_md += fmt::format("{}/{} | ", done, rs.size());
    for (const auto& m : metrics) {
      const auto it = values[key].find(m);
      if (it == values[key].end()) {
        row_csv += ",,";
        row_md += "– | ";
        continue;
      }
      const auto [mean, sd] = mean_std(it->second);
      row_csv += fmt::format(",{:.6g},{:.6g}", mean, sd);
      const bool big = std::fabs(mean) >= 100;
      row_md += big ? fmt::format("{:.0f} ± {:.0f} | ", mean, sd) : fmt::format("{:.4f} ± {:.4f} | ", mean, sd);
    }
    csv += row_csv + "\n";
    md += row_md + "\n";
  }
  md += "\nRuns: one folder per setting and seed under this folder (config.toml, metrics.jsonl, "
        "model.safetensors, log.txt, done). Figures: `neuroai report " + o.out + "`.\n";
  write_file_atomic((fs::path(o.out) / "summary.csv").string(), csv);
  write_file_atomic((fs::path(o.out) / "summary.md").string(), md);
}

int run(CLI::App& app, const SweepOptions& o) {
  const std::string command = check_config_file(app, o.config);
  NEUROAI_CHECK(has_option(app, command, "out"), "sweep: `neuroai {}` has no --out run folder to sweep into", command);
  std::vector<Axis> axes;
  for (const auto& g : o.grid) {
    axes.push_back(parse_axis(g));
    for (const auto& v : axes.back().values) check_key_value(app, command, axes.back().key, v);
    if (axes.back().key == "seed" || axes.back().key == "out")
      throw ConfigError(fmt::format("--grid {}: '{}' is set by the sweep itself (--seeds, --out)", g, axes.back().key));
  }
  // The first seed: the config's, or --set seed=S.
  int64_t seed0 = toml::parse_file(o.config)["seed"].value<int64_t>().value_or(0);
  for (const auto& kv : o.set) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) throw ConfigError(fmt::format("--set {}: expected KEY=VALUE", kv));
    const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
    check_key_value(app, command, key, value);
    if (key == "out") throw ConfigError(fmt::format("--set {}: 'out' is set by the sweep itself (--out)", kv));
    if (key == "seed") seed0 = std::stoll(value);
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
      runs.push_back(std::move(r));
    }
  fs::create_directories(o.out);
  std::vector<Run*> todo;
  for (auto& r : runs)
    if (!fs::exists(fs::path(r.dir) / "done")) todo.push_back(&r);
  fmt::print("sweep: {} runs ({} settings x {} seeds) of `neuroai {}`: {} complete, {} to run, {} at a time\n",
             runs.size(), settings.size(), o.seeds, command, runs.size() - todo.size(), todo.size(), o.jobs);
  if (o.dry_run) {
    for (const Run* r : todo) fmt::print("  {}\n", fmt::join(r->argv, " "));
    return 0;
  }
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
  write_summary(o, axes, runs);
  fmt::print("wrote {0}/summary.csv and {0}/summary.md\n", o.out);
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
  cmd->add_flag("--dry-run", o->dry_run, "Print the commands of the runs still to do and stop");
  CLI::App* root = &app;
  return {cmd, [root, o]() { return run(*root, *o); }};
}

}  // namespace neuroai::tools
