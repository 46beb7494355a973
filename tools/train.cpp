// `neuroai train <family>`: the shared parent of the training subcommands. Each model family adds its
// child in its own file (tools/train_<family>.cpp: `train mlp`, `train gru`, ...) through train_app().
#include "tools/commands.h"

namespace neuroai::tools {

CLI::App* train_app(CLI::App& app) {
  for (CLI::App* s : app.get_subcommands([](CLI::App* a) { return a->get_name() == "train"; })) return s;
  CLI::App* t = app.add_subcommand("train", "Train a model: neuroai train <family> [options] (see each family's --help); neuroai train --resume RUN_DIR continues a run of any family");
  t->require_subcommand(1);
  return t;
}

}  // namespace neuroai::tools
