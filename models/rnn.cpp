#include "models/rnn.h"

#include <cmath>
#include <random>
#include <utility>

#include <fmt/format.h>

#include "engine/safetensors.h"
#include "kernels/error.h"

namespace neuroai {

const char* cell_name(CellKind c) { return c == CellKind::Gru ? "gru" : "rnn"; }

CellKind parse_cell(const std::string& name) {
  if (name == "gru") return CellKind::Gru;
  if (name == "rnn") return CellKind::Rnn;
  NEUROAI_FAIL("unknown recurrent cell '{}' (expected gru or rnn)", name);
}

namespace {

const char* readout_name(SeqReadout r) {
  switch (r) {
    case SeqReadout::ClassifyLast: return "classify-last";
    case SeqReadout::RegressLast: return "regress-last";
    case SeqReadout::RegressEach: return "regress-each";
  }
  return "?";
}

SeqReadout parse_readout(const std::string& s) {
  if (s == "classify-last") return SeqReadout::ClassifyLast;
  if (s == "regress-last") return SeqReadout::RegressLast;
  if (s == "regress-each") return SeqReadout::RegressEach;
  NEUROAI_FAIL("unknown readout '{}' (expected classify-last, regress-last or regress-each)", s);
}

constexpr float kActivityTraceLambda = 0.9f;  // SPEC §6.3 lambda_e

}  // namespace

void RnnConfig::validate() const {
  NEUROAI_CHECK(inputs >= 1, "rnn config: inputs is {} (expected >= 1)", inputs);
  NEUROAI_CHECK(hidden >= 1, "rnn config: hidden is {} (expected >= 1)", hidden);
  NEUROAI_CHECK(outputs >= 1, "rnn config: outputs is {} (expected >= 1)", outputs);
  NEUROAI_CHECK(groups >= 1 && groups <= hidden, "rnn config: groups is {} (expected 1 <= groups <= hidden = {})",
                groups, hidden);
  NEUROAI_CHECK(period > 0.0f, "rnn config: period is {} (expected > 0 steps)", period);
  NEUROAI_CHECK(kappa >= 0.0f && kappa <= 1.0f, "rnn config: kappa is {} (expected 0 <= kappa <= 1)", kappa);
  NEUROAI_CHECK(alpha > 0.0f && alpha <= 1.0f, "rnn config: alpha is {} (expected 0 < alpha <= 1)", alpha);
  NEUROAI_CHECK(group_alphas.empty() || int(group_alphas.size()) == groups,
                "rnn config: {} group alphas given for {} groups", group_alphas.size(), groups);
  for (float a : group_alphas)
    NEUROAI_CHECK(a > 0.0f && a <= 1.0f, "rnn config: group alpha {} (expected 0 < alpha <= 1)", a);
}

nlohmann::json RnnConfig::to_json() const {
  return {{"cell", cell_name(cell)}, {"inputs", inputs},   {"hidden", hidden}, {"outputs", outputs},
          {"readout", readout_name(readout)}, {"groups", groups}, {"period", period}, {"kappa", kappa},
          {"alpha", alpha}, {"group_alphas", group_alphas}, {"seed", seed}};
}

RnnConfig RnnConfig::from_json(const nlohmann::json& j) {
  RnnConfig c;
  try {
    c.cell = parse_cell(j.at("cell").get<std::string>());
    c.inputs = j.at("inputs").get<int64_t>();
    c.hidden = j.at("hidden").get<int64_t>();
    c.outputs = j.at("outputs").get<int64_t>();
    c.readout = parse_readout(j.at("readout").get<std::string>());
    c.groups = j.at("groups").get<int>();
    c.period = j.at("period").get<float>();
    c.kappa = j.at("kappa").get<float>();
    c.alpha = j.at("alpha").get<float>();
    c.group_alphas = j.value("group_alphas", std::vector<float>{});
    c.seed = j.value("seed", uint64_t(1));
  } catch (const nlohmann::json::exception& e) {
    NEUROAI_FAIL("rnn config: {}", e.what());
  }
  c.validate();
  return c;
}

RnnModel::RnnModel(Backend& b, const RnnConfig& c) : b_(&b), cfg_(c) {
  cfg_.validate();
  const int64_t H = c.hidden, GH = c.gates() * H;
  ih_ = SparseLinear(b, c.inputs, GH, c.seed * 7 + 1, true, "rnn.weight_ih");
  hh_ = SparseLinear(b, H, GH, c.seed * 7 + 2, true, "rnn.weight_hh");
  head_ = SparseLinear(b, H, c.outputs, c.seed * 7 + 3, true, "head");
  // torch.nn.GRU / nn.RNN: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)).
  std::mt19937_64 rng(c.seed * 7 + 4);
  std::uniform_real_distribution<float> u(-1.0f / std::sqrt(float(H)), 1.0f / std::sqrt(float(H)));
  auto draw = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = u(rng);
    return v;
  };
  ih_.set_weight_dense_host(draw(GH * c.inputs), std::vector<uint8_t>(size_t(GH * c.inputs), 1));
  hh_.set_weight_dense_host(draw(GH * H), std::vector<uint8_t>(size_t(GH * H), 1));
  ih_.set_bias_host(draw(GH));
  hh_.set_bias_host(draw(GH));
  if (c.cell == CellKind::Rnn) {
    std::vector<float> a(size_t(H), c.alpha);
    if (!c.group_alphas.empty())
      for (int64_t i = 0; i < H; ++i) a[size_t(i)] = c.group_alphas[size_t(group_of(i))];
    alpha_ = Buffer<float>(b, a);
  }
  rel_ih_ = Buffer<float>(b, c.inputs);
  rel_hh_ = Buffer<float>(b, H);
  trace_ = Buffer<float>(b, H);
  norms_ = Buffer<float>(b, 6);
  rel_ih_.zero();
  rel_hh_.zero();
  trace_.zero();
}

