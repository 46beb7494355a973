#include "models/rnn_trainer.h"

#include <chrono>
#include <cmath>
#include <complex>
#include <filesystem>
#include <algorithm>

#include <fmt/format.h>

#include "engine/dataset.h"
#include "engine/metrics.h"
#include "engine/run_log.h"
#include "engine/pruner.h"
#include "engine/schedule.h"
#include "kernels/error.h"
#include "engine/train_loop.h"
#include "engine/train_state.h"

namespace neuroai {

PruneScore parse_prune_score(const std::string& s) {
  if (s == "relevance") return PruneScore::Relevance;
  if (s == "magnitude") return PruneScore::Magnitude;
  NEUROAI_FAIL("unknown prune score '{}' (expected relevance or magnitude)", s);
}

const char* prune_score_name(PruneScore s) { return s == PruneScore::Relevance ? "relevance" : "magnitude"; }

SeqTask make_seq_task(const SeqTaskConfig& c, std::optional<std::pair<float, float>> standardization) {
  const SeqTaskKind kind = parse_seq_task(c.task);
  NEUROAI_CHECK(c.seq_len >= 0, "{}: sequence length is {} (expected >= 1)", c.task, c.seq_len);
  NEUROAI_CHECK(c.train_limit >= 0 && c.test_limit >= 0, "{}: train/test limits must be >= 0, got {} / {}", c.task,
                c.train_limit, c.test_limit);
  switch (kind) {
    case SeqTaskKind::SeqFashion: {
      NEUROAI_CHECK(c.seq_len == 0 || c.seq_len == 28,
                    "seq-fashion: sequence length {} does not fit 28x28 images read row by row (expected 28)",
                    c.seq_len);
      DataSplit d = load_dataset(c.data_dir.empty() ? kDefaultFashionMnistDir : c.data_dir);
      truncate(d, c.train_limit, c.test_limit);
      std::pair<float, float> ms;
      if (standardization) {
        ms = *standardization;
        apply_standardization(d.train, ms.first, ms.second);
        apply_standardization(d.test, ms.first, ms.second);
      } else {
        ms = standardize(d);
      }
      SeqTask t = make_seq_fashion(d);
      t.standardized = true;
      t.input_mean = ms.first;
      t.input_std = ms.second;
      return t;
    }
    case SeqTaskKind::Adding:
      return make_adding(c.seq_len ? c.seq_len : 100, c.train_limit ? c.train_limit : 10000,
                         c.test_limit ? c.test_limit : 2000, c.seed);
    case SeqTaskKind::Sines:
      return make_sines(c.seq_len ? c.seq_len : 64, c.train_limit ? c.train_limit : 10000,
                        c.test_limit ? c.test_limit : 2000, c.seed);
  }
  NEUROAI_FAIL("unreachable task kind");
}

nlohmann::json seq_preprocessing_json(const SeqTask& task) {
  nlohmann::json j;
  switch (task.kind) {
    case SeqTaskKind::SeqFashion:
      j["input"] = "28x28 images as 28 steps of 28 pixels, step t = image row t, pixel values 0..255";
      break;
    case SeqTaskKind::Adding:
      j["input"] = "adding problem: (value, marker) per step, generated from the task seed";
      break;
    case SeqTaskKind::Sines:
      j["input"] = "sum of sines, one value per step, generated from the task seed";
      break;
  }
  j["standardize"] = task.standardized ? nlohmann::json{{"mean", task.input_mean}, {"std", task.input_std}}
                                       : nlohmann::json(nullptr);
  return j;
}

void RnnTrainConfig::validate() const {
  NEUROAI_CHECK(epochs >= 1, "train rnn: epochs is {} (expected >= 1)", epochs);
  NEUROAI_CHECK(batch >= 1, "train rnn: batch is {} (expected >= 1)", batch);
  NEUROAI_CHECK(optim.lr > 0.0f, "train rnn: learning rate is {} (expected > 0)", optim.lr);
  NEUROAI_CHECK(clip >= 0.0f, "train rnn: clip is {} (expected >= 0; 0 = off)", clip);
  NEUROAI_CHECK(sparsity >= 0.0 && sparsity < 1.0, "train rnn: sparsity is {} (expected 0 <= s < 1)", sparsity);
  NEUROAI_CHECK(prune_start >= 0.0 && prune_start <= prune_end && prune_end <= 1.0,
                "train rnn: prune window [{}, {}] (expected 0 <= start <= end <= 1)", prune_start, prune_end);
  NEUROAI_CHECK(prune_every >= 1, "train rnn: prune_every is {} (expected >= 1)", prune_every);
  NEUROAI_CHECK(relevance_beta >= 0.0f && relevance_beta < 1.0f, "train rnn: relevance beta {} (expected [0, 1))",
                relevance_beta);
  handoff.validate();
  NEUROAI_CHECK(eval_batch >= 1, "train rnn: eval batch is {} (expected >= 1)", eval_batch);
  NEUROAI_CHECK(!out_dir.empty(), "train rnn: the run directory is empty");
}

nlohmann::json RnnEval::to_json() const {
  nlohmann::json j = {{"test_loss", loss},
                      {"hidden_pr", participation_ratio},
                      {"hidden_activation_sparsity", activation_sparsity},
                      {"within_group_cos", within_group_cos},
                      {"between_group_cos", between_group_cos},
                      {"phase_agreement", phase_agreement},
                      {"vector_strength", vector_strength},
                      {"hh_r_in", hh_r_in},
                      {"hh_r_out", hh_r_out}};
  if (acc >= 0) j["test_acc"] = acc;
  if (mse >= 0) j["test_mse"] = mse;
  return j;
}

namespace {

// Uploaded minibatch and loss buffers for one batch size.
struct Batch {
  int64_t b = 0;
  Tensor x;                 // (T * B, inputs)
  Buffer<int32_t> labels;   // (B)
  Buffer<int32_t> pred;     // (B)
  Tensor targets;           // like the model output
  Tensor dout;              // like the model output
  Buffer<float> loss;       // (1)
  std::vector<float> hx, ht;
  std::vector<int32_t> hl;

