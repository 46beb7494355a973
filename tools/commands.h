// The neuroai program's subcommands: each registers itself on the CLI11 app in its own file
// (tools/<subcommand>.cpp) and runs when selected.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace neuroai {
struct EvalResult;
}  // namespace neuroai

namespace neuroai::tools {

// Numeric option checks whose errors name the option, what was expected and what was given
// ("--lr: expected a number > 0, got -1"); CLI11's own print the whole double range.
inline CLI::Validator number_check(const std::string& desc, std::function<bool(double)> ok,
                                   const std::string& expected) {
  return CLI::Validator(
      [ok, expected](std::string& s) -> std::string {
        double v = 0.0;
        if (!CLI::detail::lexical_cast(s, v)) return fmt::format("expected a number, got '{}'", s);
        return ok(v) ? std::string() : fmt::format("expected {}, got {}", expected, s);
      },
      desc);
}
inline CLI::Validator positive() {
  return number_check("POSITIVE", [](double v) { return v > 0.0; }, "a number > 0");
}
inline CLI::Validator non_negative() {
  return number_check("NONNEGATIVE", [](double v) { return v >= 0.0; }, "a number >= 0");
}
inline CLI::Validator in_range(double lo, double hi) {
  return number_check(fmt::format("in [{} - {}]", lo, hi), [lo, hi](double v) { return v >= lo && v <= hi; },
                      fmt::format("a number in [{}, {}]", lo, hi));
}

// A registered subcommand and the function that runs it after parsing (returns the exit status).
struct Command {
  CLI::App* sub = nullptr;
  std::function<int()> run;
};

Command add_info(CLI::App& app);
// The shared `train` parent (created on first use); families add children in tools/train_<family>.cpp.
CLI::App* train_app(CLI::App& app);
Command add_train_mlp(CLI::App& app);
Command add_eval(CLI::App& app);
// tools/train_rnn.cpp: `train gru`, `train rnn`, and the RNN branch of `neuroai eval` (checkpoints whose
// metadata "family" is "rnn").
Command add_train_gru(CLI::App& app);
Command add_train_rnn(CLI::App& app);
// tools/train_gnn.cpp: `train gnn`, the GCN with Hebbian plastic edges (issue #5).
Command add_train_gnn(CLI::App& app);
// tools/bench.cpp: `bench`, dense vs CSR layer timings and the break-even density (issue #7).
Command add_bench(CLI::App& app);
// Issue #6, pruning studies: tools/sweep.cpp (`sweep`: a grid of runs as subprocesses, summary.csv / .md),
// tools/report.cpp (`report`: figures and a markdown page via tools/report.py), tools/inspect.cpp
// (`inspect`: layers, shapes, density, format, config of a checkpoint), tools/export.cpp (`export`).
Command add_sweep(CLI::App& app);
Command add_report(CLI::App& app);
Command add_inspect(CLI::App& app);
Command add_export(CLI::App& app);
// Every subcommand above, on `app` (tools/commands.cpp), with the config options of the run commands:
// the neuroai program's whole command line.
std::vector<Command> add_commands(CLI::App& app);
// tools/train_mlp.cpp: the activity metrics of an MLP evaluation, for `train mlp` and `eval`.
void print_mlp_activity(const EvalResult& e);
int eval_rnn(const std::string& path, const std::string& data_dir, int64_t test_limit, int64_t batch, int threads,
             const std::string& backend);
// tools/train_gnn.cpp: the GNN branch of `neuroai eval` (checkpoints whose metadata "family" is "gnn"):
// rebuilds the run's graph and split from the checkpoint's metadata and reports its metrics.
int eval_gnn(const std::string& path, int threads, const std::string& backend);

}  // namespace neuroai::tools
