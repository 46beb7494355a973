// Where a graph comes from (SPEC §9): a generator spec ("sbm:...", "er:...") or an edge-list file with
// optional labels and features, parsed, loaded and stored as JSON in the checkpoints that need to
// rebuild it (train gnn's "graph_source").
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/graph.h"

namespace neuroai {

// A graph with labels (the planted partition when known) and node features.
// spec: "sbm:n=1000,k=4,deg=20,ratio=0.1[,seed=S]", "er:n=1000,deg=20[,k=4][,seed=S]" or an edge-list
// path (labels / features files optional). Features: the files' when given; none for an edge list
// without a features file (the model then takes one-hot identity features, a learnable embedding per
// node: Kipf & Welling 2017); for generated graphs contextual-SBM features x = s u_y + xi
// (F = feature_dim) with s = feature_signal, or s = 1 for sbm, 0 for er (so the null graph's
// features carry no partition) when feature_signal < 0.
struct GraphSource {
  std::string spec = "sbm:n=1000,k=4,deg=20,ratio=0.1";
  std::string labels, features;
  int64_t feature_dim = 32;
  double feature_signal = -1.0;
  uint64_t seed = 0;  // generators and features, unless the spec names a seed
};
Graph load_graph_source(const GraphSource& s, bool* is_er = nullptr);
// The generator of an "sbm:..." or "er:..." spec (er leaves ratio unused); n, k and seed must be whole
// numbers (seed defaults to default_seed), deg and ratio finite numbers. Error naming the spec and the
// key otherwise; the generators check the values against each other.
struct GraphSpec {
  bool er = false;
  SbmConfig c;
};
GraphSpec parse_graph_spec(const std::string& spec, uint64_t default_seed);

// A GraphSource as JSON and back (the checkpoint's "graph_source" metadata).
nlohmann::json graph_source_json(const GraphSource& s);
GraphSource graph_source_from_json(const nlohmann::json& j);

}  // namespace neuroai