  Batch(Backend& be, const SeqTask& task, int64_t B)
      : b(B), x(be, task.steps * B, task.inputs), labels(be, B), pred(be, B),
        targets(be, task.readout == SeqReadout::RegressEach ? task.steps * B : B, task.outputs),
        dout(be, targets.rows(), targets.cols()), loss(be, 1) {}

  void load(const SeqTask& task, const SeqSet& s, std::span<const int64_t> idx) {
    gather_time_major(task, s, idx, hx, hl, ht);
    x.upload(hx);
    if (!hl.empty()) labels.upload(hl);
    if (!ht.empty()) targets.upload(ht);
  }
};

// Mean loss of the batch; dout receives d(loss)/d(out). Cross-entropy for classification, MSE (mean
// over every output entry) for regression.
double batch_loss(Backend& be, const SeqTask& task, ConstDenseView out, Batch& bt) {
  if (task.readout == SeqReadout::ClassifyLast) {
    be.softmax_xent(out, bt.labels.data(), bt.loss.data(), bt.dout.view());
    return double(bt.loss.to_host()[0]);
  }
  const int64_t n = out.size();
  be.copy(bt.dout.data(), out.data, size_t(n) * sizeof(float));
  be.axpy(n, -1.0f, bt.targets.data(), bt.dout.data());
  be.reduce(Reduction::SumSquares, bt.dout.data(), n, bt.loss.data());
  be.scale(n, 2.0f / float(n), bt.dout.data());
  return double(bt.loss.to_host()[0]) / double(n);
}

std::vector<int64_t> iota(int64_t a, int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = a + i;
  return v;
}

// SPEC §10 temporal metrics from the hidden states hs (T * P, H), time-major, of P probe sequences.
void temporal_metrics(const RnnModel& m, const std::vector<float>& hs, int64_t T, int64_t P, RnnEval& e) {
  const int64_t H = m.hidden(), n = T * P;
  e.participation_ratio = participation_ratio(hs.data(), n, H);
  e.activation_sparsity = activation_sparsity(hs.data(), n, H);
  // Cosine of the units' activity traces over (b, t) samples, within vs between phase groups.
  std::vector<double> gram(size_t(H * H), 0.0);
  for (int64_t r = 0; r < n; ++r) {
    const float* row = &hs[size_t(r * H)];
    for (int64_t i = 0; i < H; ++i) {
      const double hi = row[i];
      if (hi == 0.0) continue;
      double* g = &gram[size_t(i * H)];
      for (int64_t j = i; j < H; ++j) g[j] += hi * row[j];
    }
  }
  double win = 0, btw = 0;
  int64_t nwin = 0, nbtw = 0;
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = i + 1; j < H; ++j) {
      const double c = gram[size_t(i * H + j)] / (std::sqrt(gram[size_t(i * H + i)] * gram[size_t(j * H + j)]) + 1e-8);
      if (m.group_of(i) == m.group_of(j)) {
        win += c;
        ++nwin;
      } else {
        btw += c;
        ++nbtw;
      }
    }
  e.within_group_cos = nwin ? win / double(nwin) : 0.0;
  e.between_group_cos = nbtw ? btw / double(nbtw) : 0.0;
  // z_i = sum_{b,t} h+_i(t) exp(-i omega t); vector strength |z_i| / sum h+; phase agreement
  // cos(arg z_i - phi_g(i)), means over units with any positive activity.
  const double omega = 2.0 * M_PI / m.config().period;
  double vs = 0, pa = 0;
  int64_t active = 0;
  for (int64_t i = 0; i < H; ++i) {
    std::complex<double> z = 0;
    double mass = 0;
    for (int64_t t = 0; t < T; ++t) {
      const std::complex<double> w = std::polar(1.0, -omega * double(t));
      for (int64_t b = 0; b < P; ++b) {
        const double h = std::max(0.0f, hs[size_t((t * P + b) * H + i)]);
        z += h * w;
        mass += h;
      }
    }
    if (mass <= 1e-12) continue;
    ++active;
    vs += std::abs(z) / mass;
    pa += std::cos(std::arg(z) - m.group_phase(m.group_of(i)));
  }
  e.vector_strength = active ? vs / double(active) : 0.0;
  e.phase_agreement = active ? pa / double(active) : 0.0;
  // Recurrent synapses kept within vs between phase groups (groups as communities).
  const auto mask = m.hh().mask_dense_host();  // (gates H, H)
  int64_t in_tot = 0, in_kept = 0, out_tot = 0, out_kept = 0;
  for (int64_t r = 0; r < m.hh().out(); ++r)
    for (int64_t c = 0; c < H; ++c) {
      const bool same = m.group_of(r % H) == m.group_of(c);
      const bool kept = mask[size_t(r * H + c)] != 0;
      (same ? in_tot : out_tot) += 1;
      (same ? in_kept : out_kept) += kept;
    }
  e.hh_r_in = in_tot ? double(in_kept) / double(in_tot) : 0.0;
  e.hh_r_out = out_tot ? double(out_kept) / double(out_tot) : 0.0;
}

nlohmann::json layer_json(const SparseLinear& l) {
  return {{"name", l.name()}, {"out", l.out()}, {"in", l.in()}, {"nnz", l.nnz()}, {"density", l.density()},
          {"format", format_name(l.format())}};
}

// The temporal relevance score of SPEC §6.4, S_ij = |W_ij| sqrt(r_j), in the layer's storage order.
Buffer<float> relevance_scores(const SparseLinear& l, const std::vector<float>& rel) {
  const int64_t out = l.out(), in = l.in();
  const bool csr = l.format() == WeightFormat::Csr;
  const auto mask = l.mask_dense_host();  // (out, in)
  const auto w = l.weight_dense_host();
  std::vector<float> sc;
  sc.reserve(size_t(csr ? l.nnz() : out * in));
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j) {
      const size_t k = size_t(i * in + j);
      if (csr && !mask[k]) continue;
      sc.push_back(std::fabs(w[k]) * std::sqrt(std::max(0.0f, rel[size_t(j)])));
    }
  return Buffer<float>(l.backend(), sc);
}

