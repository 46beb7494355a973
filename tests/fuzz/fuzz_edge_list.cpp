// Graph files of `train gnn --graph PATH`: the edge list, kSplit, the labels file, kSplit, the
// features file (an empty part is not given). read_graph must return a simple graph whose ids, labels
// and features fit its node count; read_edge_list is also run alone with a fixed node count.
#include <cstdint>
#include <string>

#include "engine/graph.h"
#include "fuzz_util.h"
#include "kernels/error.h"

namespace {

void check(const neuroai::Graph& g) {
  NEUROAI_FUZZ_ASSERT(g.n >= 0 && g.weights.size() == g.edges.size());
  for (size_t e = 0; e < g.edges.size(); ++e) {
    const auto [u, v] = g.edges[e];
    NEUROAI_FUZZ_ASSERT(0 <= u && u < v && v < g.n);
    NEUROAI_FUZZ_ASSERT(e == 0 || g.edges[e - 1] < g.edges[e]);
  }
  NEUROAI_FUZZ_ASSERT(g.labels.empty() || g.labels.size() == size_t(g.n));
  for (int32_t y : g.labels) NEUROAI_FUZZ_ASSERT(y >= -1);
  NEUROAI_FUZZ_ASSERT(g.features.empty() || g.features.size() == size_t(g.n) * size_t(g.n_features));
  (void)g.num_intra_edges();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = neuroai::fuzz::split(data, size, 3);
  const std::string edges = neuroai::fuzz::write_file("graph/edges.txt", parts[0]);
  const std::string labels = parts[1].empty() ? "" : neuroai::fuzz::write_file("graph/labels.txt", parts[1]);
  const std::string features = parts[2].empty() ? "" : neuroai::fuzz::write_file("graph/features.txt", parts[2]);
  try {
    check(neuroai::read_graph(edges, labels, features));
  } catch (const neuroai::Error&) {
  }
  try {
    neuroai::EdgeListStats st;
    const neuroai::Graph g = neuroai::read_edge_list(edges, 64, &st);
    check(g);
    NEUROAI_FUZZ_ASSERT(g.n == 64 && st.lines >= st.self_loops + st.duplicates + g.num_edges());
  } catch (const neuroai::Error&) {
  }
  return 0;
}
