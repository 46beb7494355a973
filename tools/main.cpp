#include <cstdio>
#include <vector>

#include "kernels/registry.h"
#include "tools/commands.h"
#include "tools/config.h"

int main(int argc, char** argv) {
  neuroai::ensure_runtime_env(argv);
  CLI::App app{"neuroai: sparse, biologically inspired neural networks on CPU and CUDA"};
  const std::vector<neuroai::tools::Command> commands = neuroai::tools::add_commands(app);
  try {
    neuroai::tools::parse_with_config(app, argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and --version exit 0; every usage error exits 2 (CLI11's own codes differ per error kind).
    return app.exit(e) == 0 ? neuroai::tools::kExitOk : neuroai::tools::kExitUsage;
  }
  // Exit statuses: 0 ok, 1 runtime error (one line on stderr), 2 usage error.
  for (const auto& c : commands)
    if (c.sub->parsed()) return neuroai::tools::run_selected(neuroai::tools::selected_leaf(app), c.run);
  return neuroai::tools::kExitOk;
}
