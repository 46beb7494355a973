#include "tools/config.h"

#include <algorithm>
#include <cstdio>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "engine/run_log.h"
#include "engine/safetensors.h"

namespace neuroai::tools {

namespace {

// Options that steer the config machinery itself and are never config keys.
const std::vector<std::string> kMetaKeys = {"help", "config", "set", "json", "resume"};

const std::string kGroup = "Config files and scripting";

enum class Kind { Flag, Int, Uint, Float, Bool, Text };
struct OptType {
  Kind kind = Kind::Text;
  bool list = false;
};

std::string normalize(std::string key) {
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

// `prune_every` for --prune-every; `model` for the positional MODEL.
std::string key_of(const CLI::Option* o) {
  if (!o->get_lnames().empty()) return normalize(o->get_lnames().front());
  if (o->get_positional()) {
    std::string n = o->get_name(true);
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return normalize(n);
  }
  return "";
}

bool is_meta(const std::string& key) { return std::find(kMetaKeys.begin(), kMetaKeys.end(), key) != kMetaKeys.end(); }

OptType opt_type(const CLI::Option* o) {
  OptType t;
  t.list = o->get_items_expected_max() > 1;
  if (o->get_type_size_max() == 0 || o->get_expected_max() == 0) {
    t.kind = Kind::Flag;
    return t;
  }
  std::string name = o->get_type_name();
  name = name.substr(0, name.find(':'));
  if (name == "INT") t.kind = Kind::Int;
  else if (name == "UINT") t.kind = Kind::Uint;
  else if (name == "FLOAT") t.kind = Kind::Float;
  else if (name == "BOOLEAN") t.kind = Kind::Bool;
  else t.kind = Kind::Text;
  return t;
}

std::string expected_name(const OptType& t) {
  std::string e;
  switch (t.kind) {
    case Kind::Flag:
    case Kind::Bool: e = t.list ? "booleans" : "a boolean (true or false)"; break;
    case Kind::Int: e = t.list ? "integers" : "an integer"; break;
    case Kind::Uint: e = t.list ? "non-negative integers" : "a non-negative integer"; break;
    case Kind::Float: e = t.list ? "numbers" : "a number"; break;
    case Kind::Text: e = t.list ? "strings" : "a string"; break;
  }
  return t.list ? "an array of " + e + " (or one value)" : e;
}

std::string toml_type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return fmt::format("the string \"{}\"", n.value<std::string>().value_or(""));
    case toml::node_type::integer: return fmt::format("the integer {}", n.value<int64_t>().value_or(0));
    case toml::node_type::floating_point: return fmt::format("the number {}", n.value<double>().value_or(0));
    case toml::node_type::boolean: return n.value<bool>().value_or(false) ? "true" : "false";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date or time";
  }
}

CLI::Option* find_key(CLI::App* sub, const std::string& key) {
  const std::string k = normalize(key);
  for (CLI::Option* o : sub->get_options())
    if (key_of(o) == k) return o;
  return nullptr;
}

// One scalar of an option as the command-line string; ConfigError naming the key when its type is wrong.
std::string scalar_string(const toml::node& n, const OptType& t, const std::string& key, const std::string& where) {
  auto fail = [&] {
    throw ConfigError(fmt::format("{}: key '{}' must be {}, got {}", where, key, expected_name(t), toml_type_name(n)));
  };
  switch (t.kind) {
    case Kind::Flag:
    case Kind::Bool:
      if (!n.is_boolean()) fail();
      return *n.value<bool>() ? "true" : "false";
    case Kind::Int:
      if (!n.is_integer()) fail();
      return std::to_string(*n.value<int64_t>());
    case Kind::Uint:
      if (!n.is_integer() || *n.value<int64_t>() < 0) fail();
      return std::to_string(*n.value<int64_t>());
    case Kind::Float:
      if (n.is_integer()) return std::to_string(*n.value<int64_t>());
      if (!n.is_floating_point()) fail();
      return fmt::format("{}", *n.value<double>());  // shortest round-trip form
    case Kind::Text:
      if (!n.is_string()) fail();
      return *n.value<std::string>();
  }
  return "";
}

std::vector<std::string> value_strings(const toml::node& n, const OptType& t, const std::string& key,
                                       const std::string& where) {
  std::vector<std::string> out;
  if (const toml::array* a = n.as_array()) {
    if (!t.list)
      throw ConfigError(fmt::format("{}: key '{}' must be {}, got an array", where, key, expected_name(t)));
    for (const toml::node& e : *a) out.push_back(scalar_string(e, t, key, where));
    return out;
  }
  out.push_back(scalar_string(n, t, key, where));
  return out;
}

// A --set value: TOML when it parses as one (1, 0.5, true, "x", [1, 2]); a list option also takes
// comma-separated TOML scalars (64,64); anything else is a bare string (csr, runs/a).
toml::table parse_set_value(const std::string& value, const OptType& t) {
  toml::table tb;
  try {
    tb = toml::parse("v = " + value);
    return tb;
  } catch (const toml::parse_error&) {
  }
  if (t.list && value.find(',') != std::string::npos) {
    toml::array arr;
    std::stringstream ss(value);
    std::string piece;
    while (std::getline(ss, piece, ',')) {
      try {
        toml::table p = toml::parse("v = " + piece);
        arr.push_back(*p["v"].node());
      } catch (const toml::parse_error&) {
        arr.push_back(piece);
      }
    }
    tb.insert("v", std::move(arr));
    return tb;
  }
  tb.insert("v", value);
  return tb;
}

toml::table read_toml(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("cannot open config file {}", path));
  try {
    return toml::parse(in, path);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("config file {} is not valid TOML: {} (line {}, column {})", path, e.description(),
                                  e.source().begin.line, e.source().begin.column));
  }
}

