#include "models/mlp_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/metrics.h"
#include "engine/run_log.h"
#include "engine/safetensors.h"
#include "kernels/error.h"
#include "engine/train_loop.h"
#include "engine/train_state.h"

namespace neuroai {

void TrainConfig::validate() const {
  NEUROAI_CHECK(epochs >= 1, "--epochs must be >= 1, got {}", epochs);
  NEUROAI_CHECK(batch >= 1, "--batch must be >= 1, got {}", batch);
  NEUROAI_CHECK(optim.lr > 0.0f && std::isfinite(optim.lr), "--lr must be positive and finite, got {}", optim.lr);
  NEUROAI_CHECK(prune.sparsity >= 0.0 && prune.sparsity < 1.0, "--sparsity must be in [0, 1), got {}", prune.sparsity);
  NEUROAI_CHECK(prune.start >= 0.0 && prune.start <= prune.end && prune.end <= 1.0,
                "--prune-start ({}) and --prune-end ({}) must satisfy 0 <= start <= end <= 1", prune.start, prune.end);
  NEUROAI_CHECK(prune.every >= 1, "--prune-every must be >= 1, got {}", prune.every);
  NEUROAI_CHECK(prune.rounds >= 1, "--rounds must be >= 1, got {}", prune.rounds);
  NEUROAI_CHECK(prune.distance_weight >= 0.0, "--distance-weight must be >= 0, got {}", prune.distance_weight);
  handoff.validate();
  NEUROAI_CHECK(idr.l1 >= 0.0f && idr.entropy >= 0.0f && idr.pr >= 0.0f,
                "IDR weights must be >= 0 (--idr-l1 {}, --idr-entropy {}, --idr-pr {})", idr.l1, idr.entropy, idr.pr);
  NEUROAI_CHECK(spatial.alpha >= 0.0f, "--spatial-loss must be >= 0, got {}", spatial.alpha);
  NEUROAI_CHECK(merge_cfg.threshold > 0.0f && merge_cfg.threshold <= 1.0f, "--merge-threshold must be in (0, 1], got {}",
                merge_cfg.threshold);
  NEUROAI_CHECK(eval_batch >= 1, "evaluation batch must be >= 1, got {}", eval_batch);
  NEUROAI_CHECK(!out_dir.empty(), "--out must name a directory");
}

std::vector<LayerInfo> layer_infos(const Mlp& model) {
  std::vector<LayerInfo> out;
  for (int i = 0; i < model.num_layers(); ++i) {
    const auto& l = model.layer(i);
    out.push_back(LayerInfo{l.name(), l.out(), l.in(), l.nnz(), l.density(), format_name(l.format()), -1});
  }
  return out;
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool all_finite(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

std::vector<float> download_view(Backend& b, ConstDenseView v) {
  std::vector<float> h(static_cast<size_t>(v.size()));
  if (v.size()) b.download(h.data(), v.data, h.size() * sizeof(float));
  return h;
}

// Rows idx[0..n) of the data set, uploaded into x (n, dim) and labels (n).
void upload_batch(Backend& b, const Dataset& d, const int64_t* idx, int64_t n, std::vector<float>& xh,
                  std::vector<int32_t>& yh, DenseView x, int32_t* labels) {
  xh.resize(size_t(n * d.dim));
  yh.resize(size_t(n));
  for (int64_t r = 0; r < n; ++r) {
    std::copy_n(d.x.data() + idx[r] * d.dim, d.dim, xh.data() + r * d.dim);
    yh[size_t(r)] = d.y[size_t(idx[r])];
  }
  b.upload(x.data, xh.data(), xh.size() * sizeof(float));
  b.upload(labels, yh.data(), yh.size() * sizeof(int32_t));
}

// Which values went non-finite first, in forward order, after a non-finite loss.
std::string diagnose_non_finite(Mlp& m, ConstDenseView x) {
  Backend& b = m.backend();
  if (!all_finite(download_view(b, x))) return "the input batch";
  for (int l = 0; l < m.num_layers(); ++l) {
    const auto& layer = m.layer(l);
    const bool w_bad = !all_finite(layer.weight_dense_host()) || !all_finite(layer.bias_host());
    const std::string weights = w_bad ? fmt::format(" (its weights are non-finite: the previous update diverged)") : "";
    if (l == m.num_hidden()) {
      if (!all_finite(download_view(b, m.logits()))) return fmt::format("layer '{}' (logits){}", layer.name(), weights);
      break;
    }
    if (!all_finite(download_view(b, m.hidden_pre(l))))
      return fmt::format("layer '{}' (pre-activation x W^T + b){}", layer.name(), weights);
    if (!all_finite(download_view(b, m.hidden_output(l))))
      return fmt::format("layer '{}' (output after ReLU / inhibition)", layer.name());
    if (w_bad) return fmt::format("layer '{}' (weights)", layer.name());
  }
  return "the loss (softmax cross-entropy) itself";
}

std::vector<PrunableLayer> prunable_layers(Mlp& m) {
  std::vector<PrunableLayer> out;
  for (int i = 0; i < m.num_layers(); ++i) {
    const bool is_out = i == m.num_hidden();
    const Sheet in = i == 0 ? m.config().input_sheet : m.sheet(i - 1);
    const Sheet out_s = is_out ? Sheet{1, int32_t(m.config().classes)} : m.sheet(i);
    out.push_back(PrunableLayer{&m.layer(i), in, out_s, is_out});
  }
  return out;
}

nlohmann::json layers_json(const std::vector<LayerInfo>& ls) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& l : ls)
    a.push_back({{"name", l.name}, {"density", l.density}, {"nnz", l.nnz}, {"format", l.format},
                 {"shape", {l.out, l.in}}});
  return a;
}

nlohmann::json train_config_json(const TrainConfig& c) {
  static const char* methods[] = {"none", "gradual", "iterative", "oneshot"};
  static const char* allocs[] = {"layerwise", "global", "tile"};
  static const char* scheds[] = {"constant", "cosine", "step"};
  return {
      {"epochs", c.epochs},
      {"batch", c.batch},
      {"seed", c.seed},
      {"optimizer", c.optim.kind == OptimKind::Adam ? "adam" : "sgd"},
      {"lr", c.optim.lr},
      {"momentum", c.optim.momentum},
      {"weight_decay", c.optim.weight_decay},
      {"lr_schedule", scheds[int(c.lr.kind)]},
      {"prune", methods[int(c.prune.method)]},
      {"sparsity", c.prune.sparsity},
      {"prune_start", c.prune.start},
      {"prune_end", c.prune.end},
      {"prune_every", c.prune.every},
      {"allocation", allocs[int(c.prune.allocation)]},
      {"distance_weight", c.prune.distance_weight},
      {"rounds", c.prune.rounds},
      {"rewind_step", c.prune.rewind_step},
      {"sparse_format", sparse_format_name(c.handoff.format)},
      {"switch_density", c.handoff.switch_density},
      {"idr_l1", c.idr.l1},
      {"idr_entropy", c.idr.entropy},
      {"idr_pr", c.idr.pr},
      {"spatial_loss", c.spatial.alpha},
      {"merge", c.merge},
      {"merge_threshold", c.merge_cfg.threshold},
  };
}

}  // namespace

