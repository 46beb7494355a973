#include "engine/graph_source.h"

#include <charconv>
#include <cmath>
#include <initializer_list>
#include <map>

#include "kernels/error.h"

namespace neuroai {
namespace {

std::map<std::string, std::string> parse_kv(const std::string& body, const std::string& spec) {
  std::map<std::string, std::string> kv;
  size_t start = 0;
  while (start < body.size()) {
    size_t comma = body.find(',', start);
    if (comma == std::string::npos) comma = body.size();
    const std::string item = body.substr(start, comma - start);
    const size_t eq = item.find('=');
    NEUROAI_CHECK(eq != std::string::npos && eq > 0, "--graph '{}': '{}' is not key=value", spec, item);
    kv[item.substr(0, eq)] = item.substr(eq + 1);
    start = comma + 1;
  }
  return kv;
}

double num(const std::map<std::string, std::string>& kv, const std::string& key, double dflt,
           const std::string& spec) {
  auto it = kv.find(key);
  if (it == kv.end()) return dflt;
  try {
    size_t used = 0;
    const double v = std::stod(it->second, &used);
    if (used == it->second.size() && std::isfinite(v)) return v;
  } catch (...) {
  }
  NEUROAI_FAIL("--graph '{}': {}={} is not a number", spec, key, it->second);
}

// A whole number in [lo, hi] (node and block counts, seeds): "1e3" or "2.5" would be cut silently.
template <class T>
T whole(const std::map<std::string, std::string>& kv, const std::string& key, T dflt, T lo, T hi,
        const std::string& spec) {
  auto it = kv.find(key);
  if (it == kv.end()) return dflt;
  T v{};
  const std::string& s = it->second;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  NEUROAI_CHECK(ec == std::errc() && end == s.data() + s.size() && v >= lo && v <= hi,
                "--graph '{}': {}={}; expected a whole number in [{}, {}]", spec, key, s, lo, hi);
  return v;
}

void check_keys(const std::map<std::string, std::string>& kv, std::initializer_list<const char*> allowed,
                const std::string& spec) {
  for (const auto& [k, v] : kv) {
    bool ok = false;
    for (const char* a : allowed) ok |= k == a;
    NEUROAI_CHECK(ok, "--graph '{}': unknown key '{}'", spec, k);
  }
}

}  // namespace

GraphSpec parse_graph_spec(const std::string& spec, uint64_t default_seed) {
  GraphSpec g;
  g.er = spec.rfind("er:", 0) == 0;
  NEUROAI_CHECK(g.er || spec.rfind("sbm:", 0) == 0, "--graph '{}': expected sbm:KEY=V,... or er:KEY=V,...", spec);
  const auto kv = parse_kv(spec.substr(g.er ? 3 : 4), spec);
  if (g.er)
    check_keys(kv, {"n", "deg", "k", "seed"}, spec);
  else
    check_keys(kv, {"n", "k", "deg", "ratio", "seed"}, spec);
  g.c.n = whole<int32_t>(kv, "n", 1000, 2, INT32_MAX, spec);
  g.c.k = whole<int32_t>(kv, "k", 4, 1, INT32_MAX, spec);
  g.c.mean_degree = num(kv, "deg", 20, spec);
  if (!g.er) g.c.ratio = num(kv, "ratio", 0.1, spec);
  g.c.seed = whole<uint64_t>(kv, "seed", default_seed, 0, UINT64_MAX, spec);
  return g;
}

Graph load_graph_source(const GraphSource& s, bool* is_er) {
  const bool generated = s.spec.rfind("sbm:", 0) == 0 || s.spec.rfind("er:", 0) == 0;
  NEUROAI_CHECK(!generated || (s.labels.empty() && s.features.empty()),
                "--labels and --features belong to an edge-list graph, not the generated '{}'", s.spec);
  Graph g;
  double signal = s.feature_signal;
  bool er = false;
  if (generated) {
    const GraphSpec spec = parse_graph_spec(s.spec, s.seed);
    er = spec.er;
    g = er ? make_er(spec.c.n, spec.c.mean_degree, spec.c.k, spec.c.seed) : make_sbm(spec.c);
    if (signal < 0) signal = er ? 0.0 : 1.0;
  } else {
    g = read_graph(s.spec, s.labels, s.features);
    // A class per node at most: a larger label is a broken file (and would size per-class tables by it).
    for (int64_t i = 0; i < int64_t(g.labels.size()); ++i)
      NEUROAI_CHECK(g.labels[size_t(i)] < g.n, "{}: node {} has label {}; expected a class below the node count {}",
                    s.labels, i, g.labels[size_t(i)], g.n);
  }
  // A generated graph gets contextual-SBM features. A file graph without a features file keeps none:
  // the model then takes one-hot identity features, a learnable embedding per node (make_split).
  if (generated && g.features.empty()) {
    g.n_features = s.feature_dim;
    std::vector<int32_t> lab = g.labels.empty() ? std::vector<int32_t>(size_t(g.n), -1) : g.labels;
    g.features = csbm_features(lab, std::max(1, g.num_classes()), s.feature_dim, signal, s.seed + 7919);
  }
  if (is_er) *is_er = er;
  return g;
}

nlohmann::json graph_source_json(const GraphSource& s) {
  return {{"spec", s.spec},
          {"labels", s.labels},
          {"features", s.features},
          {"feature_dim", s.feature_dim},
          {"feature_signal", s.feature_signal},
          {"seed", s.seed}};
}

GraphSource graph_source_from_json(const nlohmann::json& j) {
  GraphSource s;
  s.spec = j.at("spec").get<std::string>();
  s.labels = j.at("labels").get<std::string>();
  s.features = j.at("features").get<std::string>();
  s.feature_dim = j.at("feature_dim").get<int64_t>();
  s.feature_signal = j.at("feature_signal").get<double>();
  s.seed = j.at("seed").get<uint64_t>();
  return s;
}

}  // namespace neuroai
