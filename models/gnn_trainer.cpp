// Training loop, tasks and metrics of the GCN with Hebbian edges (issue #5).
#include "models/gnn_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>
#include <unordered_set>

#include <fmt/format.h>

#include "engine/csr_matrix.h"
#include "engine/graph_metrics.h"
#include "engine/pruner.h"
#include "engine/run_log.h"
#include "engine/safetensors.h"
#include "engine/schedule.h"
#include "kernels/error.h"
#include "engine/train_loop.h"
#include "engine/train_state.h"

namespace neuroai {
namespace {

uint64_t pair_key(int32_t u, int32_t v) { return (uint64_t(uint32_t(std::min(u, v))) << 32) | uint32_t(std::max(u, v)); }

std::vector<float> transpose_host(const std::vector<float>& x, int64_t rows, int64_t cols) {
  std::vector<float> t(x.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) t[c * rows + r] = x[r * cols + c];
  return t;
}

// Uniform random node pairs (u != v) that are not in `exclude` nor drawn before.
EdgeList sample_non_edges(int32_t n, int64_t count, const std::unordered_set<uint64_t>& exclude, std::mt19937_64& rng) {
  std::uniform_int_distribution<int32_t> pick(0, n - 1);
  std::unordered_set<uint64_t> drawn;
  EdgeList out;
  const int64_t limit = int64_t(n) * (n - 1) / 2 - int64_t(exclude.size());
  count = std::min(count, std::max<int64_t>(0, limit));
  while (int64_t(out.size()) < count) {
    int32_t u = pick(rng), v = pick(rng);
    if (u == v) continue;
    const uint64_t k = pair_key(u, v);
    if (exclude.count(k) || !drawn.insert(k).second) continue;
    out.emplace_back(std::min(u, v), std::max(u, v));
  }
  return out;
}

// Everything one task needs on the backend.
struct NodeTask {
  std::vector<int32_t> train_nodes, test_nodes;
  CsrMatrix sel, sel_t;              // (N_tr x N) selection and its transpose
  Buffer<int32_t> train_labels;   // (N_tr)
  Tensor eye;                     // (C, C)
  Tensor picked, logits, dlogits, dpicked, all_logits;
  Buffer<int32_t> pred;           // (N)
  Buffer<float> loss;             // (1)
};

struct LinkTask {
  EdgeList train_pos, test_pos, test_neg;
  std::unordered_set<uint64_t> all_edges;
  CsrMatrix test_q;                  // (N x N) test queries, one direction
  std::vector<uint8_t> test_label;  // in test_q's storage order
  Buffer<float> loss;
};

// The task's split of the graph, drawn from rng (seeded with cfg.seed + 1) before anything else, so a
// saved model can be evaluated on the split it was trained on.
struct GnnSplit {
  NodeTask nt;
  LinkTask lt;
  EdgeList mp_edges;  // the graph the GCN passes messages on (before pruning)
  bool has_labels = false;
};

// The model input x (F, N), feature-major; empty for a graph without features (identity input).
Tensor node_features(Backend& b, const Graph& g) {
  if (g.features.empty()) return Tensor();
  return Tensor(b, g.n_features, g.n, transpose_host(g.features, g.n, g.n_features));
}

// Builds the split and sets the model's input and output widths (mc.in_features, mc.out) from it.
GnnSplit make_split(Backend& b, const Graph& g, const GnnTrainConfig& cfg, std::mt19937_64& rng, GnnConfig& mc) {
  const int32_t n = g.n;
  const int32_t classes = g.num_classes();
  NEUROAI_CHECK(cfg.task == GnnTask::Links || (classes >= 2 && !g.labels.empty()),
                "--task nodes needs labels with at least 2 classes ({} has {})", g.source, classes);
  GnnSplit sp;
  sp.has_labels =
      !g.labels.empty() && std::all_of(g.labels.begin(), g.labels.end(), [](int32_t y) { return y >= 0; });
  NodeTask& nt = sp.nt;
  LinkTask& lt = sp.lt;
  EdgeList& mp_edges = sp.mp_edges;
  if (cfg.task == GnnTask::Nodes) {
    mp_edges = g.edges;
    std::vector<int32_t> labelled;
    for (int32_t i = 0; i < n; ++i)
      if (g.labels[i] >= 0) labelled.push_back(i);
    std::shuffle(labelled.begin(), labelled.end(), rng);
    const int64_t n_tr = std::max<int64_t>(1, std::llround(cfg.train_fraction * double(labelled.size())));
    NEUROAI_CHECK(n_tr < int64_t(labelled.size()), "--train-fraction {} leaves no test nodes", cfg.train_fraction);
    nt.train_nodes.assign(labelled.begin(), labelled.begin() + n_tr);
    nt.test_nodes.assign(labelled.begin() + n_tr, labelled.end());
    std::sort(nt.train_nodes.begin(), nt.train_nodes.end());
    std::vector<std::pair<int32_t, int32_t>> e, et;
    std::vector<int32_t> ytr;
    for (int64_t r = 0; r < n_tr; ++r) {
      e.emplace_back(int32_t(r), nt.train_nodes[r]);
      et.emplace_back(nt.train_nodes[r], int32_t(r));
      ytr.push_back(g.labels[nt.train_nodes[r]]);
    }
    nt.sel = CsrMatrix(b, HostCsr::from_entries(int32_t(n_tr), n, e), 1.0f, "the training-node selection");
    nt.sel_t = CsrMatrix(b, HostCsr::from_entries(n, int32_t(n_tr), et), 1.0f, "the training-node scatter");
    nt.train_labels = Buffer<int32_t>(b, ytr);
    std::vector<float> eye(size_t(classes * classes), 0.0f);
    for (int32_t c = 0; c < classes; ++c) eye[c * classes + c] = 1.0f;
    nt.eye = Tensor(b, classes, classes, eye);
    nt.picked = Tensor(b, classes, n_tr);
    nt.logits = Tensor(b, n_tr, classes);
    nt.dlogits = Tensor(b, n_tr, classes);
    nt.dpicked = Tensor(b, classes, n_tr);
    nt.all_logits = Tensor(b, n, classes);
    nt.pred = Buffer<int32_t>(b, n);
    nt.loss = Buffer<float>(b, 1);
    mc.out = classes;
  } else {
    EdgeList shuffled = g.edges;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    const int64_t n_test = std::max<int64_t>(1, std::llround(cfg.test_edge_fraction * double(shuffled.size())));
    NEUROAI_CHECK(n_test < int64_t(shuffled.size()), "--test-edges leaves no training edges");
    lt.test_pos.assign(shuffled.begin(), shuffled.begin() + n_test);
    lt.train_pos.assign(shuffled.begin() + n_test, shuffled.end());
    for (auto [u, v] : g.edges) lt.all_edges.insert(pair_key(u, v));
    lt.test_neg = sample_non_edges(n, n_test, lt.all_edges, rng);
    mp_edges = lt.train_pos;
    std::sort(mp_edges.begin(), mp_edges.end());
    std::vector<std::pair<int32_t, int32_t>> q;
    std::vector<uint8_t> lab;
    for (auto e : lt.test_pos) q.push_back(e), lab.push_back(1);
    for (auto e : lt.test_neg) q.push_back(e), lab.push_back(0);
    std::vector<int32_t> order;
    const HostCsr h = HostCsr::from_entries(n, n, q, &order);
    for (int32_t k : order) lt.test_label.push_back(lab[k]);
    lt.test_q = CsrMatrix(b, h, 0.0f, "the test edge queries");
    lt.loss = Buffer<float>(b, 1);
    mc.out = mc.hidden;
  }
  mc.identity_input = g.features.empty();
  mc.in_features = mc.identity_input ? g.n : g.n_features;
  return sp;
}

// One metrics line: the task's score on its test set, edge counts and (with labels) the retention
// metrics of the kept graph. p0 = the pairs before pruning.
nlohmann::json gnn_metrics(Backend& b, const Graph& g, GnnModel& model, const Tensor& x, GnnSplit& sp, int64_t p0,
                           const GnnTrainConfig& cfg, int epoch, double loss) {
  NodeTask& nt = sp.nt;
  LinkTask& lt = sp.lt;
  nlohmann::json j = {{"epoch", epoch}, {"loss", loss}, {"edges_kept", model.pairs()}, {"edges_total", p0},
                      {"edge_density", p0 ? double(model.pairs()) / double(p0) : 1.0}};
  const Tensor& out = model.forward(x.view(), false);
  if (cfg.task == GnnTask::Nodes) {
    b.gemm(true, false, 1.0f, out.view(), nt.eye.view(), 0.0f, nt.all_logits.view());
    b.argmax_rows(nt.all_logits.view(), nt.pred.data());
    const auto pred = nt.pred.to_host();
    auto acc = [&](const std::vector<int32_t>& nodes) {
      int64_t ok = 0;
      for (int32_t i : nodes) ok += pred[i] == g.labels[i];
      return nodes.empty() ? 0.0 : double(ok) / double(nodes.size());
    };
    j["train_acc"] = acc(nt.train_nodes);
    j["test_acc"] = acc(nt.test_nodes);
  } else {
    Buffer<float> s(b, lt.test_q.nnz());
    b.sddmm_csr(lt.test_q.view(), out.view(), out.view(), s.data(), false);
    j["test_auc"] = auroc(s.to_host(), lt.test_label);
  }
  if (sp.has_labels) {
    const EdgeList kept = model.graph().pairs_host();
    const RetentionMetrics r = graph_retention(g.n, sp.mp_edges, kept, model.score_host(), g.labels, cfg.seed);
    j.update(r.to_json());
  }
  return j;
}

// The edges' schedule as the engine Pruner's: cubic (gradual) or fraction, none without edge pruning.
PruneConfig edge_prune_config(const GnnTrainConfig& c) {
  PruneConfig p;
  p.method = c.prune == EdgePrune::None || c.edge_sparsity <= 0 ? PruneMethod::None
             : c.schedule == EdgeSchedule::Cubic                 ? PruneMethod::Gradual
                                                                  : PruneMethod::Fraction;
  p.sparsity = c.edge_sparsity;
  p.start = c.prune_start;
  p.end = c.prune_end;
  p.every = c.prune_every;
  p.rate = c.prune_rate;
  return p;
}

// The options a resumed run must share with the run that saved the state.
nlohmann::json train_config_json(const GnnTrainConfig& c, const Graph& g) {
  return {{"graph", g.source},
          {"nodes", g.n},
          {"edges", g.num_edges()},
          {"task", c.task == GnnTask::Nodes ? "nodes" : "links"},
          {"train_fraction", c.train_fraction},
          {"test_edge_fraction", c.test_edge_fraction},
          {"epochs", c.epochs},
          {"seed", c.seed},
          {"optim", optim_json(c.optim, LrConfig{LrSchedule::Constant})},
          {"edge_lr", c.edge_lr},
          {"prune", edge_prune_name(c.prune)},
          {"edge_sparsity", c.edge_sparsity},
          {"schedule", c.schedule == EdgeSchedule::Cubic ? "cubic" : "fraction"},
          {"prune_start", c.prune_start},
          {"prune_end", c.prune_end},
          {"prune_every", c.prune_every},
          {"prune_rate", c.prune_rate},
          {"degree_guard", c.degree_guard},
          {"eval_every", c.eval_every},
          {"null_replicates", c.null_replicates}};
}


// Every optimized parameter of the model with its checkpoint name (GnnModel::save).
std::vector<std::pair<std::string, Param*>> gnn_params(GnnModel& m) {
  std::vector<std::pair<std::string, Param*>> ps;
  for (int l = 0; l < m.config().layers; ++l) {
    ps.emplace_back(fmt::format("gnn.layer{}.weight", l), &m.layer_weight(l));
    ps.emplace_back(fmt::format("gnn.layer{}.bias", l), &m.layer_bias(l));
  }
  ps.emplace_back("gnn.edge.w", &m.edge_w());
  ps.emplace_back("gnn.edge.alpha", &m.edge_alpha());
  ps.emplace_back("gnn.rule", &m.rule());
  return ps;
}

}  // namespace

GnnTask parse_gnn_task(const std::string& s) {
  if (s == "nodes") return GnnTask::Nodes;
  if (s == "links") return GnnTask::Links;
  NEUROAI_FAIL("--task '{}' (expected nodes or links)", s);
}

EdgePrune parse_edge_prune(const std::string& s) {
  if (s == "none") return EdgePrune::None;
  if (s == "hebbian") return EdgePrune::Hebbian;
  if (s == "random") return EdgePrune::Random;
  if (s == "community") return EdgePrune::Community;
  NEUROAI_FAIL("--edge-prune '{}' (expected hebbian, random, community or none)", s);
}

EdgeSchedule parse_edge_schedule(const std::string& s) {
  if (s == "cubic") return EdgeSchedule::Cubic;
  if (s == "fraction") return EdgeSchedule::Fraction;
  NEUROAI_FAIL("--prune-schedule '{}' (expected cubic or fraction)", s);
}

const char* edge_prune_name(EdgePrune p) {
  switch (p) {
    case EdgePrune::None: return "none";
    case EdgePrune::Hebbian: return "hebbian";
    case EdgePrune::Random: return "random";
    case EdgePrune::Community: return "community";
  }
  return "?";
}

GnnTrainConfig::GnnTrainConfig() {
  optim.kind = OptimKind::Adam;
  optim.lr = 0.01f;
  optim.weight_decay = 5e-4f;
}

void GnnTrainConfig::validate() const {
  NEUROAI_CHECK(epochs >= 1, "--epochs {} (expected >= 1)", epochs);
  NEUROAI_CHECK(train_fraction > 0 && train_fraction < 1, "--train-fraction {} (expected in (0, 1))", train_fraction);
  NEUROAI_CHECK(test_edge_fraction > 0 && test_edge_fraction < 1, "--test-edges {} (expected in (0, 1))",
                test_edge_fraction);
  NEUROAI_CHECK(edge_sparsity >= 0 && edge_sparsity < 1, "--edge-sparsity {} (expected in [0, 1))", edge_sparsity);
  NEUROAI_CHECK(prune_start >= 0 && prune_start <= prune_end && prune_end <= 1,
                "--prune-start {} / --prune-end {} (expected 0 <= start <= end <= 1)", prune_start, prune_end);
  NEUROAI_CHECK(prune_every >= 1, "--prune-every {} (expected >= 1)", prune_every);
  NEUROAI_CHECK(prune_rate > 0 && prune_rate < 1, "--prune-rate {} (expected in (0, 1))", prune_rate);
  NEUROAI_CHECK(eval_every >= 1, "--eval-every {} (expected >= 1)", eval_every);
  NEUROAI_CHECK(optim.lr > 0 && edge_lr >= 0, "--lr {} / --edge-lr {} (expected > 0 / >= 0)", optim.lr, edge_lr);
}

std::vector<float> edge_prune_scores(GnnModel& m, EdgePrune how, uint64_t seed, bool degree_guard,
                                     int64_t* n_eligible) {
  const int64_t p = m.pairs();
  constexpr float kKeep = 1e30f;  // above every score: never pruned
  std::vector<float> s;
  switch (how) {
    case EdgePrune::None:
      *n_eligible = 0;
      return std::vector<float>(size_t(p), kKeep);
    case EdgePrune::Hebbian:
      s = m.score_host();
      break;
    case EdgePrune::Random: {
      std::mt19937_64 rng(seed);
      std::uniform_real_distribution<float> u(0.0f, 1.0f);
      s.resize(size_t(p));
      for (auto& x : s) x = u(rng);
      break;
    }
    case EdgePrune::Community: {
      const EdgeList e = m.graph().pairs_host();
      const std::vector<int32_t> comm = louvain(m.nodes(), e, m.edge_weights_host(), seed);
      s = m.score_host();
      for (int64_t k = 0; k < p; ++k)
        if (comm[e[k].first] == comm[e[k].second]) s[k] = kKeep;
      break;
    }
  }
  if (degree_guard) {
    // Each node's highest-scoring edge (ties: lowest pair index) is kept, so no node loses its last edge.
    const EdgeList e = m.graph().pairs_host();
    std::vector<int64_t> best(size_t(m.nodes()), -1);
    for (int64_t k = 0; k < p; ++k)
      for (int32_t node : {e[k].first, e[k].second})
        if (best[node] < 0 || s[k] > s[best[node]]) best[node] = k;
    for (int64_t k : best)
      if (k >= 0) s[k] = kKeep;
  }
  *n_eligible = int64_t(std::count_if(s.begin(), s.end(), [](float x) { return x < kKeep; }));
  return s;
}

namespace {

// The GNN's side of the shared training loop: one full-graph step per epoch (node classification or
// link prediction), the Hebbian edge update, edge pruning on the cubic or fraction schedule, evaluation
// every eval_every epochs, and at the end the null range, the final checkpoint and kept_edges.txt.
class GnnFamily final : public TrainFamily {
public:
  GnnFamily(Backend& b, const Graph& g, GnnConfig mc, const GnnTrainConfig& cfg)
      : b_(b), g_(g), cfg_(cfg), rng_(cfg.seed + 1), sp_(make_split(b, g, cfg, rng_, mc)), mc_(mc),
        model_(b, mc, g.n, sp_.mp_edges), p0_(model_.pairs()),
        x_(node_features(b, g)),
        pruner_(edge_prune_config(cfg), cfg.epochs) {
    lrc_.kind = LrSchedule::Constant;
  }

