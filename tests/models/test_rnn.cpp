// The recurrent models (issue #4): BPTT gradients against finite differences, a hand-computed two-step
// GRU, pruning invariants, checkpoint round trips, bad input; plus the fixture files that
// tests/models/check_gru_torch.py compares against torch.nn.GRU.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "backend_fixture.h"
#include "engine/safetensors.h"
#include "engine/sequence_tasks.h"
#include "kernels/error.h"
#include "models/rnn.h"
#include "models/rnn_trainer.h"

namespace neuroai {
namespace {

using testing::all_close;
using testing::random_floats;

std::string tmp_dir(const std::string& name) {
  auto d = std::filesystem::path(NEUROAI_BINARY_DIR) / "test_rnn_tmp" / name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d.string();
}

RnnConfig small_config(CellKind cell, SeqReadout readout, float kappa) {
  RnnConfig c;
  c.cell = cell;
  c.inputs = 2;
  c.hidden = 4;
  c.outputs = readout == SeqReadout::ClassifyLast ? 3 : 1;
  c.readout = readout;
  c.groups = 2;
  c.period = 3.0f;
  c.kappa = kappa;
  c.alpha = 0.6f;
  if (cell == CellKind::Rnn) c.group_alphas = {0.5f, 0.9f};
  c.seed = 3;
  return c;
}

// Loss of the model on a fixed batch, and (optionally) its gradient w.r.t. the output.
struct LossFn {
  RnnModel* m;
  Tensor x;                   // (T * B, I)
  std::vector<float> target;  // regression targets (like the output)
  std::vector<int32_t> labels;
  int64_t T, B;

