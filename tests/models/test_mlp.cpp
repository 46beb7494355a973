// The MLP and its training loop (issue #3) on a small synthetic data set: gradients of the whole
// network against finite differences, a short pruned run whose loss falls, the checkpoint round trip
// (same test accuracy as the run), refused options, and a diverging run that names the step and layer
// and keeps the last good checkpoint.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backend_fixture.h"
#include "engine/safetensors.h"
#include "models/mlp.h"
#include "models/mlp_trainer.h"

namespace neuroai {
namespace {

// Gaussian clusters: class c centred at a random point of R^dim; train and test from the same law.
DataSplit clusters(int64_t n_train, int64_t n_test, int64_t dim, int32_t classes, uint64_t seed, double noise = 0.6) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  std::vector<std::vector<double>> centre(static_cast<size_t>(classes), std::vector<double>(static_cast<size_t>(dim)));
  for (auto& c : centre)
    for (auto& x : c) x = g(rng);
  auto make = [&](int64_t n) {
    Dataset d;
    d.n = n;
    d.dim = dim;
    d.classes = classes;
    d.height = 1, d.width = int32_t(dim), d.channels = 1;
    for (int64_t i = 0; i < n; ++i) {
      const int32_t y = int32_t(i % classes);
      d.y.push_back(y);
      for (int64_t k = 0; k < dim; ++k) d.x.push_back(float(centre[size_t(y)][size_t(k)] + noise * g(rng)));
    }
    return d;
  };
  DataSplit s;
  s.train = make(n_train);
  s.test = make(n_test);
  s.name = "clusters";
  return s;
}

MlpConfig small_config(InhibitionKind inh = InhibitionKind::None) {
  MlpConfig c;
  c.inputs = 16;
  c.hidden = {16, 12};
  c.classes = 4;
  c.inhibition = inh;
  c.kwta = KwtaParams{2, 2};
  c.dataset = "clusters";
  return c;
}

std::string temp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("neuroai_test_mlp_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  return p.string();
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream f(path);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(f, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(MlpConfigTest, GridsAndOptionsRefused) {
  EXPECT_EQ(default_grid(1024).rows, 32);
  EXPECT_EQ(default_grid(784).cols, 28);
  EXPECT_EQ(default_grid(12).rows, 3);
  EXPECT_EQ(default_grid(12).cols, 4);
  EXPECT_EQ(default_grid(7).rows, 1);
  auto g = parse_grids("32x32,16x64");
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[1].cols, 64);
  EXPECT_THROW(parse_grids("32x"), Error);
  EXPECT_THROW(parse_grids("32x32,ax4"), Error);
  EXPECT_THROW(parse_inhibition("lateral"), Error);

  MlpConfig c;
  c.hidden = {1024, 1000};
  c.grids = parse_grids("32x32,32x32");  // 1024 != 1000
  try {
    c.resolve();
    FAIL() << "a grid that does not match its width was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1000"), std::string::npos) << e.what();
  }
  c.grids = parse_grids("32x32");  // one grid for two layers
  EXPECT_THROW(c.resolve(), Error);

  TrainConfig t;
  t.prune.sparsity = 1.0;
  EXPECT_THROW(t.validate(), Error);
  t.prune.sparsity = -0.1;
  EXPECT_THROW(t.validate(), Error);
  t.prune.sparsity = 0.9;
  EXPECT_NO_THROW(t.validate());
  t.epochs = 0;
  EXPECT_THROW(t.validate(), Error);
  t.epochs = 1;
  t.optim.lr = -1.0f;
  EXPECT_THROW(t.validate(), Error);
  t.optim.lr = 1e-3f;
  t.handoff.switch_density = 1.5;
  EXPECT_THROW(t.validate(), Error);
}

TEST(MlpConfigTest, JsonRoundTrip) {
  MlpConfig c = small_config(InhibitionKind::Dog);
  c.input_mean = 0.25f;
  c.input_std = 2.0f;
  c.resolve();
  MlpConfig d = MlpConfig::from_json(nlohmann::json::parse(c.to_json().dump()));
  EXPECT_EQ(d.hidden, c.hidden);
  EXPECT_EQ(d.grids[1].rows, c.grids[1].rows);
  EXPECT_EQ(d.inhibition, InhibitionKind::Dog);
  EXPECT_EQ(d.input_mean, 0.25f);
  EXPECT_EQ(d.input_std, 2.0f);
  EXPECT_EQ(d.dataset, "clusters");
}

class MlpModel : public testing::BackendTest {};

