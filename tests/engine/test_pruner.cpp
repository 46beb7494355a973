// Pruner: allocation (layer-wise, global with floor and half-rate output, tiles), distance-weighted
// scores, the GMP schedule over steps, IMP rounds with rewinding, one-shot; dense and CSR layers.
#include <algorithm>
#include <cmath>

#include "backend_fixture.h"
#include "engine/pruner.h"

namespace neuroai {
namespace {

using testing::random_floats;

class PrunerTest : public testing::BackendTest {};

struct Net {
  std::vector<SparseLinear> layers;
  std::vector<PrunableLayer> view;
  void add(Backend& b, int64_t in, int64_t out, const std::vector<float>& w, bool is_output, Sheet in_sheet = {},
           Sheet out_sheet = {}) {
    std::string name = "l";
    name += std::to_string(layers.size());  // (not "l" + ...: GCC 12 warns -Wrestrict on that)
    layers.emplace_back(b, in, out, layers.size() + 1, true, name);
    layers.back().set_handoff({SparseFormat::Dense});
    layers.back().set_weight_dense_host(w, std::vector<uint8_t>(w.size(), 1));
    in_sheets.push_back(in_sheet);
    out_sheets.push_back(out_sheet);
    outputs.push_back(is_output);
    rebuild();
  }
  void rebuild() {
    view.clear();
    for (size_t i = 0; i < layers.size(); ++i) view.push_back({&layers[i], in_sheets[i], out_sheets[i], outputs[i]});
  }
  std::vector<Sheet> in_sheets, out_sheets;
  std::vector<bool> outputs;
};

int64_t pruned(const SparseLinear& l) { return l.in() * l.out() - l.nnz(); }

// Every pruned weight is no larger in |W| than every surviving one (among the given layers).
void expect_threshold(const std::vector<const SparseLinear*>& ls, const std::vector<std::vector<float>>& w0) {
  float max_pruned = 0, min_alive = 1e30f;
  for (size_t k = 0; k < ls.size(); ++k) {
    const auto mask = ls[k]->mask_dense_host();
    for (size_t i = 0; i < mask.size(); ++i) {
      if (mask[i])
        min_alive = std::min(min_alive, std::fabs(w0[k][i]));
      else
        max_pruned = std::max(max_pruned, std::fabs(w0[k][i]));
    }
  }
  EXPECT_LE(max_pruned, min_alive);
}

TEST_P(PrunerTest, LayerwiseReachesTargetPerLayer) {
  Net net;
  const auto w0 = random_floats(200, 1), w1 = random_floats(40, 2);
  net.add(be(), 20, 10, w0, false);
  net.add(be(), 10, 4, w1, true);
  PruneConfig cfg;
  cfg.allocation = PruneAllocation::Layerwise;
  Pruner p(cfg, 1000);
  p.prune_to(0.7, net.view);
  EXPECT_EQ(pruned(net.layers[0]), 140);
  EXPECT_EQ(pruned(net.layers[1]), 28);
  expect_threshold({&net.layers[0]}, {w0});
  expect_threshold({&net.layers[1]}, {w1});
  net.layers[0].to_csr();
  p.prune_to(0.85, net.view);
  EXPECT_EQ(pruned(net.layers[0]), 170);
  EXPECT_EQ(pruned(net.layers[1]), 34);
  expect_threshold({&net.layers[0]}, {w0});
  EXPECT_NEAR(Pruner::sparsity_of(net.view), 204.0 / 240.0, 1e-12);
}

// One ranking over the hidden layers: a layer of tiny weights keeps its 2% floor, the output layer is
// pruned at half the rate, the hidden layers together reach the target.
TEST_P(PrunerTest, GlobalFloorAndHalfRateOutput) {
  Net net;
  auto tiny = random_floats(1000, 1);
  for (auto& v : tiny) v *= 0.01f;
  const auto w1 = random_floats(400, 2), w2 = random_floats(100, 3);
  net.add(be(), 50, 20, tiny, false);
  net.add(be(), 20, 20, w1, false);
  net.add(be(), 20, 5, w2, true);
  PruneConfig cfg;
  cfg.allocation = PruneAllocation::Global;
  Pruner p(cfg, 1000);
  p.prune_to(0.9, net.view);
  EXPECT_EQ(net.layers[2].nnz(), 100 - 45);  // s / 2
  EXPECT_EQ(net.layers[0].nnz(), 20);        // ceil(0.02 * 1000)
  EXPECT_EQ(pruned(net.layers[0]) + pruned(net.layers[1]), 1260);  // round(0.9 * 1400)
  expect_threshold({&net.layers[1]}, {w1});

  // Without a binding floor the ranking is shared: one magnitude threshold over both hidden layers.
  Net net2;
  const auto a = random_floats(300, 4), b = random_floats(200, 5);
  auto b_half = b;
  for (auto& v : b_half) v *= 0.5f;
  net2.add(be(), 30, 10, a, false);
  net2.add(be(), 10, 20, b_half, false);
  net2.layers[1].to_csr();
  p.prune_to(0.6, net2.view);
  EXPECT_EQ(pruned(net2.layers[0]) + pruned(net2.layers[1]), 300);
  EXPECT_GT(pruned(net2.layers[1]), 120);  // the smaller layer loses more than its share
  expect_threshold({&net2.layers[0], &net2.layers[1]}, {a, b_half});
}

// Tile allocation: every tile x tile block of the output sheet (edge blocks clipped) reaches the target.
TEST_P(PrunerTest, TileReachesTargetWithinEachTile) {
  const int64_t in = 3;
  const Sheet sheet{5, 6};  // 30 units; 4 x 4 tiles give blocks of 16, 8, 4 and 2 units
  auto w = random_floats(size_t(30 * in), 1);
  for (int64_t u = 0; u < 30; ++u)
    if (u % 6 >= 4)
      for (int64_t j = 0; j < in; ++j) w[size_t(u * in + j)] *= 0.01f;  // a layer-wise ranking would strip these
  Net net;
  net.add(be(), in, 30, w, false, {1, int32_t(in)}, sheet);
  PruneConfig cfg;
  cfg.allocation = PruneAllocation::Tile;
  cfg.tile = 4;
  Pruner p(cfg, 1000);
  auto check = [&](double s) {
    const auto mask = net.layers[0].mask_dense_host();
    for (int r0 = 0; r0 < 5; r0 += 4)
      for (int c0 = 0; c0 < 6; c0 += 4) {
        int64_t n = 0, alive = 0;
        for (int r = r0; r < std::min(r0 + 4, 5); ++r)
          for (int c = c0; c < std::min(c0 + 4, 6); ++c)
            for (int64_t j = 0; j < in; ++j) {
              ++n;
              alive += mask[size_t((r * 6 + c) * in + j)];
            }
        EXPECT_EQ(n - alive, std::llround(s * double(n))) << "tile at " << r0 << "," << c0;
      }
  };
  p.prune_to(0.5, net.view);
  check(0.5);
  net.layers[0].to_csr();
  p.prune_to(0.75, net.view);
  check(0.75);
}

double wiring_length(int64_t i, int64_t j, Sheet post, Sheet pre) {
  auto sc = [](int64_t v, int32_t e) { return e > 1 ? double(v) / (e - 1) : 0.5; };
  const double dx = sc(i % post.cols, post.cols) - sc(j % pre.cols, pre.cols);
  const double dy = sc(i / post.cols, post.rows) - sc(j / pre.cols, pre.rows);
  return std::sqrt(dx * dx + dy * dy + 1.0);
}

// With equal |W| the distance-weighted score prunes the longest connections first.
TEST_P(PrunerTest, DistanceWeightingPrefersShortConnections) {
  const Sheet pre{4, 4}, post{3, 5};
  auto w = std::vector<float>(16 * 15, 1.0f);
  for (size_t i = 0; i < w.size(); i += 2) w[i] = -1.0f;
  for (int f = 0; f < 2; ++f) {
    SCOPED_TRACE(f == 0 ? "dense" : "csr");
    Net net;
    net.add(be(), 16, 15, w, false, pre, post);
    if (f == 1) net.layers[0].to_csr();
    PruneConfig cfg;
    cfg.distance_weight = 2.0;
    Pruner p(cfg, 1000);
    p.prune_to(0.5, net.view);
    EXPECT_EQ(pruned(net.layers[0]), 120);
    const auto mask = net.layers[0].mask_dense_host();
    double max_kept = 0, min_pruned = 1e30;
    for (int64_t i = 0; i < 15; ++i)
      for (int64_t j = 0; j < 16; ++j) {
        const double len = wiring_length(i, j, post, pre);
        if (mask[size_t(i * 16 + j)])
          max_kept = std::max(max_kept, len);
        else
          min_pruned = std::min(min_pruned, len);
      }
    EXPECT_LE(max_kept, min_pruned + 1e-6);
  }
}

// The GMP schedule drives the sparsity: after every on_step the pruned count is round(s_t * n), it
// changes only on prune steps, and the layer hands over to CSR on the way.
TEST_P(PrunerTest, GradualScheduleOverSteps) {
  set_break_even_override(0.5);
  Net net;
  net.add(be(), 20, 10, random_floats(200, 1), false);
  net.layers[0].set_handoff({SparseFormat::Auto});
  {
    Tensor x(be(), 2, 20, random_floats(40, 2)), y(be(), 2, 10);
    net.layers[0].forward(x.cview(), y.view());  // records the batch size for the hand-off
  }
  PruneConfig cfg;
  cfg.method = PruneMethod::Gradual;
  cfg.sparsity = 0.8;
  cfg.start = 0.1;
  cfg.end = 0.6;
  cfg.every = 10;
  Pruner p(cfg, 100);
  const GmpSchedule g = GmpSchedule::from_fractions(0.0, 0.8, 100, 0.1, 0.6, 10);
  int64_t prev = 0;
  for (int64_t step = 0; step <= 100; ++step) {
    const bool changed = p.on_step(step, net.view);
    EXPECT_DOUBLE_EQ(p.target_at(step), g.sparsity_at(step));
    const int64_t now = pruned(net.layers[0]);
    EXPECT_EQ(now, std::llround(g.sparsity_at(step) * 200.0)) << "step " << step;
    EXPECT_EQ(changed, now != prev) << "step " << step;
    EXPECT_GE(now, prev);
    if (changed) {
      EXPECT_TRUE(g.is_prune_step(step));
    }
    prev = now;
  }
  set_break_even_override(-1);
  EXPECT_EQ(prev, 160);
  EXPECT_EQ(net.layers[0].format(), WeightFormat::Csr);
}

// IMP: rounds prune `rate` of the remaining weights (output at half rate); rewinding restores the
// surviving weights to the snapshot, pruned ones stay 0, moments reset; works after the CSR hand-off.
TEST_P(PrunerTest, IterativeRoundsWithRewind) {
  Net net;
  net.add(be(), 12, 8, random_floats(96, 1), false);
  net.add(be(), 8, 3, random_floats(24, 2), true);
  PruneConfig cfg;
  cfg.method = PruneMethod::Iterative;
  cfg.rate = 0.2;
  cfg.rewind_step = 0;
  Pruner p(cfg, 100);
  EXPECT_FALSE(p.on_step(0, net.view));
  ASSERT_TRUE(p.has_snapshot());
  const auto snap0 = net.layers[0].weight_dense_host(), snap1 = net.layers[1].weight_dense_host();
  const auto bias0 = net.layers[0].bias_host();
  OptimConfig adam;
  const int64_t expected_hidden[] = {19, 35}, expected_out[] = {2, 5};  // round(96 (1 - 0.8^r)), round(24 (1 - 0.9^r))
  std::vector<uint8_t> prev_mask(96, 1);
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    // "Train": new weights at the alive entries, and some optimizer state.
    for (size_t k = 0; k < 2; ++k) {
      SparseLinear& l = net.layers[k];
      l.set_weight_values_host(random_floats(size_t(l.in() * l.out()), 50 + uint64_t(round * 2 + k)));
      Tensor x(be(), 2, l.in(), random_floats(size_t(2 * l.in()), 7)), y(be(), 2, l.out());
      l.zero_grad();
      l.forward(x.cview(), y.view());
      l.backward(x.cview(), y.cview(), DenseView{});
      l.step(adam, 0.01f, 1);
    }
    const auto trained = net.layers[0].weight_dense_host();
    p.prune_round(net.view);
    EXPECT_EQ(p.rounds_done(), round + 1);
    EXPECT_EQ(pruned(net.layers[0]), expected_hidden[round]);
    EXPECT_EQ(pruned(net.layers[1]), expected_out[round]);
    const auto mask = net.layers[0].mask_dense_host();
    for (size_t i = 0; i < mask.size(); ++i) EXPECT_LE(mask[i], prev_mask[i]);
    // Ranked by the trained weights.
    float max_pruned_new = 0, min_alive = 1e30f;
    for (size_t i = 0; i < mask.size(); ++i) {
      if (prev_mask[i] && !mask[i]) max_pruned_new = std::max(max_pruned_new, std::fabs(trained[i]));
      if (mask[i]) min_alive = std::min(min_alive, std::fabs(trained[i]));
    }
    EXPECT_LE(max_pruned_new, min_alive);
    prev_mask = mask;

    p.rewind(net.view);
    const auto w0 = net.layers[0].weight_dense_host(), w1 = net.layers[1].weight_dense_host();
    const auto m1 = net.layers[1].mask_dense_host();
    for (size_t i = 0; i < w0.size(); ++i) EXPECT_EQ(w0[i], mask[i] ? snap0[i] : 0.0f);
    for (size_t i = 0; i < w1.size(); ++i) EXPECT_EQ(w1[i], m1[i] ? snap1[i] : 0.0f);
    EXPECT_EQ(net.layers[0].bias_host(), bias0);
    std::vector<float> m(size_t(net.layers[0].weight().size()));
    be().download(m.data(), net.layers[0].weight().m(), m.size() * sizeof(float));
    EXPECT_TRUE(std::all_of(m.begin(), m.end(), [](float v) { return v == 0.0f; }));
    if (round == 0) net.layers[0].to_csr();
  }
}

// --resume: a pruner restored from save_state() onto a copy of the layers continues exactly as the
// original: its next round (sparsity from the rounds done) and rewind (the snapshot) give the same
// weights and masks. A state without a snapshot restores none; a wrong-sized snapshot is refused.
TEST_P(PrunerTest, IterativeStateSavesAndRestores) {
  auto make_net = [&] {
    Net n;
    n.add(be(), 12, 8, random_floats(96, 1), false);
    n.add(be(), 8, 3, random_floats(24, 2), true);
    return n;
  };
  auto train = [&](Net& n, uint64_t seed) {
    for (size_t k = 0; k < 2; ++k)
      n.layers[k].set_weight_values_host(random_floats(size_t(n.layers[k].in() * n.layers[k].out()), seed + k));
  };
  PruneConfig cfg;
  cfg.method = PruneMethod::Iterative;
  cfg.rewind_step = 0;
  Net a = make_net();
  Pruner p(cfg, 100);
  SafetensorsFile before_snapshot;
  p.save_state(before_snapshot, "pruner.");
  p.on_step(0, a.view);
  train(a, 60);
  p.prune_round(a.view);
  p.rewind(a.view);
  SafetensorsFile f;
  p.save_state(f, "pruner.");
  EXPECT_EQ(f.metadata.at("pruner.rounds_done"), "1");

  Net b = make_net();
  for (size_t k = 0; k < 2; ++k)
    b.layers[k].set_weight_dense_host(a.layers[k].weight_dense_host(), a.layers[k].mask_dense_host());
  Pruner q(cfg, 100);
  q.load_state(f, "pruner.", b.view);
  EXPECT_EQ(q.rounds_done(), 1);
  ASSERT_TRUE(q.has_snapshot());
  for (auto [net, pruner] : {std::pair{&a, &p}, std::pair{&b, &q}}) {
    train(*net, 70);
    pruner->prune_round(net->view);
    pruner->rewind(net->view);
  }
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(a.layers[k].weight_dense_host(), b.layers[k].weight_dense_host()) << k;
    EXPECT_EQ(a.layers[k].mask_dense_host(), b.layers[k].mask_dense_host()) << k;
  }