// The options a resumed run must share with the run that saved the state.
nlohmann::json train_config_json(const RnnTrainConfig& c, const SeqTask& task) {
  nlohmann::json j = {{"epochs", c.epochs},
                      {"batch", c.batch},
                      {"seed", c.seed},
                      {"optim", optim_json(c.optim, c.lr)},
                      {"clip", c.clip},
                      {"sparsity", c.sparsity},
                      {"score", prune_score_name(c.score)},
                      {"prune_start", c.prune_start},
                      {"prune_end", c.prune_end},
                      {"prune_every", c.prune_every},
                      {"per_gate_block", c.per_gate_block},
                      {"relevance_beta", c.relevance_beta},
                      {"switch_density", c.handoff.switch_density},
                      {"never_csr", c.handoff.format == SparseFormat::Dense},
                      {"idr", {c.idr.l1, c.idr.entropy, c.idr.pr}},
                      {"merge", {c.merge, c.merge_threshold, c.merge_max_fraction, c.merge_probe}},
                      {"eval_batch", c.eval_batch},
                      {"metric_sequences", c.metric_sequences},
                      {"extra_metadata", c.extra_metadata},
                      {"task", task.describe()}};
  // Only when used, so that states written before the csr format existed still resume.
  if (c.handoff.format == SparseFormat::Csr) j["sparse_format"] = "csr";
  return j;
}

}  // namespace