// Loss on a fixed batch; FD on a few first-layer weights against the backward pass (float, so the
// tolerance is loose), for each inhibition with a smooth forward pass.
TEST_P(MlpModel, GradientMatchesFiniteDifferences) {
  for (auto inh : {InhibitionKind::None, InhibitionKind::Divisive, InhibitionKind::Dog}) {
    SCOPED_TRACE(inhibition_name(inh));
    Mlp m(be(), small_config(inh), 3);
    DataSplit d = clusters(8, 1, 16, 4, 5);
    Tensor x(be(), 8, 16, d.train.x);
    Buffer<int32_t> y(be(), d.train.y);
    Buffer<float> loss(be(), 1);
    Tensor dl(be(), 8, 4);
    auto loss_at = [&]() {
      ConstDenseView lg = m.forward(x.view());
      be().softmax_xent(lg, y.data(), loss.data(), DenseView{nullptr, 8, 4});
      return double(loss.to_host()[0]);
    };
    ConstDenseView lg = m.forward(x.view());
    be().softmax_xent(lg, y.data(), loss.data(), dl.view());
    m.zero_grad();
    m.backward(x.view(), dl.view());
    for (int layer : {0, 1, 2}) {
      auto& l = m.layer(layer);
      const auto g = l.weight().g();
      std::vector<float> grad(size_t(l.in() * l.out()));
      be().download(grad.data(), g, grad.size() * sizeof(float));
      auto w = l.weight_dense_host();
      double max_fd = 0.0;
      int checked = 0;
      for (int64_t k = 0; k < int64_t(w.size()); k += 11) {
        const float w0 = w[size_t(k)];
        auto fd_at = [&](float h) {
          w[size_t(k)] = w0 + h;
          l.set_weight_values_host(w);
          const double lp = loss_at();
          w[size_t(k)] = w0 - h;
          l.set_weight_values_host(w);
          const double lm = loss_at();
          w[size_t(k)] = w0;
          l.set_weight_values_host(w);
          return (lp - lm) / (2.0 * h);
        };
        const double fd = fd_at(2e-3f), fd2 = fd_at(1e-3f);
        // A ReLU kink inside the stencil makes the two step sizes disagree: skip that entry.
        if (std::abs(fd - fd2) > 1e-3 + 0.05 * std::abs(fd)) continue;
        ++checked;
        max_fd = std::max(max_fd, std::abs(fd));
        EXPECT_NEAR(grad[size_t(k)], fd, 1e-3 + 2e-2 * std::abs(fd)) << "layer " << layer << " entry " << k;
      }
      EXPECT_GT(checked, 3);
      EXPECT_GT(max_fd, 0.0);
    }
  }
}

TEST_P(MlpModel, RegularizerHookReceivesEveryHiddenLayer) {
  Mlp m(be(), small_config(InhibitionKind::Kwta), 4);
  DataSplit d = clusters(5, 1, 16, 4, 6);
  Tensor x(be(), 5, 16, d.train.x);
  Tensor dl = Tensor::zeros(be(), 5, 4);
  m.forward(x.view());
  std::vector<int> seen;
  m.zero_grad();
  m.backward(x.view(), dl.view(), [&](int l, ConstDenseView y, DenseView dy) {
    seen.push_back(l);
    EXPECT_EQ(y.cols, m.config().hidden[size_t(l)]);
    EXPECT_EQ(dy.rows, 5);
  });
  EXPECT_EQ(seen, (std::vector<int>{1, 0}));
}

TrainConfig quick_train(const std::string& out) {
  TrainConfig t;
  t.out_dir = out;
  t.epochs = 4;
  t.batch = 32;
  t.seed = 1;
  t.optim.lr = 1e-2f;
  t.prune.sparsity = 0.6;
  t.prune.every = 5;
  t.handoff.switch_density = 0.7;  // the CSR hand-off happens inside the run
  t.quiet = true;
  t.eval_batch = 64;
  return t;
}

TEST_P(MlpModel, TrainingLossFallsAndCheckpointRoundTrips) {
  const std::string out = temp_dir(GetParam() + "_train");
  DataSplit d = clusters(320, 150, 16, 4, 7);
  const TrainConfig t = quick_train(out);
  const TrainResult r = train_mlp(be(), small_config(InhibitionKind::Divisive), t, d);
  const auto lines = read_jsonl(out + "/metrics.jsonl");
  ASSERT_EQ(lines.size(), 4u);
  for (const char* key : {"epoch", "step", "train_loss", "test_loss", "test_acc", "samples_per_s", "activation_sparsity",
                          "participation_ratio", "neighbour_corr", "spatial_corr", "layers", "step_time_ms"})
    EXPECT_TRUE(lines[0].contains(key)) << key;
  EXPECT_LT(lines.back()["train_loss"].get<double>(), lines.front()["train_loss"].get<double>());
  EXPECT_GT(r.final_eval.acc, 0.75);
  EXPECT_EQ(lines.back()["test_acc"].get<double>(), r.final_eval.acc);
  // Pruned to 60 % with layer-wise allocation; every layer went to CSR below 0.7.
  for (const auto& l : lines.back()["layers"]) {
    EXPECT_NEAR(l["density"].get<double>(), 0.4, 0.02) << l.dump();
    EXPECT_EQ(l["format"], "csr") << l.dump();
  }
  EXPECT_GT(r.step_ms_dense, 0.0);
  EXPECT_GT(r.step_ms_csr, 0.0);

  // The checkpoint holds CSR weights and the configuration, and gives the run's accuracy back.
  const SafetensorsFile f = read_safetensors(out + "/model.safetensors");
  EXPECT_TRUE(f.tensors.count("layers.0.weight.crow_indices"));
  EXPECT_TRUE(f.tensors.count("layers.0.weight.col_indices"));
  EXPECT_TRUE(f.tensors.count("layers.0.weight.values"));
  EXPECT_TRUE(f.tensors.count("layers.2.bias"));
  const auto cfg = nlohmann::json::parse(f.metadata.at("config"));
  EXPECT_EQ(cfg["inhibition"], "divisive");
  EXPECT_TRUE(cfg.contains("input_mean"));
  Mlp back = Mlp::load(be(), out + "/model.safetensors");
  const EvalResult ev = evaluate(back, d.test, 64, 2000);
  EXPECT_EQ(ev.acc, r.final_eval.acc);
  EXPECT_NEAR(ev.loss, r.final_eval.loss, 1e-6);
  std::filesystem::remove_all(out);
}

