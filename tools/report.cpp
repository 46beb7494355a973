// `neuroai report RUN_DIR|SWEEP_DIR`: figures (PNG) and a markdown page, drawn by tools/report.py with
// matplotlib. This side computes what needs the model: for an MLP run, each hidden unit's preferred
// class on the test set (RUN_DIR/unit_class.json: per hidden layer the sheet, the class with the
// highest mean activation per unit and its selectivity), for the topographic maps. For a sweep folder
// with a plan (sweep.json), it first rewrites summary.csv / summary.md from the run folders of every
// run of the grid, whichever shard of a `sweep --shard` job ran it, and says which runs are missing.
#include <unistd.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "engine/dataset.h"
#include "engine/safetensors.h"
#include "kernels/error.h"
#include "kernels/registry.h"
#include "models/gnn_trainer.h"
#include "models/mlp.h"
#include "tools/commands.h"
#include "tools/sweep_plan.h"

namespace neuroai::tools {

namespace {

namespace fs = std::filesystem;

struct ReportOptions {
  std::string dir;
  std::string out;
  std::string data;  // default: the run's config
  int64_t test_limit = 2000;
  bool force = false;
};

bool is_mlp_checkpoint(const std::string& path) {
  if (!fs::exists(path)) return false;
  try {
    const auto f = read_safetensors(path);
    auto it = f.metadata.find("format");
    return it != f.metadata.end() && it->second == "neuroai-mlp";
  } catch (const Error&) {
    return false;
  }
}

// Per hidden unit: the class whose test samples drive it most on average, and how much more than the
// mean over classes ((max - mean) / (max + eps), 0 for a silent unit).
void write_unit_classes(const std::string& run_dir, const ReportOptions& o) {
  const std::string ckpt = (fs::path(run_dir) / "model.safetensors").string();
  std::string data_dir = o.data;
  if (data_dir.empty()) {
    const auto cfg_path = fs::path(run_dir) / "config.toml";
    if (fs::exists(cfg_path)) data_dir = toml::parse_file(cfg_path.string())["data"].value_or(std::string());
    if (data_dir.empty()) data_dir = kDefaultFashionMnistDir;
  }
  auto backend = make_backend("cpu");
  Mlp model = Mlp::load(*backend, ckpt);
  const MlpConfig& mc = model.config();
  DataSplit data = load_dataset(data_dir);
  NEUROAI_CHECK(data.test.dim == mc.inputs, "report: {} has {} features, the model in {} expects {}", data_dir,
                data.test.dim, ckpt, mc.inputs);
  truncate(data, 0, o.test_limit);
  apply_standardization(data.test, mc.input_mean, mc.input_std);
  const Dataset& t = data.test;
  const int64_t classes = mc.classes, bs = std::min<int64_t>(500, t.n);
  std::vector<std::vector<double>> sums(mc.hidden.size());  // (classes, N_l) per layer
  for (size_t l = 0; l < mc.hidden.size(); ++l) sums[l].assign(size_t(classes * mc.hidden[l]), 0.0);
  std::vector<int64_t> count(size_t(classes), 0);
  Tensor x(*backend, bs, t.dim);
  std::vector<float> acts;
  for (int64_t s = 0; s < t.n; s += bs) {
    const int64_t n = std::min(bs, t.n - s);
    backend->upload(x.data(), t.x.data() + s * t.dim, size_t(n * t.dim) * sizeof(float));
    model.forward(x.rows_view(0, n));
    for (int64_t r = 0; r < n; ++r) ++count[size_t(t.y[size_t(s + r)])];
    for (size_t l = 0; l < mc.hidden.size(); ++l) {
      const int64_t units = mc.hidden[l];
      acts.resize(size_t(n * units));
      backend->download(acts.data(), model.hidden_output(int(l)).data, acts.size() * sizeof(float));
      for (int64_t r = 0; r < n; ++r) {
        const int64_t c = t.y[size_t(s + r)];
        for (int64_t u = 0; u < units; ++u) sums[l][size_t(c * units + u)] += acts[size_t(r * units + u)];
      }
    }
  }
  nlohmann::json j = {{"samples", t.n}, {"classes", classes}, {"dataset", mc.dataset}};
  for (size_t l = 0; l < mc.hidden.size(); ++l) {
    const int64_t units = mc.hidden[l];
    std::vector<int> pref(static_cast<size_t>(units));
    std::vector<double> sel(static_cast<size_t>(units));
    for (int64_t u = 0; u < units; ++u) {
      double best = -1.0, mean = 0.0;
      int arg = 0;
      for (int64_t c = 0; c < classes; ++c) {
        const double m = count[size_t(c)] ? sums[l][size_t(c * units + u)] / double(count[size_t(c)]) : 0.0;
        mean += m / double(classes);
        if (m > best) best = m, arg = int(c);
      }
      pref[size_t(u)] = best > 0.0 ? arg : -1;  // -1: silent on every class
      sel[size_t(u)] = best > 0.0 ? (best - mean) / (best + 1e-12) : 0.0;
    }
    const Sheet sh = model.sheet(int(l));
    j["layers"].push_back({{"name", model.layer(int(l)).name()}, {"rows", sh.rows}, {"cols", sh.cols},
                           {"preferred", pref}, {"selectivity", sel}});
  }
  write_file_atomic((fs::path(run_dir) / "unit_class.json").string(), j.dump() + "\n");
}

// GNN runs: the node labels (planted communities) of the run's graph, rebuilt from its config.toml,
// so the kept adjacency can be drawn ordered by community (RUN_DIR/node_labels.json).
void write_node_labels(const std::string& run_dir) {
  const auto cfg = toml::parse_file((fs::path(run_dir) / "config.toml").string());
  GraphSource src;
  src.spec = cfg["graph"].value_or(src.spec);
  src.labels = cfg["labels"].value_or(std::string());
  src.features = cfg["features"].value_or(std::string());
  src.feature_dim = cfg["feature_dim"].value_or(src.feature_dim);
  src.feature_signal = cfg["feature_signal"].value_or(src.feature_signal);
  src.seed = uint64_t(cfg["seed"].value_or(int64_t(0)));
  const Graph g = load_graph_source(src);
  write_file_atomic((fs::path(run_dir) / "node_labels.json").string(),
                    nlohmann::json({{"graph", src.spec}, {"labels", g.labels}}).dump() + "\n");
}

std::string find_script() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("NEUROAI_REPORT_PY")) candidates.emplace_back(env);
  const fs::path exe_dir = fs::read_symlink("/proc/self/exe").parent_path();
  candidates.push_back(exe_dir / "report.py");
  candidates.push_back(exe_dir / "../share/neuroai/report.py");
  candidates.push_back(fs::path(NEUROAI_SOURCE_DIR) / "tools" / "report.py");
  for (const auto& c : candidates)
    if (fs::exists(c)) return c.string();
  NEUROAI_FAIL("report: tools/report.py not found next to the program, in ../share/neuroai or in {}/tools "
               "(set NEUROAI_REPORT_PY)",
               NEUROAI_SOURCE_DIR);
}

