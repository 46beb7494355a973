// Undirected graphs on the host (SPEC §9): readers for edge lists, labels and node features, and
// seeded generators (planted-partition SBM, contextual-SBM node features, Erdos-Renyi null graphs).
// The device side (symmetric CSR with per-pair bookkeeping) is models/gnn_graph.h.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace neuroai {

// An undirected simple graph: edges (u, v) with u < v, sorted ascending, no duplicates, no self-loops.
struct Graph {
  int32_t n = 0;
  std::vector<std::pair<int32_t, int32_t>> edges;
  std::vector<float> weights;   // one per edge (1 unless the edge list gave one)
  std::vector<int32_t> labels;  // (n) community / class per node, -1 = unknown; empty = none
  std::vector<float> features;  // (n, n_features) row-major; empty = none
  int64_t n_features = 0;
  std::string source;  // what made it ("sbm:n=...", a path), for logs

  int64_t num_edges() const { return int64_t(edges.size()); }
  double mean_degree() const { return n > 0 ? 2.0 * double(edges.size()) / n : 0.0; }
  // Largest label + 1 (0 when there are no labels).
  int32_t num_classes() const;
  // Edges whose endpoints carry the same known label (intra) / different known labels (inter).
  int64_t num_intra_edges() const;
};

// Node ids of edge lists and label files are below this when the files alone fix the node count (no
// features file): a 12-byte line "0 2147483646" would otherwise make the readers allocate per-node
// arrays of 2^31 entries. 2^24 nodes is past what the GCN holds in memory here.
constexpr int32_t kMaxGraphNodes = 1 << 24;

// What the edge-list reader did with the lines it merged or dropped.
struct EdgeListStats {
  int64_t lines = 0;       // edge lines read (not comments or blanks)
  int64_t self_loops = 0;  // dropped
  int64_t duplicates = 0;  // merged into an earlier edge ((u, v) and (v, u) are the same edge)
};

// Edge list: one `u v` or `u v w` per line (0-based node ids, w a finite float), `#` starts a
// comment, blank lines skipped. Self-loops are dropped; duplicate edges (either orientation) are
// merged into one that keeps the largest weight. n_nodes > 0 fixes the node count (ids >= n_nodes are
// refused); 0 = largest id + 1 (self-loop lines count: their node exists, possibly isolated). Error names the file and line of malformed input.
Graph read_edge_list(const std::string& path, int32_t n_nodes = 0, EdgeListStats* stats = nullptr);
// Labels: one `node label` per line (`#` comments), labels >= 0; nodes not listed get -1. Returns (n).
std::vector<int32_t> read_labels(const std::string& path, int32_t n);
// Features: one row of whitespace-separated floats per node (`#` comments), all rows the same width;
// the number of rows is the node count. Returns (rows, cols) row-major.
std::vector<float> read_features(const std::string& path, int64_t* rows, int64_t* cols);
// Edges, then labels and features when the paths are not empty: the node count is the features'
// row count when given, else the largest id in the edges and labels + 1; ids outside it are refused.
Graph read_graph(const std::string& edges, const std::string& labels, const std::string& features);
// Writes `u v w` lines with a `#` header.
void write_edge_list(const std::string& path, const Graph& g, const std::string& header);

struct SbmConfig {
  int32_t n = 1000;
  int32_t k = 4;
  double mean_degree = 20.0;
  double ratio = 0.1;  // c_out / c_in
  uint64_t seed = 0;
};
// Planted partition: K equal blocks (node i in block floor(i K / N)), p_in = c_in / N,
// p_out = c_out / N with c_in = K c / (1 + (K - 1) ratio), c_out = ratio c_in, so the mean degree is
// ~c. Every pair is drawn once (seeded mt19937_64); labels = blocks.
Graph make_sbm(const SbmConfig& c);
// Erdos-Renyi G(n, p) with p = mean_degree / (n - 1). Labels = K equal blocks as in make_sbm (a
// partition the graph knows nothing about), so the planted-partition metrics have a null value.
Graph make_er(int32_t n, double mean_degree, int32_t k, uint64_t seed);
// Contextual SBM features (Deshpande et al. 2018): x_i = s u_{y_i} + xi_i, u_k random unit vectors in
// R^F, xi ~ N(0, I_F); nodes without a label get noise only. Returns (n, f).
std::vector<float> csbm_features(const std::vector<int32_t>& labels, int32_t k, int64_t f, double s, uint64_t seed);

// Kesten-Stigum detectability |c_in - c_out| > K sqrt(c) for an SBM config.
bool sbm_detectable(const SbmConfig& c);

}  // namespace neuroai