CLI::App* find_path(CLI::App& app, const std::string& path) {
  std::stringstream ss(path);
  std::string word;
  CLI::App* cur = &app;
  while (ss >> word) {
    CLI::App* next = nullptr;
    for (CLI::App* s : cur->get_subcommands([&](CLI::App* a) { return a->get_name() == word; })) next = s;
    if (!next) return nullptr;
    cur = next;
  }
  return cur == &app ? nullptr : cur;
}

// Checks every key of `tb` against the options of `sub`; returns key -> command-line strings.
std::vector<std::pair<CLI::Option*, std::vector<std::string>>> check_table(CLI::App* sub, const toml::table& tb,
                                                                          const std::string& where) {
  std::vector<std::pair<CLI::Option*, std::vector<std::string>>> out;
  const std::string path = command_path(sub);
  for (const auto& [k, node] : tb) {
    const std::string key(k.str());
    if (key == "command") {
      const auto c = node.value<std::string>();
      if (!c) throw ConfigError(fmt::format("{}: key 'command' must be a string such as \"train mlp\"", where));
      if (*c != path) throw ConfigError(fmt::format("{} is for `neuroai {}`, not `neuroai {}`", where, *c, path));
      continue;
    }
    CLI::Option* o = find_key(sub, key);
    if (!o || is_meta(key_of(o))) {
      std::vector<std::string> known;
      for (CLI::Option* x : sub->get_options())
        if (!key_of(x).empty() && !is_meta(key_of(x))) known.push_back(key_of(x));
      throw ConfigError(fmt::format("{}: unknown key '{}' for `neuroai {}` (known keys: command, {})", where, key, path,
                                    fmt::join(known, ", ")));
    }
    out.emplace_back(o, value_strings(node, opt_type(o), key, where));
  }
  return out;
}

std::vector<std::string> default_list(std::string s) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  std::vector<std::string> out;
  if (s.empty()) return out;
  std::stringstream ss(s);
  std::string piece;
  while (std::getline(ss, piece, ',')) out.push_back(piece);
  return out;
}