namespace {

// W_ih and W_hh as the Pruner's groups: per gate block or whole, ranked by relevance or |W|.
std::vector<PrunableLayer> rnn_prune_groups(RnnModel& model, PruneScore score, bool per_gate_block) {
  const int64_t blocks = per_gate_block ? model.config().gates() : 1;
  std::vector<PrunableLayer> groups;
  for (SparseLinear* l : {&model.ih(), &model.hh()}) {
    PrunableLayer g{.layer = l, .row_blocks = blocks};
    if (score == PruneScore::Relevance) {
      const bool ih = l == &model.ih();
      g.score = [&model, l, ih] { return relevance_scores(*l, ih ? model.relevance_ih_host() : model.relevance_hh_host()); };
    }
    groups.push_back(std::move(g));
  }
  return groups;
}

PruneConfig rnn_prune_config(const RnnTrainConfig& c) {
  PruneConfig p;
  p.method = c.sparsity > 0.0 ? PruneMethod::Gradual : PruneMethod::None;
  p.sparsity = c.sparsity;
  p.start = c.prune_start;
  p.end = c.prune_end;
  p.every = c.prune_every;
  p.allocation = PruneAllocation::RowBlock;
  return p;
}

}  // namespace

void prune_rnn(RnnModel& model, double sparsity, PruneScore score, bool per_gate_block) {
  PruneConfig pc;
  pc.method = PruneMethod::None;
  pc.allocation = PruneAllocation::RowBlock;
  auto groups = rnn_prune_groups(model, score, per_gate_block);
  Pruner(pc, 0).prune_to(sparsity, groups);
}

std::vector<uint8_t> rnn_alive_units(const RnnModel& model) {
  const int64_t H = model.hidden(), O = model.head().out();
  const auto mask = model.head().mask_dense_host();  // (O, H)
  std::vector<uint8_t> alive(static_cast<size_t>(H), 0);
  for (int64_t o = 0; o < O; ++o)
    for (int64_t j = 0; j < H; ++j) alive[size_t(j)] |= mask[size_t(o * H + j)];
  return alive;
}