EvalResult evaluate(Mlp& model, const Dataset& test, int64_t eval_batch, int64_t metric_samples) {
  Backend& b = model.backend();
  NEUROAI_CHECK(test.dim == model.config().inputs, "evaluate: the data has {} features, the model expects {}", test.dim,
                model.config().inputs);
  NEUROAI_CHECK(test.n >= 1, "evaluate: the test set is empty");
  const int64_t bs = std::min(eval_batch, test.n);
  const int64_t classes = model.config().classes;
  const int64_t m = std::min(metric_samples, test.n);
  const int last = model.num_hidden() - 1;
  const int64_t units = model.config().hidden.back();
  Tensor x(b, bs, test.dim);
  Buffer<int32_t> labels(b, bs), pred(b, bs);
  Buffer<float> loss(b, 1);
  std::vector<float> xh, acts(size_t(m * units));
  std::vector<int32_t> yh, ph, metric_labels;
  std::vector<int64_t> idx(static_cast<size_t>(bs));
  double loss_sum = 0.0;
  int64_t correct = 0;
  for (int64_t s = 0; s < test.n; s += bs) {
    const int64_t n = std::min(bs, test.n - s);
    for (int64_t r = 0; r < n; ++r) idx[size_t(r)] = s + r;
    upload_batch(b, test, idx.data(), n, xh, yh, x.rows_view(0, n), labels.data());
    ConstDenseView logits = model.forward(x.rows_view(0, n));
    for (int32_t y : yh) NEUROAI_CHECK(y >= 0 && y < classes, "evaluate: label {} outside [0, {})", y, classes);
    b.softmax_xent(logits, labels.data(), loss.data(), DenseView{nullptr, n, classes});
    b.argmax_rows(logits, pred.data());
    float lh = 0.0f;
    b.download(&lh, loss.data(), sizeof(float));
    ph.resize(size_t(n));
    b.download(ph.data(), pred.data(), size_t(n) * sizeof(int32_t));
    loss_sum += double(lh) * double(n);
    for (int64_t r = 0; r < n; ++r) correct += ph[size_t(r)] == yh[size_t(r)];
    if (s < m) {
      const int64_t k = std::min(n, m - s);
      b.download(acts.data() + s * units, model.hidden_output(last).data, size_t(k * units) * sizeof(float));
      metric_labels.insert(metric_labels.end(), yh.begin(), yh.begin() + k);
    }
  }
  EvalResult r;
  r.n = test.n;
  r.loss = loss_sum / double(test.n);
  r.acc = double(correct) / double(test.n);
  if (m > 0) {
    const Sheet s = model.sheet(last);
    r.activation_sparsity = activation_sparsity(acts.data(), m, units);
    const Dimensionality dim = dimensionality(acts.data(), m, units);
    r.participation_ratio = dim.participation_ratio;
    r.n90 = dim.n90;
    r.effective_rank = dim.effective_rank;
    r.twonn_id = twonn_dimension(acts.data(), m, units);
    const ClassSplit split = class_covariance_split(acts.data(), metric_labels.data(), m, units, int(classes));
    r.between_class_share = split.between_share;
    r.pr_between_class = split.pr_between;
    r.pr_within_class = split.pr_within;
    r.neighbour_corr = neighbour_correlation(acts.data(), m, s.rows, s.cols);
    // SPEC §10: rho_sp = 1 - SL, with SL the TDANN loss over neighbourhoods (radius 5) as trained, on
    // 32 seeded neighbourhoods; the all-pairs correlation of metrics.h is kept as spatial_corr_global.
    std::vector<double> hd(acts.begin(), acts.end());
    SpatialLossConfig sc;
    sc.neighbourhoods = 32;
    std::mt19937_64 rng(0);
    r.spatial_corr = 1.0 - spatial_loss_host(hd.data(), m, s, sample_neighbourhoods(s, sc, rng), nullptr);
    r.spatial_corr_global = spatial_correlation(acts.data(), m, s.rows, s.cols);
    r.hoyer = hoyer_sparsity(acts.data(), m, units);
    r.treves_rolls = treves_rolls(acts.data(), m, units);
    r.effective_usage = effective_usage(acts.data(), m, units);
  }
  return r;
}