  // ---- TrainFamily ----
  int64_t steps_per_epoch() const override { return 1; }
  std::string state_format() const override { return "neuroai-gnn-state"; }
  std::vector<std::pair<std::string, std::string>> state_config() const override {
    return {{"config", mc_.to_json().dump()}, {"train_config", train_config_json(cfg_, g_).dump()}};
  }

  void start(TrainLoop& loop) override {
    const std::string note = cfg_.prune != EdgePrune::None && cfg_.schedule == EdgeSchedule::Cubic
                                 ? pruner_.schedule().shortened_note(cfg_.prune_every, "--prune-every", "epoch")
                                 : "";
    if (!note.empty()) loop.message(note);
  }

  StepResult step(int epoch, int64_t, TrainLoop& loop) override {
    const int32_t n = g_.n;
    NodeTask& nt = sp_.nt;
    LinkTask& lt = sp_.lt;
    model_.zero_grad();
    const Tensor& out = model_.forward(x_.view(), true);
    Tensor dout(b_, out.rows(), n);
    if (cfg_.task == GnnTask::Nodes) {
      b_.spmm_csr(nt.sel.view(), out.view(), nullptr, nt.picked.view(), false);  // (C, N_tr)
      b_.gemm(true, false, 1.0f, nt.picked.view(), nt.eye.view(), 0.0f, nt.logits.view());
      b_.softmax_xent(nt.logits.view(), nt.train_labels.data(), nt.loss.data(), nt.dlogits.view());
      b_.gemm(false, true, 1.0f, nt.eye.view(), nt.dlogits.view(), 0.0f, nt.dpicked.view());
      b_.spmm_csr(nt.sel_t.view(), nt.dpicked.view(), nullptr, dout.view(), false);
      loss_ = nt.loss.to_host()[0];
    } else {
      // Positives = the training edges, negatives = as many fresh non-edges; both directions stored.
      const EdgeList neg = sample_non_edges(n, int64_t(lt.train_pos.size()), lt.all_edges, rng_);
      std::vector<std::pair<int32_t, int32_t>> q;
      std::vector<int32_t> lab;
      for (auto [u, v] : lt.train_pos) q.emplace_back(u, v), q.emplace_back(v, u), lab.push_back(1), lab.push_back(1);
      for (auto [u, v] : neg) q.emplace_back(u, v), q.emplace_back(v, u), lab.push_back(0), lab.push_back(0);
      std::vector<int32_t> order;
      CsrMatrix qc(b_, HostCsr::from_entries(n, n, q, &order), 0.0f, "the training edge queries");
      const int64_t m = qc.nnz();
      std::vector<int32_t> y(static_cast<size_t>(m)), idx2(static_cast<size_t>(2 * m)), odd(y.size());
      for (int64_t k = 0; k < m; ++k) {
        y[k] = lab[order[k]];
        idx2[2 * k] = int32_t(m);  // the zero logit of class 0
        idx2[2 * k + 1] = int32_t(k);
        odd[k] = int32_t(2 * k + 1);
      }
      // BCE with logit s = z_u . z_v as a two-class softmax over (0, s).
      Buffer<float> s(b_, m + 1);
      s.zero();
      b_.sddmm_csr(qc.view(), out.view(), out.view(), s.data(), false);
      Buffer<int32_t> i2(b_, idx2), io(b_, odd), yd(b_, y);
      Tensor logits(b_, m, 2), dlogits(b_, m, 2);
      b_.gather(s.data(), i2.data(), 2 * m, logits.data());
      b_.softmax_xent(logits.view(), yd.data(), lt.loss.data(), dlogits.view());
      b_.gather(dlogits.data(), io.data(), m, qc.values());
      // dL/dZ_i = 2 sum_{k in row i} ds_k Z_{col k}: the stored (v, u) copy mirrors (u, v).
      b_.spmm_csr(qc.view(), out.view(), nullptr, dout.view(), false);
      b_.scale(dout.size(), 2.0f, dout.data());
      loss_ = lt.loss.to_host()[0];
    }
    const float lr = lr_at(cfg_.optim, lrc_, epoch - 1, cfg_.epochs);
    if (!std::isfinite(loss_)) return {loss_, 0.0, n, lr};
    model_.backward(dout.view());
    model_.step(cfg_.optim, lr, cfg_.edge_lr, loop.step());
    model_.update_state();
    prune(loop, epoch);
    return {loss_, 0.0, n, lr};
  }