RnnMergeStats merge_rnn_units(RnnModel& model, const std::vector<float>& acts, int64_t n, float tau,
                              float max_fraction) {
  const int64_t H = model.hidden(), G = model.config().gates();
  NEUROAI_CHECK(int64_t(acts.size()) == n * H, "merge_rnn_units: {} activations for {} samples x {} units",
                acts.size(), n, H);
  auto alive = rnn_alive_units(model);
  RnnMergeStats st;
  for (uint8_t a : alive) st.alive_before += a;
  const int64_t cap = int64_t(std::floor(double(max_fraction) * double(st.alive_before)));
  std::vector<double> gram(size_t(H * H), 0.0);
  for (int64_t r = 0; r < n; ++r) {
    const float* row = &acts[size_t(r * H)];
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = i; j < H; ++j) gram[size_t(i * H + j)] += double(row[i]) * row[j];
  }
  auto norm = [&](int64_t i) { return std::sqrt(gram[size_t(i * H + i)]); };
  std::vector<int64_t> removed_list;
  std::vector<std::pair<int64_t, int64_t>> merges;  // (kept i, removed j)
  for (int64_t j = 0; j < H && int64_t(removed_list.size()) < cap; ++j)
    if (alive[size_t(j)] && norm(j) < 1e-6) {
      alive[size_t(j)] = 0;
      removed_list.push_back(j);
      ++st.dead;
    }
  struct Pair {
    double c;
    int64_t i, j;
  };
  std::vector<Pair> pairs;
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = i + 1; j < H; ++j)
      if (alive[size_t(i)] && alive[size_t(j)] && model.group_of(i) == model.group_of(j)) {
        const double c = gram[size_t(i * H + j)] / (norm(i) * norm(j) + 1e-8);
        if (c >= tau) pairs.push_back({c, i, j});
      }
  std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) {
    return a.c != b.c ? a.c > b.c : (a.i != b.i ? a.i < b.i : a.j < b.j);
  });
  for (const Pair& p : pairs) {
    if (int64_t(removed_list.size()) >= cap) break;
    if (!alive[size_t(p.i)] || !alive[size_t(p.j)]) continue;
    const bool j_weaker = norm(p.j) <= norm(p.i);
    const int64_t keep = j_weaker ? p.i : p.j, drop = j_weaker ? p.j : p.i;
    alive[size_t(drop)] = 0;
    removed_list.push_back(drop);
    merges.push_back({keep, drop});
    ++st.merged;
  }
  if (removed_list.empty()) return st;
  // Outgoing weights of a unit: its column in W_hh (every gate block) and in the readout.
  for (SparseLinear* v : {&model.hh(), &model.head()}) {
    auto w = v->weight_dense_host();
    const auto mask = v->mask_dense_host();
    for (auto [i, j] : merges) {
      const float s = float(norm(j) / (norm(i) + 1e-12));
      for (int64_t r = 0; r < v->out(); ++r)
        if (mask[size_t(r * H + i)]) w[size_t(r * H + i)] += s * w[size_t(r * H + j)];
    }
    v->set_weight_values_host(w);
  }
  for (int64_t j : removed_list) {
    for (int64_t g = 0; g < G; ++g) {
      model.ih().remove_output_unit(g * H + j);
      model.hh().remove_output_unit(g * H + j);
    }
    model.hh().remove_input_unit(j);
    model.head().remove_input_unit(j);
  }
  return st;
}

