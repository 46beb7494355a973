// Graph-structure metrics (SPEC §10) on the host; community detection and partition comparison
// through igraph 0.10.
#include "engine/graph_metrics.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>
#include <random>

#include <igraph.h>

#include "kernels/error.h"

namespace neuroai {
namespace {

// igraph reports errors through return codes once its default (aborting) handler is replaced.
void igraph_init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    igraph_set_error_handler(igraph_error_handler_ignore);
    igraph_set_warning_handler(igraph_warning_handler_ignore);
  });
}

void ig_check(igraph_error_t err, const char* what) {
  NEUROAI_CHECK(err == IGRAPH_SUCCESS, "igraph {} failed: {}", what, igraph_strerror(err));
}

// RAII wrappers for the few igraph objects used here.
struct IgVecInt {
  igraph_vector_int_t v;
  explicit IgVecInt(igraph_integer_t n = 0) { ig_check(igraph_vector_int_init(&v, n), "vector_int_init"); }
  ~IgVecInt() { igraph_vector_int_destroy(&v); }
  IgVecInt(const IgVecInt&) = delete;
  IgVecInt& operator=(const IgVecInt&) = delete;
};

struct IgVec {
  igraph_vector_t v;
  explicit IgVec(igraph_integer_t n = 0) { ig_check(igraph_vector_init(&v, n), "vector_init"); }
  ~IgVec() { igraph_vector_destroy(&v); }
  IgVec(const IgVec&) = delete;
  IgVec& operator=(const IgVec&) = delete;
};

struct IgGraph {
  igraph_t g;
  IgGraph(int32_t n, const EdgeList& edges) {
    igraph_init_once();
    IgVecInt e(2 * igraph_integer_t(edges.size()));
    for (size_t k = 0; k < edges.size(); ++k) {
      VECTOR(e.v)[2 * k] = edges[k].first;
      VECTOR(e.v)[2 * k + 1] = edges[k].second;
    }
    ig_check(igraph_create(&g, &e.v, n, IGRAPH_UNDIRECTED), "create");
  }
  ~IgGraph() { igraph_destroy(&g); }
  IgGraph(const IgGraph&) = delete;
  IgGraph& operator=(const IgGraph&) = delete;
};

void to_ig(const std::vector<int32_t>& m, IgVecInt& out) {
  ig_check(igraph_vector_int_resize(&out.v, igraph_integer_t(m.size())), "vector_int_resize");
  for (size_t i = 0; i < m.size(); ++i) VECTOR(out.v)[i] = m[i];
}

void to_ig(const std::vector<float>& w, IgVec& out) {
  ig_check(igraph_vector_resize(&out.v, igraph_integer_t(w.size())), "vector_resize");
  for (size_t i = 0; i < w.size(); ++i) VECTOR(out.v)[i] = w[i];
}

double compare(const std::vector<int32_t>& a, const std::vector<int32_t>& b, igraph_community_comparison_t how) {
  NEUROAI_CHECK(a.size() == b.size(), "partition comparison: {} vs {} nodes", a.size(), b.size());
  if (a.empty()) return 0.0;
  igraph_init_once();
  IgVecInt va, vb;
  to_ig(a, va);
  to_ig(b, vb);
  igraph_real_t r = 0;
  ig_check(igraph_compare_communities(&va.v, &vb.v, &r, how), "compare_communities");
  return double(r);
}

}  // namespace

std::vector<int32_t> louvain(int32_t n, const EdgeList& edges, const std::vector<float>& weights, uint64_t seed) {
  NEUROAI_CHECK(weights.empty() || weights.size() == edges.size(), "louvain: {} weights for {} edges", weights.size(),
                edges.size());
  IgGraph g(n, edges);
  IgVec w;
  if (!weights.empty()) to_ig(weights, w);
  IgVecInt membership;
  ig_check(igraph_rng_seed(igraph_rng_default(), igraph_uint_t(seed)), "rng_seed");
  ig_check(igraph_community_multilevel(&g.g, weights.empty() ? nullptr : &w.v, 1.0, &membership.v, nullptr, nullptr),
           "community_multilevel");
  std::vector<int32_t> m(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) m[i] = int32_t(VECTOR(membership.v)[i]);
  return m;
}

double modularity(int32_t n, const EdgeList& edges, const std::vector<float>& weights,
                  const std::vector<int32_t>& membership) {
  NEUROAI_CHECK(int64_t(membership.size()) == n, "modularity: membership has {} entries for {} nodes",
                membership.size(), n);
  if (edges.empty()) return 0.0;
  IgGraph g(n, edges);
  IgVec w;
  if (!weights.empty()) to_ig(weights, w);
  IgVecInt m;
  to_ig(membership, m);
  igraph_real_t q = 0;
  ig_check(igraph_modularity(&g.g, &m.v, weights.empty() ? nullptr : &w.v, 1.0, IGRAPH_UNDIRECTED, &q), "modularity");
  return std::isfinite(q) ? double(q) : 0.0;
}

double partition_nmi(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  return compare(a, b, IGRAPH_COMMCMP_NMI);
}

double partition_ari(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  return compare(a, b, IGRAPH_COMMCMP_ADJUSTED_RAND);
}

