// The GCN with Hebbian edges (SPEC §8): forward against a plain double reference, backward (layer
// weights, biases, node features, edge weights w and alpha, the rule parameters) against central
// differences of that reference, the device graph's bookkeeping, symmetric pruning with re-compaction,
// the state updates and the checkpoint round trip. Each case runs on cpu and cuda.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "backend_fixture.h"
#include "engine/safetensors.h"
#include "kernels/registry.h"
#include "models/gnn.h"
#include "models/gnn_trainer.h"

namespace neuroai {
namespace {

using testing::all_close;
using testing::any_nonzero;

constexpr int32_t kN = 7;
const EdgeList kPairs = {{0, 1}, {0, 2}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}, {1, 6}, {0, 5}};

GnnConfig small_config() {
  GnnConfig c;
  c.in_features = 3;
  c.hidden = 4;
  c.out = 2;
  c.layers = 2;
  c.seed = 5;
  return c;
}

std::vector<float> host_of(Backend& b, const float* p, int64_t n) {
  std::vector<float> h(static_cast<size_t>(n));
  if (n) b.download(h.data(), p, size_t(n) * sizeof(float));
  return h;
}

std::vector<double> to_d(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// Everything the reference needs, in double, with pairs in the model's storage order.
struct Ref {
  int32_t n = 0;
  std::vector<int64_t> dims;
  EdgeList pairs;
  std::vector<std::vector<double>> w, b;  // per layer (out, in), (out)
  std::vector<double> ew, ealpha, rule, hb_old, trace, x;  // trace (H, N), x (F, N)
  int64_t trace_rows = 0;

  // (out, N) of the model's forward, plus a (P) when asked.
  std::vector<double> forward(std::vector<double>* a_out = nullptr) const {
    const int64_t P = int64_t(pairs.size());
    std::vector<double> norm(size_t(n), 0.0);
    for (int64_t r = 0; r < trace_rows; ++r)
      for (int32_t i = 0; i < n; ++i) norm[i] += trace[r * n + i] * trace[r * n + i];
    double mean = 0;
    for (auto& v : norm) mean += (v = std::sqrt(v)) / n;
    const double eta = 1.0 / (1.0 + std::exp(-rule[0]));
    std::vector<double> a(static_cast<size_t>(P));
    std::vector<std::vector<double>> adj(size_t(n), std::vector<double>(size_t(n), 0.0));
    for (int32_t i = 0; i < n; ++i) adj[i][i] = 1.0;
    for (int64_t p = 0; p < P; ++p) {
      const auto [u, v] = pairs[p];
      double dot = 0;
      for (int64_t r = 0; r < trace_rows; ++r) dot += trace[r * n + u] * trace[r * n + v];
      const double cos = dot / (norm[u] * norm[v] + 1e-8), ssum = (norm[u] + norm[v]) / (mean + 1e-8);
      const double hb = std::clamp((1 - eta) * hb_old[p] + eta * (rule[1] * cos + rule[2] * ssum + rule[3]), -1.0, 1.0);
      a[p] = 1.0 / (1.0 + std::exp(-(ew[p] + ealpha[p] * hb)));
      adj[u][v] = adj[v][u] = a[p];
    }
    if (a_out) *a_out = a;
    std::vector<double> deg(size_t(n), 0.0);
    for (int32_t i = 0; i < n; ++i)
      for (int32_t j = 0; j < n; ++j) deg[i] += adj[i][j];
    std::vector<double> h = x;
    const int layers = int(w.size());
    for (int l = 0; l < layers; ++l) {
      const int64_t in = dims[l], out = dims[l + 1];
      std::vector<double> t(size_t(out * n), 0.0), y(size_t(out * n), 0.0);
      for (int64_t o = 0; o < out; ++o)
        for (int32_t i = 0; i < n; ++i) {
          double s = b[l][o];
          for (int64_t k = 0; k < in; ++k) s += w[l][o * in + k] * h[k * n + i];
          t[o * n + i] = s;
        }
      for (int64_t o = 0; o < out; ++o)
        for (int32_t i = 0; i < n; ++i) {
          double s = 0;
          for (int32_t j = 0; j < n; ++j) s += adj[i][j] / std::sqrt(deg[i] * deg[j]) * t[o * n + j];
          y[o * n + i] = l + 1 < layers ? std::max(0.0, s) : s;
        }
      h = y;
    }
    return h;
  }
  double loss(const std::vector<double>& r) const {
    const auto out = forward();
    double l = 0;
    for (size_t k = 0; k < out.size(); ++k) l += r[k] * out[k];
    return l;
  }
};

Ref snapshot(GnnModel& m, const std::vector<float>& x) {
  Ref r;
  const GnnConfig& c = m.config();
  r.n = m.nodes();
  r.dims = {c.in_features};
  for (int l = 1; l < c.layers; ++l) r.dims.push_back(c.hidden);
  r.dims.push_back(c.out);
  r.pairs = m.graph().pairs_host();
  for (int l = 0; l < c.layers; ++l) {
    r.w.push_back(to_d(m.layer_weight(l).w_host()));
    r.b.push_back(to_d(m.layer_bias(l).w_host()));
  }
  r.ew = to_d(m.edge_w().w_host());
  r.ealpha = to_d(m.edge_alpha().w_host());
  r.rule = to_d(m.rule().w_host());
  r.hb_old = to_d(m.hebb().to_host());
  r.trace = to_d(m.node_trace().to_host());
  r.trace_rows = m.node_trace().rows();
  r.x = to_d(x);
  return r;
}

// A model with a non-trivial state: one training step fills the node trace, then Hb, alpha, w and the
// rule are set to values that keep the rule inside its clip.
class Gnn : public testing::BackendTest {
protected:
  std::vector<float> x_ = testing::random_floats(3 * kN, 21);  // (F, N)

  GnnModel model() {
    Backend& b = be();
    GnnModel m(b, small_config(), kN, kPairs);
    const int64_t P = m.pairs();
    Tensor x(b, 3, kN, x_);
    m.forward(x.view(), true);
    m.update_state();
    m.hebb().upload(testing::random_floats(size_t(P), 22, -0.5f, 0.5f));
    m.edge_alpha().set_w_host(testing::random_floats(size_t(P), 23, -1.5f, 1.5f));
    m.edge_w().set_w_host(testing::random_floats(size_t(P), 24, -1.0f, 2.0f));
    m.rule().set_w_host({0.2f, 0.7f, 0.3f, -0.1f});
    m.layer_bias(0).set_w_host(testing::random_floats(4, 25, -0.3f, 0.3f));
    return m;
  }
};

TEST_P(Gnn, ForwardMatchesReference) {
  Backend& b = be();
  GnnModel m = model();
  const Ref ref = snapshot(m, x_);
  Tensor x(b, 3, kN, x_);
  const auto out = m.forward(x.view(), false).to_host();
  std::vector<double> a_ref;
  const auto out_ref = ref.forward(&a_ref);
  ASSERT_TRUE(any_nonzero(out_ref));
  EXPECT_TRUE(all_close(out, out_ref, 1e-5, 1e-4));
  EXPECT_TRUE(all_close(m.edge_weights_host(), a_ref, 1e-6, 1e-5));
}

// dL/dtheta for L = sum R ⊙ out against central differences (double) for every parameter.
TEST_P(Gnn, BackwardMatchesFiniteDifferences) {
  Backend& b = be();
  GnnModel m = model();
  const Ref ref = snapshot(m, x_);
  const auto r = testing::random_floats(2 * kN, 31);
  const std::vector<double> rd = to_d(r);
  Tensor x(b, 3, kN, x_), dout(b, 2, kN, r), dx(b, 3, kN);
  m.zero_grad();
  m.forward(x.view(), true);
  m.backward(dout.view(), dx.view());
  const double h = 1e-6;
  auto fd = [&](auto member) {
    Ref probe = ref;
    std::vector<double>& v = member(probe);
    std::vector<double> g(v.size());
    for (size_t k = 0; k < v.size(); ++k) {
      const double keep = v[k];
      v[k] = keep + h;
      const double lp = probe.loss(rd);
      v[k] = keep - h;
      const double lm = probe.loss(rd);
      v[k] = keep;
      g[k] = (lp - lm) / (2 * h);
    }
    return g;
  };
  const double atol = 1e-4, rtol = 1e-3;
  for (int l = 0; l < 2; ++l) {
    SCOPED_TRACE(l);
    const auto gw = fd([l](Ref& p) -> std::vector<double>& { return p.w[l]; });
    const auto gb = fd([l](Ref& p) -> std::vector<double>& { return p.b[l]; });
    ASSERT_TRUE(any_nonzero(gw));
    EXPECT_TRUE(all_close(host_of(b, m.layer_weight(l).g(), m.layer_weight(l).size()), gw, atol, rtol));
    EXPECT_TRUE(all_close(host_of(b, m.layer_bias(l).g(), m.layer_bias(l).size()), gb, atol, rtol));
  }
  const auto gx = fd([](Ref& p) -> std::vector<double>& { return p.x; });
  EXPECT_TRUE(all_close(dx.to_host(), gx, atol, rtol));
  const auto gew = fd([](Ref& p) -> std::vector<double>& { return p.ew; });
  const auto gal = fd([](Ref& p) -> std::vector<double>& { return p.ealpha; });
  const auto grl = fd([](Ref& p) -> std::vector<double>& { return p.rule; });
  ASSERT_TRUE(any_nonzero(gew));
  ASSERT_TRUE(any_nonzero(grl));
  EXPECT_TRUE(all_close(host_of(b, m.edge_w().g(), m.pairs()), gew, atol, rtol));
  EXPECT_TRUE(all_close(host_of(b, m.edge_alpha().g(), m.pairs()), gal, atol, rtol));
  EXPECT_TRUE(all_close(host_of(b, m.rule().g(), 4), grl, atol, rtol));
}

// One-hot identity input (a graph without features) is the same model as explicit x = I_N: the same
// outputs and the same gradient for every parameter, without storing or multiplying by I.
TEST_P(Gnn, IdentityInputIsTheModelWithOneHotFeatures) {
  Backend& b = be();
  GnnConfig c = small_config();
  c.in_features = kN;
  GnnModel dense(b, c, kN, kPairs);
  c.identity_input = true;
  GnnModel ident(b, c, kN, kPairs);
  std::vector<float> eye(size_t(kN * kN), 0.0f);
  for (int32_t i = 0; i < kN; ++i) eye[size_t(i * kN + i)] = 1.0f;
  Tensor x(b, kN, kN, eye), dout(b, 2, kN, testing::random_floats(2 * kN, 41));
  for (GnnModel* m : {&dense, &ident}) {
    m->layer_bias(0).set_w_host(testing::random_floats(4, 25, -0.3f, 0.3f));
    m->zero_grad();
  }
  const auto y_dense = dense.forward(x.view(), true).to_host();
  const auto y_ident = ident.forward(ConstDenseView{}, true).to_host();
  ASSERT_TRUE(any_nonzero(to_d(y_dense)));
  EXPECT_TRUE(all_close(y_ident, to_d(y_dense), 1e-6, 1e-5));
  dense.backward(dout.view());
  ident.backward(dout.view());
  for (int l = 0; l < 2; ++l) {
    SCOPED_TRACE(l);
    const auto gd = host_of(b, dense.layer_weight(l).g(), dense.layer_weight(l).size());
    ASSERT_TRUE(any_nonzero(to_d(gd)));
    EXPECT_TRUE(all_close(host_of(b, ident.layer_weight(l).g(), ident.layer_weight(l).size()), to_d(gd), 1e-6, 1e-5));
  }
  EXPECT_TRUE(all_close(host_of(b, ident.edge_w().g(), ident.pairs()),
                        to_d(host_of(b, dense.edge_w().g(), dense.pairs())), 1e-6, 1e-5));
  testing::expect_error_naming([&] { ident.forward(x.view(), false); }, {"takes none"});
  c.layers = 1;
  testing::expect_error_naming([&] { GnnModel(b, c, kN, kPairs); }, {"need --layers >= 2"});
}

// The graph stores both directions and the diagonal, mirror / pair_e1 / pair_e2 agree with it.
TEST_P(Gnn, DeviceGraphBookkeeping) {
  const DeviceGraph g(be(), kN, kPairs);
  const auto ip = g.indptr_host(), ix = g.indices_host(), ep = g.entry_pair_host(), mi = g.mirror_host();
  const auto e1 = g.pair_e1_host(), e2 = g.pair_e2_host();
  const EdgeList pairs = g.pairs_host();
  ASSERT_EQ(g.entries(), 2 * int64_t(kPairs.size()) + kN);
  std::vector<int32_t> row(ix.size());
  for (int32_t i = 0; i < kN; ++i)
    for (int32_t k = ip[i]; k < ip[i + 1]; ++k) row[k] = i;
  int diag = 0;
  for (size_t k = 0; k < ix.size(); ++k) {
    EXPECT_EQ(row[mi[k]], ix[k]);
    EXPECT_EQ(ix[mi[k]], row[k]);
    if (ep[k] < 0) {
      EXPECT_EQ(row[k], ix[k]);
      ++diag;
    } else {
      EXPECT_EQ(ep[mi[k]], ep[k]);
    }
  }
  EXPECT_EQ(diag, kN);
  for (size_t p = 0; p < pairs.size(); ++p) {
    EXPECT_EQ(row[e1[p]], pairs[p].first);
    EXPECT_EQ(ix[e1[p]], pairs[p].second);
    EXPECT_EQ(mi[e1[p]], e2[p]);
  }
  EXPECT_THROW(DeviceGraph(be(), 3, EdgeList{{1, 1}}), Error);
  EXPECT_THROW(DeviceGraph(be(), 3, EdgeList{{0, 1}, {0, 1}}), Error);
}

// Pruning removes both directions of the lowest-scored pairs, keeps every self-loop, leaves the same
// structure as a graph built from the kept pairs, carries the per-pair values along, and the pruned
// model still matches the reference on the kept graph.
TEST_P(Gnn, SymmetricPruningAndRecompaction) {
  Backend& b = be();
  GnnModel m = model();
  const EdgeList before = m.graph().pairs_host();
  const auto w_before = m.edge_w().w_host();
  const int64_t P = m.pairs();
  std::vector<float> score(static_cast<size_t>(P));
  for (int64_t p = 0; p < P; ++p) score[p] = float((p * 5) % P) + 1.0f;  // a permutation of 1..P
  Buffer<float> sd(b, score);
  EXPECT_EQ(m.prune_pairs(sd.data(), 3), 3);
  EdgeList expect;
  std::vector<float> w_expect;
  for (int64_t p = 0; p < P; ++p)
    if (score[p] > 3.0f) expect.push_back(before[p]), w_expect.push_back(w_before[p]);
  EXPECT_EQ(m.graph().pairs_host(), expect);
  EXPECT_EQ(m.edge_w().w_host(), w_expect);
  const DeviceGraph fresh(b, kN, expect);
  EXPECT_EQ(m.graph().indptr_host(), fresh.indptr_host());
  EXPECT_EQ(m.graph().indices_host(), fresh.indices_host());
  EXPECT_EQ(m.graph().entry_pair_host(), fresh.entry_pair_host());
  EXPECT_EQ(m.graph().mirror_host(), fresh.mirror_host());
  EXPECT_EQ(m.graph().pair_e1_host(), fresh.pair_e1_host());
  EXPECT_EQ(m.graph().pair_e2_host(), fresh.pair_e2_host());
  EXPECT_EQ(m.graph().entries(), 2 * int64_t(expect.size()) + kN);
  // Original ids survive the compaction.
  const auto ids = m.graph().pair_id_host();
  for (size_t p = 0; p < expect.size(); ++p) EXPECT_EQ(kPairs[ids[p]], expect[p]);
  const Ref ref = snapshot(m, x_);
  Tensor x(b, 3, kN, x_);
  EXPECT_TRUE(all_close(m.forward(x.view(), false).to_host(), ref.forward(), 1e-5, 1e-4));
  // Pruning everything leaves the self-loops.
  Buffer<float> s2(b, std::vector<float>(expect.size(), 1.0f));
  m.prune_pairs(s2.data(), m.pairs());
  EXPECT_EQ(m.pairs(), 0);
  EXPECT_EQ(m.graph().entries(), kN);
  const auto out = m.forward(x.view(), false).to_host();
  for (float v : out) ASSERT_TRUE(std::isfinite(v));
}

// update_state: Hb takes the step's value, the score is an EMA of a, the node trace an EMA of the
// penultimate layer.
TEST_P(Gnn, StateUpdates) {
  Backend& b = be();
  GnnModel m = model();
  const auto score0 = m.score_host();
  const auto trace0 = m.node_trace().to_host();
  const Ref ref = snapshot(m, x_);
  Tensor x(b, 3, kN, x_);
  m.forward(x.view(), true);
  const auto a = m.edge_weights_host();
  const auto pen = m.penultimate().to_host();
  m.update_state();
  const auto score1 = m.score_host(), trace1 = m.node_trace().to_host();
  std::vector<double> s_ref(score0.size()), t_ref(trace0.size());
  for (size_t p = 0; p < s_ref.size(); ++p) s_ref[p] = 0.9 * score0[p] + 0.1 * a[p];
  for (size_t k = 0; k < t_ref.size(); ++k) t_ref[k] = 0.9 * trace0[k] + 0.1 * pen[k];
  EXPECT_TRUE(all_close(score1, s_ref, 1e-6, 1e-5));
  EXPECT_TRUE(all_close(trace1, t_ref, 1e-6, 1e-5));
  EXPECT_NE(m.hebb().to_host(), std::vector<float>(ref.hb_old.begin(), ref.hb_old.end()));
  EXPECT_THROW(m.update_state(), Error);  // once per training forward
}

TEST_P(Gnn, CheckpointRoundTrip) {
  Backend& b = be();
  GnnModel m = model();
  Buffer<float> sd(b, testing::random_floats(size_t(m.pairs()), 41, 0.0f, 1.0f));
  m.prune_pairs(sd.data(), 2);
  SafetensorsFile f;
  m.save(f);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("neuroai_test_gnn_" + GetParam() + ".safetensors")).string();
  write_safetensors(path, f);
  GnnModel m2 = GnnModel::load(b, read_safetensors(path));
  std::filesystem::remove(path);
  Tensor x(b, 3, kN, x_);
  const auto out1 = m.forward(x.view(), false).to_host();
  const auto out2 = m2.forward(x.view(), false).to_host();
  EXPECT_EQ(out1, out2);
  EXPECT_EQ(m2.graph().pairs_host(), m.graph().pairs_host());
  EXPECT_EQ(m2.graph().pair_id_host(), m.graph().pair_id_host());
  EXPECT_EQ(m2.score_host(), m.score_host());
  EXPECT_EQ(m2.rule().w_host(), m.rule().w_host());
}

// Found by tests/fuzz/fuzz_safetensors (corpus/fuzz_safetensors/regress-gnn-*): a GNN checkpoint's
// metadata escaped as json / std::stol exceptions, and a "gnn.nodes" of 2e9 in a 300-byte file made the
// loader allocate 48 GB before it looked at a tensor. Each is one Error naming the metadata or tensor.
TEST_P(Gnn, CheckpointWhoseMetadataDisagreesWithItsTensorsIsRefused) {
  Backend& b = be();
  SafetensorsFile good;
  model().save(good);
  auto refused = [&](const std::string& key, const std::string& value, std::vector<std::string> says) {
    SafetensorsFile f = good;
    f.metadata[key] = value;
    testing::expect_error_naming([&] { GnnModel::load(b, f); }, says);
  };
  refused("gnn.config", "{not json", {"'gnn.config'", "not a GNN config"});
  refused("gnn.config", R"({"in_features": "three"})", {"'gnn.config'", "not a GNN config"});
  refused("gnn.nodes", "three", {"'gnn.nodes' = 'three'", "expected a node count"});
  refused("gnn.nodes", "2000000000", {"'gnn.node_trace'", "expected [4, 2000000000]"});
  nlohmann::json wide = small_config().to_json();
  wide["in_features"] = int64_t(1) << 40;
  refused("gnn.config", wide.dump(), {"'gnn.layer0.weight'", "expected 1099511627776 x 4"});
  EXPECT_EQ(GnnModel::load(b, good).nodes(), kN);
}

NEUROAI_INSTANTIATE_BACKENDS(Gnn);

// Found while giving tests/fuzz/fuzz_graph_spec its entry point: counts and seeds went through a
// double and a cast, so n=3e9 was undefined behaviour (UBSan: float-cast-overflow), n=2.5 became 2
// and seed=18446744073709551615 lost its low bits.
TEST(GnnGraphSpec, CountsAndSeedsAreWholeNumbersInRange) {
  const GraphSpec g = parse_graph_spec("sbm:n=120,k=3,deg=10,ratio=0.1,seed=18446744073709551615", 0);
  EXPECT_EQ(g.c.n, 120);
  EXPECT_EQ(g.c.k, 3);
  EXPECT_EQ(g.c.seed, UINT64_MAX);
  EXPECT_FALSE(g.er);
  EXPECT_TRUE(parse_graph_spec("er:n=50,deg=4", 9).er);
  EXPECT_EQ(parse_graph_spec("er:n=50,deg=4", 9).c.seed, 9u);
  for (const char* bad : {"sbm:n=3e9", "sbm:n=2.5", "sbm:n=1", "er:k=0", "sbm:seed=-1", "er:n=99999999999"})
    testing::expect_error_naming([&] { parse_graph_spec(bad, 0); }, {bad, "expected a whole number"});
  testing::expect_error_naming([] { parse_graph_spec("er:ratio=0.5", 0); }, {"unknown key 'ratio'"});
}

// End to end on a small SBM (CPU): both tasks, every prune mode and both schedules reach their edge
// target (community: at most the inter-community edges), the degree guard leaves no isolated node, and
// the run directory holds its three files.
// An edge list without a features file trains on one-hot identity features (a learnable embedding
// per node), not on noise: node classification on a planted partition learns well above chance from
// the graph alone, and the checkpoint says so and evaluates to the run's metrics.
TEST(GnnTrainer, AnEdgeListWithoutFeaturesLearnsPerNodeEmbeddings) {
  BackendOptions one_thread;
  one_thread.threads = 1;
  auto b = make_backend("cpu", one_thread);
  const std::string dir = (std::filesystem::temp_directory_path() / "neuroai_test_gnn_identity").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  SbmConfig sc;
  sc.n = 150;
  sc.k = 3;
  sc.mean_degree = 10;
  sc.ratio = 0.1;
  sc.seed = 5;
  const Graph planted = make_sbm(sc);
  write_edge_list(dir + "/edges.txt", planted, "planted partition");
  {
    std::ofstream lab(dir + "/labels.txt");
    for (int32_t i = 0; i < planted.n; ++i) lab << i << ' ' << planted.labels[size_t(i)] << '\n';
  }
  GraphSource src;
  src.spec = dir + "/edges.txt";
  src.labels = dir + "/labels.txt";
  const Graph g = load_graph_source(src);
  ASSERT_TRUE(g.features.empty());
  GnnTrainConfig tc;
  tc.out_dir = dir + "/run";
  tc.epochs = 60;
  tc.eval_every = 30;
  tc.null_replicates = 0;
  tc.quiet = true;
  GnnConfig mc;
  mc.hidden = 16;
  const GnnTrainResult r = train_gnn(*b, g, mc, tc);
  EXPECT_GT(r.final["test_acc"].get<double>(), 0.7) << r.final.dump();
  const SafetensorsFile f = read_safetensors(tc.out_dir + "/model.safetensors");
  const GnnModel m = GnnModel::load(*b, f);
  EXPECT_TRUE(m.config().identity_input);
  EXPECT_EQ(m.config().in_features, g.n);
  const nlohmann::json e = evaluate_gnn(*b, g, f);
  EXPECT_DOUBLE_EQ(e["test_acc"].get<double>(), r.final["test_acc"].get<double>());
  std::filesystem::remove_all(dir);
}

TEST(GnnTrainer, SmallRunsReachTheirTargets) {
  BackendOptions one_thread;  // tiny ops: threads only add barrier waits
  one_thread.threads = 1;
  auto b = make_backend("cpu", one_thread);
  GraphSource src;
  src.spec = "sbm:n=120,k=3,deg=10,ratio=0.1,seed=4";
  const Graph g = load_graph_source(src);
  ASSERT_EQ(g.n_features, 32);
  const std::string dir = (std::filesystem::temp_directory_path() / "neuroai_test_gnn_trainer").string();
  struct Case {
    GnnTask task;
    EdgePrune prune;
    EdgeSchedule schedule;
  };
  const Case cases[] = {{GnnTask::Nodes, EdgePrune::Hebbian, EdgeSchedule::Cubic},
                        {GnnTask::Nodes, EdgePrune::Random, EdgeSchedule::Fraction},
                        {GnnTask::Nodes, EdgePrune::Community, EdgeSchedule::Cubic},
                        {GnnTask::Links, EdgePrune::Hebbian, EdgeSchedule::Cubic}};
  for (const Case& c : cases) {
    SCOPED_TRACE(edge_prune_name(c.prune));
    GnnTrainConfig tc;
    tc.out_dir = dir;
    tc.task = c.task;
    tc.prune = c.prune;
    tc.schedule = c.schedule;
    tc.epochs = 40;
    tc.prune_every = 4;
    tc.prune_rate = 0.2;
    tc.eval_every = 20;
    tc.null_replicates = 3;
    tc.quiet = true;
    GnnConfig mc;
    mc.hidden = 8;
    const GnnTrainResult r = train_gnn(*b, g, mc, tc);
    const nlohmann::json& f = r.final;
    if (c.prune == EdgePrune::Community) {
      EXPECT_LE(f["edge_density"].get<double>(), 1.0);
      EXPECT_LT(f["r_out"].get<double>(), f["r_in"].get<double>());
    } else {
      EXPECT_NEAR(f["edge_density"].get<double>(), 0.5, 0.01);
    }
    EXPECT_EQ(f["isolated_nodes"].get<int64_t>(), 0);
    EXPECT_TRUE(f.contains(c.task == GnnTask::Nodes ? "test_acc" : "test_auc"));
    EXPECT_TRUE(f.contains("null_modularity_mean"));
    for (const char* file : {"metrics.jsonl", "model.safetensors", "kept_edges.txt"})
      EXPECT_TRUE(std::filesystem::exists(dir + "/" + file)) << file;
    const Graph kept = read_edge_list(dir + "/kept_edges.txt", g.n);
    EXPECT_EQ(kept.num_edges(), f["edges_kept"].get<int64_t>());
    // The saved model, evaluated on the split its run drew, gives the run's last metrics exactly.
    const nlohmann::json e = evaluate_gnn(*b, g, read_safetensors(dir + "/model.safetensors"));
    for (const char* k : {"test_acc", "train_acc", "test_auc", "edges_kept", "edges_total", "r_in", "r_out",
                          "modularity_planted", "louvain_nmi"}) {
      ASSERT_EQ(e.contains(k), f.contains(k)) << k;
      if (f.contains(k)) {
        EXPECT_DOUBLE_EQ(e[k].get<double>(), f[k].get<double>()) << k;
      }
    }
  }
  std::filesystem::remove_all(dir);
  GraphSource bad;
  bad.spec = "sbm:n=100,q=3";
  EXPECT_THROW(load_graph_source(bad), Error);
}

}  // namespace
}  // namespace neuroai
