// Pointwise ops and reductions (backend.h section 8), the mask apply and the CSR -> dense scatter:
// the streaming kernels of issue 7's GPU target (>= 85% of the device-to-device copy bandwidth).
// Each reports "bytes/s" (every array read or written once) and "copy_frac" = the time of one copy
// moving the same bytes / the op's time (bench_util.h); vectors of 1M and 16M floats (4 and 64 MiB:
// cache-resident and not, on the CPU), and for the row ops a (B, N) activation of 128 x 1024 and
// 4096 x 4096. softmax_xent and argmax_rows run on 4096 x 10 logits (a classifier head).
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/bench_util.h"
#include "kernels/backend.h"

namespace neuroai::bench {
namespace {

std::vector<uint8_t> half_flags(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = uint8_t(rng() & 1);
  return v;
}

void BM_Fill(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t n = state.range(0);
  Buffer<float> x(*be, n);
  const double s = run_timed(state, *be, [&] { be->fill(n, 0.5f, x.data()); });
  set_counters(state, be.get(), 0.0, 4.0 * double(n), s);
}

void BM_Scale(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t n = state.range(0);
  Buffer<float> x(*be, uniform(n, 1));
  const double s = run_timed(state, *be, [&] { be->scale(n, 1.0f, x.data()); });
  set_counters(state, be.get(), double(n), 8.0 * double(n), s);
}

void BM_Axpy(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t n = state.range(0);
  Buffer<float> x(*be, uniform(n, 1)), y(*be, uniform(n, 2));
  const double s = run_timed(state, *be, [&] { be->axpy(n, 1e-3f, x.data(), y.data()); });
  set_counters(state, be.get(), 2.0 * double(n), 12.0 * double(n), s);
}

// Half the entries masked (random): x read and written, the mask bytes read.
void BM_ApplyMask(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t n = state.range(0);
  Buffer<float> x(*be, uniform(n, 1));
  Buffer<uint8_t> mask(*be, half_flags(n, 2));
  const double s = run_timed(state, *be, [&] { be->apply_mask(n, mask.data(), x.data()); });
  set_counters(state, be.get(), 0.0, 9.0 * double(n), s);
}

void BM_AddSign(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t n = state.range(0);
  Buffer<float> x(*be, uniform(n, 1)), dx(*be, uniform(n, 2));
  const double s = run_timed(state, *be, [&] { be->add_sign(n, 1e-6f, x.data(), dx.data()); });
  set_counters(state, be.get(), 0.0, 12.0 * double(n), s);
}

void BM_ReduceSumSquares(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t n = state.range(0);
  Buffer<float> x(*be, uniform(n, 1)), out(*be, 1);
  const double s = run_timed(state, *be, [&] { be->reduce(Reduction::SumSquares, x.data(), n, out.data()); });
  set_counters(state, be.get(), 2.0 * double(n), 4.0 * double(n), s);
}

void BM_CountNonzero(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t n = state.range(0);
  Buffer<uint8_t> flags(*be, half_flags(n, 1));
  const double s = run_timed(state, *be, [&] { benchmark::DoNotOptimize(be->count_nonzero(flags.data(), n)); });
  set_counters(state, be.get(), 0.0, double(n), s);
}

// range(1): 0 ReLU, 1 tanh, 2 sigmoid.
Activation activation_of(int64_t a) { return a == 0 ? Activation::Relu : a == 1 ? Activation::Tanh : Activation::Sigmoid; }

void BM_ActivationForward(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t n = state.range(0);
  const Activation act = activation_of(state.range(1));
  Buffer<float> x(*be, uniform(n, 1)), y(*be, n);
  const double s = run_timed(state, *be, [&] { be->activation_forward(act, x.data(), n, y.data()); });
  set_counters(state, be.get(), 0.0, 8.0 * double(n), s);
}

void BM_ActivationBackward(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t n = state.range(0);
  const Activation act = activation_of(state.range(1));
  Buffer<float> y(*be, uniform(n, 1)), dy(*be, uniform(n, 2)), dx(*be, n);
  const double s = run_timed(state, *be, [&] { be->activation_backward(act, y.data(), dy.data(), n, dx.data()); });
  set_counters(state, be.get(), 0.0, 12.0 * double(n), s);
}

// y (B, N) += bias (N).
void BM_BiasAdd(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t b = state.range(0), n = state.range(1);
  Buffer<float> y(*be, uniform(b * n, 1)), bias(*be, uniform(n, 2));
  const double s = run_timed(state, *be, [&] { be->bias_add({y.data(), b, n}, bias.data()); });
  set_counters(state, be.get(), double(b * n), 4.0 * double(2 * b * n + n), s);
}

// out (N) = column sums of x (B, N): the bias gradient.
void BM_ColSum(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t b = state.range(0), n = state.range(1);
  Buffer<float> x(*be, uniform(b * n, 1)), out(*be, n);
  const double s = run_timed(state, *be, [&] { be->col_sum({x.data(), b, n}, out.data(), false); });
  set_counters(state, be.get(), double(b * n), 4.0 * double(b * n + n), s);
}

// Logits (B, C), labels (B) -> loss (1) and dlogits (B, C).
void BM_SoftmaxXent(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t b = state.range(0), c = state.range(1);
  std::vector<int32_t> lh(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) lh[size_t(i)] = int32_t(i % c);
  Buffer<float> logits(*be, uniform(b * c, 1, -4.f, 4.f)), loss(*be, 1), dlogits(*be, b * c);
  Buffer<int32_t> labels(*be, lh);
  const double s = run_timed(
      state, *be, [&] { be->softmax_xent({logits.data(), b, c}, labels.data(), loss.data(), {dlogits.data(), b, c}); });
  set_counters(state, be.get(), 0.0, 4.0 * double(2 * b * c + b), s);
}

void BM_ArgmaxRows(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t b = state.range(0), c = state.range(1);
  Buffer<float> logits(*be, uniform(b * c, 1));
  Buffer<int32_t> out(*be, b);
  const double s = run_timed(state, *be, [&] { be->argmax_rows({logits.data(), b, c}, out.data()); });
  set_counters(state, be.get(), 0.0, 4.0 * double(b * c + b), s);
}

// A random k x n CSR at density range(2) per mille scattered into a dense (k, n): the dense is written
// once, the stored entries read once.
void BM_CsrToDense(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t rows = state.range(0), cols = state.range(1);
  const double density = double(state.range(2)) / 1000.0;
  std::mt19937_64 rng(3);
  std::bernoulli_distribution keep(density);
  std::vector<int32_t> indptr(1, 0), indices;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c)
      if (keep(rng)) indices.push_back(int32_t(c));
    indptr.push_back(int32_t(indices.size()));
  }
  const int64_t nnz = int64_t(indices.size());
  Buffer<int32_t> ip(*be, indptr), ix(*be, indices.empty() ? std::vector<int32_t>{0} : indices);
  Buffer<float> val(*be, uniform(std::max<int64_t>(nnz, 1), 1)), dense(*be, rows * cols);
  const ConstCsrView a(ip.data(), ix.data(), val.data(), int32_t(rows), int32_t(cols), nnz);
  const double s = run_timed(state, *be, [&] { be->csr_to_dense(a, {dense.data(), rows, cols}); });
  set_counters(state, be.get(), 0.0, 4.0 * double(rows * cols + 2 * nnz + rows + 1), s);
}

