// Whole training steps through the real model APIs (issue 3, issue 7): forward, loss, backward and
// the optimizer step on random data, one CPU thread (NEUROAI_BENCH_THREADS=T for more), "samples/s" =
// batch / step time.
//   BM_MlpTrainStep/cpu: 784-1024-1024-10 at batch 128, Adam. density (per mille) is the alive fraction
//     of every layer after layerwise magnitude pruning; format 0 = dense (masked GEMM, the time does not
//     depend on the density), 1 = CSR (every layer handed over with to_csr()), 2 = auto (the engine's
//     own hand-off: maybe_to_csr with the break-even measured on this machine; label = the formats).
//     Issue 3's target: format 1 or 2 at density 100 is >= 3x format 0.
//   BM_GruTrainStep/cpu: GRU 28 -> 128 -> 10 over 28 steps (row-sequential 28x28 images), batch 128,
//     Adam, gradient clipping at 1; W_ih and W_hh pruned per gate block by magnitude; format as above
//     (the readout stays dense).
//   BM_GcnTrainStep/cpu: 2-layer GCN with Hebbian edges (32 -> 64 -> 4) on an SBM of 1000 nodes
//     (k = 4, mean degree 20, ratio 0.1), full-graph cross-entropy over every node, Adam; edges =
//     the kept fraction of the node pairs (per mille, random pruning).
// bench/peers/ runs the same workloads in PyTorch.
#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "engine/graph.h"
#include "engine/pruner.h"
#include "kernels/registry.h"
#include "models/gnn.h"
#include "models/mlp.h"
#include "models/rnn.h"
#include "models/rnn_trainer.h"