ComponentStats component_stats(int32_t n, const EdgeList& edges) {
  IgGraph g(n, edges);
  igraph_integer_t no = 0;
  ig_check(igraph_connected_components(&g.g, nullptr, nullptr, &no, IGRAPH_WEAK), "connected_components");
  std::vector<uint8_t> touched(size_t(n), 0);
  for (auto [u, v] : edges) touched[u] = touched[v] = 1;
  ComponentStats s;
  s.components = int64_t(no);
  s.isolated = int64_t(std::count(touched.begin(), touched.end(), uint8_t(0)));
  return s;
}

double auroc(const std::vector<float>& score, const std::vector<uint8_t>& positive) {
  NEUROAI_CHECK(score.size() == positive.size(), "auroc: {} scores for {} labels", score.size(), positive.size());
  std::vector<size_t> order(score.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  // Mann-Whitney U with mid-ranks for ties.
  double rank_sum = 0, n_pos = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && score[order[j]] == score[order[i]]) ++j;
    const double mid = 0.5 * double(i + j + 1);  // mean of ranks i+1 .. j
    for (size_t k = i; k < j; ++k)
      if (positive[order[k]]) {
        rank_sum += mid;
        n_pos += 1;
      }
    i = j;
  }
  const double n_neg = double(score.size()) - n_pos;
  if (n_pos == 0 || n_neg == 0) return 0.5;
  return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg);
}

nlohmann::json RetentionMetrics::to_json() const {
  return {{"edges_kept", edges_kept}, {"edges_total", edges_total}, {"edge_density", edge_density},
          {"r_in", r_in}, {"r_out", r_out}, {"selectivity", selectivity}, {"edge_score_auroc", score_auroc},
          {"modularity_planted", modularity_planted}, {"louvain_nmi", louvain_nmi}, {"louvain_ari", louvain_ari},
          {"louvain_modularity", louvain_modularity}, {"louvain_communities", louvain_communities},
          {"components", components}, {"isolated_nodes", isolated}};
}

RetentionMetrics graph_retention(int32_t n, const EdgeList& original, const EdgeList& kept,
                                 const std::vector<float>& kept_score, const std::vector<int32_t>& labels,
                                 uint64_t seed) {
  NEUROAI_CHECK(int64_t(labels.size()) == n, "graph_retention: {} labels for {} nodes", labels.size(), n);
  NEUROAI_CHECK(kept_score.empty() || kept_score.size() == kept.size(), "graph_retention: {} scores for {} edges",
                kept_score.size(), kept.size());
  RetentionMetrics m;
  auto intra = [&](std::pair<int32_t, int32_t> e) { return labels[e.first] == labels[e.second]; };
  int64_t in0 = 0, in1 = 0;
  for (const auto& e : original) in0 += intra(e);
  std::vector<uint8_t> pos(kept.size());
  for (size_t k = 0; k < kept.size(); ++k) in1 += pos[k] = intra(kept[k]);
  const int64_t out0 = int64_t(original.size()) - in0, out1 = int64_t(kept.size()) - in1;
  m.edges_kept = int64_t(kept.size());
  m.edges_total = int64_t(original.size());
  m.edge_density = original.empty() ? 1.0 : double(kept.size()) / double(original.size());
  m.r_in = in0 ? double(in1) / double(in0) : 0.0;
  m.r_out = out0 ? double(out1) / double(out0) : 0.0;
  m.selectivity = m.r_out > 0 ? m.r_in / m.r_out : (m.r_in > 0 ? INFINITY : 0.0);
  if (!kept_score.empty()) m.score_auroc = auroc(kept_score, pos);
  m.modularity_planted = modularity(n, kept, {}, labels);
  const std::vector<int32_t> comm = louvain(n, kept, {}, seed);
  m.louvain_nmi = partition_nmi(comm, labels);
  m.louvain_ari = partition_ari(comm, labels);
  m.louvain_modularity = modularity(n, kept, {}, comm);
  m.louvain_communities = comm.empty() ? 0 : *std::max_element(comm.begin(), comm.end()) + 1;
  const ComponentStats cs = component_stats(n, kept);
  m.components = cs.components;
  m.isolated = cs.isolated;
  return m;
}

NullRange random_pruning_null(int32_t n, const EdgeList& edges, int64_t keep, const std::vector<int32_t>& labels,
                              int replicates, uint64_t seed) {
  NEUROAI_CHECK(replicates >= 1 && keep >= 0 && keep <= int64_t(edges.size()),
                "random_pruning_null: {} replicates keeping {} of {} edges (expected >= 1, 0..edges)", replicates,
                keep, edges.size());
  std::vector<double> q, nmi;
  std::mt19937_64 rng(seed + 99991);
  for (int r = 0; r < replicates; ++r) {
    EdgeList e = edges;
    std::shuffle(e.begin(), e.end(), rng);
    e.resize(size_t(keep));
    q.push_back(modularity(n, e, {}, labels));
    nmi.push_back(partition_nmi(louvain(n, e, {}, seed + uint64_t(r)), labels));
  }
  auto mean = [](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); };
  NullRange nr;
  nr.modularity_mean = mean(q);
  if (q.size() >= 2) {
    double s = 0;
    for (double x : q) s += (x - nr.modularity_mean) * (x - nr.modularity_mean);
    nr.modularity_sd = std::sqrt(s / double(q.size() - 1));
  }
  nr.modularity_min = *std::min_element(q.begin(), q.end());
  nr.modularity_max = *std::max_element(q.begin(), q.end());
  nr.louvain_nmi_mean = mean(nmi);
  return nr;
}

}  // namespace neuroai
