// Graph readers and generators (SPEC §9).
#include "engine/graph.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "engine/safetensors.h"
#include "kernels/error.h"

namespace neuroai {
namespace {

// The text of a line without its `#` comment, and whether anything but blanks is left.
bool strip_line(std::string& line) {
  const auto hash = line.find('#');
  if (hash != std::string::npos) line.resize(hash);
  return line.find_first_not_of(" \t\r") != std::string::npos;
}

std::ifstream open_text(const std::string& path, const char* what) {
  std::ifstream in(path);
  NEUROAI_CHECK(in.good(), "cannot open {} file '{}'", what, path);
  return in;
}

// Parses an integer token in full; false when it is not one.
bool parse_int(const std::string& tok, int64_t* out) {
  if (tok.empty()) return false;
  size_t used = 0;
  try {
    *out = std::stoll(tok, &used);
  } catch (...) {
    return false;
  }
  return used == tok.size();
}

bool parse_float(const std::string& tok, float* out) {
  if (tok.empty()) return false;
  size_t used = 0;
  try {
    *out = std::stof(tok, &used);
  } catch (...) {
    return false;
  }
  return used == tok.size() && std::isfinite(*out);
}

std::vector<std::string> tokens(const std::string& line) {
  std::istringstream ss(line);
  std::vector<std::string> t;
  for (std::string s; ss >> s;) t.push_back(s);
  return t;
}

int32_t block_of(int32_t i, int32_t n, int32_t k) { return int32_t(int64_t(i) * k / n); }

}  // namespace

int32_t Graph::num_classes() const {
  int32_t c = 0;
  for (int32_t y : labels) c = std::max(c, y + 1);
  return c;
}

int64_t Graph::num_intra_edges() const {
  if (labels.empty()) return 0;
  int64_t in = 0;
  for (auto [u, v] : edges) in += labels[u] >= 0 && labels[u] == labels[v];
  return in;
}

Graph read_edge_list(const std::string& path, int32_t n_nodes, EdgeListStats* stats) {
  std::ifstream in = open_text(path, "edge list");
  EdgeListStats st;
  std::map<std::pair<int32_t, int32_t>, float> merged;
  int64_t max_id = -1;
  std::string line;
  for (int64_t ln = 1; std::getline(in, line); ++ln) {
    if (!strip_line(line)) continue;
    const auto t = tokens(line);
    NEUROAI_CHECK(t.size() == 2 || t.size() == 3, "{}:{}: expected `u v` or `u v w`, got {} fields", path, ln,
                  t.size());
    int64_t u = 0, v = 0;
    float w = 1.0f;
    NEUROAI_CHECK(parse_int(t[0], &u) && parse_int(t[1], &v), "{}:{}: node ids must be integers, got '{}' '{}'", path,
                  ln, t[0], t[1]);
    NEUROAI_CHECK(t.size() == 2 || parse_float(t[2], &w), "{}:{}: weight '{}' is not a finite number", path, ln, t[2]);
    const int64_t limit = n_nodes > 0 ? n_nodes : int64_t(kMaxGraphNodes);
    NEUROAI_CHECK(u >= 0 && v >= 0 && u < limit && v < limit, "{}:{}: node id out of range [0, {}): {} {}", path, ln,
                  limit, u, v);
    ++st.lines;
    max_id = std::max({max_id, u, v});  // a node with only a self-loop still exists
    if (u == v) {
      ++st.self_loops;
      continue;
    }
    const std::pair<int32_t, int32_t> key{int32_t(std::min(u, v)), int32_t(std::max(u, v))};
    auto [it, fresh] = merged.emplace(key, w);
    if (!fresh) {
      ++st.duplicates;
      it->second = std::max(it->second, w);
    }
  }
  Graph g;
  g.n = n_nodes > 0 ? n_nodes : int32_t(max_id + 1);
  g.source = path;
  for (const auto& [e, w] : merged) {
    g.edges.push_back(e);
    g.weights.push_back(w);
  }
  if (stats) *stats = st;
  return g;
}

std::vector<int32_t> read_labels(const std::string& path, int32_t n) {
  std::ifstream in = open_text(path, "labels");
  std::vector<int32_t> labels(size_t(n), -1);
  std::string line;
  for (int64_t ln = 1; std::getline(in, line); ++ln) {
    if (!strip_line(line)) continue;
    const auto t = tokens(line);
    int64_t node = 0, y = 0;
    NEUROAI_CHECK(t.size() == 2 && parse_int(t[0], &node) && parse_int(t[1], &y),
                  "{}:{}: expected `node label` (two integers)", path, ln);
    NEUROAI_CHECK(node >= 0 && node < n, "{}:{}: node id {} out of range [0, {})", path, ln, node, n);
    NEUROAI_CHECK(y >= 0 && y < INT32_MAX, "{}:{}: label {} must be >= 0", path, ln, y);
    NEUROAI_CHECK(labels[node] < 0 || labels[node] == y, "{}:{}: node {} has two labels ({} and {})", path, ln, node,
                  labels[node], y);
    labels[node] = int32_t(y);
  }
  return labels;
}

std::vector<float> read_features(const std::string& path, int64_t* rows, int64_t* cols) {
  std::ifstream in = open_text(path, "features");
  std::vector<float> x;
  int64_t r = 0, c = -1;
  std::string line;
  for (int64_t ln = 1; std::getline(in, line); ++ln) {
    if (!strip_line(line)) continue;
    const auto t = tokens(line);
    NEUROAI_CHECK(c < 0 || int64_t(t.size()) == c, "{}:{}: row has {} values, earlier rows have {}", path, ln, t.size(),
                  c);
    c = int64_t(t.size());
    for (const auto& s : t) {
      float f = 0;
      NEUROAI_CHECK(parse_float(s, &f), "{}:{}: '{}' is not a finite number", path, ln, s);
      x.push_back(f);
    }
    ++r;
  }
  NEUROAI_CHECK(r > 0, "{}: no feature rows", path);
  *rows = r;
  *cols = c;
  return x;
}

Graph read_graph(const std::string& edges, const std::string& labels, const std::string& features) {
  int64_t rows = 0, cols = 0;
  std::vector<float> x;
  if (!features.empty()) {
    x = read_features(features, &rows, &cols);
    NEUROAI_CHECK(rows <= INT32_MAX, "{}: {} rows is too many nodes", features, rows);
  }
  int32_t n = int32_t(rows);
  if (n == 0 && !labels.empty()) {
    // Node count from the larger of the two files' ids.
    EdgeListStats st;
    const Graph probe = read_edge_list(edges, 0, &st);
    int64_t max_label_node = -1;
    std::ifstream in = open_text(labels, "labels");
    std::string line;
    for (int64_t ln = 1; std::getline(in, line); ++ln) {
      if (!strip_line(line)) continue;
      int64_t node = 0;
      const auto t = tokens(line);
      NEUROAI_CHECK(!t.empty() && parse_int(t[0], &node), "{}:{}: expected `node label` (two integers)", labels, ln);
      NEUROAI_CHECK(node >= 0 && node < kMaxGraphNodes, "{}:{}: node id {} out of range [0, {})", labels, ln, node,
                    kMaxGraphNodes);
      max_label_node = std::max(max_label_node, node);
    }
    n = std::max(probe.n, int32_t(max_label_node + 1));
  }
  Graph g = read_edge_list(edges, n);
  NEUROAI_CHECK(g.n > 0, "{}: the graph has no nodes", edges);
  if (!labels.empty()) g.labels = read_labels(labels, g.n);
  if (!features.empty()) {
    g.features = std::move(x);
    g.n_features = cols;
  }
  return g;
}

void write_edge_list(const std::string& path, const Graph& g, const std::string& header) {
  std::string s = "# " + header + "\n";
  for (size_t e = 0; e < g.edges.size(); ++e)
    s += fmt::format("{} {} {}\n", g.edges[e].first, g.edges[e].second, e < g.weights.size() ? g.weights[e] : 1.0f);
  write_file_atomic(path, s);
}

Graph make_sbm(const SbmConfig& c) {
  NEUROAI_CHECK(c.n >= 2 && c.k >= 1 && c.k <= c.n, "sbm: need n >= 2 and 1 <= k <= n (got n={}, k={})", c.n, c.k);
  NEUROAI_CHECK(c.mean_degree > 0 && c.ratio >= 0, "sbm: need deg > 0 and ratio >= 0 (got {}, {})", c.mean_degree,
                c.ratio);
  const double c_in = c.k * c.mean_degree / (1.0 + (c.k - 1) * c.ratio), c_out = c.ratio * c_in;
  const double p_in = c_in / c.n, p_out = c_out / c.n;
  NEUROAI_CHECK(p_in <= 1.0, "sbm: p_in = c_in / n = {:.3f} > 1; lower deg or raise n", p_in);
  Graph g;
  g.n = c.n;
  g.source = fmt::format("sbm:n={},k={},deg={},ratio={},seed={}", c.n, c.k, c.mean_degree, c.ratio, c.seed);
  g.labels.resize(size_t(c.n));
  for (int32_t i = 0; i < c.n; ++i) g.labels[i] = block_of(i, c.n, c.k);
  std::mt19937_64 rng(c.seed);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  for (int32_t i = 0; i < c.n; ++i)
    for (int32_t j = i + 1; j < c.n; ++j)
      if (u01(rng) < (g.labels[i] == g.labels[j] ? p_in : p_out)) g.edges.emplace_back(i, j);
  g.weights.assign(g.edges.size(), 1.0f);
  return g;
}

Graph make_er(int32_t n, double mean_degree, int32_t k, uint64_t seed) {
  NEUROAI_CHECK(n >= 2 && k >= 1 && k <= n, "er: need n >= 2 and 1 <= k <= n (got n={}, k={})", n, k);
  const double p = mean_degree / (n - 1);
  NEUROAI_CHECK(p > 0 && p <= 1, "er: p = deg / (n - 1) = {:.4f} outside (0, 1]", p);
  Graph g;
  g.n = n;
  g.source = fmt::format("er:n={},deg={},seed={}", n, mean_degree, seed);
  g.labels.resize(size_t(n));
  for (int32_t i = 0; i < n; ++i) g.labels[i] = block_of(i, n, k);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  for (int32_t i = 0; i < n; ++i)
    for (int32_t j = i + 1; j < n; ++j)
      if (u01(rng) < p) g.edges.emplace_back(i, j);
  g.weights.assign(g.edges.size(), 1.0f);
  return g;
}

std::vector<float> csbm_features(const std::vector<int32_t>& labels, int32_t k, int64_t f, double s, uint64_t seed) {
  NEUROAI_CHECK(f >= 1 && k >= 1, "csbm features: need F >= 1 and K >= 1 (got {}, {})", f, k);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::vector<double> u(size_t(k * f));  // (K, F) unit rows
  for (int32_t c = 0; c < k; ++c) {
    double norm = 0;
    for (int64_t d = 0; d < f; ++d) norm += (u[c * f + d] = gauss(rng)) * u[c * f + d];
    for (int64_t d = 0; d < f; ++d) u[c * f + d] /= std::sqrt(norm);
  }
  std::vector<float> x(labels.size() * size_t(f));
  for (size_t i = 0; i < labels.size(); ++i)
    for (int64_t d = 0; d < f; ++d) {
      const double mean = labels[i] >= 0 && labels[i] < k ? s * u[labels[i] * f + d] : 0.0;
      x[i * f + d] = float(mean + gauss(rng));
    }
  return x;
}

bool sbm_detectable(const SbmConfig& c) {
  const double c_in = c.k * c.mean_degree / (1.0 + (c.k - 1) * c.ratio), c_out = c.ratio * c_in;
  return std::fabs(c_in - c_out) > c.k * std::sqrt(c.mean_degree);
}

}  // namespace neuroai