namespace {

// The MLP's side of the shared training loop: minibatch steps, rounds of iterative pruning, merging,
// evaluation and the hand-off bookkeeping.
class MlpFamily final : public TrainFamily {
public:
  MlpFamily(Backend& b, const MlpConfig& mcfg, const TrainConfig& cfg, const DataSplit& data)
      : b_(b), cfg_(cfg), data_(data), model_(b, mcfg, cfg.seed) {
    const auto& tr = data.train;
    NEUROAI_CHECK(tr.n >= 1 && data.test.n >= 1, "training needs samples: {} training and {} test samples given", tr.n,
                  data.test.n);
    NEUROAI_CHECK(tr.dim == mcfg.inputs && data.test.dim == mcfg.inputs,
                  "the data has {} features, the model {} inputs", tr.dim, mcfg.inputs);
    const int32_t max_label = std::max(*std::max_element(tr.y.begin(), tr.y.end()),
                                       *std::max_element(data.test.y.begin(), data.test.y.end()));
    NEUROAI_CHECK(max_label < mcfg.classes, "label {} does not fit a model with {} classes", max_label, mcfg.classes);
    batch_ = std::min(cfg.batch, tr.n);
    steps_per_epoch_ = (tr.n + batch_ - 1) / batch_;
    phases_ = cfg.prune.method == PruneMethod::Iterative ? cfg.prune.rounds + 1 : 1;
    phase_steps_ = steps_per_epoch_ * cfg.epochs;
    PruneConfig pc = cfg.prune;
    if (pc.method == PruneMethod::Iterative)  // `rounds` rounds reach `sparsity` on the hidden layers
      pc.rate = 1.0 - std::pow(1.0 - pc.sparsity, 1.0 / double(pc.rounds));
    pruner_ = std::make_unique<Pruner>(pc, phase_steps_);
    x_ = Tensor(b, batch_, tr.dim);
    dlogits_ = Tensor(b, batch_, mcfg.classes);
    labels_ = Buffer<int32_t>(b, batch_);
    loss_ = Buffer<float>(b, 1);
    for (int l = 0; l < model_.num_hidden(); ++l) {
      if (cfg.idr.any()) idr_.emplace_back(b, cfg.idr, batch_, mcfg.hidden[size_t(l)]);
      if (cfg.spatial.on()) spatial_.emplace_back(b, cfg.spatial, model_.sheet(l), batch_, cfg.seed * 7919 + 17 + l);
    }
    layers_ = prunable_layers(model_);
    handoff_.assign(size_t(model_.num_layers()), -1);
    for (int i = 0; i < model_.num_layers(); ++i) model_.layer(i).set_handoff(cfg.handoff);
  }