  nlohmann::json evaluate(int epoch, TrainLoop&) override {
    last_ = gnn_metrics(b_, g_, model_, x_, sp_, p0_, cfg_, epoch, loss_);
    return last_;
  }

  std::string summary() const override { return ""; }

  // The final line: the last evaluation with the oracle AUC (links) and the null range of random
  // prunings to the same edge count; then the final checkpoint and kept_edges.txt.
  void finish(TrainLoop& loop) override {
    const int32_t n = g_.n;
    last_["final"] = true;
    last_["edge_prune"] = edge_prune_name(cfg_.prune);
    if (cfg_.task == GnnTask::Links && sp_.has_labels) {
      std::vector<float> s;
      std::vector<uint8_t> pos;
      for (auto [u, v] : sp_.lt.test_pos) s.push_back(g_.labels[u] == g_.labels[v]), pos.push_back(1);
      for (auto [u, v] : sp_.lt.test_neg) s.push_back(g_.labels[u] == g_.labels[v]), pos.push_back(0);
      last_["oracle_auc"] = auroc(s, pos);
    }
    if (sp_.has_labels && cfg_.null_replicates > 0) {
      const NullRange nr = random_pruning_null(n, sp_.mp_edges, model_.pairs(), g_.labels, cfg_.null_replicates,
                                               cfg_.seed);
      const double qm = nr.modularity_mean, qs = nr.modularity_sd;
      last_["null_modularity_mean"] = qm;
      last_["null_modularity_sd"] = qs;
      last_["null_modularity_min"] = nr.modularity_min;
      last_["null_modularity_max"] = nr.modularity_max;
      last_["null_louvain_nmi_mean"] = nr.louvain_nmi_mean;
      last_["modularity_z_vs_null"] = qs > 0 ? (last_["modularity_planted"].get<double>() - qm) / qs : 0.0;
    }
    loop.write_metrics(last_);
    loop.write_checkpoint(cfg_.epochs, last_);
    Graph kept;
    kept.n = n;
    kept.edges = model_.graph().pairs_host();
    kept.weights = model_.edge_weights_host();
    write_edge_list(loop.path("kept_edges.txt"), kept,
                    fmt::format("kept edges of {} after {} pruning to sparsity {}: u v a_uv", g_.source,
                                edge_prune_name(cfg_.prune), cfg_.edge_sparsity));
  }