// The option's current value as command-line strings: what was given, else the bound variable's value.
std::vector<std::string> current_strings(CLI::Option* o) {
  const OptType t = opt_type(o);
  if (t.kind == Kind::Flag) {
    bool on = false;
    if (o->count() > 0) {
      try {
        on = o->as<bool>();
      } catch (const CLI::Error&) {
        on = true;
      }
    }
    return {on ? "true" : "false"};
  }
  std::vector<std::string> given;
  if (o->count() > 0)
    for (const auto& r : o->results())
      if (!r.empty()) given.push_back(r);
  if (!given.empty()) return given;
  o->capture_default_str();
  const std::string d = o->get_default_str();
  if (t.list) return default_list(d);
  return {d};
}

// One TOML value for a command-line string; numbers keep their shortest round-trip form.
std::string toml_scalar(const std::string& v, Kind kind) {
  try {
    size_t pos = 0;
    switch (kind) {
      case Kind::Int:
      case Kind::Uint: {
        const long long x = std::stoll(v, &pos);
        if (pos == v.size()) return std::to_string(x);
        break;
      }
      case Kind::Float: {
        const double x = std::stod(v, &pos);
        if (pos == v.size()) return std::isnan(x) ? "nan" : std::isinf(x) ? (x > 0 ? "inf" : "-inf") : fmt::format("{}", x);
        break;
      }
      case Kind::Flag:
      case Kind::Bool: return v == "true" || v == "1" || v == "on" || v == "yes" ? "true" : "false";
      case Kind::Text: break;
    }
  } catch (const std::exception&) {
  }
  std::ostringstream ss;
  ss << toml::value<std::string>(v);
  return ss.str();
}

std::string toml_line(const std::string& key, const OptType& t, const std::vector<std::string>& vals) {
  if (!t.list) return fmt::format("{} = {}\n", key, toml_scalar(vals.empty() ? "" : vals.front(), t.kind));
  std::vector<std::string> items;
  for (const auto& v : vals) items.push_back(toml_scalar(v, t.kind));
  return fmt::format("{} = [{}]\n", key, fmt::join(items, ", "));
}

// The run folder of a `train` command given without --out: the command's default (train mlp: runs/mlp,
// train gru / rnn: runs/<cell>-<task>, train gnn: runs/gnn-<task>-<prune>), or, when that already holds a
// run, the first free "<default>-2", "<default>-3", ..., so that a run never replaces an earlier one (as
// Lightning's version_N). Set as the --out value, so the command, config.toml and `done` all see it.
std::string free_run_dir(CLI::App* leaf) {
  namespace fs = std::filesystem;
  CLI::Option* out = leaf->get_option_no_throw("--out");
  std::string base = option_value(leaf, "out");
  if (base.empty()) {
    const std::string name = leaf->get_name();
    base = name == "gnn" ? fmt::format("runs/gnn-{}-{}", option_value(leaf, "task"), option_value(leaf, "edge-prune"))
                         : fmt::format("runs/{}-{}", name, option_value(leaf, "task"));
  }
  auto taken = [](const fs::path& p) { return fs::exists(p) && !(fs::is_directory(p) && fs::is_empty(p)); };
  std::string dir = base;
  for (int k = 2; taken(dir); ++k) dir = fmt::format("{}-{}", base, k);
  if (dir != base) fmt::print("{} holds an earlier run; this run goes to {}\n", base, dir);
  out->add_result(dir);
  out->run_callback();
  return dir;
}

}  // namespace