  int epochs() const { return cfg_.epochs * phases_; }

  // ---- TrainFamily ----
  int64_t steps_per_epoch() const override { return steps_per_epoch_; }
  std::string state_format() const override { return "neuroai-mlp-state"; }
  std::vector<std::pair<std::string, std::string>> state_config() const override {
    return {{"config", model_.config().to_json().dump()}, {"train_config", train_config_json(cfg_).dump()}};
  }

  void start(TrainLoop& loop) override {
    if (cfg_.prune.method == PruneMethod::Gradual && cfg_.prune.sparsity > 0.0) {
      const std::string note = pruner_->schedule().shortened_note(cfg_.prune.every, "--prune-every", "step");
      if (!note.empty()) loop.message(note);
    }
    pruner_->on_step(0, layers_);
    log_structure(loop, "start", 0);
  }

  void begin_epoch(int epoch, TrainLoop& loop) override {
    phase_ = (epoch - 1) / cfg_.epochs;
    const int within = (epoch - 1) % cfg_.epochs;
    if (phase_ > 0 && within == 0) {  // a round of a resumed run that ended inside it is in its state
      // Lottery tickets: prune a round, rewind the survivors to theta_k and the LR schedule to step k.
      pruner_->prune_round(layers_);
      pruner_->rewind(layers_);
      after_structure_change(loop, epoch);
      loop.message(fmt::format("round {}: pruned to sparsity {:.3f}, rewound to step {}", phase_,
                               Pruner::sparsity_of(layers_), cfg_.prune.rewind_step));
    }
    lr_step0_ = (phase_ == 0 ? 0 : cfg_.prune.rewind_step) + within * steps_per_epoch_;
    order_ = shuffled_indices(data_.train.n, cfg_.seed, epoch - 1);
    loss_sum_ = reg_sum_ = step_ms_ = 0.0;
    seen_ = 0;
  }

  StepResult step(int epoch, int64_t s, TrainLoop& loop) override {
    const auto& tr = data_.train;
    const int64_t step = loop.step();
    const int64_t first = s * batch_, n = std::min(batch_, tr.n - first);
    const auto t0 = Clock::now();
    DenseView x = x_.rows_view(0, n);
    last_n_ = n;
    upload_batch(b_, tr, order_.data() + first, n, xh_, yh_, x, labels_.data());
    ConstDenseView logits = model_.forward(x);
    DenseView dl = dlogits_.rows_view(0, n);
    b_.softmax_xent(logits, labels_.data(), loss_.data(), dl);
    float loss = 0.0f;
    b_.download(&loss, loss_.data(), sizeof(float));
    if (!std::isfinite(loss)) return {loss, 0.0, n, last_lr_};
    RegLosses reg;
    model_.zero_grad();
    model_.backward(x, dl, [&](int l, ConstDenseView y, DenseView dy) {
      if (!idr_.empty()) reg += idr_[size_t(l)].apply(y, dy);
      if (!spatial_.empty()) reg += spatial_[size_t(l)].apply(y, dy);
    });
    const int64_t lr_step = lr_step0_ + s;
    last_lr_ = lr_at(cfg_.optim, cfg_.lr, lr_step, phase_steps_);
    model_.step(cfg_.optim, last_lr_, step);
    b_.synchronize();
    const double ms = 1e3 * seconds_since(t0);
    step_ms_ += ms;
    const bool any_csr = cfg_.handoff.format == SparseFormat::Csr ||
                         std::any_of(handoff_.begin(), handoff_.end(), [](int64_t h) { return h >= 0; });
    (any_csr ? csr_ms_ : dense_ms_) += ms;
    ++(any_csr ? csr_steps_ : dense_steps_);
    // Pruning keys on the step within the phase, so every IMP round sees the same schedule.
    if (pruner_->on_step(phase_ == 0 ? lr_step + 1 : 0, layers_)) after_structure_change(loop, epoch);
    loss_sum_ += double(loss) * n;
    reg_sum_ += reg.total() * n;
    seen_ += n;
    return {loss, 0.0, n, last_lr_};
  }