RnnEval evaluate_rnn(RnnModel& model, const SeqTask& task, const SeqSet& set, int64_t eval_batch,
                     int64_t metric_sequences) {
  Backend& be = model.backend();
  RnnEval e;
  e.n = set.n;
  const int64_t T = task.steps;
  double loss_sum = 0, correct = 0;
  std::unique_ptr<Batch> bt;
  for (int64_t s = 0; s < set.n; s += eval_batch) {
    const int64_t B = std::min(eval_batch, set.n - s);
    if (!bt || bt->b != B) bt = std::make_unique<Batch>(be, task, B);
    const auto idx = iota(s, B);
    bt->load(task, set, idx);
    ConstDenseView out = model.forward(bt->x.view(), T, B);
    const double l = batch_loss(be, task, out, *bt);
    loss_sum += l * double(B);
    if (task.readout == SeqReadout::ClassifyLast) {
      be.argmax_rows(out, bt->pred.data());
      const auto p = bt->pred.to_host();
      for (int64_t b = 0; b < B; ++b) correct += p[size_t(b)] == bt->hl[size_t(b)];
    }
  }
  e.loss = set.n ? loss_sum / double(set.n) : 0.0;
  if (task.readout == SeqReadout::ClassifyLast)
    e.acc = set.n ? correct / double(set.n) : 0.0;
  else
    e.mse = e.loss;
  const int64_t P = std::min(metric_sequences, set.n);
  if (P >= 1) {
    Batch probe(be, task, P);
    probe.load(task, set, iota(0, P));
    model.forward(probe.x.view(), T, P);
    std::vector<float> hs(size_t(T * P * model.hidden()));
    be.download(hs.data(), model.hidden_states().data, hs.size() * sizeof(float));
    temporal_metrics(model, hs, T, P, e);
  }
  return e;
}

namespace {

// The recurrent families' side of the shared training loop: BPTT steps with clipping, relevance traces,
// gradual pruning per gate block, the hand-off, merging and the temporal evaluation.
class RnnFamily final : public TrainFamily {
public:
  RnnFamily(Backend& be, const RnnConfig& model_cfg, const RnnTrainConfig& cfg, const SeqTask& task)
      : be_(be), cfg_(cfg), task_(task), model_(be, model_cfg), T_(task.steps), B_(std::min(cfg.batch, task.train.n)),
        per_epoch_(task.train.n / B_), total_(per_epoch_ * cfg.epochs),
        pruner_(rnn_prune_config(cfg), total_), groups_(rnn_prune_groups(model_, cfg.score, cfg.per_gate_block)),
        pruning_(cfg.sparsity > 0.0), bt_(be, task, B_) {
    set_handoff();
    if (cfg.idr.any()) idr_ = std::make_unique<IdrRegularizer>(be, cfg.idr, T_ * B_, model_.hidden());
    extra_ = cfg.extra_metadata;
    extra_["task"] = seq_task_name(task.kind);
    extra_["seq_len"] = std::to_string(T_);
  }

  // ---- TrainFamily ----
  int64_t steps_per_epoch() const override { return per_epoch_; }
  std::string state_format() const override { return "neuroai-rnn-state"; }
  std::vector<std::pair<std::string, std::string>> state_config() const override {
    return {{"config", model_.config().to_json().dump()}, {"train_config", train_config_json(cfg_, task_).dump()}};
  }

  void start(TrainLoop& loop) override {
    const std::string note = pruning_ ? pruner_.schedule().shortened_note(cfg_.prune_every, "--prune-every", "step") : "";
    if (!note.empty()) loop.message(note);
  }

  void begin_epoch(int epoch, TrainLoop&) override {
    order_ = shuffled_indices(task_.train.n, cfg_.seed, epoch);
    loss_sum_ = 0.0;
    t_epoch_ = std::chrono::steady_clock::now();
  }

  StepResult step(int epoch, int64_t s, TrainLoop& loop) override {
    bt_.load(task_, task_.train, std::span<const int64_t>(order_.data() + s * B_, size_t(B_)));
    model_.zero_grad();
    ConstDenseView out = model_.forward(bt_.x.view(), T_, B_);
    double loss = batch_loss(be_, task_, out, bt_);
    if (idr_) loss += idr_->apply(model_.hidden_states(), model_.hidden_grad()).total();
    model_.backward(bt_.dout.view());
    const double gnorm = model_.clip_grad_norm(cfg_.clip);
    if (!std::isfinite(loss) || !std::isfinite(gnorm)) return {loss, gnorm, B_, 0.0};
    const int64_t step = loop.step();
    const float lr = lr_at(cfg_.optim, cfg_.lr, step - 1, total_);
    model_.step(cfg_.optim, lr, step);
    if (pruning_ && cfg_.score == PruneScore::Relevance) model_.update_relevance(cfg_.relevance_beta);
    if (pruner_.on_step(step, groups_))  // hands off by policy
      loop.structure_event("prune", epoch, {{"sparsity_target", pruner_.target_at(step)}, {"layers", layers_json()}});
    loss_sum_ += loss;
    return {loss, gnorm, B_, lr};
  }

