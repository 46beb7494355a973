// GCN with Hebbian plastic edges (SPEC §8): forward, backward through SpMM / SDDMM and the edge ops,
// state updates, pruning with re-compaction, checkpoints.
#include "models/gnn.h"

#include <charconv>
#include <cmath>
#include <random>

#include <fmt/format.h>

#include "kernels/error.h"

namespace neuroai {
namespace {

DenseView row_view(float* p, int64_t n) { return {p, 1, n}; }

}  // namespace

void GnnConfig::validate() const {
  NEUROAI_CHECK(in_features >= 1 && hidden >= 1 && out >= 1, "gnn: widths must be >= 1 (in {}, hidden {}, out {})",
                in_features, hidden, out);
  NEUROAI_CHECK(layers >= 1 && layers <= 8, "gnn: --layers {} (expected 1..8)", layers);
  NEUROAI_CHECK(!identity_input || layers >= 2,
                "gnn: one-hot identity features (a graph without a features file) need --layers >= 2 (got {}): "
                "the Hebbian trace reads the penultimate layer",
                layers);
  NEUROAI_CHECK(eta_init > 0 && eta_init < 1, "gnn: eta init {} (expected in (0, 1))", eta_init);
  NEUROAI_CHECK(trace_rate > 0 && trace_rate <= 1 && score_rate > 0 && score_rate <= 1,
                "gnn: trace / score rates {} / {} (expected in (0, 1])", trace_rate, score_rate);
  NEUROAI_CHECK(edge_l1 >= 0, "gnn: --edge-l1 {} (expected >= 0)", edge_l1);
}

nlohmann::json GnnConfig::to_json() const {
  return {{"in_features", in_features}, {"hidden", hidden}, {"out", out}, {"layers", layers}, {"w_init", w_init},
          {"alpha_init", alpha_init}, {"eta_init", eta_init}, {"rule_a", rule_a}, {"rule_b", rule_b},
          {"rule_d", rule_d}, {"trace_rate", trace_rate}, {"score_rate", score_rate}, {"edge_l1", edge_l1},
          {"seed", seed}, {"identity_input", identity_input}};
}

GnnConfig GnnConfig::from_json(const nlohmann::json& j) {
  GnnConfig c;
  c.in_features = j.at("in_features");
  c.hidden = j.at("hidden");
  c.out = j.at("out");
  c.layers = j.at("layers");
  c.w_init = j.at("w_init");
  c.alpha_init = j.at("alpha_init");
  c.eta_init = j.at("eta_init");
  c.rule_a = j.at("rule_a");
  c.rule_b = j.at("rule_b");
  c.rule_d = j.at("rule_d");
  c.trace_rate = j.at("trace_rate");
  c.score_rate = j.at("score_rate");
  c.edge_l1 = j.at("edge_l1");
  c.seed = j.at("seed");
  c.identity_input = j.value("identity_input", false);  // absent in checkpoints from before it existed
  return c;
}

GnnModel::GnnModel(Backend& b, const GnnConfig& c, int32_t n, const EdgeList& pairs)
    : b_(&b), cfg_(c), graph_(b, n, pairs) {
  c.validate();
  NEUROAI_CHECK(!c.identity_input || c.in_features == n,
                "gnn: identity input needs in_features = the node count {} (got {})", n, c.in_features);
  dims_.push_back(c.in_features);
  for (int l = 1; l < c.layers; ++l) dims_.push_back(c.hidden);
  dims_.push_back(c.out);
  std::mt19937_64 rng(c.seed);
  for (int l = 0; l < c.layers; ++l) {
    const int64_t in = dims_[l], out = dims_[l + 1];
    const float lim = std::sqrt(6.0f / float(in + out));
    std::uniform_real_distribution<float> u(-lim, lim);
    std::vector<float> w(size_t(in * out));
    for (auto& x : w) x = u(rng);
    w_.emplace_back(b, in * out);
    w_.back().set_w_host(w);
    bias_.emplace_back(b, out);
  }
  const int64_t p = graph_.pairs();
  ew_ = Param(b, p);
  b.fill(p, c.w_init, ew_.w());
  ealpha_ = Param(b, p);
  b.fill(p, c.alpha_init, ealpha_.w());
  rule_ = Param(b, 4);
  rule_.set_w_host({std::log(c.eta_init / (1.0f - c.eta_init)), c.rule_a, c.rule_b, c.rule_d});
  hb_ = Buffer<float>(b, p);
  hb_.zero();
  score_ = Buffer<float>(b, p);
  b.fill(p, 1.0f / (1.0f + std::exp(-c.w_init)), score_.data());
  trace_ = Tensor::zeros(b, dims_[c.layers - 1], n);
  const int64_t e = graph_.entries();
  v_ = Buffer<float>(b, e);
  anorm_ = Buffer<float>(b, e);
  g_ = Buffer<float>(b, e);
  dinv_ = Buffer<float>(b, n);
  ones_ = Buffer<float>(b, n);
  b.fill(n, 1.0f, ones_.data());
  for (int l = 0; l <= c.layers; ++l) {
    if (l == 0 && c.identity_input)
      acts_.emplace_back();  // X = I is never stored
    else
      acts_.emplace_back(b, dims_[l], n);
  }
  for (int l = 0; l < c.layers; ++l) lin_.emplace_back(b, dims_[l + 1], n);
}

void GnnModel::edge_forward(bool train) {
  Backend& b = *b_;
  const int64_t p = graph_.pairs();
  if (hb_next_.size() != p) {
    for (Buffer<float>* buf : {&hb_next_, &cos_, &ssum_, &a_, &ga_}) *buf = Buffer<float>(b, p);
    grule_parts_ = Buffer<float>(b, 4 * p);
  }
  b.hebbian_edge_forward(trace_.view(), graph_.pair_u(), graph_.pair_v(), p, rule_.w(), ew_.w(), ealpha_.w(),
                         hb_.data(), hb_next_.data(), cos_.data(), ssum_.data(), a_.data());
  b.gcn_norm_forward(graph_.csr(nullptr), graph_.entry_pair(), a_.data(), v_.data(), dinv_.data(), anorm_.data());
  have_train_step_ = train;
}

const Tensor& GnnModel::forward(ConstDenseView x, bool train) {
  Backend& b = *b_;
  const int32_t n = nodes();
  if (cfg_.identity_input)
    NEUROAI_CHECK(x.data == nullptr && x.size() == 0,
                  "GnnModel::forward: x is {}x{}; a model with identity input takes none", x.rows, x.cols);
  else
    NEUROAI_CHECK(x.rows == dims_[0] && x.cols == n,
                  "GnnModel::forward: x is {}x{} (expected (features, nodes) = {}x{})", x.rows, x.cols, dims_[0], n);
  edge_forward(train);
  if (!cfg_.identity_input) b.copy(acts_[0].data(), x.data, size_t(x.size()) * sizeof(float));
  const ConstCsrView adj = graph_.csr(anorm_.data());
  for (int l = 0; l < cfg_.layers; ++l) {
    const int64_t in = dims_[l], out = dims_[l + 1];
    if (l == 0 && cfg_.identity_input)
      b.copy(lin_[0].data(), w_[0].w(), size_t(out * in) * sizeof(float));  // W^0 I = W^0 (in = N)
    else
      b.gemm(false, false, 1.0f, {w_[l].w(), out, in}, acts_[l].view(), 0.0f, lin_[l].view());
    b.gemm(false, false, 1.0f, {bias_[l].w(), out, 1}, {ones_.data(), 1, n}, 1.0f, lin_[l].view());
    // Y (out, N) = lin (out, N) A_norm^T = lin A_norm (A_norm is symmetric).
    b.spmm_csr(adj, lin_[l].view(), nullptr, acts_[l + 1].view(), false);
    if (l + 1 < cfg_.layers)
      b.activation_forward(Activation::Relu, acts_[l + 1].data(), acts_[l + 1].size(), acts_[l + 1].data());
  }
  return acts_[cfg_.layers];
}

void GnnModel::backward(ConstDenseView dout, DenseView dx) {
  Backend& b = *b_;
  const int32_t n = nodes();
  const int L = cfg_.layers;
  NEUROAI_CHECK(dout.rows == dims_[L] && dout.cols == n, "GnnModel::backward: dout is {}x{} (expected {}x{})",
                dout.rows, dout.cols, dims_[L], n);
  const ConstCsrView adj = graph_.csr(anorm_.data());
  g_.zero();
  Tensor dact(b, dims_[L], n);  // dL/d acts_[l + 1]
  b.copy(dact.data(), dout.data, size_t(dout.size()) * sizeof(float));
  for (int l = L - 1; l >= 0; --l) {
    const int64_t in = dims_[l], out = dims_[l + 1];
    if (l + 1 < L)
      b.activation_backward(Activation::Relu, acts_[l + 1].data(), dact.data(), dact.size(), dact.data());
    Tensor dlin(b, out, n);
    b.spmm_csr(adj, dact.view(), nullptr, dlin.view(), false);
    b.sddmm_csr(adj, dact.view(), lin_[l].view(), g_.data(), true);
    if (l == 0 && cfg_.identity_input)
      b.axpy(out * n, 1.0f, dlin.data(), w_[0].g());  // dW^0 += dlin I^T
    else
      b.gemm(false, true, 1.0f, dlin.view(), acts_[l].view(), 1.0f, {w_[l].g(), out, in});
    b.gemm(false, false, 1.0f, dlin.view(), {ones_.data(), n, 1}, 1.0f, {bias_[l].g(), out, 1});
    if (l > 0) {
      Tensor dprev(b, in, n);
      b.gemm(true, false, 1.0f, {w_[l].w(), out, in}, dlin.view(), 0.0f, dprev.view());
      dact = std::move(dprev);
    } else if (dx.data) {
      NEUROAI_CHECK(dx.rows == in && dx.cols == n, "GnnModel::backward: dx is {}x{} (expected {}x{})", dx.rows, dx.cols,
                    in, n);
      b.gemm(true, false, 1.0f, {w_[l].w(), out, in}, dlin.view(), 0.0f, dx);
    }
  }
  const int64_t p = pairs();
  b.gcn_norm_backward(graph_.csr(nullptr), graph_.mirror(), graph_.pair_u(), graph_.pair_v(), graph_.pair_e1(),
                      graph_.pair_e2(), p, v_.data(), dinv_.data(), g_.data(), ga_.data());
  if (cfg_.edge_l1 > 0 && p > 0) b.add_sign(p, cfg_.edge_l1, a_.data(), ga_.data());
  b.hebbian_edge_backward(p, ga_.data(), a_.data(), ealpha_.w(), hb_.data(), hb_next_.data(), cos_.data(),
                          ssum_.data(), rule_.w(), ew_.g(), ealpha_.g(), grule_parts_.data());
  if (p > 0) b.col_sum({grule_parts_.data(), p, 4}, rule_.g(), true);
}

void GnnModel::zero_grad() {
  for (auto& w : w_) w.zero_grad();
  for (auto& bb : bias_) bb.zero_grad();
  ew_.zero_grad();
  ealpha_.zero_grad();
  rule_.zero_grad();
}

void GnnModel::step(const OptimConfig& opt, float lr, float edge_lr, int64_t t) {
  OptimConfig no_wd = opt;
  no_wd.weight_decay = 0.0f;
  for (auto& w : w_) w.step(opt, lr, t);
  for (auto& bb : bias_) bb.step(no_wd, lr, t);
  if (pairs() > 0) {
    ew_.step(no_wd, edge_lr, t);
    ealpha_.step(no_wd, edge_lr, t);
  }
  rule_.step(no_wd, edge_lr, t);
}

void GnnModel::update_state() {
  NEUROAI_CHECK(have_train_step_, "GnnModel::update_state: no training forward() since the last update");
  Backend& b = *b_;
  std::swap(hb_, hb_next_);
  const int64_t p = pairs();
  if (p > 0) b.trace_update(row_view(a_.data(), p), 1.0f - cfg_.score_rate, score_.data());
  const Tensor& pen = acts_[cfg_.layers - 1];
  b.trace_update(ConstDenseView(pen.data(), 1, pen.size()), 1.0f - cfg_.trace_rate, trace_.data());
  have_train_step_ = false;
}

int64_t GnnModel::prune_pairs(const float* score, int64_t n_prune) {
  Backend& b = *b_;
  const int64_t p = pairs();
  NEUROAI_CHECK(n_prune >= 0 && n_prune <= p, "GnnModel::prune_pairs: {} of {} pairs", n_prune, p);
  if (n_prune == 0) return 0;
  Buffer<uint8_t> alive(b, std::vector<uint8_t>(size_t(p), 1));
  const PruneTarget t{score, alive.data(), p};
  b.prune_smallest({&t, 1}, n_prune);
  Buffer<int32_t> pos;
  const int64_t np = graph_.compact(alive.data(), pos);
  ew_.compact(alive.data(), pos.data(), np);
  ealpha_.compact(alive.data(), pos.data(), np);
  for (Buffer<float>* buf : {&hb_, &score_}) {
    Buffer<float> out(b, np);
    if (np > 0) b.compact_f32(buf->data(), alive.data(), pos.data(), p, out.data());
    *buf = std::move(out);
  }
  const int64_t e = graph_.entries();
  for (Buffer<float>* buf : {&v_, &anorm_, &g_}) *buf = Buffer<float>(b, e);
  hb_next_ = Buffer<float>();  // per-pair scratch re-sized at the next forward
  have_train_step_ = false;
  return p - np;
}

void GnnModel::save(SafetensorsFile& f) const {
  for (int l = 0; l < cfg_.layers; ++l) {
    f.tensors[fmt::format("gnn.layer{}.weight", l)] = st_from_f32(w_[l].w_host(), {dims_[l + 1], dims_[l]});
    f.tensors[fmt::format("gnn.layer{}.bias", l)] = st_from_f32(bias_[l].w_host(), {dims_[l + 1]});
  }
  const int64_t p = pairs();
  const EdgeList e = graph_.pairs_host();
  std::vector<int32_t> flat(size_t(2 * p));
  for (int64_t k = 0; k < p; ++k) {
    flat[2 * k] = e[k].first;
    flat[2 * k + 1] = e[k].second;
  }
  f.tensors["gnn.edge.pairs"] = st_from_i32(flat, {p, 2});
  f.tensors["gnn.edge.pair_id"] = st_from_i32(graph_.pair_id_host(), {p});
  f.tensors["gnn.edge.w"] = st_from_f32(ew_.w_host(), {p});
  f.tensors["gnn.edge.alpha"] = st_from_f32(ealpha_.w_host(), {p});
  f.tensors["gnn.edge.hebb"] = st_from_f32(hb_.to_host(), {p});
  f.tensors["gnn.edge.score"] = st_from_f32(score_.to_host(), {p});
  f.tensors["gnn.rule"] = st_from_f32(rule_.w_host(), {4});
  f.tensors["gnn.node_trace"] = st_from_f32(trace_.to_host(), {trace_.rows(), trace_.cols()});
  f.metadata["gnn.config"] = cfg_.to_json().dump();
  f.metadata["gnn.nodes"] = std::to_string(nodes());
}

GnnModel GnnModel::load(Backend& b, const SafetensorsFile& f) {
  auto meta = [&](const std::string& k) {
    auto it = f.metadata.find(k);
    NEUROAI_CHECK(it != f.metadata.end(), "gnn checkpoint: metadata '{}' is missing", k);
    return it->second;
  };
  auto tensor = [&](const std::string& k) -> const StTensor& {
    auto it = f.tensors.find(k);
    NEUROAI_CHECK(it != f.tensors.end(), "gnn checkpoint: tensor '{}' is missing", k);
    return it->second;
  };
  GnnConfig c;
  try {
    c = GnnConfig::from_json(nlohmann::json::parse(meta("gnn.config")));
  } catch (const nlohmann::json::exception& e) {
    NEUROAI_FAIL("gnn checkpoint: metadata 'gnn.config' is not a GNN config ({}); expected the JSON neuroai writes",
                 e.what());
  }
  c.validate();
  const std::string& nodes = meta("gnn.nodes");
  int32_t n = 0;
  const auto [end, ec] = std::from_chars(nodes.data(), nodes.data() + nodes.size(), n);
  NEUROAI_CHECK(ec == std::errc() && end == nodes.data() + nodes.size() && n >= 1,
                "gnn checkpoint: metadata 'gnn.nodes' = '{}'; expected a node count in [1, {}]", nodes, INT32_MAX);
  // The model allocates from the config and the node count: both must agree with the tensors the file
  // holds before anything is allocated, so a header cannot claim more than the file backs.
  const int64_t trace_rows = c.layers > 1 ? c.hidden : c.in_features;
  const StTensor& trace = tensor("gnn.node_trace");
  NEUROAI_CHECK(trace.shape == std::vector<int64_t>({trace_rows, n}),
                "gnn checkpoint: 'gnn.node_trace' has shape [{}]; expected [{}, {}] from 'gnn.config' and 'gnn.nodes'",
                fmt::join(trace.shape, ", "), trace_rows, n);
  for (int l = 0; l < c.layers; ++l) {
    const int64_t in = l == 0 ? c.in_features : c.hidden, out = l == c.layers - 1 ? c.out : c.hidden;
    const std::string k = fmt::format("gnn.layer{}.weight", l);
    const StTensor& w = tensor(k);
    int64_t want = 0;
    NEUROAI_CHECK(!__builtin_mul_overflow(in, out, &want) && st_numel(w.shape) == want,
                  "gnn checkpoint: '{}' has {} values; expected {} x {} from 'gnn.config'", k, st_numel(w.shape), in,
                  out);
  }
  const auto flat = st_to_i32(tensor("gnn.edge.pairs"), "gnn.edge.pairs");
  NEUROAI_CHECK(flat.size() % 2 == 0, "gnn checkpoint: 'gnn.edge.pairs' has {} values; expected (u, v) pairs",
                flat.size());
  EdgeList e(flat.size() / 2);
  for (size_t k = 0; k < e.size(); ++k) e[k] = {flat[2 * k], flat[2 * k + 1]};
  GnnModel m(b, c, n, e);
  // Pairs were saved in the graph's own (sorted) order, so they come back in the same order.
  m.graph_ = DeviceGraph(b, n, e, st_to_i32(tensor("gnn.edge.pair_id"), "gnn.edge.pair_id"));
  const int64_t p = int64_t(e.size());
  auto load_f32 = [&](const std::string& k, int64_t size) {
    auto v = st_to_f32(tensor(k), k);
    NEUROAI_CHECK(int64_t(v.size()) == size, "gnn checkpoint: '{}' has {} values (expected {})", k, v.size(), size);
    return v;
  };
  for (int l = 0; l < c.layers; ++l) {
    m.w_[l].set_w_host(load_f32(fmt::format("gnn.layer{}.weight", l), m.dims_[l] * m.dims_[l + 1]));
    m.bias_[l].set_w_host(load_f32(fmt::format("gnn.layer{}.bias", l), m.dims_[l + 1]));
  }
  m.ew_.set_w_host(load_f32("gnn.edge.w", p));
  m.ealpha_.set_w_host(load_f32("gnn.edge.alpha", p));
  m.hb_.upload(load_f32("gnn.edge.hebb", p));
  m.score_.upload(load_f32("gnn.edge.score", p));
  m.rule_.set_w_host(load_f32("gnn.rule", 4));
  m.trace_.upload(load_f32("gnn.node_trace", m.trace_.size()));
  return m;
}

}  // namespace neuroai