double RnnModel::group_phase(int g) const { return 2.0 * M_PI * g / cfg_.groups; }

std::vector<float> RnnModel::gate_host(int64_t t) const {
  const double omega = 2.0 * M_PI / cfg_.period;
  std::vector<float> m(size_t(cfg_.hidden));
  for (int64_t i = 0; i < cfg_.hidden; ++i)
    m[size_t(i)] = float(1.0 - cfg_.kappa * (1.0 - std::cos(omega * double(t) + group_phase(group_of(i)))) / 2.0);
  return m;
}

void RnnModel::ensure_buffers(int64_t T, int64_t B) {
  if (T == steps_ && B == batch_) return;
  const int64_t H = cfg_.hidden, GH = cfg_.gates() * H;
  Backend& b = *b_;
  if (cfg_.kappa != 0.0f && T != steps_) {
    std::vector<float> g;
    g.reserve(size_t(T * H));
    for (int64_t t = 0; t < T; ++t) {
      auto m = gate_host(t);
      g.insert(g.end(), m.begin(), m.end());
    }
    gate_ = Tensor(b, T, H, g);
  }
  gi_ = Tensor(b, T * B, GH);
  gh_ = Tensor(b, B, GH);
  hs_ = Tensor(b, (T + 1) * B, H);
  saved_ = Tensor(b, T * B, cfg_.cell == CellKind::Gru ? 4 * H : H);
  out_ = Tensor(b, cfg_.readout == SeqReadout::RegressEach ? T * B : B, cfg_.outputs);
  dhs_ = Tensor(b, T * B, H);
  dgi_ = Tensor(b, T * B, GH);
  dgh_ = Tensor(b, B, GH);
  dh_ = Tensor(b, B, H);
  dh_prev_ = Tensor(b, B, H);
  steps_ = T;
  batch_ = B;
}

ConstDenseView RnnModel::hidden_states() const { return hs_.rows_view(batch_, steps_ * batch_); }
ConstDenseView RnnModel::previous_states() const { return hs_.rows_view(0, steps_ * batch_); }
DenseView RnnModel::hidden_grad() { return dhs_.view(); }

ConstDenseView RnnModel::head_input() const {
  return cfg_.readout == SeqReadout::RegressEach ? hidden_states() : hs_.rows_view(steps_ * batch_, batch_);
}

ConstDenseView RnnModel::forward(ConstDenseView x, int64_t T, int64_t B) {
  NEUROAI_CHECK(T >= 1, "rnn forward: sequence length is {} (expected >= 1)", T);
  NEUROAI_CHECK(B >= 1, "rnn forward: batch is {} (expected >= 1)", B);
  NEUROAI_CHECK(x.rows == T * B && x.cols == cfg_.inputs,
                "rnn forward: input is {}x{} (expected {}x{}: {} steps x batch {} rows, {} inputs per step)", x.rows,
                x.cols, T * B, cfg_.inputs, T, B, cfg_.inputs);
  ensure_buffers(T, B);
  x_ = x;
  const int64_t H = cfg_.hidden;
  ih_.forward(x, gi_.view());  // all steps' input projections in one product
  b_->memset_zero(hs_.data(), size_t(B * H) * sizeof(float));
  trace_.zero();
  const float* alpha = cfg_.cell == CellKind::Rnn ? alpha_.data() : nullptr;
  for (int64_t t = 0; t < T; ++t) {
    ConstDenseView hp = hs_.rows_view(t * B, B);
    DenseView ho = hs_.rows_view((t + 1) * B, B);
    const float* m = cfg_.kappa != 0.0f ? gate_.data() + t * H : nullptr;
    hh_.forward(hp, gh_.view());
    if (cfg_.cell == CellKind::Gru)
      b_->gru_step_forward(gi_.rows_view(t * B, B), gh_.view(), hp, m, ho, saved_.rows_view(t * B, B));
    else
      b_->rnn_step_forward(gi_.rows_view(t * B, B), gh_.view(), hp, alpha, m, ho, saved_.rows_view(t * B, B));
    b_->trace_update(ho, kActivityTraceLambda, trace_.data());
  }
  head_.forward(head_input(), out_.view());
  dhs_.zero();
  return out_.view();
}

