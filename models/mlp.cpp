#include "models/mlp.h"

#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "engine/safetensors.h"
#include "kernels/error.h"

namespace neuroai {

const char* inhibition_name(InhibitionKind k) {
  switch (k) {
    case InhibitionKind::None: return "none";
    case InhibitionKind::Divisive: return "divisive";
    case InhibitionKind::Dog: return "dog";
    case InhibitionKind::Kwta: return "kwta";
  }
  return "?";
}

InhibitionKind parse_inhibition(const std::string& s) {
  for (auto k : {InhibitionKind::None, InhibitionKind::Divisive, InhibitionKind::Dog, InhibitionKind::Kwta})
    if (s == inhibition_name(k)) return k;
  NEUROAI_FAIL("inhibition '{}' is not one of none, divisive, dog, kwta", s);
}

Sheet default_grid(int64_t n) {
  NEUROAI_CHECK(n >= 1, "default_grid: width must be >= 1, got {}", n);
  int64_t hg = 1;
  for (int64_t d = 1; d * d <= n; ++d)
    if (n % d == 0) hg = d;
  return Sheet{int32_t(hg), int32_t(n / hg)};
}

std::vector<Sheet> parse_grids(const std::string& s) {
  std::vector<Sheet> out;
  std::stringstream ss(s);
  std::string piece;
  while (std::getline(ss, piece, ',')) {
    const auto x = piece.find('x');
    int64_t r = 0, c = 0;
    bool ok = x != std::string::npos && x > 0 && x + 1 < piece.size();
    if (ok) {
      try {
        size_t used = 0;
        r = std::stoll(piece.substr(0, x), &used);
        ok = used == x;
        c = std::stoll(piece.substr(x + 1), &used);
        ok = ok && used == piece.size() - x - 1;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    NEUROAI_CHECK(ok && r >= 1 && c >= 1 && r * c <= (int64_t(1) << 30),
                  "grid '{}' is not ROWSxCOLS with positive integers (e.g. 32x32)", piece);
    out.push_back(Sheet{int32_t(r), int32_t(c)});
  }
  NEUROAI_CHECK(!out.empty(), "grid list '{}' is empty (expected e.g. 32x32,32x32)", s);
  return out;
}

void MlpConfig::resolve() {
  NEUROAI_CHECK(inputs >= 1 && classes >= 2, "MLP: inputs ({}) must be >= 1 and classes ({}) >= 2", inputs, classes);
  NEUROAI_CHECK(!hidden.empty(), "MLP: at least one hidden layer is needed");
  for (int64_t w : hidden) NEUROAI_CHECK(w >= 1, "MLP: hidden width {} must be >= 1", w);
  if (grids.empty())
    for (int64_t w : hidden) grids.push_back(default_grid(w));
  NEUROAI_CHECK(grids.size() == hidden.size(), "--grid gives {} grids for {} hidden layers", grids.size(),
                hidden.size());
  for (size_t i = 0; i < grids.size(); ++i)
    NEUROAI_CHECK(grids[i].units() == hidden[i], "grid {}x{} of hidden layer {} has {} units, the layer has {}",
                  grids[i].rows, grids[i].cols, i, grids[i].units(), hidden[i]);
  if (input_sheet.units() != inputs) input_sheet = default_grid(inputs);
  NEUROAI_CHECK(input_std > 0.0f && std::isfinite(input_std) && std::isfinite(input_mean),
                "MLP: input std {} must be positive and finite", input_std);
}

nlohmann::json MlpConfig::to_json() const {
  nlohmann::json g = nlohmann::json::array();
  for (const auto& s : grids) g.push_back({s.rows, s.cols});
  return {
      {"model", "mlp"},
      {"inputs", inputs},
      {"hidden", hidden},
      {"grids", g},
      {"classes", classes},
      {"input_sheet", {input_sheet.rows, input_sheet.cols}},
      {"inhibition", inhibition_name(inhibition)},
      {"divisive", {{"k", divisive.k}, {"alpha", divisive.alpha}, {"beta", divisive.beta}, {"sigma", divisive.sigma},
                    {"radius", divisive.radius}}},
      {"dog", {{"sigma_e", dog.sigma_e}, {"sigma_i", dog.sigma_i}, {"a_e", dog.a_e}, {"a_i", dog.a_i},
               {"gamma", dog.gamma}, {"radius", dog.radius}}},
      {"kwta", {{"tile", kwta.tile}, {"k", kwta.k}}},
      {"dataset", dataset},
      {"input_mean", input_mean},
      {"input_std", input_std},
  };
}

MlpConfig MlpConfig::from_json(const nlohmann::json& j) {
  try {
    NEUROAI_CHECK(j.value("model", std::string("mlp")) == "mlp", "config describes a '{}' model, not an mlp",
                  j.value("model", std::string()));
    MlpConfig c;
    c.inputs = j.at("inputs").get<int64_t>();
    c.hidden = j.at("hidden").get<std::vector<int64_t>>();
    c.classes = j.at("classes").get<int64_t>();
    for (const auto& g : j.at("grids")) c.grids.push_back(Sheet{g.at(0).get<int32_t>(), g.at(1).get<int32_t>()});
    if (j.contains("input_sheet"))
      c.input_sheet = Sheet{j["input_sheet"].at(0).get<int32_t>(), j["input_sheet"].at(1).get<int32_t>()};
    c.inhibition = parse_inhibition(j.value("inhibition", std::string("none")));
    if (j.contains("divisive")) {
      const auto& d = j["divisive"];
      c.divisive = DivisiveParams{d.at("k").get<float>(), d.at("alpha").get<float>(), d.at("beta").get<float>(),
                                  d.at("sigma").get<float>(), d.at("radius").get<int32_t>()};
    }
    if (j.contains("dog")) {
      const auto& d = j["dog"];
      c.dog = DogParams{d.at("sigma_e").get<float>(), d.at("sigma_i").get<float>(), d.at("a_e").get<float>(),
                        d.at("a_i").get<float>(), d.at("gamma").get<float>(), d.at("radius").get<int32_t>()};
    }
    if (j.contains("kwta")) c.kwta = KwtaParams{j["kwta"].at("tile").get<int32_t>(), j["kwta"].at("k").get<int32_t>()};
    c.dataset = j.value("dataset", std::string());
    c.input_mean = j.value("input_mean", 0.0f);
    c.input_std = j.value("input_std", 1.0f);
    c.resolve();
    return c;
  } catch (const nlohmann::json::exception& e) {
    NEUROAI_FAIL("MLP config: {}", e.what());
  }
}

Mlp::Mlp(Backend& b, MlpConfig cfg, uint64_t seed) : b_(&b), cfg_(std::move(cfg)) {
  cfg_.resolve();
  int64_t in = cfg_.inputs;
  for (size_t i = 0; i <= cfg_.hidden.size(); ++i) {
    const bool out_layer = i == cfg_.hidden.size();
    const int64_t out = out_layer ? cfg_.classes : cfg_.hidden[i];
    layers_.emplace_back(b, in, out, seed + i, true, out_layer ? "output" : fmt::format("hidden{}", i + 1));
    in = out;
  }
}

Mlp::Mlp(Backend& b, MlpConfig cfg, std::vector<SparseLinear> layers)
    : b_(&b), cfg_(std::move(cfg)), layers_(std::move(layers)) {
  cfg_.resolve();
  NEUROAI_CHECK(layers_.size() == cfg_.hidden.size() + 1, "MLP: {} layers for {} hidden layers", layers_.size(),
                cfg_.hidden.size());
  int64_t in = cfg_.inputs;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const int64_t out = i == cfg_.hidden.size() ? cfg_.classes : cfg_.hidden[i];
    NEUROAI_CHECK(layers_[i].in() == in && layers_[i].out() == out,
                  "MLP: layer {} is {}x{} (out x in), the config says {}x{}", i, layers_[i].out(), layers_[i].in(),
                  out, in);
    in = out;
  }
}

void Mlp::ensure_batch(int64_t batch) {
  if (batch <= cap_) return;
  const size_t nh = cfg_.hidden.size();
  a_.clear(), h_.clear(), y_.clear(), d_.clear(), dy_.clear(), dh_.clear(), winners_.clear();
  for (size_t l = 0; l < nh; ++l) {
    const int64_t n = cfg_.hidden[l];
    a_.emplace_back(*b_, batch, n);
    h_.emplace_back(*b_, batch, n);
    dy_.emplace_back(*b_, batch, n);
    dh_.emplace_back(*b_, batch, n);
    const bool inh = cfg_.inhibition != InhibitionKind::None;
    y_.push_back(inh ? Tensor(*b_, batch, n) : Tensor());
    d_.push_back(cfg_.inhibition == InhibitionKind::Divisive ? Tensor(*b_, batch, n) : Tensor());
    winners_.push_back(cfg_.inhibition == InhibitionKind::Kwta ? Buffer<uint8_t>(*b_, batch * n) : Buffer<uint8_t>());
  }
  logits_ = Tensor(*b_, batch, cfg_.classes);
  cap_ = batch;
}

ConstDenseView Mlp::forward(ConstDenseView x) {
  NEUROAI_CHECK(x.cols == cfg_.inputs, "MLP forward: input has {} features, the model expects {}", x.cols,
                cfg_.inputs);
  ensure_batch(x.rows);
  batch_ = x.rows;
  const int64_t bsz = x.rows;
  ConstDenseView in = x;
  for (int l = 0; l < num_hidden(); ++l) {
    DenseView a = a_[l].rows_view(0, bsz), h = h_[l].rows_view(0, bsz);
    layers_[l].forward(in, a);
    b_->activation_forward(Activation::Relu, a.data, a.size(), h.data);
    const Sheet s = sheet(l);
    switch (cfg_.inhibition) {
      case InhibitionKind::None: in = h; continue;
      case InhibitionKind::Divisive:
        b_->divisive_norm_forward(h, s, cfg_.divisive, y_[l].rows_view(0, bsz), d_[l].rows_view(0, bsz));
        break;
      case InhibitionKind::Dog: b_->dog_forward(h, s, cfg_.dog, y_[l].rows_view(0, bsz)); break;
      case InhibitionKind::Kwta: b_->kwta_forward(h, s, cfg_.kwta, y_[l].rows_view(0, bsz), winners_[l].data()); break;
    }
    in = y_[l].rows_view(0, bsz);
  }
  DenseView out = logits_.rows_view(0, bsz);
  layers_.back().forward(in, out);
  return out;
}

void Mlp::backward(ConstDenseView x, ConstDenseView dlogits, const RegHook& add_reg) {
  const int64_t bsz = batch_;
  NEUROAI_CHECK(dlogits.rows == bsz && dlogits.cols == cfg_.classes && x.rows == bsz,
                "MLP backward: dlogits is {}x{} and x has {} rows, the last forward had batch {} and {} classes",
                dlogits.rows, dlogits.cols, x.rows, bsz, cfg_.classes);
  const int nh = num_hidden();
  ConstDenseView dout = dlogits;
  for (int l = nh; l >= 0; --l) {
    const ConstDenseView in = l == 0 ? x : hidden_output(l - 1);
    DenseView dx = l == 0 ? DenseView{nullptr, bsz, x.cols} : dy_[l - 1].rows_view(0, bsz);
    if (l == nh) {
      layers_[l].backward(in, dout, dx);
    } else {
      // dout = dL/dy of hidden layer l (regularizers already added): inhibition, ReLU, then the layer.
      DenseView dh = dh_[l].rows_view(0, bsz);
      const ConstDenseView h = h_[l].rows_view(0, bsz);
      const Sheet s = sheet(l);
      const float* dgate = dh.data;  // dL/dh before the ReLU gate
      switch (cfg_.inhibition) {
        case InhibitionKind::None: dgate = dout.data; break;
        case InhibitionKind::Divisive:
          b_->divisive_norm_backward(h, d_[l].rows_view(0, bsz), dout, s, cfg_.divisive, dh);
          break;
        case InhibitionKind::Dog: b_->dog_backward(y_[l].rows_view(0, bsz), dout, s, cfg_.dog, dh); break;
        case InhibitionKind::Kwta: b_->kwta_backward(winners_[l].data(), dout, dh); break;
      }
      b_->activation_backward(Activation::Relu, h.data, dgate, dh.size(), dh.data);
      layers_[l].backward(in, dh, dx);
    }
    if (l > 0) {
      DenseView dy = dy_[l - 1].rows_view(0, bsz);
      if (add_reg) add_reg(l - 1, hidden_output(l - 1), dy);
      dout = dy;
    }
  }
}

void Mlp::zero_grad() {
  for (auto& l : layers_) l.zero_grad();
}

void Mlp::step(const OptimConfig& cfg, float lr, int64_t t) {
  for (auto& l : layers_) l.step(cfg, lr, t);
}

ConstDenseView Mlp::hidden_output(int l) const {
  const auto& t = cfg_.inhibition == InhibitionKind::None ? h_[size_t(l)] : y_[size_t(l)];
  return t.rows_view(0, batch_);
}
ConstDenseView Mlp::hidden_pre(int l) const { return a_[size_t(l)].rows_view(0, batch_); }
ConstDenseView Mlp::hidden_relu(int l) const { return h_[size_t(l)].rows_view(0, batch_); }
ConstDenseView Mlp::logits() const { return logits_.rows_view(0, batch_); }

void Mlp::save(const std::string& path, const std::map<std::string, std::string>& extra) const {
  SafetensorsFile f;
  for (size_t i = 0; i < layers_.size(); ++i) layers_[i].save(f, fmt::format("layers.{}.", i));
  for (const auto& [k, v] : extra) f.metadata[k] = v;
  f.metadata["config"] = cfg_.to_json().dump();
  f.metadata["format"] = "neuroai-mlp";
  f.metadata["family"] = "mlp";
  // What eval (or another framework) applies to a raw input row before the first layer.
  f.metadata["preprocessing"] =
      nlohmann::json{{"input", fmt::format("{} features per sample, flattened row-major", cfg_.inputs)},
                     {"standardize", {{"mean", cfg_.input_mean}, {"std", cfg_.input_std}}}}
          .dump();
  write_safetensors(path, f);
}

Mlp Mlp::load(Backend& b, const std::string& path, std::map<std::string, std::string>* metadata) {
  SafetensorsFile f = read_safetensors(path);
  auto it = f.metadata.find("config");
  NEUROAI_CHECK(it != f.metadata.end(), "{}: no \"config\" metadata; not a neuroai MLP checkpoint", path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    NEUROAI_FAIL("{}: the \"config\" metadata is not valid JSON: {}", path, e.what());
  }
  MlpConfig cfg = MlpConfig::from_json(j);
  std::vector<SparseLinear> layers;
  for (size_t i = 0; i <= cfg.hidden.size(); ++i)
    layers.push_back(SparseLinear::load(b, f, fmt::format("layers.{}.", i),
                                        i == cfg.hidden.size() ? "output" : fmt::format("hidden{}", i + 1)));
  if (metadata) *metadata = f.metadata;
  return Mlp(b, std::move(cfg), std::move(layers));
}

}  // namespace neuroai
