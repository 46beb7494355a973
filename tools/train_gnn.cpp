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
#include "tools/config.h"

namespace neuroai::tools {

namespace {

// The options bind straight to the trainer's and the model's configs, so their defaults are the ones
// `--help` shows; only the names that need parsing, and the run's own settings, live here.
struct GnnOptions {
  GraphSource src;
  GnnTrainConfig tc;
  GnnConfig mc;
  std::string task = "nodes";
  std::string edge_prune = "hebbian";
  std::string schedule = "cubic";
  bool no_degree_guard = false;
  std::string out;
  int threads = 0;
  std::string backend = "auto";
  std::string resume;  // RUN_DIR; tools/config.cpp reads RUN_DIR/config.toml and sets out = RUN_DIR
};

int run(const GnnOptions& o) {
  GnnTrainConfig tc = o.tc;
  tc.out_dir = o.out;  // run_selected (tools/config.cpp) fills in the next free default
  tc.task = parse_gnn_task(o.task);
  tc.prune = parse_edge_prune(o.edge_prune);
  tc.schedule = parse_edge_schedule(o.schedule);
  tc.degree_guard = !o.no_degree_guard;
  tc.resume = !o.resume.empty();
  tc.validate();
  GnnConfig mc = o.mc;
  mc.seed = tc.seed + 1;
  mc.validate();

  BackendOptions bo;
  bo.threads = o.threads;
  auto backend = make_backend(o.backend, bo);
  GraphSource src = o.src;
  src.seed = tc.seed;
  tc.extra_metadata["graph_source"] = graph_source_json(src).dump();
  const Graph g = load_graph_source(src);
  if (!tc.quiet)
    fmt::print("{}: {} nodes, {} edges (mean degree {:.2f}), {} classes, {} features; {} ({})\n", g.source, g.n,
               g.num_edges(), g.mean_degree(), g.num_classes(), g.n_features, backend->name(),
               backend->description());
  const GnnTrainResult r = train_gnn(*backend, g, mc, tc);
  const auto& f = r.final;
  auto get = [&](const char* k) { return f.contains(k) && f[k].is_number() ? f[k].get<double>() : NAN; };
  fmt::print("\nresult after {} epochs ({} pruning to edge sparsity {}):\n", tc.epochs, o.edge_prune,
             tc.edge_sparsity);
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
  cmd->add_option("--features", o.src.features, "Features file for an edge-list graph (one row per node; without it each node gets a learnable "
                  "embedding, one-hot identity features)");
  cmd->add_option("--feature-dim", o.src.feature_dim, "Width F of generated contextual-SBM features")
      ->check(positive())
      ->capture_default_str();
  cmd->add_option("--feature-signal", o.src.feature_signal,
                  "s of x = s u_y + noise (< 0: 1 for sbm, 0 for er)")
      ->capture_default_str();
  cmd->add_option("--task", o.task, "nodes (classification) or links (link prediction, labels hidden)")
      ->check(CLI::IsMember({"nodes", "links"}))
      ->capture_default_str();
  cmd->add_option("--train-fraction", o.tc.train_fraction, "Labelled training nodes (nodes task)")
      ->capture_default_str();
  cmd->add_option("--test-edges", o.tc.test_edge_fraction, "Held-out edge fraction (links task)")
      ->capture_default_str();
  cmd->add_option("--edge-sparsity", o.tc.edge_sparsity, "Target fraction of edges pruned")->capture_default_str();
  cmd->add_option("--edge-prune", o.edge_prune, "hebbian (EMA of a_ij), community (weakest inter-Louvain), random, none")
      ->check(CLI::IsMember({"hebbian", "community", "random", "none"}))
      ->capture_default_str();
  cmd->add_option("--prune-schedule", o.schedule, "cubic (to the target) or fraction (--prune-rate per event)")
      ->check(CLI::IsMember({"cubic", "fraction"}))
      ->capture_default_str();
  cmd->add_option("--prune-start", o.tc.prune_start, "Pruning starts at this fraction of training")
      ->capture_default_str();
  cmd->add_option("--prune-end", o.tc.prune_end, "Cubic schedule reaches the target at this fraction")
      ->capture_default_str();
  cmd->add_option("--prune-every", o.tc.prune_every, "Epochs between prune events")->capture_default_str();
  cmd->add_option("--prune-rate", o.tc.prune_rate, "Fraction schedule: share of remaining edges per event")
      ->capture_default_str();
  cmd->add_flag("--no-degree-guard", o.no_degree_guard, "Allow pruning a node's last edge");
  cmd->add_option("--epochs", o.tc.epochs, "Full-graph training steps")->check(positive())->capture_default_str();
  cmd->add_option("--lr", o.tc.optim.lr, "Adam learning rate of the layers")->capture_default_str();
  cmd->add_option("--edge-lr", o.tc.edge_lr, "Adam learning rate of w, alpha and the rule")->capture_default_str();
  cmd->add_option("--weight-decay", o.tc.optim.weight_decay, "L2 on the layer weights")->capture_default_str();
  cmd->add_option("--hidden", o.mc.hidden, "Hidden width (and embedding width for links)")
      ->check(positive())
      ->capture_default_str();
  cmd->add_option("--layers", o.mc.layers, "GCN layers")->check(in_range(1, 8))->capture_default_str();
  cmd->add_option("--w-init", o.mc.w_init, "Initial edge logit w (a = sigmoid(w))")->capture_default_str();
  cmd->add_option("--alpha-init", o.mc.alpha_init, "Initial Hebbian gain alpha")->capture_default_str();
  cmd->add_option("--eta", o.mc.eta_init, "Initial Hebbian rate eta")->capture_default_str();
  cmd->add_option("--rule-a", o.mc.rule_a, "Initial A (cosine co-activity)")->capture_default_str();
  cmd->add_option("--rule-b", o.mc.rule_b, "Initial B (activity sum)")->capture_default_str();
  cmd->add_option("--rule-d", o.mc.rule_d, "Initial D (constant drift)")->capture_default_str();
  cmd->add_option("--trace-rate", o.mc.trace_rate, "lambda_n of the node activity trace")->capture_default_str();
  cmd->add_option("--score-rate", o.mc.score_rate, "lambda_s of the edge score EMA")->capture_default_str();
  cmd->add_option("--edge-l1", o.mc.edge_l1, "L1 on a_ij (UGS-style; 1e-2 typical)")->capture_default_str();
  cmd->add_option("--eval-every", o.tc.eval_every, "Epochs between metric lines")->capture_default_str();
  cmd->add_option("--null-replicates", o.tc.null_replicates, "Random prunings for the null range (0 = off)")
      ->capture_default_str();
  cmd->add_option("--out", o.out, "Run directory (default runs/gnn-<task>-<prune>)");
  cmd->add_option("--seed", o.tc.seed, "Random seed (graph, features, split, init)")->capture_default_str();
  cmd->add_option("--threads", o.threads, "CPU threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--backend", o.backend, "Compute backend")
      ->check(CLI::IsMember(backend_choices()))
      ->capture_default_str();
  cmd->add_flag("--quiet", o.tc.quiet, "No progress bar");
  add_resume_option(cmd, o.resume);
}

}  // namespace

int eval_gnn(const std::string& path, int threads, const std::string& backend_name) {
  const SafetensorsFile f = read_safetensors(path);
  const auto src = f.metadata.find("graph_source");
  NEUROAI_CHECK(src != f.metadata.end(),
                "{}: no graph_source metadata (a GNN checkpoint written before neuroai stored it; train it again)",
                path);
  BackendOptions bo;
  bo.threads = threads;
  auto backend = make_backend(backend_name, bo);
  const Graph g = load_graph_source(graph_source_from_json(nlohmann::json::parse(src->second)));
  const nlohmann::json r = evaluate_gnn(*backend, g, f);
  auto get = [&](const nlohmann::json& j, const char* k) {
    return j.contains(k) && j[k].is_number() ? j[k].get<double>() : NAN;
  };
  fmt::print("GCN with Hebbian edges on {} ({} task)\n", g.source, f.metadata.at("task"));
  if (r.contains("test_acc"))
    fmt::print("test_acc {:.4f}  train_acc {:.4f}\n", get(r, "test_acc"), get(r, "train_acc"));
  else
    fmt::print("test_auc {:.4f}\n", get(r, "test_auc"));
  fmt::print("edges {} / {} (density {:.3f})", get(r, "edges_kept"), get(r, "edges_total"), get(r, "edge_density"));
  if (r.contains("r_in"))
    fmt::print("  r_in {:.3f}  r_out {:.3f}  modularity (planted) {:.4f}  Louvain NMI {:.4f}", get(r, "r_in"),
               get(r, "r_out"), get(r, "modularity_planted"), get(r, "louvain_nmi"));
  fmt::print("\n");
  const auto fin = f.metadata.find("final");
  if (fin != f.metadata.end()) {
    const auto j = nlohmann::json::parse(fin->second);
    const char* key = r.contains("test_acc") ? "test_acc" : "test_auc";
    fmt::print("the run reported {} {:.6f} after epoch {}\n", key, get(j, key), j.value("epoch", 0));
  }
  return 0;
}

Command add_train_gnn(CLI::App& app) {
  auto o = std::make_shared<GnnOptions>();
  CLI::App* cmd = train_app(app)->add_subcommand(
      "gnn", "GCN with Hebbian plastic edges and edge pruning on a community-structured graph");
  add_options(cmd, *o);
  return {cmd, [o, cmd]() {
            o->tc.config_toml = resolved_config_toml(cmd);  // written by the training loop
            return run(*o);
          }};
}

}  // namespace neuroai::tools