  std::string diagnose_non_finite() override {
    for (auto& [name, p] : gnn_params(model_)) {
      std::vector<float> v(size_t(p->size()));
      if (!v.empty()) b_.download(v.data(), p->w(), v.size() * sizeof(float));
      if (!std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); }))
        return fmt::format("parameter '{}' (the previous update diverged)", name);
    }
    return "the loss itself (forward pass with finite parameters)";
  }

  // The model with what `neuroai eval` needs: family, task, graph, training configuration and the
  // metrics line it belongs to ("final" at the end of the run).
  void write_checkpoint(const std::string& path, int, int64_t, const nlohmann::json& metrics) override {
    SafetensorsFile f;
    model_.save(f);
    for (const auto& [k, v] : cfg_.extra_metadata) f.metadata[k] = v;
    f.metadata["family"] = "gnn";
    f.metadata["task"] = cfg_.task == GnnTask::Nodes ? "nodes" : "links";
    f.metadata["graph"] = g_.source;
    f.metadata["train_config"] = train_config_json(cfg_, g_).dump();
    // The model's input, for eval and other frameworks (graph_source says how to rebuild it).
    f.metadata["preprocessing"] =
        nlohmann::json{{"features", mc_.identity_input ? "one-hot identity (layer 0's weight is a per-node embedding)"
                                    : g_.source.rfind("sbm:", 0) == 0 || g_.source.rfind("er:", 0) == 0
                                        ? "contextual SBM, regenerated from graph_source"
                                        : "the features file of graph_source, as read"},
                       {"layout", "feature-major (features, nodes)"}}
            .dump();
    if (!metrics.is_null()) f.metadata[metrics.value("final", false) ? "final" : "metrics"] = metrics.dump();
    write_safetensors(path, f);
  }

  // state.safetensors: layer and edge parameters with their moments, the Hebbian rule, edge traces,
  // node trace, the kept pairs, the sampler of the link task's negatives and the last metrics line.
  void save_state(SafetensorsFile& f) override {
    model_.save(f);
    for (auto& [name, p] : gnn_params(model_)) save_moments(f, name, *p);
    f.metadata["rng"] = rng_state(rng_);
    f.metadata["last"] = last_.dump();
  }

  void load_state(const TrainState& st) override {
    GnnModel loaded = GnnModel::load(b_, st.file());
    NEUROAI_CHECK(loaded.nodes() == g_.n, "{}: the saved graph has {} nodes, this run's {}", st.path(),
                  loaded.nodes(), g_.n);
    for (auto& [name, p] : gnn_params(loaded)) load_moments(st.file(), name, *p);
    std::mt19937_64 rng;
    set_rng_state(rng, st.meta("rng"), "rng");
    nlohmann::json last = st.meta_json("last");
    model_ = std::move(loaded);
    rng_ = rng;
    last_ = std::move(last);
    model_.forward(x_.view(), false);  // the edge weights of the last forward (kept_edges.txt), as evaluated
  }

  const nlohmann::json& last() const { return last_; }

