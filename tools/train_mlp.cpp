// `neuroai train mlp`: the pruned MLP with spatial cortical structure on an image data set (issue #3).
// Every option is checked before any data is read; the run writes RUN_DIR/metrics.jsonl,
// RUN_DIR/model.safetensors and RUN_DIR/config.json and ends with a summary table.
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "engine/dataset.h"
#include "kernels/registry.h"
#include "models/mlp_trainer.h"
#include "tools/commands.h"
#include "tools/config.h"
#include "tools/optim_options.h"

namespace neuroai::tools {

void print_mlp_activity(const EvalResult& e) {
  fmt::print("last hidden layer: activation_sparsity {:.3f}  participation_ratio {:.1f}  n90 {}  effective_rank {:.1f}  "
             "twonn_id {:.1f}\n  variance between classes {:.2f} (PR {:.1f}), within (PR {:.1f})\n"
             "  neighbour_corr {:.3f}  spatial_corr {:.3f} (all pairs {:.3f})\n",
             e.activation_sparsity, e.participation_ratio, e.n90, e.effective_rank, e.twonn_id, e.between_class_share,
             e.pr_between_class, e.pr_within_class, e.neighbour_corr, e.spatial_corr, e.spatial_corr_global);
}

namespace {

// The options bind straight to the trainer's and the model's configs, so their defaults are the ones
// `--help` shows; only the names that need parsing, and the run's own settings, live here.
struct MlpOptions {
  TrainConfig tc;
  MlpConfig mc;
  OptimOptions optim;
  std::string data = kDefaultFashionMnistDir;
  std::string grid;
  std::string inhibition = "none";
  std::string prune = "gradual";
  std::string allocation = "layerwise";
  std::string sparse_format = "auto";
  int threads = 0;
  std::string backend = "auto";
  int64_t train_limit = 0, test_limit = 0;
  std::string resume;  // RUN_DIR; tools/config.cpp reads RUN_DIR/config.toml and sets out = RUN_DIR
};

const std::map<std::string, PruneMethod> kPrune = {{"gradual", PruneMethod::Gradual},
                                                   {"iterative", PruneMethod::Iterative},
                                                   {"oneshot", PruneMethod::OneShot},
                                                   {"none", PruneMethod::None}};
const std::map<std::string, PruneAllocation> kAlloc = {{"layerwise", PruneAllocation::Layerwise},
                                                       {"global", PruneAllocation::Global},
                                                       {"tile", PruneAllocation::Tile}};

std::vector<std::string> keys(const auto& m) {
  std::vector<std::string> k;
  for (const auto& [name, v] : m) k.push_back(name);
  return k;
}

void print_summary(const TrainResult& r, const std::string& out_dir, const std::string& backend) {
  const auto& e = r.final_eval;
  fmt::print("\nresult: test_acc {:.4f}  test_loss {:.4f}  ({} test samples, {} epochs, {} steps, {:.0f} s)\n", e.acc,
             e.loss, e.n, r.epochs_done, r.steps, r.train_seconds);
  print_mlp_activity(e);
  fmt::print("{:<10} {:>11} {:>8} {:>9} {:>6} {:>14}\n", "layer", "out x in", "density", "nnz", "format",
             "CSR from step");
  for (const auto& l : r.layers)
    fmt::print("{:<10} {:>11} {:>8.4f} {:>9} {:>6} {:>14}\n", l.name, fmt::format("{}x{}", l.out, l.in), l.density,
               l.nnz, l.format, l.handoff_step >= 0 ? std::to_string(l.handoff_step) : "-");
  if (backend == "cuda-sim")
    fmt::print("step time: not measured (cuda-sim simulates the GPU thread by thread; its times are no timing)\n");
  else if (r.step_ms_dense > 0 && r.step_ms_csr > 0)
    fmt::print("step time: {:.2f} ms dense, {:.2f} ms after the CSR hand-off ({:.2f}x)\n", r.step_ms_dense,
               r.step_ms_csr, r.step_ms_dense / r.step_ms_csr);
  else if (r.step_ms_dense > 0)
    fmt::print("step time: {:.2f} ms dense (no CSR hand-off in this run)\n", r.step_ms_dense);
  else if (r.step_ms_csr > 0)
    fmt::print("step time: {:.2f} ms in CSR\n", r.step_ms_csr);
  fmt::print("wrote {}/metrics.jsonl and {}\n", out_dir, r.checkpoint);
}

int run(const MlpOptions& o) {
  // Everything that can be refused is refused here, before the backend or the data are touched.
  MlpConfig mc = o.mc;
  if (!o.grid.empty()) mc.grids = parse_grids(o.grid);
  mc.inhibition = parse_inhibition(o.inhibition);
  mc.resolve();

  TrainConfig tc = o.tc;
  apply_optim_options(o.optim, tc.optim, tc.lr);
  tc.prune.method = kPrune.at(o.prune);
  tc.prune.allocation = kAlloc.at(o.allocation);
  tc.handoff.format = parse_sparse_format(o.sparse_format);
  tc.resume = !o.resume.empty();
  tc.validate();

  BackendOptions bo;
  bo.threads = o.threads;
  auto backend = make_backend(o.backend, bo);

  DataSplit data = load_dataset(o.data);
  truncate(data, o.train_limit, o.test_limit);
  const auto [mean, std] = standardize(data);
  mc.inputs = data.train.dim;
  mc.classes = std::max<int64_t>(2, data.train.classes);
  mc.dataset = data.name;
  mc.input_mean = mean;
  mc.input_std = std;
  const auto& t = data.train;
  if (int64_t(t.height) * t.width * std::max(1, t.channels) == t.dim && t.height > 0)
    mc.input_sheet = Sheet{t.height * std::max(1, t.channels), t.width};  // channel planes stacked vertically
  mc.resolve();
  if (!tc.quiet)
    fmt::print("train mlp: {} ({} train / {} test samples, {} features, {} classes) on {}\n", data.name, data.train.n,
               data.test.n, data.train.dim, mc.classes, backend->description());
  std::fflush(stdout);  // before the progress lines on stderr
  const TrainResult r = train_mlp(*backend, mc, tc, data);
  print_summary(r, tc.out_dir, backend->name());
  return 0;
}

}  // namespace

Command add_train_mlp(CLI::App& app) {
  auto o = std::make_shared<MlpOptions>();
  CLI::App* cmd = train_app(app)->add_subcommand(
      "mlp", "Train the MLP with cortical sheets, lateral inhibition, IDR and magnitude pruning on an image data set");
  cmd->add_option("--data", o->data, "Data directory: IDX (MNIST / Fashion-MNIST) or CIFAR-10 binary")
      ->capture_default_str();
  cmd->add_option("--hidden", o->mc.hidden, "Hidden layer widths, comma separated")->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--grid", o->grid,
                  "Sheet of each hidden layer, e.g. 32x32,32x32 (default: rows = largest divisor of the width <= "
                  "sqrt(width))");
  cmd->add_option("--epochs", o->tc.epochs, "Training epochs (iterative pruning: per round)")->capture_default_str();
  cmd->add_option("--batch", o->tc.batch, "Minibatch size")->capture_default_str();
  cmd->add_option("--sparsity", o->tc.prune.sparsity, "Final weight sparsity, in [0, 1)")->capture_default_str();
  cmd->add_option("--out", o->tc.out_dir, "Run directory (metrics.jsonl, model.safetensors, config.json)")
      ->capture_default_str();
  cmd->add_option("--seed", o->tc.seed, "Seed of the initialization, shuffling and sampling")->capture_default_str();
  cmd->add_option("--threads", o->threads, "CPU threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--backend", o->backend, "Compute backend (auto = cuda when usable, else cpu)")
      ->check(CLI::IsMember(backend_choices()))
      ->capture_default_str();
  cmd->add_option("--inhibition", o->inhibition,
                  "Lateral inhibition on every hidden sheet (SPEC §4); default none, the flag alone = divisive")
      ->expected(0, 1)
      ->default_str("divisive")
      ->check(CLI::IsMember({"none", "divisive", "dog", "kwta"}));
  cmd->add_option("--idr-l1", o->tc.idr.l1,
                  "IDR: L1 on hidden activations, lambda1 (SPEC §3.1); default 0 = off, the flag alone = 1e-4")
      ->expected(0, 1)
      ->default_str("1e-4")
      ->check(non_negative());
  cmd->add_option("--idr-entropy", o->tc.idr.entropy,
                  "IDR: SAUCIE usage entropy, lambdaH (SPEC §3.2); default 0 = off")
      ->check(non_negative());
  cmd->add_option("--idr-pr", o->tc.idr.pr,
                  "IDR: participation-ratio penalty on PR/N, lambdaPR (SPEC §3.3); default 0 = off")
      ->check(non_negative());
  cmd->add_option("--spatial-loss", o->tc.spatial.alpha,
                  "TDANN spatial loss weight alpha (SPEC §5 d1); default 0 = off, the flag alone = 0.25")
      ->expected(0, 1)
      ->default_str("0.25")
      ->check(non_negative());
  cmd->add_flag("--merge", o->tc.merge,
                "Tile-local neuron merging by cosine similarity after every epoch (SPEC §2.7)");
  cmd->add_option("--merge-threshold", o->tc.merge_cfg.threshold, "Cosine threshold tau of --merge")
      ->capture_default_str();
  cmd->add_option("--prune", o->prune, "Pruning: gradual (cubic GMP), iterative (lottery tickets), oneshot, none")
      ->check(CLI::IsMember(keys(kPrune)))
      ->capture_default_str();
  cmd->add_option("--allocation", o->allocation, "Sparsity allocation across layers (SPEC §2.4)")
      ->check(CLI::IsMember(keys(kAlloc)))
      ->capture_default_str();
  cmd->add_option("--distance-weight", o->tc.prune.distance_weight,
                  "Score |W| / (1 + c * wiring length) (SPEC §5 d2); 0 = plain magnitude")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--prune-start", o->tc.prune.start, "Gradual: start, fraction of training (oneshot: when)")
      ->capture_default_str();
  cmd->add_option("--prune-end", o->tc.prune.end, "Gradual: final sparsity reached at this fraction of training")
      ->capture_default_str();
  cmd->add_option("--prune-every", o->tc.prune.every, "Gradual: steps between prune events")->capture_default_str();
  cmd->add_option("--rounds", o->tc.prune.rounds, "Iterative: pruning rounds (each followed by --epochs of retraining)")
      ->capture_default_str();
  cmd->add_option("--rewind-step", o->tc.prune.rewind_step,
                  "Iterative: rewind survivors and the LR schedule to this step")
      ->capture_default_str();
  add_optim_options(cmd, o->optim);
  add_handoff_options(cmd, o->sparse_format, o->tc.handoff.switch_density);
  cmd->add_option("--train-limit", o->train_limit, "Use only the first N training samples (0 = all)")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--test-limit", o->test_limit, "Use only the first N test samples (0 = all)")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_flag("--quiet", o->tc.quiet, "No progress output (results still print)");
  add_resume_option(cmd, o->resume);
  return {cmd, [o, cmd]() {
            o->tc.config_toml = resolved_config_toml(cmd);  // written by the training loop
            return run(*o);
          }};
}

}  // namespace neuroai::tools