  nlohmann::json evaluate(int epoch, TrainLoop& loop) override {
    const double epoch_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_epoch_).count();
    const int64_t step = loop.step();
    RnnMergeStats ms;
    if (cfg_.merge) {
      const int64_t P = std::min(cfg_.merge_probe, task_.train.n);
      Batch probe(be_, task_, P);
      probe.load(task_, task_.train, iota(0, P));
      model_.forward(probe.x.view(), T_, P);
      std::vector<float> hs(size_t(T_ * P * model_.hidden()));
      be_.download(hs.data(), model_.hidden_states().data, hs.size() * sizeof(float));
      ms = merge_rnn_units(model_, hs, T_ * P, cfg_.merge_threshold, cfg_.merge_max_fraction);
    }
    const RnnEval ev = evaluate_rnn(model_, task_, task_.test, cfg_.eval_batch, cfg_.metric_sequences);
    final_eval_ = ev;
    have_eval_ = true;
    nlohmann::json j = ev.to_json();
    j["epoch"] = epoch;
    j["step"] = step;
    j["train_loss"] = loss_sum_ / double(per_epoch_);
    j["lr"] = lr_at(cfg_.optim, cfg_.lr, step - 1, total_);
    j["sparsity_target"] = pruner_.target_at(step);
    j["samples_per_s"] = double(per_epoch_ * B_) / epoch_s;
    j["epoch_seconds"] = epoch_s;
    if (cfg_.merge) j["merge"] = {{"alive_before", ms.alive_before}, {"merged", ms.merged}, {"dead", ms.dead}};
    int64_t units = 0;
    for (uint8_t a : rnn_alive_units(model_)) units += a;
    j["alive_units"] = units;
    j["layers"] = layers_json();
    summary_ = fmt::format("epoch {}: train loss {:.4f}, test {} {:.4f}, W_hh density {:.3f} ({}), PR {:.1f}", epoch,
                           loss_sum_ / double(per_epoch_), ev.acc >= 0 ? "acc" : "mse", ev.acc >= 0 ? ev.acc : ev.mse,
                           model_.hh().density(), format_name(model_.hh().format()), ev.participation_ratio);
    return j;
  }

  std::string summary() const override { return summary_; }

  void finish(TrainLoop&) override {
    // Resumed after the last epoch: the same (deterministic) evaluation as the one that ended it.
    if (!have_eval_) final_eval_ = evaluate_rnn(model_, task_, task_.test, cfg_.eval_batch, cfg_.metric_sequences);
  }

  // The first of: a layer's weights, the hidden states, the output, in forward order.
  std::string diagnose_non_finite() override {
    auto finite = [](const std::vector<float>& v) {
      return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
    };
    for (const SparseLinear* l : {&model_.ih(), &model_.hh()})
      if (!finite(l->weight_dense_host()) || !finite(l->bias_host()))
        return fmt::format("layer '{}' (weights: the previous update diverged)", l->name());
    std::vector<float> hs(size_t(model_.hidden_states().size()));
    if (!hs.empty()) be_.download(hs.data(), model_.hidden_states().data, hs.size() * sizeof(float));
    if (!finite(hs)) return fmt::format("layer '{}' (hidden states through time)", model_.hh().name());
    if (!finite(model_.head().weight_dense_host()) || !finite(model_.head().bias_host()))
      return fmt::format("layer '{}' (weights: the previous update diverged)", model_.head().name());
    return fmt::format("layer '{}' (readout) or the loss; the gradient norm before clipping", model_.head().name());
  }

  void write_checkpoint(const std::string& path, int, int64_t, const nlohmann::json&) override {
    model_.save(path, extra_);
  }