// NEUROAI_PYTHON, else Debian's /usr/bin/python3 (where python3-matplotlib lives), else python3.
std::string find_python() {
  if (const char* env = std::getenv("NEUROAI_PYTHON")) return env;
  return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

int run(const ReportOptions& o) {
  NEUROAI_CHECK(fs::is_directory(o.dir), "report: {} is not a folder", o.dir);
  const bool planned = fs::exists(fs::path(o.dir) / kSweepPlanFile);
  const bool sweep = planned || fs::exists(fs::path(o.dir) / "summary.csv");
  NEUROAI_CHECK(sweep || fs::exists(fs::path(o.dir) / "metrics.jsonl"),
                "report: {} is neither a run folder (metrics.jsonl) nor a sweep folder (summary.csv)", o.dir);
  if (planned) {
    const SweepStatus st = write_summary(o.dir, read_plan(o.dir));
    const size_t total = st.complete + st.not_started.size() + st.unfinished.size();
    fmt::print("report: {}: {} of {} runs of the grid complete{}\n", o.dir, st.complete, total,
               st.complete == total ? "" : "; the summary and figures cover those only");
    if (!st.not_started.empty())
      fmt::print("report: {} runs not started (with --shard: their shard has not run yet): {}\n", st.not_started.size(),
                 name_list(st.not_started));
    if (!st.unfinished.empty())
      fmt::print("report: {} runs unfinished (running, interrupted or failed; see their log.txt): {}\n",
                 st.unfinished.size(), name_list(st.unfinished));
  }
  std::vector<fs::path> runs;
  if (sweep) {
    for (const auto& e : fs::directory_iterator(o.dir))
      if (e.is_directory() && fs::exists(e.path() / "done")) runs.push_back(e.path());
  } else {
    runs.emplace_back(o.dir);
  }
  for (const auto& r : runs) {
    if (fs::exists(r / "kept_edges.txt") && fs::exists(r / "config.toml") && !fs::exists(r / "node_labels.json")) {
      try {
        write_node_labels(r.string());
      } catch (const std::exception& e) {
        fmt::print(stderr, "report: no community order for {}: {}\n", r.string(), e.what());
      }
    }
    const std::string ckpt = (r / "model.safetensors").string();
    if (!is_mlp_checkpoint(ckpt)) continue;
    if (!o.force && fs::exists(r / "unit_class.json") &&
        fs::last_write_time(r / "unit_class.json") >= fs::last_write_time(ckpt))
      continue;
    write_unit_classes(r.string(), o);
  }
  const std::string out = o.out.empty() ? (fs::path(o.dir) / "report").string() : o.out;
  std::vector<std::string> args = {find_python(), find_script(), o.dir, out};
  std::fflush(stdout);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  NEUROAI_CHECK(pid >= 0, "report: cannot start {}", args[0]);
  if (pid == 0) {
    execvp(argv[0], argv.data());
    std::perror(argv[0]);
    _exit(127);
  }
  int ws = 0;
  waitpid(pid, &ws, 0);
  const int rc = WIFEXITED(ws) ? WEXITSTATUS(ws) : 1;
  NEUROAI_CHECK(rc == 0, "report: {} {} failed (exit {}); it needs matplotlib (Debian python3-matplotlib)", args[0],
                args[1], rc);
  return 0;
}

}  // namespace

Command add_report(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  CLI::App* cmd = app.add_subcommand("report", "Figures (PNG) and a markdown page for a run or sweep folder");
  cmd->add_option("DIR", o->dir,
                  "Run folder (metrics.jsonl) or sweep folder (sweep.json, summary.csv): every run folder in it, "
                  "from every --shard of the sweep")
      ->required();
  cmd->add_option("--out", o->out, "Report folder (default DIR/report)");
  cmd->add_option("--data", o->data, "Data directory for the MLP unit maps (default: the run's config)");
  cmd->add_option("--test-limit", o->test_limit, "Test samples for the unit maps")
      ->check(positive())
      ->capture_default_str();
  cmd->add_flag("--force", o->force, "Recompute unit_class.json even when it is newer than the checkpoint");
  return {cmd, [o]() { return run(*o); }};
}

}  // namespace neuroai::tools