  Pruner r(cfg, 100);
  r.load_state(before_snapshot, "pruner.", b.view);
  EXPECT_FALSE(r.has_snapshot());
  EXPECT_EQ(r.rounds_done(), 0);
  f.tensors["pruner.snapshot.0.weight"] = st_from_f32(std::vector<float>(5, 0.0f), {5});
  testing::expect_error_naming([&] { r.load_state(f, "pruner.", b.view); }, {"snapshot of layer 0"});
}

// One-shot prunes once, to the final sparsity, at round(start * total_steps).
TEST_P(PrunerTest, OneShot) {
  Net net;
  net.add(be(), 10, 10, random_floats(100, 1), false);
  PruneConfig cfg;
  cfg.method = PruneMethod::OneShot;
  cfg.sparsity = 0.6;
  cfg.start = 0.2;
  Pruner p(cfg, 50);
  for (int64_t step = 0; step <= 50; ++step) {
    EXPECT_EQ(p.on_step(step, net.view), step == 10);
    EXPECT_EQ(pruned(net.layers[0]), step >= 10 ? 60 : 0);
  }
  PruneConfig none;
  none.method = PruneMethod::None;
  Pruner q(none, 50);
  EXPECT_FALSE(q.on_step(10, net.view));
}

// The fraction schedule (the GNN's edges): from step round(start * total), every `every` steps, rate of
// the remaining entries (at least one), never past the target; as counts and on layers.
TEST_P(PrunerTest, FractionScheduleRemovesARateOfWhatRemains) {
  PruneConfig cfg;
  cfg.method = PruneMethod::Fraction;
  cfg.sparsity = 0.5;
  cfg.start = 0.1;
  cfg.every = 4;
  cfg.rate = 0.2;
  const Pruner p(cfg, 40);
  EXPECT_EQ(p.count_at(3, 100, 100), 0);   // before start (step 4)
  EXPECT_EQ(p.count_at(4, 100, 100), 20);  // 0.2 of 100
  EXPECT_EQ(p.count_at(6, 100, 80), 0);    // not an event step
  EXPECT_EQ(p.count_at(8, 100, 80), 16);
  EXPECT_EQ(p.count_at(12, 100, 64), 13);
  EXPECT_EQ(p.count_at(16, 100, 51), 1);   // capped by the target: 50 pruned
  EXPECT_EQ(p.count_at(20, 100, 50), 0);
  EXPECT_EQ(p.count_at(4, 3, 3), 1);       // at least one per event

  Net net;
  net.add(be(), 10, 10, random_floats(100, 3), false);
  Pruner q(cfg, 40);
  int64_t events = 0;
  for (int64_t step = 0; step <= 40; ++step) events += q.on_step(step, net.view);
  EXPECT_EQ(pruned(net.layers[0]), 50);
  EXPECT_EQ(events, 4);  // 20, 16, 13, 1

  // The gradual and one-shot counts are the layer pruning's: to round(target * n) in all.
  PruneConfig g;
  g.method = PruneMethod::OneShot;
  g.sparsity = 0.6;
  g.start = 0.25;
  const Pruner o(g, 40);
  EXPECT_EQ(o.count_at(10, 100, 90), 50);
  EXPECT_EQ(o.count_at(11, 100, 90), 0);
}

NEUROAI_INSTANTIATE_BACKENDS(PrunerTest);

}  // namespace
}  // namespace neuroai