void RnnModel::backward(ConstDenseView dout) {
  NEUROAI_CHECK(steps_ > 0, "rnn backward: no forward pass to differentiate");
  NEUROAI_CHECK(dout.rows == out_.rows() && dout.cols == out_.cols(),
                "rnn backward: output gradient is {}x{} (expected {}x{}, the forward output)", dout.rows, dout.cols,
                out_.rows(), out_.cols());
  const int64_t T = steps_, B = batch_, H = cfg_.hidden;
  DenseView dhead = cfg_.readout == SeqReadout::RegressEach ? dhs_.view() : dhs_.rows_view((T - 1) * B, B);
  head_.backward(head_input(), dout, dhead, /*accumulate_dx=*/true);
  dh_.zero();
  const float* alpha = cfg_.cell == CellKind::Rnn ? alpha_.data() : nullptr;
  for (int64_t t = T - 1; t >= 0; --t) {
    b_->axpy(B * H, 1.0f, dhs_.data() + t * B * H, dh_.data());
    ConstDenseView hp = hs_.rows_view(t * B, B);
    const float* m = cfg_.kappa != 0.0f ? gate_.data() + t * H : nullptr;
    DenseView dgi_t = dgi_.rows_view(t * B, B);
    // h_0 = 0 is not a parameter: at t = 0 only the weight gradients are needed.
    DenseView dx = t > 0 ? dh_prev_.view() : DenseView{};
    if (cfg_.cell == CellKind::Gru) {
      b_->gru_step_backward(dh_.view(), hp, saved_.rows_view(t * B, B), m, dgi_t, dgh_.view(), dh_prev_.view());
      hh_.backward(hp, dgh_.view(), dx, /*accumulate_dx=*/true);
    } else {
      b_->rnn_step_backward(dh_.view(), saved_.rows_view(t * B, B), alpha, m, dgi_t, dh_prev_.view());
      hh_.backward(hp, dgi_t, dx, /*accumulate_dx=*/true);
    }
    std::swap(dh_, dh_prev_);
  }
  ih_.backward(x_, dgi_.view(), DenseView{});
}

void RnnModel::zero_grad() {
  ih_.zero_grad();
  hh_.zero_grad();
  head_.zero_grad();
}

double RnnModel::clip_grad_norm(float max_norm) {
  Param* ps[6] = {&ih_.weight(), &ih_.bias(), &hh_.weight(), &hh_.bias(), &head_.weight(), &head_.bias()};
  for (int i = 0; i < 6; ++i) b_->reduce(Reduction::SumSquares, ps[i]->g(), ps[i]->size(), norms_.data() + i);
  double sq = 0;
  for (float v : norms_.to_host()) sq += double(v);
  const double norm = std::sqrt(sq);
  if (max_norm > 0.0f && std::isfinite(norm) && norm > max_norm) {
    const float s = float(max_norm / norm);
    for (Param* p : ps) b_->scale(p->size(), s, p->g());
  }
  return norm;
}

void RnnModel::step(const OptimConfig& cfg, float lr, int64_t t) {
  ih_.step(cfg, lr, t);
  hh_.step(cfg, lr, t);
  head_.step(cfg, lr, t);
}

void RnnModel::update_relevance(float beta) {
  NEUROAI_CHECK(steps_ > 0, "rnn update_relevance: no forward pass yet");
  b_->sq_trace_update(x_, beta, rel_ih_.data());
  b_->sq_trace_update(previous_states(), beta, rel_hh_.data());
}

void RnnModel::set_relevance_host(const std::vector<float>& ih, const std::vector<float>& hh) {
  NEUROAI_CHECK(int64_t(ih.size()) == rel_ih_.size() && int64_t(hh.size()) == rel_hh_.size(),
                "rnn relevance: {} / {} values for {} inputs / {} hidden units", ih.size(), hh.size(), rel_ih_.size(),
                rel_hh_.size());
  rel_ih_.upload(ih);
  rel_hh_.upload(hh);
}

// ---- checkpoints ------------------------------------------------------------------------------

