// The `train gnn --graph` spec of a generated graph ("sbm:n=..,k=..,deg=..,ratio=..,seed=..",
// "er:n=..,deg=..,k=..,seed=.."). Every spec is parsed; the ones small enough to draw quickly (the
// generators visit all n (n - 1) / 2 pairs) are also generated through load_graph_source, and the graph
// must be simple with n nodes, labels and features.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "kernels/error.h"
#include "engine/graph_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string spec(reinterpret_cast<const char*>(data), size);
  neuroai::GraphSpec parsed;
  try {
    parsed = neuroai::parse_graph_spec(spec, 0);
  } catch (const neuroai::Error&) {
    return 0;
  }
  NEUROAI_FUZZ_ASSERT(parsed.c.n >= 2 && parsed.c.k >= 1);
  if (parsed.c.n > 600) return 0;
  neuroai::GraphSource src;
  src.spec = spec;
  src.feature_dim = 4;
  try {
    const neuroai::Graph g = neuroai::load_graph_source(src);
    NEUROAI_FUZZ_ASSERT(g.n == parsed.c.n && g.labels.size() == size_t(g.n));
    NEUROAI_FUZZ_ASSERT(g.features.size() == size_t(g.n) * 4 && g.weights.size() == g.edges.size());
    for (const auto& [u, v] : g.edges) NEUROAI_FUZZ_ASSERT(0 <= u && u < v && v < g.n);
  } catch (const neuroai::Error&) {
  }
  return 0;
}
