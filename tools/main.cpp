#include <cstdio>
#include <exception>
#include <vector>

#include "kernels/error.h"
#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"neuroai: sparse, biologically inspired neural networks on CPU and CUDA"};
  app.require_subcommand(1);
  app.set_version_flag("--version", NEUROAI_VERSION);
  const std::vector<neuroai::tools::Command> commands = {
      neuroai::tools::add_info(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (const auto& c : commands)
      if (c.sub->parsed()) return c.run();
  } catch (const neuroai::Error& e) {
    std::fprintf(stderr, "neuroai: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "neuroai: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
