// Graph-structure metrics (SPEC §10): edge retention by community, AUROC of an edge score, and, through
// igraph, Louvain communities, modularity, NMI / ARI between partitions and connected components.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace neuroai {

using EdgeList = std::vector<std::pair<int32_t, int32_t>>;

// Louvain (Blondel et al. 2008, igraph_community_multilevel, resolution 1) on the undirected graph,
// weighted when weights is not empty (one per edge). Seeded through igraph's default RNG. Returns a
// membership per node (isolated nodes get their own community).
std::vector<int32_t> louvain(int32_t n, const EdgeList& edges, const std::vector<float>& weights, uint64_t seed);
// Newman-Girvan modularity of a membership (weighted by strengths when weights is not empty); 0 for
// a graph without edges.
double modularity(int32_t n, const EdgeList& edges, const std::vector<float>& weights,
                  const std::vector<int32_t>& membership);
// Normalized mutual information (arithmetic-mean normalization) and the adjusted Rand index.
double partition_nmi(const std::vector<int32_t>& a, const std::vector<int32_t>& b);
double partition_ari(const std::vector<int32_t>& a, const std::vector<int32_t>& b);
// Weakly connected components and nodes of degree 0.
struct ComponentStats {
  int64_t components = 0;
  int64_t isolated = 0;
};
ComponentStats component_stats(int32_t n, const EdgeList& edges);

// Area under the ROC curve of `score` separating positive from negative items (ties count 1/2); 0.5
// when either class is empty.
double auroc(const std::vector<float>& score, const std::vector<uint8_t>& positive);

// SPEC §10 graph-structure retention of `kept` (a subset of the original graph's edges) under the
// planted partition `labels` (all >= 0): r_in / r_out = kept fraction of the original intra / inter
// edges, selectivity = r_in / r_out, AUROC of the kept edges' score (intra = positive; empty score =
// skipped), modularity of the kept graph under the planted partition, Louvain on the kept graph vs
// the planted partition (NMI, ARI, its modularity, #communities), components and isolated nodes.
struct RetentionMetrics {
  int64_t edges_kept = 0, edges_total = 0;
  double edge_density = 1.0;  // kept / original
  double r_in = 0, r_out = 0, selectivity = 0;
  double score_auroc = 0.5;
  double modularity_planted = 0;
  double louvain_nmi = 0, louvain_ari = 0, louvain_modularity = 0;
  int64_t louvain_communities = 0;
  int64_t components = 0, isolated = 0;
  nlohmann::json to_json() const;
};
RetentionMetrics graph_retention(int32_t n, const EdgeList& original, const EdgeList& kept,
                                 const std::vector<float>& kept_score, const std::vector<int32_t>& labels,
                                 uint64_t seed);

// The null range of a pruned graph's structure: `replicates` random subsets of `keep` edges of `edges`
// (seeded shuffles), their modularity under `labels` and the NMI of their Louvain partitions with it.
// Mean, sample sd (0 for one replicate), min and max of the modularity; mean NMI. replicates >= 1.
struct NullRange {
  double modularity_mean = 0, modularity_sd = 0, modularity_min = 0, modularity_max = 0;
  double louvain_nmi_mean = 0;
};
NullRange random_pruning_null(int32_t n, const EdgeList& edges, int64_t keep, const std::vector<int32_t>& labels,
                              int replicates, uint64_t seed);

}  // namespace neuroai
