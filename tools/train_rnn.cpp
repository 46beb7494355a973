// `neuroai train gru|rnn`: the recurrent models with temporal cortical structure on a sequence task
// (issue #4), and the RNN branch of `neuroai eval`. Every option is checked before any data is read;
// the run writes RUN_DIR/metrics.jsonl, RUN_DIR/model.safetensors and RUN_DIR/config.json and ends
// with a summary.
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/dataset.h"
#include "engine/safetensors.h"
#include "kernels/registry.h"
#include "models/rnn_trainer.h"
#include "tools/commands.h"
#include "tools/config.h"
#include "tools/optim_options.h"

namespace neuroai::tools {

namespace {

// The options bind straight to the task's, the trainer's and the model's configs, so their defaults
// are the ones `--help` shows; only the names that need parsing, and the run's own settings, live here.
struct RnnOptions {
  SeqTaskConfig task{.data_dir = kDefaultFashionMnistDir};
  RnnTrainConfig tc;
  RnnConfig mc;
  OptimOptions optim;
  std::string prune_score = "relevance";
  std::string prune_blocks = "gate";
  std::string sparse_format = "auto";
  std::string out;
  int threads = 0;
  std::string backend = "auto";
  std::string resume;  // RUN_DIR; tools/config.cpp reads RUN_DIR/config.toml and sets out = RUN_DIR
};

nlohmann::json task_json(const SeqTaskConfig& t) {
  return {{"task", t.task}, {"seq_len", t.seq_len}, {"data", t.data_dir}, {"train_limit", t.train_limit},
          {"test_limit", t.test_limit}, {"seed", t.seed}};
}

void print_eval(const RnnEval& e) {
  if (e.acc >= 0)
    fmt::print("test_acc {:.4f}  test_loss {:.4f}  ({} test sequences)\n", e.acc, e.loss, e.n);
  else
    fmt::print("test_mse {:.5f}  ({} test sequences)\n", e.mse, e.n);
  fmt::print("hidden states: participation_ratio {:.1f}  activation_sparsity {:.3f}  cos within/between groups "
             "{:.3f}/{:.3f}  phase_agreement {:.3f}  vector_strength {:.3f}\n",
             e.participation_ratio, e.activation_sparsity, e.within_group_cos, e.between_group_cos, e.phase_agreement,
             e.vector_strength);
}

void print_layers(RnnModel& m) {
  for (const SparseLinear* l : {&m.ih(), &m.hh(), &m.head()})
    fmt::print("  {:<14} {:>9} density {:.4f}  nnz {:>8}  {}\n", l->name(), fmt::format("{}x{}", l->out(), l->in()),
               l->density(), l->nnz(), format_name(l->format()));
}

int run(CellKind cell, const RnnOptions& o) {
  // Options first: nothing is read or written before they are all valid.
  SeqTaskConfig tcfg = o.task;
  tcfg.seed = o.tc.seed;
  parse_seq_task(tcfg.task);
  NEUROAI_CHECK(tcfg.seq_len >= 0, "--seq-len is {} (expected >= 1, or 0 for the task's default)", tcfg.seq_len);
  RnnTrainConfig tc = o.tc;
  tc.out_dir = o.out;  // run_selected (tools/config.cpp) fills in the next free default
  apply_optim_options(o.optim, tc.optim, tc.lr);
  tc.score = parse_prune_score(o.prune_score);
  tc.per_gate_block = o.prune_blocks == "gate";
  tc.handoff.format = parse_sparse_format(o.sparse_format);
  tc.label = fmt::format("train {}", cell_name(cell));
  tc.resume = !o.resume.empty();
  tc.extra_metadata["task_config"] = task_json(tcfg).dump();
  tc.validate();
  RnnConfig mc = o.mc;
  mc.cell = cell;
  mc.seed = tc.seed + 1;
  NEUROAI_CHECK(cell == CellKind::Rnn || (mc.alpha == 1.0f && mc.group_alphas.empty()),
                "--alpha and --group-alphas belong to the leaky RNN (neuroai train rnn), not the GRU");
  NEUROAI_CHECK(mc.groups >= 1 && mc.groups <= mc.hidden, "--groups {} (expected 1 <= groups <= --hidden {})",
                mc.groups, mc.hidden);

  BackendOptions bo;
  bo.threads = o.threads;
  auto backend = make_backend(o.backend, bo);
  const SeqTask task = make_seq_task(tcfg);
  tc.extra_metadata["preprocessing"] = seq_preprocessing_json(task).dump();
  mc.inputs = task.inputs;
  mc.outputs = task.outputs;
  mc.readout = task.readout;
  mc.validate();
  if (!tc.quiet) fmt::print("{} {} on {} ({}), {}\n", cell_name(cell), mc.hidden, task.describe(), backend->name(),
                            backend->description());
  const RnnTrainResult r = train_rnn(*backend, mc, tc, task);
  fmt::print("\nresult ({} epochs, {} steps, {:.0f} s):\n", r.epochs_done, r.steps, r.train_seconds);
  print_eval(r.final_eval);
  RnnModel m = RnnModel::load(*backend, r.checkpoint);
  print_layers(m);
  fmt::print("run directory: {}\n", tc.out_dir);
  return 0;
}

void add_options(CLI::App* cmd, RnnOptions& o, CellKind cell) {
  cmd->add_option("--task", o.task.task, "seq-fashion (rows of Fashion-MNIST), adding (adding problem), sines")
      ->check(CLI::IsMember({"seq-fashion", "adding", "sines"}))
      ->capture_default_str();
  cmd->add_option("--data", o.task.data_dir, "Fashion-MNIST directory (seq-fashion)")->capture_default_str();
  cmd->add_option("--seq-len", o.task.seq_len, "Sequence length T (0 = task default: 28, adding 100, sines 64)")
      ->capture_default_str();
  cmd->add_option("--hidden", o.mc.hidden, "Hidden units H")->check(positive())->capture_default_str();
  cmd->add_option("--epochs", o.tc.epochs, "Training epochs")->check(positive())->capture_default_str();
  cmd->add_option("--batch", o.tc.batch, "Minibatch size")->check(positive())->capture_default_str();
  cmd->add_option("--sparsity", o.tc.sparsity, "Final sparsity of W_ih and W_hh (0 = no pruning)")
      ->check(in_range(0.0, 0.999))
      ->capture_default_str();
  cmd->add_option("--out", o.out, "Run directory (default runs/<cell>-<task>)");
  cmd->add_option("--seed", o.tc.seed, "Random seed (init, shuffling, synthetic data)")->capture_default_str();
  cmd->add_option("--threads", o.threads, "CPU threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--backend", o.backend, "Compute backend")
      ->check(CLI::IsMember(backend_choices()))
      ->capture_default_str();
  cmd->add_option("--kappa", o.mc.kappa, "Phase-gate strength (SPEC 6.2; 0 = plain cell)")
      ->check(in_range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--groups", o.mc.groups, "Phase groups G on a ring")->check(positive())->capture_default_str();
  cmd->add_option("--period", o.mc.period, "Gate period P in steps")->check(positive())->capture_default_str();
  if (cell == CellKind::Rnn) {
    cmd->add_option("--alpha", o.mc.alpha, "Leak alpha = dt / tau (1 = vanilla RNN)")
        ->check(in_range(1e-6, 1.0))
        ->capture_default_str();
    cmd->add_option("--group-alphas", o.mc.group_alphas, "One alpha per phase group (multiple timescales)")
        ->delimiter(',');
  }
  cmd->add_option("--prune-score", o.prune_score, "relevance (|W| sqrt(r_j), SPEC 6.4) or magnitude")
      ->check(CLI::IsMember({"relevance", "magnitude"}))
      ->capture_default_str();
  cmd->add_option("--prune-blocks", o.prune_blocks, "gate: rank per gate block; matrix: per weight matrix")
      ->check(CLI::IsMember({"gate", "matrix"}))
      ->capture_default_str();
  cmd->add_option("--prune-start", o.tc.prune_start, "Pruning starts at this fraction of training")
      ->capture_default_str();
  cmd->add_option("--prune-end", o.tc.prune_end, "Final sparsity reached at this fraction")->capture_default_str();
  cmd->add_option("--prune-every", o.tc.prune_every, "Steps between prune events")
      ->check(positive())
      ->capture_default_str();
  cmd->add_option("--relevance-beta", o.tc.relevance_beta, "Relevance trace decay beta")->capture_default_str();
  cmd->add_option("--clip", o.tc.clip, "Max global gradient norm (0 = off)")->check(non_negative())
      ->capture_default_str();
  add_optim_options(cmd, o.optim);
  cmd->add_option("--idr-l1", o.tc.idr.l1, "IDR: L1 on hidden states, (batch, time) samples (SPEC 3.1; 1e-4 typical)")
      ->capture_default_str();
  cmd->add_option("--idr-pr", o.tc.idr.pr, "IDR: participation-ratio penalty on hidden states (SPEC 3.3)")
      ->capture_default_str();
  add_handoff_options(cmd, o.sparse_format, o.tc.handoff.switch_density);
  cmd->add_option("--train-limit", o.task.train_limit, "Training sequences (0 = all / 10000 synthetic)")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--test-limit", o.task.test_limit, "Test sequences (0 = all / 2000 synthetic)")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--eval-batch", o.tc.eval_batch, "Evaluation batch size")->check(positive())
      ->capture_default_str();
  cmd->add_flag("--merge", o.tc.merge,
                "Merge units with near-identical activity traces within a phase group, per epoch");
  cmd->add_option("--merge-threshold", o.tc.merge_threshold, "Cosine threshold tau for --merge")
      ->check(in_range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_flag("--quiet", o.tc.quiet, "No progress bar");
  add_resume_option(cmd, o.resume);
}

Command add_cell(CLI::App& app, CellKind cell) {
  auto o = std::make_shared<RnnOptions>();
  CLI::App* cmd = train_app(app)->add_subcommand(
      cell_name(cell), cell == CellKind::Gru
                           ? "GRU (PyTorch form) with phase groups and sparse recurrent weights on a sequence task"
                           : "Leaky vanilla RNN with phase groups and sparse recurrent weights on a sequence task");
  add_options(cmd, *o, cell);
  return {cmd, [o, cmd, cell]() {
            o->tc.config_toml = resolved_config_toml(cmd);  // written by the training loop
            return run(cell, *o);
          }};
}

}  // namespace

Command add_train_gru(CLI::App& app) { return add_cell(app, CellKind::Gru); }
Command add_train_rnn(CLI::App& app) { return add_cell(app, CellKind::Rnn); }

int eval_rnn(const std::string& path, const std::string& data_dir, int64_t test_limit, int64_t batch, int threads,
             const std::string& backend_name) {
  BackendOptions bo;
  bo.threads = threads;
  auto backend = make_backend(backend_name, bo);
  std::map<std::string, std::string> meta;
  RnnModel m = RnnModel::load(*backend, path, &meta);
  NEUROAI_CHECK(meta.count("task_config"), "{}: no task_config metadata (not written by neuroai train gru|rnn)", path);
  const auto tj = nlohmann::json::parse(meta.at("task_config"));
  SeqTaskConfig t{tj.at("task"), tj.at("seq_len"), data_dir, tj.at("train_limit"), tj.at("test_limit"), tj.at("seed")};
  // The checkpoint's recorded standardization is applied as it is. Checkpoints from before it was
  // recorded reproduce it from the stored train_limit. The synthetic test set is generated after the
  // training set from the same seed; a smaller test_limit is a prefix.
  std::optional<std::pair<float, float>> standardization;
  if (auto p = meta.find("preprocessing"); p != meta.end()) {
    const auto pj = nlohmann::json::parse(p->second, nullptr, false);
    NEUROAI_CHECK(pj.is_object(), "{}: the preprocessing metadata is not a JSON object", path);
    if (const auto s = pj.find("standardize"); s != pj.end() && !s->is_null()) {
      NEUROAI_CHECK(s->is_object() && s->contains("mean") && s->contains("std") && s->at("mean").is_number() &&
                        s->at("std").is_number(),
                    "{}: preprocessing.standardize is {} (expected {{\"mean\": number, \"std\": number}})", path,
                    s->dump());
      standardization = std::pair{s->at("mean").get<float>(), s->at("std").get<float>()};
    }
  }
  if (test_limit > 0) t.test_limit = test_limit;
  const SeqTask task = make_seq_task(t, standardization);
  NEUROAI_CHECK(task.inputs == m.config().inputs && task.outputs == m.config().outputs,
                "{}: the model ({} inputs, {} outputs) does not fit {}", path, m.config().inputs, m.config().outputs,
                task.describe());
  fmt::print("{} {} on {}\n", cell_name(m.config().cell), m.config().hidden, task.describe());
  print_eval(evaluate_rnn(m, task, task.test, batch, 256));
  print_layers(m);
  return 0;
}

}  // namespace neuroai::tools