int run_selected(CLI::App* leaf, const std::function<int()>& run) {
  namespace fs = std::filesystem;
  const std::string path = command_path(leaf);
  const CLI::Option* json_opt = leaf->get_option_no_throw("--json");
  const bool json = json_opt && json_opt->get_group() == kGroup && json_opt->count() > 0;
  const bool is_train = path.rfind("train ", 0) == 0;
  const CLI::Option* resume_opt = leaf->get_option_no_throw("--resume");
  const bool resume = resume_opt && resume_opt->count() > 0;
  const CLI::Option* out_opt = leaf->get_option_no_throw("--out");
  std::string run_dir;
  if (is_train && out_opt) run_dir = out_opt->count() > 0 ? option_value(leaf, "out") : free_run_dir(leaf);
  nlohmann::json line = {{"command", path}};
  if (!run_dir.empty()) line["run_dir"] = run_dir;
  int rc = kExitOk;
  try {
    if (resume && fs::exists(fs::path(run_dir) / "done")) {
      // Nothing to do, and nothing in the folder changes.
      fmt::print("{} is complete already (it has `done`); nothing to resume\n", run_dir);
      const std::string last = last_metrics_line(run_dir);
      if (!last.empty()) line["final"] = nlohmann::json::parse(last, nullptr, false);
      run_dir.clear();
    }
    // The training loop (engine/train_loop.h) takes the folder's lock, writes config.toml and, last,
    // `done`; nothing in the folder changes before the command's own checks have passed.
    if (!run_dir.empty() || !resume) rc = run();
    if (rc == kExitOk && !run_dir.empty()) {
      const std::string last = last_metrics_line(run_dir);
      if (!last.empty()) line["final"] = nlohmann::json::parse(last, nullptr, false);
    }
  } catch (const CLI::ParseError& e) {  // a bad config given to a command at run time (sweep)
    std::fflush(stdout);
    std::fprintf(stderr, "neuroai: usage error: %s\n", e.what());
    line["message"] = e.what();
    rc = kExitUsage;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "neuroai: error: %s\n", e.what());
    line["message"] = e.what();
    rc = kExitRuntime;
  }
  if (json) {
    line["status"] = rc == kExitOk ? "ok" : "error";
    line["exit"] = rc;
    std::fflush(stderr);
    std::printf("%s\n", line.dump().c_str());
  }
  return rc;
}

