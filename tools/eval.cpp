// `neuroai eval MODEL`: reloads a checkpoint written by `neuroai train mlp`, standardizes the test set
// with the mean and std stored in it and reports test loss, accuracy and the activity metrics (the
// same computation as the run's per-epoch evaluation). RNN / GRU checkpoints go to eval_rnn, GNN ones
// to eval_gnn.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "engine/dataset.h"
#include "engine/safetensors.h"
#include "kernels/registry.h"
#include "models/mlp_trainer.h"
#include "tools/commands.h"

namespace neuroai::tools {

namespace {

struct EvalOptions {
  std::string model;
  std::string data = kDefaultFashionMnistDir;
  int64_t test_limit = 0;
  int64_t batch = 1000;
  int threads = 0;
  std::string backend = "auto";
};

int run(const EvalOptions& o) {
  // Every checkpoint names its family; MLP checkpoints from before that have none.
  const SafetensorsFile f = read_safetensors(o.model);
  const auto family = f.metadata.find("family");
  if (family != f.metadata.end() && family->second == "rnn")
    return eval_rnn(o.model, o.data, o.test_limit, o.batch, o.threads, o.backend);
  if (family != f.metadata.end() && family->second == "gnn") return eval_gnn(o.model, o.threads, o.backend);
  BackendOptions bo;
  bo.threads = o.threads;
  auto backend = make_backend(o.backend, bo);
  std::map<std::string, std::string> meta;
  Mlp model = Mlp::load(*backend, o.model, &meta);
  const MlpConfig& mc = model.config();
  DataSplit data = load_dataset(o.data);
  NEUROAI_CHECK(data.test.dim == mc.inputs, "{} has {} features per sample; the model {} expects {} ({})", o.data,
                data.test.dim, o.model, mc.inputs, mc.dataset.empty() ? "unknown data set" : mc.dataset);
  if (!mc.dataset.empty() && mc.dataset != data.name)
    fmt::print("note: the model was trained on {}, {} looks like {}\n", mc.dataset, o.data, data.name);
  truncate(data, 0, o.test_limit);
  apply_standardization(data.test, mc.input_mean, mc.input_std);
  const EvalResult r = evaluate(model, data.test, o.batch, 2000);
  fmt::print("test_acc {:.4f}  test_loss {:.4f}  ({} test samples)\n", r.acc, r.loss, r.n);
  print_mlp_activity(r);
  for (const auto& l : layer_infos(model))
    fmt::print("  {:<10} {:>11} density {:.4f}  nnz {:>9}  {}\n", l.name, fmt::format("{}x{}", l.out, l.in),
               l.density, l.nnz, l.format);
  if (meta.count("test_acc"))
    fmt::print("the run reported test_acc {} after epoch {} ({} test samples)\n", meta["test_acc"], meta["epoch"],
               meta.count("test_samples") ? meta["test_samples"] : "?");
  return 0;
}

}  // namespace

Command add_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a checkpoint (model.safetensors) on its data set's test split");
  cmd->add_option("MODEL", o->model, "Checkpoint written by neuroai train mlp")->required()->check(CLI::ExistingFile);
  cmd->add_option("--data", o->data, "Data directory (the one the model was trained on)")->capture_default_str();
  cmd->add_option("--test-limit", o->test_limit, "Use only the first N test samples (0 = all)")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--batch", o->batch, "Evaluation batch size")->check(positive())->capture_default_str();
  cmd->add_option("--threads", o->threads, "CPU threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--backend", o->backend, "Compute backend")
      ->check(CLI::IsMember(backend_choices()))
      ->capture_default_str();
  return {cmd, [o]() { return run(*o); }};
}

}  // namespace neuroai::tools
