// Training and evaluation of the GCN with Hebbian edges (issue #5): graphs from a spec string or
// files, node classification with a fraction of labelled nodes or link prediction on held-out edges,
// edge pruning (Hebbian score, community-based, random) on the cubic schedule or per-event fraction,
// the graph-structure metrics of SPEC §10 into RUN_DIR/metrics.jsonl, RUN_DIR/model.safetensors and
// RUN_DIR/kept_edges.txt.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/graph.h"
#include "engine/graph_source.h"
#include "engine/optimizer.h"
#include "models/gnn.h"

namespace neuroai {

struct SafetensorsFile;

enum class GnnTask { Nodes, Links };
enum class EdgePrune { None, Hebbian, Random, Community };
enum class EdgeSchedule { Cubic, Fraction };
GnnTask parse_gnn_task(const std::string& s);           // nodes | links
EdgePrune parse_edge_prune(const std::string& s);       // none | hebbian | random | community
EdgeSchedule parse_edge_schedule(const std::string& s);  // cubic | fraction
const char* edge_prune_name(EdgePrune p);


struct GnnTrainConfig {
  std::string out_dir = "runs/gnn";
  GnnTask task = GnnTask::Nodes;
  double train_fraction = 0.1;      // labelled nodes (node task)
  double test_edge_fraction = 0.1;  // held-out edges (link task)
  int epochs = 200;                 // one full-graph step each
  uint64_t seed = 0;
  OptimConfig optim;                // Adam, lr 0.01, weight decay 5e-4 on layer weights by default
  float edge_lr = 0.01f;            // edge parameters and the rule
  EdgePrune prune = EdgePrune::Hebbian;
  double edge_sparsity = 0.5;
  EdgeSchedule schedule = EdgeSchedule::Cubic;
  double prune_start = 0.1, prune_end = 0.6;  // fractions of training (cubic); fraction mode starts at start
  int64_t prune_every = 10;                   // epochs between prune events
  double prune_rate = 0.05;                   // fraction mode: of the remaining edges per event
  bool degree_guard = true;                   // never remove a node's last edge
  int eval_every = 10;
  int null_replicates = 20;  // random prunings of the same graph for the null range of the final metrics
  bool quiet = false;
  std::string label = "train gnn";
  std::string config_toml;  // written as out_dir/config.toml by a fresh run (RunSpec)
  // Continue from out_dir/state.safetensors when it exists; metrics.jsonl is cut back to its epoch. The
  // state is written with every metrics line (every eval_every epochs: an epoch is one full-graph step):
  // layer and edge parameters with their optimizer moments, the Hebbian rule, edge traces (Hb, score),
  // node trace, the kept pairs, the sampler of the link task's negatives and the epoch. Error, with
  // nothing in out_dir changed, when it is corrupt or was saved under another configuration.
  bool resume = false;
  // Stored in the checkpoint's metadata beside the trainer's own keys (train gnn: "graph_source", the
  // JSON of graph_source_json, which `neuroai eval` rebuilds the graph from).
  std::map<std::string, std::string> extra_metadata;

  GnnTrainConfig();
  void validate() const;
};


struct GnnTrainResult {
  nlohmann::json final;  // the last metrics line
  std::string checkpoint;
};

// Trains a fresh model (GnnConfig's widths are set from the graph and task), or with cfg.resume continues
// the saved one, and writes RUN_DIR.
GnnTrainResult train_gnn(Backend& b, const Graph& g, GnnConfig model_cfg, const GnnTrainConfig& cfg);

// The metrics line of a saved `train gnn` model (checkpoint: its model.safetensors) on graph g, with the
// split its run drew: the run's task, train_fraction, test_edge_fraction and seed, from the checkpoint's
// "train_config" metadata (cfg's other fields are not used). test_acc and train_acc, or test_auc; edge
// counts; with labels, the retention metrics. The same numbers as the run's last evaluation. Error when
// the checkpoint has no train_config or the model does not fit the graph.
nlohmann::json evaluate_gnn(Backend& b, const Graph& g, const SafetensorsFile& checkpoint);

// Scores for one prune event, on the host, one per current pair: Hebbian = the model's score;
// random = uniform (seeded); community = the score for inter-community pairs of a Louvain partition of
// the graph weighted by a, 1e30 (never pruned) for intra pairs. degree_guard: each node's
// highest-scoring edge gets 1e30 too (SPEC §8 guard: degree >= 1). *n_eligible = pairs below 1e30.
std::vector<float> edge_prune_scores(GnnModel& m, EdgePrune how, uint64_t seed, bool degree_guard,
                                     int64_t* n_eligible);

}  // namespace neuroai