private:
  // One prune event when the schedule has one at this epoch (= step).
  void prune(TrainLoop& loop, int epoch) {
    const int64_t step = epoch;  // one full-graph step per epoch
    int64_t n_prune = pruner_.count_at(step, p0_, model_.pairs());
    if (n_prune <= 0) return;
    int64_t eligible = 0;
    const std::vector<float> score =
        edge_prune_scores(model_, cfg_.prune, cfg_.seed * 1000003 + uint64_t(step), cfg_.degree_guard, &eligible);
    n_prune = std::min(n_prune, eligible);
    if (n_prune <= 0) return;
    Buffer<float> sd(b_, score);
    model_.prune_pairs(sd.data(), n_prune);
    loop.structure_event("prune", epoch, {{"edges_kept", model_.pairs()}, {"edges_total", p0_}});
  }

  Backend& b_;
  const Graph& g_;
  const GnnTrainConfig& cfg_;
  std::mt19937_64 rng_;  // the split, then the link task's negatives
  GnnSplit sp_;
  GnnConfig mc_;
  GnnModel model_;
  const int64_t p0_;  // pairs before pruning
  const Tensor x_;
  const Pruner pruner_;  // the edge schedule: the engine's, with the pairs as its entries
  LrConfig lrc_;
  double loss_ = 0.0;
  nlohmann::json last_;
};

}  // namespace