  nlohmann::json evaluate(int epoch, TrainLoop& loop) override {
    const double epoch_loss = loss_sum_ / double(seen_), epoch_reg = reg_sum_ / double(seen_);
    const double epoch_step_ms = step_ms_ / double(steps_per_epoch_);
    const double samples_per_s = step_ms_ > 0 ? double(seen_) / (step_ms_ / 1e3) : 0.0;
    MergeStats ms;
    if (cfg_.merge) ms = merge_cycle(loop, epoch);
    const EvalResult ev = neuroai::evaluate(model_, data_.test, cfg_.eval_batch, cfg_.metric_samples);
    final_eval_ = ev;
    have_eval_ = true;
    nlohmann::json j = {
        {"epoch", epoch},
        {"step", loop.step()},
        {"round", phase_},
        {"train_loss", epoch_loss},
        {"train_reg_loss", epoch_reg},
        {"test_loss", ev.loss},
        {"test_acc", ev.acc},
        {"samples_per_s", samples_per_s},
        {"step_time_ms", epoch_step_ms},
        {"lr", last_lr_},
        {"sparsity", Pruner::sparsity_of(layers_)},
        {"activation_sparsity", ev.activation_sparsity},
        {"participation_ratio", ev.participation_ratio},
        {"n90", ev.n90},
        {"effective_rank", ev.effective_rank},
        {"twonn_id", ev.twonn_id},
        {"between_class_share", ev.between_class_share},
        {"pr_between_class", ev.pr_between_class},
        {"pr_within_class", ev.pr_within_class},
        {"neighbour_corr", ev.neighbour_corr},
        {"spatial_corr", ev.spatial_corr},
        {"spatial_corr_global", ev.spatial_corr_global},
        {"hoyer", ev.hoyer},
        {"treves_rolls", ev.treves_rolls},
        {"effective_usage", ev.effective_usage},
        {"metric_samples", std::min(cfg_.metric_samples, data_.test.n)},
        {"layers", layers_json(layer_infos(model_))},
    };
    if (cfg_.merge) j["merged_units"] = {{"merged", ms.merged}, {"dead", ms.dead}, {"probe_loss_delta", merge_dloss_}};
    summary_ = fmt::format("epoch {:>3}  step {:>7}  train_loss {:.4f}  test_loss {:.4f}  test_acc {:.4f}  "
                           "sparsity {:.3f}  {:.1f} ms/step",
                           epoch, loop.step(), epoch_loss, ev.loss, ev.acc, Pruner::sparsity_of(layers_), epoch_step_ms);
    return j;
  }

  std::string summary() const override { return summary_; }

  void finish(TrainLoop&) override {
    // Resumed after the last epoch: the same (deterministic) evaluation as the one that ended it.
    if (!have_eval_) final_eval_ = neuroai::evaluate(model_, data_.test, cfg_.eval_batch, cfg_.metric_samples);
  }

  std::string diagnose_non_finite() override { return neuroai::diagnose_non_finite(model_, x_.rows_view(0, last_n_)); }

  void write_checkpoint(const std::string& path, int epoch, int64_t step, const nlohmann::json& metrics) override {
    std::map<std::string, std::string> meta = {{"epoch", std::to_string(epoch)}, {"step", std::to_string(step)}};
    if (!metrics.is_null()) {
      meta["test_acc"] = fmt::format("{:.6f}", final_eval_.acc);
      meta["test_loss"] = fmt::format("{:.6f}", final_eval_.loss);
      meta["test_samples"] = std::to_string(final_eval_.n);
    }
    model_.save(path, meta);
  }