// Registered by hand so the names read BM_<Op>/<backend>.
void register_all(const std::string& be) {
  const std::pair<const char*, Fn> vector_ops[] = {
      {"BM_Fill", BM_Fill},         {"BM_Scale", BM_Scale},
      {"BM_Axpy", BM_Axpy},         {"BM_ApplyMask", BM_ApplyMask},
      {"BM_AddSign", BM_AddSign},   {"BM_ReduceSumSquares", BM_ReduceSumSquares},
      {"BM_CountNonzero", BM_CountNonzero}};
  for (const auto& [op, fn] : vector_ops) add(op, be, fn)->ArgNames({"n"})->Arg(1 << 20)->Arg(1 << 24);
  for (const auto& [op, fn] : {std::pair<const char*, Fn>{"BM_ActivationForward", BM_ActivationForward},
                               {"BM_ActivationBackward", BM_ActivationBackward}})
    add(op, be, fn)->ArgNames({"n", "act"})->ArgsProduct({{1 << 20, 1 << 24}, {0, 1, 2}});
  for (const auto& [op, fn] :
       {std::pair<const char*, Fn>{"BM_BiasAdd", BM_BiasAdd}, {"BM_ColSum", BM_ColSum}})
    add(op, be, fn)->ArgNames({"b", "n"})->Args({128, 1024})->Args({4096, 4096});
  for (const auto& [op, fn] :
       {std::pair<const char*, Fn>{"BM_SoftmaxXent", BM_SoftmaxXent}, {"BM_ArgmaxRows", BM_ArgmaxRows}})
    add(op, be, fn)->ArgNames({"b", "c"})->Args({4096, 10});
  add("BM_CsrToDense", be, BM_CsrToDense)->ArgNames({"k", "n", "density"})->Args({1024, 1024, 100});
}

const bool kRegistered = register_for_backends(register_all);

}  // namespace
}  // namespace neuroai::bench