std::string last_metrics_line(const std::string& run_dir) {
  std::ifstream in(std::filesystem::path(run_dir) / "metrics.jsonl");
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

void add_config_options(CLI::App& app, const std::vector<std::string>& skip) {
  for (CLI::App* s : app.get_subcommands([](CLI::App*) { return true; })) {
    if (std::find(skip.begin(), skip.end(), s->get_name()) != skip.end()) continue;
    if (!s->get_subcommands([](CLI::App*) { return true; }).empty()) {
      add_config_options(*s, skip);
      continue;
    }
    // A subcommand may already have its own --json (bench): it keeps it.
    if (!s->get_option_no_throw("--config"))
      s->add_option("--config", "TOML file of options (keys = long option names; see docs/STUDY.md)")
        ->type_name("FILE")
        ->group(kGroup);
    if (!s->get_option_no_throw("--set"))
      s->add_option("--set", "Override one config key: KEY=VALUE (repeatable; beats --config, loses to explicit options)")
        ->type_name("KEY=VALUE")
        ->take_all()
        ->allow_extra_args(false)
        ->group(kGroup);
    if (!s->get_option_no_throw("--json"))
      s->add_flag("--json")
          ->description("Print one machine-readable JSON line last (status, exit, run folder, final metrics)")
          ->group(kGroup);
  }
}

CLI::App* selected_leaf(CLI::App& app) {
  CLI::App* cur = &app;
  for (;;) {
    const auto subs = cur->get_subcommands();
    if (subs.empty()) return cur == &app ? nullptr : cur;
    cur = subs.front();
  }
}

std::string command_path(const CLI::App* sub) {
  std::vector<std::string> parts;
  for (const CLI::App* a = sub; a && a->get_parent(); a = a->get_parent()) parts.insert(parts.begin(), a->get_name());
  return fmt::format("{}", fmt::join(parts, " "));
}

std::string option_value(const CLI::App* sub, const std::string& long_name) {
  const CLI::Option* o = sub->get_option_no_throw("--" + long_name);
  if (!o) return "";
  auto v = current_strings(const_cast<CLI::Option*>(o));
  return v.empty() ? "" : v.front();
}

void add_resume_option(CLI::App* cmd, std::string& run_dir) {
  cmd->add_option("--resume", run_dir,
                  "Continue the run in RUN_DIR from its last evaluation (its config.toml and state.safetensors; "
                  "docs/STUDY.md)")
      ->type_name("TEXT:DIR");  // as CLI11 names a directory option; checked by parse_with_config
}

// `neuroai train --resume RUN_DIR [options]`: the family from RUN_DIR/config.toml's `command`
// ("train gru"), as if it had been given: argv with the family inserted after `train`, in *storage.
// Empty when argv is not of that form.
std::vector<char*> family_from_run(int argc, char** argv, std::vector<std::string>* storage) {
  if (argc < 3 || std::string(argv[1]) != "train") return {};
  std::string a = argv[2], dir;
  if (a == "--resume" && argc >= 4) dir = argv[3];
  else if (a.rfind("--resume=", 0) == 0) dir = a.substr(9);
  else return {};
  if (!std::filesystem::is_directory(dir)) throw ConfigError(fmt::format("--resume {}: no such run folder", dir));
  const std::string path = (std::filesystem::path(dir) / "config.toml").string();
  if (!std::filesystem::exists(path))
    throw ConfigError(fmt::format("--resume {}: no config.toml there (not a run folder written by neuroai)", dir));
  const std::string command = read_toml(path)["command"].value_or(std::string());
  if (command.rfind("train ", 0) != 0)
    throw ConfigError(fmt::format("--resume {}: {} names no `train <family>` command (command = \"{}\")", dir,
                                  path, command));
  storage->assign(argv, argv + argc);
  storage->insert(storage->begin() + 2, command.substr(6));
  std::vector<char*> out;
  for (std::string& x : *storage) out.push_back(x.data());
  return out;
}

void parse_with_config(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> storage;
  if (std::vector<char*> with = family_from_run(argc, argv, &storage); !with.empty())
    return parse_with_config(app, int(with.size()), with.data());
  app.parse(argc, argv);
  CLI::App* leaf = selected_leaf(app);
  if (!leaf) return;
  // Only the options add_config_options added: sweep has a --set of its own.
  auto ours = [&](const char* name) {
    CLI::Option* o = leaf->get_option_no_throw(name);
    return o && o->get_group() == kGroup ? o : nullptr;
  };
  CLI::Option* cfg_opt = ours("--config");
  CLI::Option* set_opt = ours("--set");
  CLI::Option* resume_opt = leaf->get_option_no_throw("--resume");
  const bool resume = resume_opt && resume_opt->count() > 0;
  const bool has_cfg = cfg_opt && cfg_opt->count() > 0;
  const bool has_set = set_opt && set_opt->count() > 0;
  if (!has_cfg && !has_set && !resume) return;

  toml::table merged;
  std::string where = "--set";
  if (has_cfg || resume) {
    std::string path = has_cfg ? cfg_opt->as<std::string>() : "";
    if (!has_cfg) {
      const std::string dir = resume_opt->as<std::string>();
      if (!std::filesystem::is_directory(dir))
        throw ConfigError(fmt::format("--resume {}: no such run folder", dir));
      path = (std::filesystem::path(dir) / "config.toml").string();
      if (!std::filesystem::exists(path))
        throw ConfigError(fmt::format("--resume {}: no config.toml there (not a run folder written by neuroai)", dir));
    }
    merged = read_toml(path);
    where = path;
    check_table(leaf, merged, where);
  }
  std::vector<std::pair<std::string, std::string>> sets;
  if (has_set)
    for (const std::string& kv : set_opt->results()) {
      const auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        throw ConfigError(fmt::format("--set {}: expected KEY=VALUE", kv));
      sets.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
  if (resume && leaf->get_option_no_throw("--out")) sets.emplace_back("out", resume_opt->as<std::string>());
  for (const auto& [key, value] : sets) {
    CLI::Option* o = find_key(leaf, key);
    if (!o || is_meta(key_of(o))) {
      toml::table probe;
      probe.insert(key, value);
      check_table(leaf, probe, "--set");  // throws the unknown-key message
    }
    toml::table one = parse_set_value(value, opt_type(o));
    toml::table single;
    single.insert(key_of(o), *one["v"].node());
    check_table(leaf, single, fmt::format("--set {}={}", key, value));
    // Drop spellings of the same key (prune-every vs prune_every) before overriding.
    std::vector<std::string> same;
    for (const auto& [k, n] : merged)
      if (normalize(std::string(k.str())) == key_of(o)) same.emplace_back(k.str());
    for (const auto& k : same) merged.erase(k);
    merged.insert(key_of(o), *one["v"].node());
  }

  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  std::vector<std::string> positionals;
  for (const auto& [o, vals] : check_table(leaf, merged, where)) {
    if (o->count() > 0) continue;  // the command line wins
    const OptType t = opt_type(o);
    if (o->get_positional() && o->get_lnames().empty()) {
      positionals.insert(positionals.end(), vals.begin(), vals.end());
      continue;
    }
    const std::string name = "--" + o->get_lnames().front();
    if (t.kind == Kind::Flag) {
      if (vals.front() == "true") args.push_back(name);
      continue;
    }
    for (const auto& v : vals) {
      if (v.empty()) continue;  // an empty string is every such option's default
      args.push_back(name + "=" + v);
    }
  }
  if (!positionals.empty()) {
    args.emplace_back("--");
    args.insert(args.end(), positionals.begin(), positionals.end());
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes the vector back to front
  app.clear();
  app.parse(args);
}

std::string resolved_config_toml(const CLI::App* sub) {
  std::ostringstream ss;
  ss << "# neuroai: the fully resolved configuration of this run; rerun it with\n"
     << "#   neuroai " << command_path(sub) << " --config config.toml\n"
     << "command = " << toml::value<std::string>(command_path(sub)) << "\n";
  for (CLI::Option* o : const_cast<CLI::App*>(sub)->get_options()) {
    const std::string key = key_of(o);
    if (key.empty() || is_meta(key)) continue;
    ss << toml_line(key, opt_type(o), current_strings(o));
  }
  return ss.str();
}

void check_key_value(CLI::App& app, const std::string& command, const std::string& key, const std::string& value) {
  CLI::App* sub = find_path(app, command);
  if (!sub) throw ConfigError(fmt::format("\"{}\" is not a neuroai subcommand", command));
  CLI::Option* o = find_key(sub, key);
  toml::table t;
  if (!o || is_meta(key_of(o))) {
    t.insert(key, value);
    check_table(sub, t, command);  // throws the unknown-key message
  }
  toml::table one = parse_set_value(value, opt_type(o));
  t.insert(key_of(o), *one["v"].node());
  check_table(sub, t, fmt::format("{}={}", key, value));
}

bool has_option(CLI::App& app, const std::string& command, const std::string& long_name) {
  CLI::App* sub = find_path(app, command);
  return sub && sub->get_option_no_throw("--" + long_name) != nullptr;
}

std::string check_config_file(CLI::App& app, const std::string& path) {
  const toml::table tb = read_toml(path);
  const auto c = tb["command"].value<std::string>();
  if (!c) throw ConfigError(fmt::format("{}: needs a key command = \"train mlp\" (or another subcommand)", path));
  CLI::App* sub = find_path(app, *c);
  if (!sub) throw ConfigError(fmt::format("{}: command \"{}\" is not a neuroai subcommand", path, *c));
  check_table(sub, tb, path);
  return *c;
}

}  // namespace neuroai::tools