namespace neuroai::bench {
namespace {

constexpr int64_t kBatch = 128;

std::vector<float> uniform(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = u(rng);
  return v;
}

std::vector<int32_t> labels(int64_t n, int32_t classes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> u(0, classes - 1);
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& y : v) y = u(rng);
  return v;
}

// CPU threads: NEUROAI_BENCH_THREADS (the peer scripts set it to PyTorch's count), default 1.
int bench_threads() {
  const char* s = std::getenv("NEUROAI_BENCH_THREADS");
  return s && std::atoi(s) > 0 ? std::atoi(s) : 1;
}

// A CPU backend with bench_threads() threads, or the benchmark skipped with the reason.
std::unique_ptr<Backend> cpu_or_skip(benchmark::State& state) {
  std::string reason;
  BackendOptions opts;
  opts.threads = bench_threads();
  auto be = try_make_backend("cpu", &reason, opts);
  if (!be) state.SkipWithError(("cpu backend unavailable: " + reason).c_str());
  return be;
}

// Puts a layer in the benchmark's format: 0 dense, 1 CSR, 2 the engine's hand-off for `batch`.
void set_format(SparseLinear& l, int64_t format, int64_t batch) {
  if (format == 1) l.to_csr();
  if (format == 2) l.maybe_to_csr(batch);
}

std::string formats_label(const std::vector<const SparseLinear*>& layers) {
  std::string s;
  for (const auto* l : layers) s += std::string(s.empty() ? "" : ",") + format_name(l->format());
  return s;
}

// Two warm-up steps, then one step per iteration.
template <class Step>
void run_steps(benchmark::State& state, Backend& be, Step step, int64_t samples) {
  for (int i = 0; i < 2; ++i) step();
  be.synchronize();
  for (auto _ : state) {
    step();
    be.synchronize();
  }
  state.counters["samples/s"] = benchmark::Counter(double(samples), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_MlpTrainStep_cpu(benchmark::State& state) {
  auto be = cpu_or_skip(state);
  if (!be) return;
  const double density = double(state.range(0)) / 1000.0;
  const int64_t format = state.range(1);
  MlpConfig mc;
  mc.inputs = 784;
  mc.hidden = {1024, 1024};
  mc.classes = 10;
  Mlp model(*be, mc, 1);
  std::vector<PrunableLayer> layers;
  std::vector<const SparseLinear*> ls;
  for (int i = 0; i < model.num_layers(); ++i) {
    model.layer(i).set_handoff({SparseFormat::Dense});
    layers.push_back(PrunableLayer{&model.layer(i), Sheet{1, int32_t(model.layer(i).in())},
                                   Sheet{1, int32_t(model.layer(i).out())}, i == model.num_hidden()});
    ls.push_back(&model.layer(i));
  }
  if (density < 1.0) {
    PruneConfig pc;
    pc.method = PruneMethod::OneShot;
    pc.allocation = PruneAllocation::Layerwise;
    Pruner(pc, 1).prune_to(1.0 - density, layers);
  }
  for (int i = 0; i < model.num_layers(); ++i) set_format(model.layer(i), format, kBatch);

  Tensor x(*be, kBatch, mc.inputs, uniform(kBatch * mc.inputs, 2));  // (B, 784)
  Buffer<int32_t> y(*be, labels(kBatch, int32_t(mc.classes), 3));     // (B)
  Tensor dlogits(*be, kBatch, mc.classes);                              // (B, 10)
  Buffer<float> loss(*be, 1);
  OptimConfig opt;  // Adam, lr 1e-3
  int64_t t = 0;
  run_steps(state, *be, [&] {
    ConstDenseView logits = model.forward(x.cview());
    be->softmax_xent(logits, y.data(), loss.data(), dlogits.view());
    model.zero_grad();
    model.backward(x.cview(), dlogits.cview());
    model.step(opt, opt.lr, ++t);
  }, kBatch);
  state.SetLabel(formats_label(ls));
}

void BM_GruTrainStep_cpu(benchmark::State& state) {
  auto be = cpu_or_skip(state);
  if (!be) return;
  const double density = double(state.range(0)) / 1000.0;
  const int64_t format = state.range(1);
  constexpr int64_t kSteps = 28;
  RnnConfig rc;
  rc.cell = CellKind::Gru;
  rc.inputs = 28;
  rc.hidden = 128;
  rc.outputs = 10;
  rc.readout = SeqReadout::ClassifyLast;
  rc.seed = 1;
  RnnModel model(*be, rc);
  for (SparseLinear* l : {&model.ih(), &model.hh(), &model.head()}) l->set_handoff({SparseFormat::Dense});
  if (density < 1.0) prune_rnn(model, 1.0 - density, PruneScore::Magnitude, true);
  set_format(model.ih(), format, kSteps * kBatch);
  set_format(model.hh(), format, kBatch);

  Tensor x(*be, kSteps * kBatch, rc.inputs, uniform(kSteps * kBatch * rc.inputs, 2));  // (T * B, 28) time-major
  Buffer<int32_t> y(*be, labels(kBatch, int32_t(rc.outputs), 3));                      // (B)
  Tensor dout(*be, kBatch, rc.outputs);                                                  // (B, 10)
  Buffer<float> loss(*be, 1);
  OptimConfig opt;
  int64_t t = 0;
  run_steps(state, *be, [&] {
    model.zero_grad();
    ConstDenseView out = model.forward(x.cview(), kSteps, kBatch);
    be->softmax_xent(out, y.data(), loss.data(), dout.view());
    model.backward(dout.cview());
    model.clip_grad_norm(1.0f);
    model.step(opt, opt.lr, ++t);
  }, kBatch);
  state.SetLabel(formats_label({&model.ih(), &model.hh(), &model.head()}));
}

void BM_GcnTrainStep_cpu(benchmark::State& state) {
  auto be = cpu_or_skip(state);
  if (!be) return;
  const double keep = double(state.range(0)) / 1000.0;
  SbmConfig sc;  // n 1000, k 4, mean degree 20, ratio 0.1
  sc.seed = 1;
  const Graph g = make_sbm(sc);
  GnnConfig gc;
  gc.in_features = 32;
  gc.hidden = 64;
  gc.out = sc.k;
  gc.layers = 2;
  GnnModel model(*be, gc, g.n, g.edges);
  if (keep < 1.0) {
    Buffer<float> score(*be, uniform(model.pairs(), 4));
    model.prune_pairs(score.data(), model.pairs() - std::llround(keep * double(model.pairs())));
  }
  const int64_t n = g.n, c = gc.out;
  // Features (F, N), feature-major as the model takes them.
  const auto feats = csbm_features(g.labels, sc.k, gc.in_features, 1.0, 5);  // (N, F)
  std::vector<float> xt(feats.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t f = 0; f < gc.in_features; ++f) xt[size_t(f * n + i)] = feats[size_t(i * gc.in_features + f)];
  Tensor x(*be, gc.in_features, n, xt);  // (F, N)
  std::vector<float> eye(size_t(c * c), 0.f);
  for (int64_t i = 0; i < c; ++i) eye[size_t(i * c + i)] = 1.f;
  Tensor id(*be, c, c, eye);  // (C, C): transposes through GEMM
  Buffer<int32_t> y(*be, g.labels);
  Tensor logits(*be, n, c), dlogits(*be, n, c), dout(*be, c, n);  // (N, C), (N, C), (C, N)
  Buffer<float> loss(*be, 1);
  OptimConfig opt;  // as `train gnn`: Adam, lr 0.01, weight decay 5e-4, edge lr 0.01
  opt.lr = 0.01f;
  opt.weight_decay = 5e-4f;
  int64_t t = 0;
  run_steps(state, *be, [&] {
    model.zero_grad();
    const Tensor& out = model.forward(x.cview(), true);  // (C, N)
    be->gemm(true, false, 1.f, out.cview(), id.cview(), 0.f, logits.view());
    be->softmax_xent(logits.cview(), y.data(), loss.data(), dlogits.view());
    be->gemm(false, true, 1.f, id.cview(), dlogits.cview(), 0.f, dout.view());
    model.backward(dout.cview());
    model.step(opt, opt.lr, 0.01f, ++t);
    model.update_state();
  }, n);
  state.counters["pairs"] = double(model.pairs());
}

BENCHMARK(BM_MlpTrainStep_cpu)
    ->Name("BM_MlpTrainStep/cpu")
    ->ArgNames({"density", "format"})
    ->Args({1000, 0})
    ->Args({100, 0})
    ->Args({500, 1})
    ->Args({300, 1})
    ->Args({200, 1})
    ->Args({100, 1})
    ->Args({50, 1})
    ->Args({10, 1})
    ->Args({100, 2})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GruTrainStep_cpu)
    ->Name("BM_GruTrainStep/cpu")
    ->ArgNames({"density", "format"})
    ->Args({1000, 0})
    ->Args({100, 1})
    ->Args({100, 2})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GcnTrainStep_cpu)->Name("BM_GcnTrainStep/cpu")->ArgNames({"edges"})->Arg(1000)->Arg(100)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace neuroai::bench
