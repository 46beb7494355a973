#include "tools/sweep_plan.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "kernels/error.h"

namespace neuroai::tools {

namespace {

namespace fs = std::filesystem;

// Columns of the summary, in order, when a run's final metrics have them.
const std::vector<std::string> kMetrics = {"test_acc", "test_loss", "sparsity", "density", "samples_per_s",
                                           "participation_ratio", "pr_between_class", "pr_within_class",
                                           "twonn_id", "activation_sparsity", "train_loss"};

// Blocking exclusive lock on SWEEP_DIR/.sweep.lock for the life of the object. A POSIX record lock
// (fcntl), not flock: it is the kind NFS carries between machines (flock on an NFS mount is emulated with
// it on Linux, and is local to one machine elsewhere). The lock file stays behind (see RunDirLock).
class SweepDirLock {
public:
  explicit SweepDirLock(const std::string& dir) : path_((fs::path(dir) / ".sweep.lock").string()) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    NEUROAI_CHECK(fd_ >= 0, "{}: cannot open the sweep folder's lock ({}); expected a folder this process can write",
                  path_, std::strerror(errno));
    struct flock l {};
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET;
    int rc = 0;
    while ((rc = ::fcntl(fd_, F_SETLKW, &l)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
      const int err = errno;
      ::close(fd_);
      NEUROAI_FAIL("{}: cannot lock the sweep folder ({}); shards writing into one folder need a filesystem with "
                   "POSIX locks (NFS: the lock daemon running; Lustre: mounted with -o flock)",
                   path_, std::strerror(err));
    }
  }
  ~SweepDirLock() { ::close(fd_); }  // closing the descriptor releases the lock
  SweepDirLock(const SweepDirLock&) = delete;
  SweepDirLock& operator=(const SweepDirLock&) = delete;

private:
  std::string path_;
  int fd_ = -1;
};

nlohmann::json plan_json(const SweepPlan& p) {
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& r : p.runs) {
    nlohmann::json setting = nlohmann::json::array();
    for (const auto& [k, v] : r.setting) setting.push_back({k, v});
    runs.push_back({{"name", r.name}, {"seed", r.seed}, {"setting", setting}});
  }
  return {{"format", "neuroai-sweep"}, {"version", 1}, {"command", p.command}, {"config", p.config},
          {"set", p.set},              {"keys", p.keys}, {"seeds", p.seeds},    {"runs", runs}};
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs of two plans, by name.
bool same_runs(const nlohmann::json& a, const nlohmann::json& b) {
  if (!a.is_object() || !b.is_object() || !a.contains("runs") || !b.contains("runs")) return false;
  return a["runs"] == b["runs"];
}

bool plain_name(const std::string& n) {
  return !n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos && n.find('\0') == std::string::npos;
}

nlohmann::json read_done(const std::string& dir) {
  auto j = nlohmann::json::parse(slurp(fs::path(dir) / "done"), nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

}  // namespace

int shard_of(size_t index, int n) { return int(index % size_t(n)) + 1; }

size_t write_plan(const std::string& dir, const SweepPlan& plan) {
  const auto j = plan_json(plan);
  const fs::path path = fs::path(dir) / kSweepPlanFile;
  SweepDirLock lock(dir);
  size_t replaced = 0;
  if (fs::exists(path)) {
    const auto old = nlohmann::json::parse(slurp(path), nullptr, false);
    if (old == j) return 0;  // the other shards of the job wrote it already
    if (!same_runs(old, j) && old.is_object() && old.contains("runs") && old["runs"].is_array())
      replaced = old["runs"].size();
  }
  // One line per run: a plan of hundreds of runs stays readable and diffable.
  auto head = j;
  head.erase("runs");
  std::string text = head.dump();
  text.pop_back();
  text += ",\"runs\":[";
  for (size_t i = 0; i < j["runs"].size(); ++i) text += (i ? ",\n " : "\n ") + j["runs"][i].dump();
  text += "\n]}\n";
  write_file_atomic(path.string(), text);
  return replaced;
}

SweepPlan read_plan(const std::string& dir) {
  const fs::path path = fs::path(dir) / kSweepPlanFile;
  const auto j = nlohmann::json::parse(slurp(path), nullptr, false);
  const auto bad = [&](const std::string& what) {
    NEUROAI_FAIL("{}: {}; expected the plan `neuroai sweep` writes (rerun the sweep command to rewrite it)",
                 path.string(), what);
  };
  if (j.is_discarded() || !j.is_object()) bad("not a JSON object");
  if (j.value("format", "") != "neuroai-sweep") bad("no \"format\": \"neuroai-sweep\"");
  SweepPlan p;
  try {
    p.command = j.at("command").get<std::string>();
    p.config = j.at("config").get<std::string>();
    p.set = j.at("set").get<std::vector<std::string>>();
    p.keys = j.at("keys").get<std::vector<std::string>>();
    p.seeds = j.at("seeds").get<int>();
    for (const auto& r : j.at("runs")) {
      SweepRun run;
      run.name = r.at("name").get<std::string>();
      run.seed = r.at("seed").get<int64_t>();
      for (const auto& kv : r.at("setting")) {
        if (!kv.is_array() || kv.size() != 2) bad(fmt::format("run '{}' has a setting that is not a [key, value] pair", run.name));
        run.setting.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
      }
      if (!plain_name(run.name)) bad(fmt::format("run name '{}' is not a folder name", run.name));
      if (run.setting.size() != p.keys.size())
        bad(fmt::format("run '{}' has {} grid values for {} keys", run.name, run.setting.size(), p.keys.size()));
      p.runs.push_back(std::move(run));
    }
  } catch (const nlohmann::json::exception& e) {
    bad(e.what());
  }
  return p;
}

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

SweepStatus sweep_status(const std::string& dir, const SweepPlan& plan) {
  SweepStatus s;
  for (const auto& r : plan.runs) {
    const fs::path run = fs::path(dir) / r.name;
    if (fs::exists(run / "done"))
      ++s.complete;
    else if (fs::exists(run))
      s.unfinished.push_back(r.name);
    else
      s.not_started.push_back(r.name);
  }
  return s;
}

std::string name_list(const std::vector<std::string>& names, size_t limit) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < limit; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > limit) s += fmt::format(" and {} more", names.size() - limit);
  return s;
}

SweepStatus write_summary(const std::string& dir, const SweepPlan& plan) {
  SweepDirLock lock(dir);
  const SweepStatus status = sweep_status(dir, plan);
  // Settings in run order; each with its complete runs' metrics.
  using Setting = std::vector<std::pair<std::string, std::string>>;
  std::vector<Setting> order;
  std::map<Setting, std::vector<const SweepRun*>> by_setting;
  for (const auto& r : plan.runs) {
    const Setting& key = r.setting;
    if (!by_setting.count(key)) order.push_back(key);
    by_setting[key].push_back(&r);
  }
  std::vector<std::string> metrics;
  std::map<Setting, std::map<std::string, std::vector<double>>> values;  // setting -> metric -> per seed
  std::map<Setting, int> done;                                          // setting -> complete runs
  for (const auto& key : order)
    for (const SweepRun* r : by_setting[key]) {
      const std::string run = (fs::path(dir) / r->name).string();
      if (!fs::exists(fs::path(run) / "done")) continue;
      ++done[key];
      for (const auto& [k, v] : final_metrics(run)) values[key][k].push_back(v);
    }
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
  for (const auto& k : plan.keys) csv += k + ",";
  csv += "runs_done,runs";
  for (const auto& m : metrics) csv += fmt::format(",{}_mean,{}_std", m, m);
  csv += "\n";
  md = fmt::format("# Sweep {}\n\nConfig `{}`, {} seed(s) per setting; mean ± std (sample std) over the seeds "
                   "of each run's final metrics.\n\n| ",
                   dir, plan.config, plan.seeds);
  for (const auto& k : plan.keys) md += k + " | ";
  md += "runs | ";
  for (const auto& m : metrics) md += m + " | ";
  md += "\n|";
  for (size_t i = 0; i < plan.keys.size() + 1 + metrics.size(); ++i) md += "---|";
  md += "\n";
  for (const auto& key : order) {
    const auto& rs = by_setting[key];
    std::string row_csv, row_md = "| ";
    for (const auto& [k, v] : rs.front()->setting) {
      row_csv += (v.find(',') != std::string::npos ? "\"" + v + "\"" : v) + ",";
      row_md += v + " | ";
    }
    row_csv += fmt::format("{},{}", done[key], rs.size());
    row_md += fmt::format("{}/{} | ", done[key], rs.size());
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
  md += fmt::format("\nComplete: {} of {} runs of the grid.", status.complete, plan.runs.size());
  if (!status.not_started.empty())
    md += fmt::format(" Not started ({}; with `--shard`, their shard has not run yet): {}.", status.not_started.size(),
                      name_list(status.not_started, size_t(-1)));
  if (!status.unfinished.empty())
    md += fmt::format(" Unfinished ({}; running, interrupted or failed: see their log.txt): {}.",
                      status.unfinished.size(), name_list(status.unfinished, size_t(-1)));
  md += "\n\nRuns: one folder per setting and seed under this folder (config.toml, metrics.jsonl, "
        "model.safetensors, log.txt, done). Figures: `neuroai report " + dir + "`.\n";
  write_file_atomic((fs::path(dir) / "summary.csv").string(), csv);
  write_file_atomic((fs::path(dir) / "summary.md").string(), md);
  return status;
}

}  // namespace neuroai::tools