TEST_P(MlpModel, RegularizersMergeAndIterativePruningRun) {
  const std::string out = temp_dir(GetParam() + "_reg");
  DataSplit d = clusters(256, 64, 16, 4, 8);
  TrainConfig t = quick_train(out);
  t.epochs = 1;
  t.idr = IdrConfig{1e-3f, 1e-2f, 1e-2f};
  t.spatial.alpha = 0.25f;
  t.spatial.radius = 2.0f;
  t.merge = true;
  t.merge_cfg.tile = 2;
  t.merge_cfg.threshold = 0.5f;
  t.prune.method = PruneMethod::Iterative;
  t.prune.rounds = 2;
  t.prune.sparsity = 0.75;  // two rounds of 50 %
  t.handoff = {SparseFormat::Dense};
  const TrainResult r = train_mlp(be(), small_config(InhibitionKind::Kwta), t, d);
  EXPECT_EQ(r.epochs_done, 3);  // rounds + 1 phases of `epochs`
  const auto lines = read_jsonl(out + "/metrics.jsonl");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_GT(lines[0]["train_reg_loss"].get<double>(), 0.0);
  EXPECT_TRUE(lines[0].contains("merged_units"));
  // Hidden layers at 25 % density (minus merged units), the output layer pruned at half the rate.
  EXPECT_LE(r.layers[0].density, 0.26);
  EXPECT_GT(r.layers[2].density, r.layers[0].density);
  for (const auto& l : r.layers) EXPECT_EQ(l.format, "dense");
  std::filesystem::remove_all(out);
}

// The activity terms act in the intended direction: L1 makes the last hidden layer sparser, the
// spatial loss makes nearby units more correlated than distant ones.
TEST_P(MlpModel, ActivityRegularizersMoveTheirMetrics) {
  DataSplit d = clusters(320, 150, 16, 4, 10);
  MlpConfig mc = small_config();
  mc.hidden = {36, 36};  // 6 x 6 sheets
  auto run = [&](const std::string& tag, float l1, float alpha) {
    const std::string out = temp_dir(GetParam() + "_act_" + tag);
    TrainConfig t = quick_train(out);
    t.prune.method = PruneMethod::None;
    t.idr.l1 = l1;
    t.spatial.alpha = alpha;
    t.spatial.radius = 3.0f;
    const EvalResult ev = train_mlp(be(), mc, t, d).final_eval;
    std::filesystem::remove_all(out);
    return ev;
  };
  const EvalResult base = run("base", 0.0f, 0.0f), l1 = run("l1", 0.05f, 0.0f), sp = run("sp", 0.0f, 1.0f);
  EXPECT_GT(l1.activation_sparsity, base.activation_sparsity);
  EXPECT_GT(sp.spatial_corr, base.spatial_corr + 0.1);
}

TEST_P(MlpModel, DivergenceNamesStepAndLayerAndKeepsCheckpoint) {
  const std::string out = temp_dir(GetParam() + "_nan");
  DataSplit d = clusters(256, 64, 16, 4, 9);
  TrainConfig t = quick_train(out);
  t.optim.kind = OptimKind::Sgd;
  t.optim.lr = 1e30f;  // weights ~1e29 after one step: the next forward overflows
  t.lr.kind = LrSchedule::Constant;
  try {
    train_mlp(be(), small_config(), t, d);
    FAIL() << "a diverging run did not stop";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("step"), std::string::npos) << msg;
    EXPECT_NE(msg.find("layer '"), std::string::npos) << msg;
    EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
  }
  // The last good checkpoint (the initial weights here) is intact and finite.
  Mlp back = Mlp::load(be(), out + "/model.safetensors");
  for (int i = 0; i < back.num_layers(); ++i)
    for (float w : back.layer(i).weight_dense_host()) ASSERT_TRUE(std::isfinite(w));
  EXPECT_TRUE(std::isfinite(evaluate(back, d.test, 64, 0).loss));
  std::filesystem::remove_all(out);
}

NEUROAI_INSTANTIATE_BACKENDS(MlpModel);

}  // namespace
}  // namespace neuroai
