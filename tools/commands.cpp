// The neuroai program's command table, shared by main() and the fuzz targets that drive the real CLI.
#include "tools/commands.h"

#include "tools/config.h"

namespace neuroai::tools {

std::vector<Command> add_commands(CLI::App& app) {
  app.require_subcommand(1);
  app.set_version_flag("--version", NEUROAI_VERSION);
  std::vector<Command> commands = {
      add_info(app),      add_train_mlp(app), add_eval(app),  add_train_gru(app), add_train_rnn(app),
      add_train_gnn(app), add_bench(app),     add_sweep(app), add_report(app),    add_inspect(app),
      add_export(app),
  };
  // Every option of a run command is also a config key (tools/config.h): --config, --set, --json.
  add_config_options(app, {"info", "sweep", "report", "inspect", "export"});
  return commands;
}

}  // namespace neuroai::tools
