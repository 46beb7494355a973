// The neuroai program's subcommands: each registers itself on the CLI11 app in its own file
// (tools/<subcommand>.cpp) and runs when selected.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace neuroai::tools {

// A registered subcommand and the function that runs it after parsing (returns the exit status).
struct Command {
  CLI::App* sub = nullptr;
  std::function<int()> run;
};

Command add_info(CLI::App& app);

}  // namespace neuroai::tools