  double operator()(std::vector<float>* dout) {
    ConstDenseView out = m->forward(x.view(), T, B);
    std::vector<float> o(size_t(out.size()));
    m->backend().download(o.data(), out.data, o.size() * sizeof(float));
    double loss = 0;
    if (dout) dout->assign(o.size(), 0.0f);
    if (!labels.empty()) {  // cross-entropy, mean over the batch
      const int64_t C = out.cols;
      for (int64_t b = 0; b < B; ++b) {
        double mx = -1e30, s = 0;
        for (int64_t c = 0; c < C; ++c) mx = std::max(mx, double(o[b * C + c]));
        for (int64_t c = 0; c < C; ++c) s += std::exp(double(o[b * C + c]) - mx);
        loss += -(double(o[b * C + labels[b]]) - mx - std::log(s)) / double(B);
        if (dout)
          for (int64_t c = 0; c < C; ++c)
            (*dout)[b * C + c] = float((std::exp(double(o[b * C + c]) - mx) / s - (c == labels[b])) / double(B));
      }
    } else {  // MSE over every entry
      for (size_t k = 0; k < o.size(); ++k) {
        const double d = double(o[k]) - target[k];
        loss += d * d / double(o.size());
        if (dout) (*dout)[k] = float(2.0 * d / double(o.size()));
      }
    }
    return loss;
  }
};

LossFn make_loss(Backend& be, RnnModel& m, int64_t T, int64_t B, uint64_t seed) {
  const auto& c = m.config();
  LossFn f{&m, Tensor(be, T * B, c.inputs, random_floats(size_t(T * B * c.inputs), seed)), {}, {}, T, B};
  const int64_t rows = c.readout == SeqReadout::RegressEach ? T * B : B;
  if (c.readout == SeqReadout::ClassifyLast) {
    for (int64_t b = 0; b < B; ++b) f.labels.push_back(int32_t(b % c.outputs));
  } else {
    f.target = random_floats(size_t(rows * c.outputs), seed + 1);
  }
  return f;
}

// Every parameter's analytic gradient against central differences of the loss (float model, so eps
// is large and the tolerance loose; the step ops themselves are checked in double in test_rnn_step).
void check_bptt_gradients(Backend& be, const RnnConfig& cfg, bool csr) {
  RnnModel m(be, cfg);
  if (csr) {
    prune_rnn(m, 0.3, PruneScore::Magnitude, true);
    m.ih().to_csr();
    m.hh().to_csr();
  }
  const int64_t T = 4, B = 3;
  LossFn f = make_loss(be, m, T, B, 17);
  std::vector<float> dout;
  f(&dout);
  Tensor d(be, m.config().readout == SeqReadout::RegressEach ? T * B : B, m.config().outputs, dout);
  m.zero_grad();
  m.forward(f.x.view(), T, B);
  m.backward(d.view());
  Param* ps[] = {&m.ih().weight(), &m.ih().bias(), &m.hh().weight(), &m.hh().bias(), &m.head().weight(),
                 &m.head().bias()};
  const char* names[] = {"weight_ih", "bias_ih", "weight_hh", "bias_hh", "head.weight", "head.bias"};
  for (int p = 0; p < 6; ++p) {
    SCOPED_TRACE(names[p]);
    Param& par = *ps[p];
    std::vector<float> g(size_t(par.size()));
    be.download(g.data(), par.g(), g.size() * sizeof(float));
    auto w = par.w_host();
    std::vector<double> fd(w.size());
    const uint8_t* mask_dev = par.mask();
    std::vector<uint8_t> mask(w.size(), 1);
    if (mask_dev) be.download(mask.data(), mask_dev, mask.size());
    for (size_t k = 0; k < w.size(); ++k) {
      if (!mask[k]) continue;  // pruned: gradient must stay 0
      const float eps = 1e-2f, s = w[k];
      w[k] = s + eps;
      par.set_w_host(w);
      const double lp = f(nullptr);
      w[k] = s - eps;
      par.set_w_host(w);
      const double lm = f(nullptr);
      w[k] = s;
      par.set_w_host(w);
      fd[k] = (lp - lm) / (2.0 * eps);
    }
    ASSERT_TRUE(testing::any_nonzero(fd));
    EXPECT_TRUE(all_close(g, fd, 2e-4, 2e-2));
  }
}

class Rnn : public testing::BackendTest {};

TEST_P(Rnn, GruBpttMatchesFiniteDifferences) {
  check_bptt_gradients(be(), small_config(CellKind::Gru, SeqReadout::RegressEach, 0.0f), false);
}
TEST_P(Rnn, GruWithPhaseGateBpttMatchesFiniteDifferences) {
  check_bptt_gradients(be(), small_config(CellKind::Gru, SeqReadout::ClassifyLast, 0.5f), false);
}
TEST_P(Rnn, LeakyRnnBpttMatchesFiniteDifferences) {
  check_bptt_gradients(be(), small_config(CellKind::Rnn, SeqReadout::RegressLast, 0.5f), false);
}
TEST_P(Rnn, CsrGruBpttMatchesFiniteDifferences) {
  check_bptt_gradients(be(), small_config(CellKind::Gru, SeqReadout::RegressEach, 0.5f), true);
}

// Two steps of a 1-input, 1-unit GRU worked by hand:
//   step 1 (x = 1, h = 0): r = σ(0.6), z = σ(-0.1 - 0.2), n = tanh(0.7 + r 0.3), h1 = (1 - z) n = 0.40970096
//   step 2 (x = -1): r = σ(-0.4 + 0.4 h1), z = σ(0.5 + 0.6 h1 - 0.2), n = tanh(-0.9 + r (0.3 - 0.5 h1)),
//   h2 = (1 - z) n + z h1 = 0.00437257; readout 2 h2 + 0.5 = 0.50874513.
TEST_P(Rnn, TwoStepGruByHand) {
  RnnConfig c;
  c.inputs = 1;
  c.hidden = 1;
  c.outputs = 1;
  c.groups = 1;
  c.readout = SeqReadout::RegressLast;
  RnnModel m(be(), c);
  m.ih().set_weight_dense_host({0.5f, -0.3f, 0.8f}, {1, 1, 1});
  m.ih().set_bias_host({0.1f, 0.2f, -0.1f});
  m.hh().set_weight_dense_host({0.4f, 0.6f, -0.5f}, {1, 1, 1});
  m.hh().set_bias_host({0.0f, -0.2f, 0.3f});
  m.head().set_weight_dense_host({2.0f}, {1});
  m.head().set_bias_host({0.5f});
  Tensor x(be(), 2, 1, {1.0f, -1.0f});
  ConstDenseView out = m.forward(x.view(), 2, 1);
  float y = 0;
  be().download(&y, out.data, sizeof(float));
  std::vector<float> hs(2);
  be().download(hs.data(), m.hidden_states().data, 2 * sizeof(float));
  EXPECT_NEAR(hs[0], 0.4097009615701168, 1e-6);
  EXPECT_NEAR(hs[1], 0.004372565041378618, 1e-6);
  EXPECT_NEAR(y, 0.5087451300827572, 1e-6);
}

TEST_P(Rnn, PhaseGateZeroKappaIsThePlainCell) {
  RnnConfig c = small_config(CellKind::Gru, SeqReadout::RegressEach, 0.0f);
  for (int64_t t = 0; t < 5; ++t)
    for (float v : RnnModel(be(), c).gate_host(t)) EXPECT_EQ(v, 1.0f);
  c.kappa = 1.0f;
  RnnModel m(be(), c);
  // Group 0 (phase 0) fully open at t = 0; group 1 (phase pi) closed at t = 0.
  auto g0 = m.gate_host(0);
  EXPECT_NEAR(g0[0], 1.0f, 1e-6);
  EXPECT_NEAR(g0[3], 0.0f, 1e-6);
}

TEST_P(Rnn, PruningPerGateBlockIsExactAndMonotone) {
  RnnModel m(be(), small_config(CellKind::Gru, SeqReadout::RegressEach, 0.5f));
  LossFn f = make_loss(be(), m, 3, 2, 5);
  f(nullptr);
  m.update_relevance(0.5f);
  prune_rnn(m, 0.5, PruneScore::Relevance, true);
  auto mask1 = m.hh().mask_dense_host();
  const int64_t H = 4;
  for (int g = 0; g < 3; ++g) {
    int64_t alive = 0;
    for (int64_t k = g * H * H; k < (g + 1) * H * H; ++k) alive += mask1[size_t(k)];
    EXPECT_EQ(alive, H * H / 2) << "gate block " << g;
  }
  EXPECT_EQ(m.ih().nnz(), 12);  // 3 blocks of 4 x 2, half alive
  // A later, lower target never regrows; pruned weights stay exactly 0 through training steps.
  prune_rnn(m, 0.25, PruneScore::Relevance, true);
  EXPECT_EQ(m.hh().mask_dense_host(), mask1);
  std::vector<float> dout;
  for (int s = 1; s <= 3; ++s) {
    f(&dout);
    Tensor d(be(), 3 * 2, 1, dout);
    m.zero_grad();
    m.forward(f.x.view(), 3, 2);
    m.backward(d.view());
    m.clip_grad_norm(1.0f);
    m.step(OptimConfig{}, 1e-2f, s);
  }
  auto w = m.hh().weight_dense_host();
  for (size_t k = 0; k < w.size(); ++k) {
    if (!mask1[k]) {
      EXPECT_EQ(w[k], 0.0f);
    }
  }
}

TEST_P(Rnn, RelevancePrunesSilentInputsFirst) {
  RnnConfig c = small_config(CellKind::Gru, SeqReadout::RegressLast, 0.0f);
  RnnModel m(be(), c);
  // Input feature 1 is always 0: r_1 = 0, so its column is the least relevant in every gate block.
  std::vector<float> x(3 * 2 * 2);
  for (size_t k = 0; k < x.size(); k += 2) x[k] = 1.0f + float(k);
  Tensor xt(be(), 6, 2, x);
  m.forward(xt.view(), 3, 2);
  m.update_relevance(0.9f);
  auto r = m.relevance_ih_host();
  EXPECT_GT(r[0], 0.0f);
  EXPECT_EQ(r[1], 0.0f);
  prune_rnn(m, 0.5, PruneScore::Relevance, true);
  auto mask = m.ih().mask_dense_host();
  for (int64_t row = 0; row < 12; ++row) {
    EXPECT_EQ(mask[size_t(row * 2 + 0)], 1) << "row " << row;
    EXPECT_EQ(mask[size_t(row * 2 + 1)], 0) << "row " << row;
  }
}

TEST_P(Rnn, CsrGivesTheSameOutputsAsDense) {
  RnnModel m(be(), small_config(CellKind::Gru, SeqReadout::RegressEach, 0.5f));
  prune_rnn(m, 0.6, PruneScore::Magnitude, true);
  LossFn f = make_loss(be(), m, 4, 3, 9);
  const double dense_loss = f(nullptr);
  m.ih().to_csr();
  m.hh().to_csr();
  EXPECT_EQ(m.hh().format(), WeightFormat::Csr);
  EXPECT_NEAR(f(nullptr), dense_loss, 1e-5);
}

TEST_P(Rnn, MergingADuplicateUnitKeepsTheOutputs) {
  RnnConfig c = small_config(CellKind::Gru, SeqReadout::RegressEach, 0.5f);  // units 0, 1 in group 0
  RnnModel m(be(), c);
  const int64_t H = 4, I = 2;
  // Unit 1 receives exactly what unit 0 receives, so h_1(t) = h_0(t) at every step.
  auto wi = m.ih().weight_dense_host(), wh = m.hh().weight_dense_host();
  auto bi = m.ih().bias_host(), bh = m.hh().bias_host();
  for (int64_t g = 0; g < 3; ++g) {
    for (int64_t k = 0; k < I; ++k) wi[size_t((g * H + 1) * I + k)] = wi[size_t((g * H + 0) * I + k)];
    for (int64_t k = 0; k < H; ++k) wh[size_t((g * H + 1) * H + k)] = wh[size_t((g * H + 0) * H + k)];
    bi[size_t(g * H + 1)] = bi[size_t(g * H)];
    bh[size_t(g * H + 1)] = bh[size_t(g * H)];
  }
  m.ih().set_weight_dense_host(wi, std::vector<uint8_t>(wi.size(), 1));
  m.hh().set_weight_dense_host(wh, std::vector<uint8_t>(wh.size(), 1));
  m.ih().set_bias_host(bi);
  m.hh().set_bias_host(bh);
  LossFn f = make_loss(be(), m, 5, 3, 21);
  const double before = f(nullptr);
  std::vector<float> hs(size_t(5 * 3 * H));
  be().download(hs.data(), m.hidden_states().data, hs.size() * sizeof(float));
  RnnMergeStats st = merge_rnn_units(m, hs, 15, 0.95f, 0.5f);
  EXPECT_EQ(st.merged, 1);
  EXPECT_EQ(st.dead, 0);
  auto alive = rnn_alive_units(m);
  EXPECT_EQ(alive, (std::vector<uint8_t>{1, 0, 1, 1}));
  EXPECT_NEAR(f(nullptr), before, 1e-5);
  be().download(hs.data(), m.hidden_states().data, hs.size() * sizeof(float));
  for (int64_t r = 0; r < 15; ++r) EXPECT_EQ(hs[size_t(r * H + 1)], 0.0f);
}

TEST_P(Rnn, CheckpointRoundTrip) {
  for (bool csr : {false, true}) {
    SCOPED_TRACE(csr ? "csr" : "dense");
    RnnModel m(be(), small_config(CellKind::Rnn, SeqReadout::RegressEach, 0.5f));
    if (csr) {
      prune_rnn(m, 0.5, PruneScore::Magnitude, true);
      m.hh().to_csr();
    }
    const std::string path = tmp_dir(std::string("ckpt_") + GetParam() + (csr ? "_csr" : "")) + "/model.safetensors";
    m.save(path, {{"task", "sines"}});
    std::map<std::string, std::string> meta;
    RnnModel l = RnnModel::load(be(), path, &meta);
    EXPECT_EQ(meta.at("task"), "sines");
    EXPECT_EQ(meta.at("family"), "rnn");
    EXPECT_EQ(l.config().to_json(), m.config().to_json());
    EXPECT_EQ(l.hh().format(), m.hh().format());
    LossFn a = make_loss(be(), m, 3, 2, 4), b = make_loss(be(), l, 3, 2, 4);
    EXPECT_EQ(a(nullptr), b(nullptr));
    auto f = read_safetensors(path);
    for (const char* n : {"rnn.weight_ih", "rnn.bias_ih", "rnn.bias_hh", "head.weight", "head.bias"})
      EXPECT_TRUE(f.tensors.count(n)) << n;
    EXPECT_TRUE(f.tensors.count(csr ? "rnn.weight_hh.crow_indices" : "rnn.weight_hh"));
  }
}

TEST_P(Rnn, BadInputGetsClearMessages) {
  auto expect_error = [](auto fn, const std::string& part) {
    try {
      fn();
      ADD_FAILURE() << "expected an error mentioning '" << part << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  RnnModel m(be(), small_config(CellKind::Gru, SeqReadout::RegressLast, 0.0f));
  Tensor x(be(), 6, 2);
  x.zero();
  expect_error([&] { m.forward(x.view(), 0, 6); }, "sequence length is 0");
  expect_error([&] { m.forward(x.view(), 2, 2); }, "expected 4x2");
  expect_error([&] { make_adding(0, 10, 10, 1); }, "sequence length 0 is too short");
  expect_error([&] { make_seq_task({"seq-fashion", 10, "", 0, 0, 0}); }, "expected 28");
  expect_error([&] { make_seq_task({"adding", -3, "", 0, 0, 0}); }, "sequence length is -3");
  expect_error([&] { make_seq_task({"mnist-3d", 0, "", 0, 0, 0}); }, "expected seq-fashion, adding or sines");
  SeqTask sines = make_sines(8, 16, 8, 1);
  RnnTrainConfig tc;
  tc.out_dir = tmp_dir(std::string("bad_") + GetParam());
  tc.quiet = true;
  expect_error([&] { train_rnn(be(), small_config(CellKind::Gru, SeqReadout::RegressLast, 0.0f), tc, sines); },
               "does not fit the task");
  RnnConfig bad = small_config(CellKind::Gru, SeqReadout::RegressEach, 0.0f);
  bad.kappa = 2.0f;
  expect_error([&] { RnnModel(be(), bad); }, "kappa");
}

TEST_P(Rnn, DivergingLossStopsAndKeepsTheLastGoodEpoch) {
  SeqTask task = make_sines(6, 32, 8, 2);
  RnnConfig c = small_config(CellKind::Gru, SeqReadout::RegressEach, 0.0f);
  c.inputs = 1;
  RnnTrainConfig tc;
  tc.out_dir = tmp_dir(std::string("diverge_") + GetParam());
  tc.quiet = true;
  tc.epochs = 3;
  tc.batch = 8;
  tc.clip = 0.0f;
  tc.optim.lr = 1e-3f;
  // Epoch 1 trains normally; from epoch 2 the step schedule multiplies the LR by 1e30.
  tc.lr.kind = LrSchedule::Step;
  tc.lr.step_every = 4;
  tc.lr.step_gamma = 1e30f;
  try {
    train_rnn(be(), c, tc, task);
    FAIL() << "expected divergence";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("diverged at epoch"), std::string::npos) << e.what();
  }
  std::ifstream in(tc.out_dir + "/metrics.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) ++lines;
  EXPECT_GE(lines, 1);
  EXPECT_NO_THROW(RnnModel::load(be(), tc.out_dir + "/model.safetensors"));
}

TEST_P(Rnn, ShortTrainingRunWritesMetricsAndLearnsSines) {
  SeqTask task = make_sines(16, 512, 128, 4);
  RnnConfig c;
  c.inputs = 1;
  c.hidden = 16;
  c.outputs = 1;
  c.readout = SeqReadout::RegressEach;
  c.groups = 4;
  c.kappa = 0.5f;
  RnnTrainConfig tc;
  tc.out_dir = tmp_dir(std::string("train_") + GetParam());
  tc.quiet = true;
  tc.epochs = 6;
  tc.batch = 32;
  tc.optim.lr = 1e-2f;
  tc.sparsity = 0.5;
  tc.prune_every = 10;
  tc.handoff.switch_density = 0.6;  // exercise the CSR hand-off without timing runs
  RnnTrainResult r = train_rnn(be(), c, tc, task);
  EXPECT_EQ(r.epochs_done, 6);
  EXPECT_LT(r.final_eval.mse, 0.05);  // predicting 0 gives ~0.1
  RnnModel m = RnnModel::load(be(), r.checkpoint);
  EXPECT_NEAR(m.hh().density(), 0.5, 0.02);
  EXPECT_EQ(m.hh().format(), WeightFormat::Csr);
  std::ifstream in(tc.out_dir + "/metrics.jsonl");
  std::string line, last;
  while (std::getline(in, line)) last = line;
  for (const char* key : {"\"test_mse\"", "\"hidden_pr\"", "\"within_group_cos\"", "\"phase_agreement\"",
                          "\"samples_per_s\"", "\"format\":\"csr\""})
    EXPECT_NE(last.find(key), std::string::npos) << key << " missing in " << last;
}

// Writes the GRU checkpoints and fixed inputs/outputs that tests/models/check_gru_torch.py compares
// against torch.nn.GRU (dense, and with a pruned CSR W_hh and a phase gate of kappa 0 so torch agrees).
// The fixtures come from the CPU backend; a device backend must give the CPU's outputs on them.
TEST_P(Rnn, WritesTorchParityFixtures) {
  const std::string dir = (std::filesystem::path(NEUROAI_BINARY_DIR) / "gru_torch_check").string();
  std::filesystem::create_directories(dir);
  auto cpu = make_backend("cpu", {.threads = 1});
  for (bool csr : {false, true}) {
    RnnConfig c;
    c.inputs = 5;
    c.hidden = 12;
    c.outputs = 3;
    c.readout = SeqReadout::RegressEach;
    c.groups = 4;
    c.seed = csr ? 11 : 7;
    const int64_t T = 6, B = 4;
    auto x = random_floats(size_t(T * B * c.inputs), 99, -2.0f, 2.0f);
    auto run = [&](Backend& b, const std::string& save_stem) {
      RnnModel m(b, c);
      if (csr) {
        prune_rnn(m, 0.7, PruneScore::Magnitude, true);
        m.hh().to_csr();
        m.ih().to_csr();
      }
      Tensor xt(b, T * B, c.inputs, x);
      ConstDenseView out = m.forward(xt.view(), T, B);
      std::vector<float> y(size_t(out.size())), h(size_t(T * B * c.hidden));
      b.download(y.data(), out.data, y.size() * sizeof(float));
      b.download(h.data(), m.hidden_states().data, h.size() * sizeof(float));
      if (!save_stem.empty()) m.save(save_stem + ".model.safetensors");
      return std::pair{y, h};
    };
    if (GetParam() != "cpu") {
      auto [y_ref, h_ref] = run(*cpu, "");
      auto [y, h] = run(be(), "");
      EXPECT_TRUE(testing::all_close(y, y_ref, 1e-5, 1e-5)) << (csr ? "csr" : "dense") << " outputs";
      EXPECT_TRUE(testing::all_close(h, h_ref, 1e-5, 1e-5)) << (csr ? "csr" : "dense") << " hidden states";
      continue;
    }
    const std::string stem = dir + (csr ? "/gru_csr" : "/gru_dense");
    auto [y, h] = run(be(), stem);
    SafetensorsFile io;
    io.tensors["x"] = st_from_f32(x, {T, B, c.inputs});
    io.tensors["h"] = st_from_f32(h, {T, B, c.hidden});
    io.tensors["y"] = st_from_f32(y, {T, B, c.outputs});
    write_safetensors(stem + ".io.safetensors", io);
  }
}

NEUROAI_INSTANTIATE_BACKENDS(Rnn);

}  // namespace
}  // namespace neuroai