GnnTrainResult train_gnn(Backend& b, const Graph& g, GnnConfig mc, const GnnTrainConfig& cfg) {
  cfg.validate();
  GnnFamily fam(b, g, mc, cfg);
  TrainLoop loop(fam, run_spec_of(cfg, cfg.epochs, cfg.eval_every, b.description()));
  const LoopResult r = loop.run();
  return {fam.last(), r.checkpoint};
}

nlohmann::json evaluate_gnn(Backend& b, const Graph& g, const SafetensorsFile& checkpoint) {
  const auto tc = checkpoint.metadata.find("train_config");
  NEUROAI_CHECK(tc != checkpoint.metadata.end(),
                "the GNN checkpoint has no train_config metadata (written before neuroai stored it; train it again)");
  const nlohmann::json j = nlohmann::json::parse(tc->second);
  GnnTrainConfig cfg;
  cfg.task = parse_gnn_task(j.at("task").get<std::string>());
  cfg.train_fraction = j.at("train_fraction").get<double>();
  cfg.test_edge_fraction = j.at("test_edge_fraction").get<double>();
  cfg.seed = j.at("seed").get<uint64_t>();
  GnnModel model = GnnModel::load(b, checkpoint);
  NEUROAI_CHECK(model.nodes() == g.n, "the checkpoint's model has {} nodes; the graph {} has {}", model.nodes(),
                g.source, g.n);
  std::mt19937_64 rng(cfg.seed + 1);
  GnnConfig mc = model.config();
  GnnSplit sp = make_split(b, g, cfg, rng, mc);
  NEUROAI_CHECK(mc.in_features == model.config().in_features && mc.out == model.config().out,
                "the checkpoint's model ({} features in, {} out) does not fit {} ({} features, {} out)",
                model.config().in_features, model.config().out, g.source, mc.in_features, mc.out);
  const int64_t p0 = GnnModel(b, mc, g.n, sp.mp_edges).pairs();
  const Tensor x = node_features(b, g);
  nlohmann::json r = gnn_metrics(b, g, model, x, sp, p0, cfg, 0, 0.0);
  r.erase("epoch");
  r.erase("loss");
  return r;
}

}  // namespace neuroai