  // state.safetensors: every layer in its current form with optimizer moments, the pruner's rounds and
  // rewind snapshot, the spatial loss samplers and the step-time counters.
  void save_state(SafetensorsFile& f) override {
    for (int i = 0; i < model_.num_layers(); ++i) save_layer_state(f, fmt::format("layers.{}.", i), model_.layer(i));
    pruner_->save_state(f, "pruner.");
    for (size_t l = 0; l < spatial_.size(); ++l)
      f.metadata[fmt::format("spatial.{}.rng", l)] = rng_state(spatial_[l].rng());
    f.metadata["handoff"] = nlohmann::json(handoff_).dump();
    f.metadata["timing"] = nlohmann::json({dense_ms_, csr_ms_, double(dense_steps_), double(csr_steps_)}).dump();
  }

  void load_state(const TrainState& st) override {
    const SafetensorsFile& f = st.file();
    const std::string& path = st.path();
    std::vector<SparseLinear> layers;
    for (int i = 0; i < model_.num_layers(); ++i) {
      layers.push_back(load_layer_state(b_, f, fmt::format("layers.{}.", i), model_.layer(i).name()));
      NEUROAI_CHECK(layers.back().in() == model_.layer(i).in() && layers.back().out() == model_.layer(i).out(),
                    "{}: layer {} is {}x{}, the model's {}x{}", path, i, layers.back().out(), layers.back().in(),
                    model_.layer(i).out(), model_.layer(i).in());
    }
    const auto handoff = st.meta_json("handoff");
    const auto timing = st.meta_json("timing");
    NEUROAI_CHECK(handoff.is_array() && handoff.size() == handoff_.size() && timing.is_array() && timing.size() == 4,
                  "{}: metadata 'handoff' / 'timing' are malformed", path);
    std::vector<std::mt19937_64> rngs(spatial_.size());
    for (size_t l = 0; l < spatial_.size(); ++l) {
      const std::string k = fmt::format("spatial.{}.rng", l);
      set_rng_state(rngs[l], st.meta(k), k);
    }
    for (int i = 0; i < model_.num_layers(); ++i) {
      model_.layer(i) = std::move(layers[size_t(i)]);
      model_.layer(i).set_handoff(cfg_.handoff);
    }
    pruner_->load_state(f, "pruner.", layers_);  // layers_ point at the model's (now restored) layers
    for (size_t l = 0; l < spatial_.size(); ++l) spatial_[l].rng() = rngs[l];
    handoff_ = handoff.get<std::vector<int64_t>>();
    dense_ms_ = timing[0];
    csr_ms_ = timing[1];
    dense_steps_ = int64_t(timing[2].get<double>());
    csr_steps_ = int64_t(timing[3].get<double>());
  }

  TrainResult result(const LoopResult& lr) const {
    TrainResult res;
    res.final_eval = final_eval_;
    res.epochs_done = lr.epochs_done;
    res.steps = lr.steps;
    res.layers = layer_infos(model_);
    for (size_t i = 0; i < res.layers.size(); ++i) res.layers[i].handoff_step = handoff_[i];
    res.step_ms_dense = dense_steps_ ? dense_ms_ / double(dense_steps_) : 0.0;
    res.step_ms_csr = csr_steps_ ? csr_ms_ / double(csr_steps_) : 0.0;
    res.train_seconds = lr.train_seconds;
    res.checkpoint = lr.checkpoint;
    return res;
  }

private:
  // After masks changed (in `epoch`; the layers handed themselves over to CSR by their policy): the
  // hand-off bookkeeping and the structure event.
  void after_structure_change(TrainLoop& loop, int epoch) {
    const int64_t step = loop.step();
    for (int i = 0; i < model_.num_layers(); ++i)
      if (model_.layer(i).format() == WeightFormat::Csr && handoff_[size_t(i)] < 0 &&
          cfg_.handoff.format != SparseFormat::Csr)
        handoff_[size_t(i)] = step;
    // Step times after the latest hand-off only.
    if (std::any_of(handoff_.begin(), handoff_.end(), [&](int64_t h) { return h == step; })) {
      csr_ms_ = 0.0;
      csr_steps_ = 0;
    }
    log_structure(loop, "prune", epoch);
  }

  // steps.jsonl: each layer's density and format after a structure change (for `neuroai report`), with
  // the epoch it belongs to (a round's pruning: the epoch it starts).
  void log_structure(TrainLoop& loop, const char* event, int epoch) {
    loop.structure_event(event, epoch,
                         {{"sparsity", Pruner::sparsity_of(layers_)}, {"layers", layers_json(layer_infos(model_))}});
  }