  // state.safetensors: the three layers with their moments and masks, and the relevance traces.
  void save_state(SafetensorsFile& f) override {
    save_layer_state(f, "ih.", model_.ih());
    save_layer_state(f, "hh.", model_.hh());
    save_layer_state(f, "head.", model_.head());
    f.tensors["relevance.ih"] = st_from_f32(model_.relevance_ih_host(), {model_.config().inputs});
    f.tensors["relevance.hh"] = st_from_f32(model_.relevance_hh_host(), {model_.hidden()});
  }

  void load_state(const TrainState& st) override {
    const SafetensorsFile& f = st.file();
    std::vector<SparseLinear> layers;
    for (auto [prefix, l] :
         {std::pair{"ih.", &model_.ih()}, std::pair{"hh.", &model_.hh()}, std::pair{"head.", &model_.head()}}) {
      layers.push_back(load_layer_state(be_, f, prefix, l->name()));
      NEUROAI_CHECK(layers.back().out() == l->out() && layers.back().in() == l->in(),
                    "{}: layer '{}' is {}x{}, the model's {}x{}", st.path(), l->name(), layers.back().out(),
                    layers.back().in(), l->out(), l->in());
    }
    const auto r_ih = state_f32(f, "relevance.ih", model_.config().inputs);
    const auto r_hh = state_f32(f, "relevance.hh", model_.hidden());
    model_.ih() = std::move(layers[0]);
    model_.hh() = std::move(layers[1]);
    model_.head() = std::move(layers[2]);
    set_handoff();
    model_.set_relevance_host(r_ih, r_hh);
  }

  RnnTrainResult result(const LoopResult& lr) const {
    RnnTrainResult res;
    res.final_eval = final_eval_;
    res.epochs_done = lr.epochs_done;
    res.steps = lr.steps;
    res.train_seconds = lr.train_seconds;
    res.checkpoint = lr.checkpoint;
    return res;
  }

private:
  // The pruned matrices follow the run's policy; the readout, never pruned, stays dense.
  void set_handoff() {
    model_.ih().set_handoff(cfg_.handoff);
    model_.hh().set_handoff(cfg_.handoff);
    model_.head().set_handoff({SparseFormat::Dense});
  }

  nlohmann::json layers_json() const {
    return {layer_json(model_.ih()), layer_json(model_.hh()), layer_json(model_.head())};
  }

  Backend& be_;
  const RnnTrainConfig& cfg_;
  const SeqTask& task_;
  RnnModel model_;
  const int64_t T_, B_, per_epoch_, total_;
  Pruner pruner_;
  std::vector<PrunableLayer> groups_;  // W_ih and W_hh
  const bool pruning_;
  std::unique_ptr<IdrRegularizer> idr_;
  Batch bt_;
  std::map<std::string, std::string> extra_;
  // The epoch in progress.
  std::vector<int64_t> order_;
  double loss_sum_ = 0.0;
  std::chrono::steady_clock::time_point t_epoch_;
  RnnEval final_eval_;
  bool have_eval_ = false;
  std::string summary_;
};

}  // namespace

RnnTrainResult train_rnn(Backend& be, const RnnConfig& model_cfg, const RnnTrainConfig& cfg, const SeqTask& task) {
  cfg.validate();
  NEUROAI_CHECK(model_cfg.inputs == task.inputs && model_cfg.outputs == task.outputs &&
                    model_cfg.readout == task.readout,
                "train rnn: the model ({} inputs, {} outputs) does not fit the task {}", model_cfg.inputs,
                model_cfg.outputs, task.describe());
  NEUROAI_CHECK(task.train.n >= 1 && task.test.n >= 1, "train rnn: the task has no training or no test sequences");
  RnnFamily fam(be, model_cfg, cfg, task);
  TrainLoop loop(fam, run_spec_of(cfg, cfg.epochs, 1, be.description()));
  return fam.result(loop.run());
}

}  // namespace neuroai
