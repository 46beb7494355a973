// Config files for every subcommand (issue #6). A TOML file describes a run completely: each key is a
// command-line option of the subcommand (`--prune-every` <-> `prune_every` or `prune-every`), plus
// `command = "train mlp"` naming the subcommand it is for. Precedence: options on the command line, then
// `--set KEY=VALUE`, then `--config FILE`, then the built-in defaults. Unknown keys and values of the
// wrong type are usage errors naming the key and the expected type.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace neuroai::tools {

// Exit statuses of the neuroai program.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;  // a run failed: bad data, a corrupt checkpoint, a NaN loss, ...
inline constexpr int kExitUsage = 2;    // the command line or a config file is wrong

// A usage error found while applying a config file or --set (exit status 2).
class ConfigError : public CLI::ParseError {
public:
  explicit ConfigError(const std::string& msg) : CLI::ParseError("ConfigError", msg, kExitUsage) {}
};

// Adds --config FILE, --set KEY=VALUE (repeatable) and --json to every subcommand of `app` that has
// options of its own (recursively), except those in `skip`.
void add_config_options(CLI::App& app, const std::vector<std::string>& skip = {});

// Parses argv; when the selected subcommand got --config, --set or --resume RUN_DIR (which reads
// RUN_DIR/config.toml), their keys become options and the command line is parsed again. Throws
// CLI::ParseError (ConfigError for config problems).
void parse_with_config(CLI::App& app, int argc, char** argv);

// The deepest selected subcommand after parsing (nullptr when none).
CLI::App* selected_leaf(CLI::App& app);
// "train mlp" for the `mlp` child of `train`.
std::string command_path(const CLI::App* sub);

// The subcommand's fully resolved configuration as TOML: `command` and one key per option (the value
// given or the default), without help / config / set / json / resume.
std::string resolved_config_toml(const CLI::App* sub);

// Value of a string option by long name ("out") of a parsed subcommand, "" when absent.
std::string option_value(const CLI::App* sub, const std::string& long_name);

// --resume RUN_DIR of a `train` command: continue the run from its config.toml and state.safetensors
// (docs/STUDY.md). A missing folder, or one without config.toml, is refused by parse_with_config.
void add_resume_option(CLI::App* cmd, std::string& run_dir);

// Runs the selected command. For `train <family>` it chooses the run folder (its --out; without --out
// the next free default, see free_run_dir in config.cpp); the training loop then writes config.toml
// (resolved_config_toml) and, on success, `done`. Errors print one line and give kExitRuntime; with
// --json one JSON line (status, exit, run_dir, final: the last metrics line) ends the output.
int run_selected(CLI::App* leaf, const std::function<int()>& run);
// The last non-empty line of RUN_DIR/metrics.jsonl ("" when none).
std::string last_metrics_line(const std::string& run_dir);

// Reads a TOML config and checks it against the options of the subcommand path "train mlp" of `app`
// (command key, unknown keys, types). Error (ConfigError) naming the key. Returns the command path.
std::string check_config_file(CLI::App& app, const std::string& path);

// Checks KEY=VALUE (as --set takes it) against the options of `command`; ConfigError naming the key.
void check_key_value(CLI::App& app, const std::string& command, const std::string& key, const std::string& value);
// Whether the subcommand `command` has the option --long_name.
bool has_option(CLI::App& app, const std::string& command, const std::string& long_name);

}  // namespace neuroai::tools