  // SPEC §2.7 on every hidden sheet, layer by layer (activations recomputed after each), on the first
  // `probe` training samples.
  MergeStats merge_cycle(TrainLoop& loop, int epoch) {
    const auto& tr = data_.train;
    const int64_t p = std::min(cfg_.merge_cfg.probe, tr.n);
    MergeStats total;
    const double before = probe_loss(p);
    for (int l = 0; l < model_.num_hidden(); ++l) {
      const int64_t units = model_.config().hidden[size_t(l)];
      std::vector<float> acts(static_cast<size_t>(p * units));
      for (int64_t s = 0; s < p; s += batch_) {
        const int64_t n = std::min(batch_, p - s);
        std::vector<int64_t> idx(static_cast<size_t>(n));
        for (int64_t r = 0; r < n; ++r) idx[size_t(r)] = s + r;
        upload_batch(b_, tr, idx.data(), n, xh_, yh_, x_.rows_view(0, n), labels_.data());
        model_.forward(x_.rows_view(0, n));
        b_.download(acts.data() + s * units, model_.hidden_output(l).data, size_t(n * units) * sizeof(float));
      }
      const MergeStats ms = merge_neurons(model_.layer(l), model_.layer(l + 1), model_.sheet(l), acts, p, cfg_.merge_cfg);
      total.alive_before += ms.alive_before;
      total.merged += ms.merged;
      total.dead += ms.dead;
    }
    after_structure_change(loop, epoch);
    merge_dloss_ = probe_loss(p) - before;
    loop.message(fmt::format("merge: {} units merged, {} dead removed; probe loss change {:+.5f}", total.merged,
                             total.dead, merge_dloss_));
    return total;
  }

  double probe_loss(int64_t p) {
    double sum = 0.0;
    for (int64_t s = 0; s < p; s += batch_) {
      const int64_t n = std::min(batch_, p - s);
      std::vector<int64_t> idx(static_cast<size_t>(n));
      for (int64_t r = 0; r < n; ++r) idx[size_t(r)] = s + r;
      upload_batch(b_, data_.train, idx.data(), n, xh_, yh_, x_.rows_view(0, n), labels_.data());
      ConstDenseView logits = model_.forward(x_.rows_view(0, n));
      b_.softmax_xent(logits, labels_.data(), loss_.data(), DenseView{nullptr, n, model_.config().classes});
      float l = 0.0f;
      b_.download(&l, loss_.data(), sizeof(float));
      sum += double(l) * n;
    }
    return sum / double(p);
  }

  Backend& b_;
  const TrainConfig& cfg_;
  const DataSplit& data_;
  Mlp model_;
  std::unique_ptr<Pruner> pruner_;
  std::vector<PrunableLayer> layers_;
  std::vector<IdrRegularizer> idr_;
  std::vector<SpatialRegularizer> spatial_;
  int64_t batch_ = 0, steps_per_epoch_ = 0, phase_steps_ = 0;
  int phases_ = 1;
  Tensor x_, dlogits_;
  Buffer<int32_t> labels_;
  Buffer<float> loss_;
  std::vector<float> xh_;
  std::vector<int32_t> yh_;
  // The epoch in progress.
  int phase_ = 0;
  int64_t lr_step0_ = 0, last_n_ = 0, seen_ = 0;
  std::vector<int64_t> order_;
  double loss_sum_ = 0.0, reg_sum_ = 0.0, step_ms_ = 0.0;
  float last_lr_ = 0.0f;
  double merge_dloss_ = 0.0;
  EvalResult final_eval_;
  bool have_eval_ = false;
  std::string summary_;
  // Hand-off bookkeeping and step times (kept in the state).
  std::vector<int64_t> handoff_;
  double dense_ms_ = 0.0, csr_ms_ = 0.0;
  int64_t dense_steps_ = 0, csr_steps_ = 0;
};

}  // namespace

TrainResult train_mlp(Backend& b, const MlpConfig& model_cfg, const TrainConfig& cfg, const DataSplit& data) {
  cfg.validate();
  MlpFamily fam(b, model_cfg, cfg, data);
  TrainLoop loop(fam, run_spec_of(cfg, fam.epochs(), 1, b.description()));
  return fam.result(loop.run());
}

}  // namespace neuroai