namespace {

// SparseLinear::save writes "<p>weight[.suffix]" and "<p>bias"; the RNN's tensors are named like
// torch.nn.GRU's (weight_ih, bias_ih, ...), so the layer is saved under a scratch prefix and renamed.
constexpr const char* kScratch = "__layer.";

void save_renamed(const SparseLinear& l, SafetensorsFile& f, const std::string& weight, const std::string& bias) {
  SafetensorsFile tmp;
  l.save(tmp, kScratch);
  auto rename = [&](const std::string& key) {
    const std::string w = std::string(kScratch) + "weight", bs = std::string(kScratch) + "bias";
    if (key.rfind(w, 0) == 0) return weight + key.substr(w.size());
    if (key.rfind(bs, 0) == 0) return bias + key.substr(bs.size());
    return key;
  };
  for (auto& [k, v] : tmp.tensors) f.tensors[rename(k)] = std::move(v);
  for (auto& [k, v] : tmp.metadata) f.metadata[rename(k)] = v;
}

SparseLinear load_renamed(Backend& b, const SafetensorsFile& f, const std::string& weight, const std::string& bias,
                          const std::string& name) {
  SafetensorsFile tmp;
  auto take = [&](const std::string& from, const std::string& to_base, const std::string& key, bool meta) {
    if (key.rfind(from, 0) != 0) return;
    std::string rest = key.substr(from.size());
    if (!rest.empty() && rest[0] != '.') return;
    std::string to = std::string(kScratch) + to_base + rest;
    if (meta)
      tmp.metadata[to] = f.metadata.at(key);
    else
      tmp.tensors[to] = f.tensors.at(key);
  };
  for (const auto& [k, v] : f.tensors) {
    take(weight, "weight", k, false);
    take(bias, "bias", k, false);
  }
  for (const auto& [k, v] : f.metadata) take(weight, "weight", k, true);
  return SparseLinear::load(b, tmp, kScratch, name);
}

}  // namespace

void RnnModel::save(const std::string& path, const std::map<std::string, std::string>& extra) const {
  SafetensorsFile f;
  save_renamed(ih_, f, "rnn.weight_ih", "rnn.bias_ih");
  save_renamed(hh_, f, "rnn.weight_hh", "rnn.bias_hh");
  head_.save(f, "head.");
  for (const auto& [k, v] : extra) f.metadata[k] = v;
  f.metadata["family"] = "rnn";
  f.metadata["config"] = cfg_.to_json().dump();
  write_safetensors(path, f);
}

RnnModel RnnModel::load(Backend& b, const std::string& path, std::map<std::string, std::string>* metadata) {
  SafetensorsFile f = read_safetensors(path);
  auto it = f.metadata.find("config");
  NEUROAI_CHECK(it != f.metadata.end(), "{}: no \"config\" metadata (not a neuroai checkpoint)", path);
  auto fam = f.metadata.find("family");
  NEUROAI_CHECK(fam != f.metadata.end() && fam->second == "rnn", "{}: not an RNN checkpoint (family '{}')", path,
                fam == f.metadata.end() ? std::string("none") : fam->second);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    NEUROAI_FAIL("{}: config metadata is not valid JSON: {}", path, e.what());
  }
  RnnConfig c = RnnConfig::from_json(j);
  RnnModel m(b, c);
  try {
    m.ih_ = load_renamed(b, f, "rnn.weight_ih", "rnn.bias_ih", "rnn.weight_ih");
    m.hh_ = load_renamed(b, f, "rnn.weight_hh", "rnn.bias_hh", "rnn.weight_hh");
    m.head_ = SparseLinear::load(b, f, "head.", "head");
  } catch (const Error& e) {
    NEUROAI_FAIL("{}: {}", path, e.what());
  }
  const int64_t GH = c.gates() * c.hidden;
  auto shape_ok = [](const SparseLinear& l, int64_t in, int64_t out) { return l.in() == in && l.out() == out; };
  NEUROAI_CHECK(shape_ok(m.ih_, c.inputs, GH), "{}: rnn.weight_ih is {}x{} (expected {}x{} from the config)", path,
                m.ih_.out(), m.ih_.in(), GH, c.inputs);
  NEUROAI_CHECK(shape_ok(m.hh_, c.hidden, GH), "{}: rnn.weight_hh is {}x{} (expected {}x{} from the config)", path,
                m.hh_.out(), m.hh_.in(), GH, c.hidden);
  NEUROAI_CHECK(shape_ok(m.head_, c.hidden, c.outputs), "{}: head.weight is {}x{} (expected {}x{} from the config)",
                path, m.head_.out(), m.head_.in(), c.outputs, c.hidden);
  if (metadata) *metadata = f.metadata;
  return m;
}

}  // namespace neuroai
