// `neuroai train gnn`: the GCN with Hebbian plastic edges (issue #5) on a generated or read graph,
// node classification or link prediction, with edge pruning. Every option is checked before any
// graph is built; the run writes RUN_DIR/metrics.jsonl, model.safetensors, kept_edges.txt and
// config.json and ends with a summary.
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "kernels/registry.h"
#include "models/gnn_trainer.h"
#include "tools/commands.h"

namespace neuroai::tools {

namespace {

struct GnnOptions {
  GraphSource src;
  std::string task = "nodes";
  double train_fraction = 0.1, test_edges = 0.1;
  double edge_sparsity = 0.5;
  std::string edge_prune = "hebbian";
  std::string schedule = "cubic";
  double prune_start = 0.1, prune_end = 0.6, prune_rate = 0.05;
  int64_t prune_every = 10;
  int epochs = 200;
  float lr = 0.01f, edge_lr = 0.01f, weight_decay = 5e-4f;
  int64_t hidden = 64;
  int layers = 2;
  float w_init = 3.0f, alpha_init = 2.0f, eta_init = 0.1f, rule_a = 1.0f, rule_b = 0.0f, rule_d = 0.0f;
  float trace_rate = 0.1f, score_rate = 0.1f, edge_l1 = 0.0f;
  int eval_every = 10;
  int null_replicates = 20;
  std::string out;
  uint64_t seed = 0;
  int threads = 0;
  std::string backend = "auto";
  bool quiet = false;
  bool no_degree_guard = false;
  std::string resume;  // RUN_DIR; tools/config.cpp reads RUN_DIR/config.toml and sets out = RUN_DIR
};

int run(const GnnOptions& o) {
  GnnTrainConfig tc;
  tc.out_dir = o.out.empty() ? fmt::format("runs/gnn-{}-{}", o.task, o.edge_prune) : o.out;
  tc.task = parse_gnn_task(o.task);
  tc.train_fraction = o.train_fraction;
  tc.test_edge_fraction = o.test_edges;
  tc.epochs = o.epochs;
  tc.seed = o.seed;
  tc.optim.lr = o.lr;
  tc.optim.weight_decay = o.weight_decay;
  tc.edge_lr = o.edge_lr;
  tc.prune = parse_edge_prune(o.edge_prune);
  tc.edge_sparsity = o.edge_sparsity;
  tc.schedule = parse_edge_schedule(o.schedule);
  tc.prune_start = o.prune_start;
  tc.prune_end = o.prune_end;
  tc.prune_every = o.prune_every;
  tc.prune_rate = o.prune_rate;
  tc.degree_guard = !o.no_degree_guard;
  tc.eval_every = o.eval_every;
  tc.null_replicates = o.null_replicates;
  tc.quiet = o.quiet;
  tc.resume = !o.resume.empty();
  tc.validate();
  GnnConfig mc;
  mc.hidden = o.hidden;
  mc.layers = o.layers;
  mc.w_init = o.w_init;
  mc.alpha_init = o.alpha_init;
  mc.eta_init = o.eta_init;
  mc.rule_a = o.rule_a;
  mc.rule_b = o.rule_b;
  mc.rule_d = o.rule_d;
  mc.trace_rate = o.trace_rate;
  mc.score_rate = o.score_rate;
  mc.edge_l1 = o.edge_l1;
  mc.seed = o.seed + 1;
  mc.validate();

  BackendOptions bo;
  bo.threads = o.threads;
  auto backend = make_backend(o.backend, bo);
  GraphSource src = o.src;
  src.seed = o.seed;
  const Graph g = load_graph_source(src);
  if (!o.quiet)
    fmt::print("{}: {} nodes, {} edges (mean degree {:.2f}), {} classes, {} features; {} ({})\n", g.source, g.n,
               g.num_edges(), g.mean_degree(), g.num_classes(), g.n_features, backend->name(),
               backend->description());
  std::filesystem::create_directories(tc.out_dir);
  nlohmann::json config = {{"graph", g.source}, {"labels", o.src.labels}, {"features", o.src.features},
                           {"task", o.task}, {"train_fraction", o.train_fraction}, {"test_edges", o.test_edges},
                           {"edge_sparsity", o.edge_sparsity}, {"edge_prune", o.edge_prune},
                           {"prune_schedule", o.schedule}, {"prune_start", o.prune_start},
                           {"prune_end", o.prune_end}, {"prune_every", o.prune_every}, {"prune_rate", o.prune_rate},
                           {"degree_guard", !o.no_degree_guard},
                           {"epochs", o.epochs}, {"lr", o.lr}, {"edge_lr", o.edge_lr},
                           {"weight_decay", o.weight_decay}, {"seed", o.seed}, {"backend", backend->name()},
                           {"model", mc.to_json()}};
  if (!tc.resume) write_file_atomic(tc.out_dir + "/config.json", config.dump(2) + "\n");
  const GnnTrainResult r = train_gnn(*backend, g, mc, tc);
  const auto& f = r.final;
  auto get = [&](const char* k) { return f.contains(k) && f[k].is_number() ? f[k].get<double>() : NAN; };
  fmt::print("\nresult after {} epochs ({} pruning to edge sparsity {}):\n", o.epochs, o.edge_prune, o.edge_sparsity);
  if (tc.task == GnnTask::Nodes)
    fmt::print("test_acc {:.4f}  train_acc {:.4f}\n", get("test_acc"), get("train_acc"));
  else
    fmt::print("test_auc {:.4f}  oracle_auc {:.4f}\n", get("test_auc"), get("oracle_auc"));
  fmt::print("edges {} / {} (density {:.3f})  r_in {:.3f}  r_out {:.3f}  selectivity {:.2f}  score AUROC {:.3f}\n",
             get("edges_kept"), get("edges_total"), get("edge_density"), get("r_in"), get("r_out"),
             get("selectivity"), get("edge_score_auroc"));
  fmt::print("modularity (planted) {:.4f}  null {:.4f} +- {:.4f}  Louvain NMI {:.4f}  ARI {:.4f}  communities {}\n",
             get("modularity_planted"), get("null_modularity_mean"), get("null_modularity_sd"), get("louvain_nmi"),
             get("louvain_ari"), get("louvain_communities"));
  fmt::print("run directory: {}\n", tc.out_dir);
  return 0;
}

void add_options(CLI::App* cmd, GnnOptions& o) {
  cmd->add_option("--graph", o.src.spec,
                  "sbm:n=N,k=K,deg=C,ratio=R[,seed=S] | er:n=N,deg=C[,k=K] | an edge-list file (u v [w] per line)")
      ->capture_default_str();
  cmd->add_option("--labels", o.src.labels, "Labels file for an edge-list graph (node label per line)");
  cmd->add_option("--features", o.src.features, "Features file for an edge-list graph (one row per node)");
  cmd->add_option("--feature-dim", o.src.feature_dim, "Width F of generated contextual-SBM features")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--feature-signal", o.src.feature_signal,
                  "s of x = s u_y + noise (< 0: 1 for sbm, 0 for er and files without features)")
      ->capture_default_str();
  cmd->add_option("--task", o.task, "nodes (classification) or links (link prediction, labels hidden)")
      ->check(CLI::IsMember({"nodes", "links"}))
      ->capture_default_str();
  cmd->add_option("--train-fraction", o.train_fraction, "Labelled training nodes (nodes task)")->capture_default_str();
  cmd->add_option("--test-edges", o.test_edges, "Held-out edge fraction (links task)")->capture_default_str();
  cmd->add_option("--edge-sparsity", o.edge_sparsity, "Target fraction of edges pruned")->capture_default_str();
  cmd->add_option("--edge-prune", o.edge_prune, "hebbian (EMA of a_ij), community (weakest inter-Louvain), random, none")
      ->check(CLI::IsMember({"hebbian", "community", "random", "none"}))
      ->capture_default_str();
  cmd->add_option("--prune-schedule", o.schedule, "cubic (to the target) or fraction (--prune-rate per event)")
      ->check(CLI::IsMember({"cubic", "fraction"}))
      ->capture_default_str();
  cmd->add_option("--prune-start", o.prune_start, "Pruning starts at this fraction of training")->capture_default_str();
  cmd->add_option("--prune-end", o.prune_end, "Cubic schedule reaches the target at this fraction")
      ->capture_default_str();
  cmd->add_option("--prune-every", o.prune_every, "Epochs between prune events")->capture_default_str();
  cmd->add_option("--prune-rate", o.prune_rate, "Fraction schedule: share of remaining edges per event")
      ->capture_default_str();
  cmd->add_flag("--no-degree-guard", o.no_degree_guard, "Allow pruning a node's last edge");
  cmd->add_option("--epochs", o.epochs, "Full-graph training steps")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--lr", o.lr, "Adam learning rate of the layers")->capture_default_str();
  cmd->add_option("--edge-lr", o.edge_lr, "Adam learning rate of w, alpha and the rule")->capture_default_str();
  cmd->add_option("--weight-decay", o.weight_decay, "L2 on the layer weights")->capture_default_str();
  cmd->add_option("--hidden", o.hidden, "Hidden width (and embedding width for links)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--layers", o.layers, "GCN layers")->check(CLI::Range(1, 8))->capture_default_str();
  cmd->add_option("--w-init", o.w_init, "Initial edge logit w (a = sigmoid(w))")->capture_default_str();
  cmd->add_option("--alpha-init", o.alpha_init, "Initial Hebbian gain alpha")->capture_default_str();
  cmd->add_option("--eta", o.eta_init, "Initial Hebbian rate eta")->capture_default_str();
  cmd->add_option("--rule-a", o.rule_a, "Initial A (cosine co-activity)")->capture_default_str();
  cmd->add_option("--rule-b", o.rule_b, "Initial B (activity sum)")->capture_default_str();
  cmd->add_option("--rule-d", o.rule_d, "Initial D (constant drift)")->capture_default_str();
  cmd->add_option("--trace-rate", o.trace_rate, "lambda_n of the node activity trace")->capture_default_str();
  cmd->add_option("--score-rate", o.score_rate, "lambda_s of the edge score EMA")->capture_default_str();
  cmd->add_option("--edge-l1", o.edge_l1, "L1 on a_ij (UGS-style; 1e-2 typical)")->capture_default_str();
  cmd->add_option("--eval-every", o.eval_every, "Epochs between metric lines")->capture_default_str();
  cmd->add_option("--null-replicates", o.null_replicates, "Random prunings for the null range (0 = off)")
      ->capture_default_str();
  cmd->add_option("--out", o.out, "Run directory (default runs/gnn-<task>-<prune>)");
  cmd->add_option("--seed", o.seed, "Random seed (graph, features, split, init)")->capture_default_str();
  cmd->add_option("--threads", o.threads, "CPU threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--backend", o.backend, "Compute backend")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
  cmd->add_flag("--quiet", o.quiet, "No progress bar");
  cmd->add_option("--resume", o.resume,
                  "Continue the run in RUN_DIR from its last metrics line (its config.toml and state.safetensors; "
                  "docs/STUDY.md)")
      ->check(CLI::ExistingDirectory);
}

}  // namespace

Command add_train_gnn(CLI::App& app) {
  auto o = std::make_shared<GnnOptions>();
  CLI::App* cmd = train_app(app)->add_subcommand(
      "gnn", "GCN with Hebbian plastic edges and edge pruning on a community-structured graph");
  add_options(cmd, *o);
  return {cmd, [o]() { return run(*o); }};
}

}  // namespace neuroai::tools
