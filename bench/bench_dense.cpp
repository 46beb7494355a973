// Dense ops: masked linear forward / backward (m = batch, k = inputs, n = outputs) and the Adam step.
// The masked layer is W ⊙ M (a scratch copy) then SGEMM, so its baseline is plain SGEMM on the same
// shape: BM_Sgemm/cpu in bench_csr.cpp (OpenBLAS) and BM_Gemm/cuda here (cuBLAS through the backend).
// "FLOP/s" counts 2 m k n per GEMM; "bytes/s" for Adam counts the streamed arrays.
#include <chrono>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "kernels/backend.h"
#include "kernels/registry.h"

#ifdef NEUROAI_HAVE_CUDA
#include <cuda_runtime.h>

#include "kernels/cuda/cuda_backend.h"
#endif

namespace neuroai::bench {
namespace {

std::vector<float> uniform(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

std::vector<uint8_t> half_mask(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution keep(0.5);
  std::vector<uint8_t> v(n);
  for (auto& x : v) x = keep(rng) ? 1 : 0;
  return v;
}

// An array on a backend, filled from the host once.
template <class T>
struct DevBuf {
  Backend* be;
  T* p;
  DevBuf(Backend& b, const std::vector<T>& h) : be(&b), p(static_cast<T*>(b.alloc(h.size() * sizeof(T)))) {
    b.upload(p, h.data(), h.size() * sizeof(T));
  }
  ~DevBuf() { be->free(p); }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
};

// Makes the named backend, or marks the benchmark skipped with the reason.
std::unique_ptr<Backend> backend_or_skip(benchmark::State& state, const std::string& name) {
  std::string reason;
  auto be = try_make_backend(name, &reason);
  if (!be) state.SkipWithError((name + " backend unavailable: " + reason).c_str());
  return be;
}

// Times op() per iteration after a warm-up: CUDA events on the backend's stream for "cuda", the
// wall clock for "cpu" (ops there are synchronous).
template <class Op>
void run_timed(benchmark::State& state, Backend& be, Op op) {
  for (int i = 0; i < 3; ++i) op();
  be.synchronize();
#ifdef NEUROAI_HAVE_CUDA
  if (auto* cb = dynamic_cast<cuda::CudaBackend*>(&be)) {
    cudaEvent_t start, stop;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    for (auto _ : state) {
      cudaEventRecord(start, cb->stream());
      op();
      cudaEventRecord(stop, cb->stream());
      cudaEventSynchronize(stop);
      float ms = 0;
      cudaEventElapsedTime(&ms, start, stop);
      state.SetIterationTime(double(ms) / 1e3);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return;
  }
#endif
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    op();
    be.synchronize();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
}

void set_flops(benchmark::State& state, double flops) {
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_MaskedLinearForward(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  DevBuf<float> x(*be, uniform(size_t(m * k), 1)), w(*be, uniform(size_t(n * k), 2)), b(*be, uniform(size_t(n), 3));
  DevBuf<float> y(*be, std::vector<float>(size_t(m * n)));
  DevBuf<uint8_t> mask(*be, half_mask(size_t(n * k), 4));
  run_timed(state, *be, [&] { be->masked_linear_forward({x.p, m, k}, {w.p, n, k}, mask.p, b.p, {y.p, m, n}); });
  set_flops(state, 2.0 * double(m) * double(k) * double(n));
}

void BM_MaskedLinearBackward(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  DevBuf<float> x(*be, uniform(size_t(m * k), 1)), w(*be, uniform(size_t(n * k), 2));
  DevBuf<float> dy(*be, uniform(size_t(m * n), 3));
  DevBuf<float> dx(*be, std::vector<float>(size_t(m * k))), dw(*be, std::vector<float>(size_t(n * k)));
  DevBuf<float> db(*be, std::vector<float>(size_t(n)));
  DevBuf<uint8_t> mask(*be, half_mask(size_t(n * k), 4));
  // dX and dW (two GEMMs) and db, overwriting: the training step's shape.
  run_timed(state, *be, [&] {
    be->masked_linear_backward({x.p, m, k}, {w.p, n, k}, mask.p, {dy.p, m, n}, {dx.p, m, k}, {dw.p, n, k}, db.p,
                               false);
  });
  set_flops(state, 4.0 * double(m) * double(k) * double(n));
}

void BM_Gemm(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  DevBuf<float> x(*be, uniform(size_t(m * k), 1)), w(*be, uniform(size_t(n * k), 2));
  DevBuf<float> y(*be, std::vector<float>(size_t(m * n)));
  run_timed(state, *be, [&] { be->gemm(false, true, 1.0f, {x.p, m, k}, {w.p, n, k}, 0.0f, {y.p, m, n}); });
  set_flops(state, 2.0 * double(m) * double(k) * double(n));
}

void BM_Adam(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t n = state.range(0);
  DevBuf<float> g(*be, uniform(size_t(n), 1)), w(*be, uniform(size_t(n), 2));
  DevBuf<float> m(*be, std::vector<float>(size_t(n))), v(*be, std::vector<float>(size_t(n)));
  DevBuf<uint8_t> mask(*be, half_mask(size_t(n), 4));
  AdamParams p;
  run_timed(state, *be, [&] { be->adam_step(p, n, g.p, mask.p, w.p, m.p, v.p); });
  // Reads g, mask, w, m, v; writes w, m, v.
  state.counters["bytes/s"] =
      benchmark::Counter(double(n) * (4 * 4 + 1 + 3 * 4), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Sgd(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t n = state.range(0);
  DevBuf<float> g(*be, uniform(size_t(n), 1)), w(*be, uniform(size_t(n), 2));
  DevBuf<float> m(*be, std::vector<float>(size_t(n)));
  DevBuf<uint8_t> mask(*be, half_mask(size_t(n), 4));
  SgdParams p;
  run_timed(state, *be, [&] { be->sgd_step(p, n, g.p, mask.p, w.p, m.p); });
  // Reads g, mask, w, m; writes w, m.
  state.counters["bytes/s"] =
      benchmark::Counter(double(n) * (3 * 4 + 1 + 2 * 4), benchmark::Counter::kIsIterationInvariantRate);
}

void layer_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "k", "n"})->Args({128, 1024, 1024})->Args({128, 784, 300})->UseManualTime();
  b->Unit(benchmark::kMicrosecond);
}

void vector_sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n"})->Arg(1 << 20)->Arg(1 << 22)->UseManualTime()->Unit(benchmark::kMicrosecond);
}

// Registered by hand so the names read BM_<Op>/<backend>.
void register_all(const std::string& be) {
  using Fn = void (*)(benchmark::State&, const std::string&);
  const std::pair<const char*, Fn> layer_ops[] = {{"BM_MaskedLinearForward", BM_MaskedLinearForward},
                                                  {"BM_MaskedLinearBackward", BM_MaskedLinearBackward},
                                                  {"BM_Gemm", BM_Gemm}};
  for (const auto& [name, fn] : layer_ops) {
    // On CPU the GEMM baseline is BM_Sgemm/cpu in bench_csr.cpp.
    if (be == "cpu" && fn == BM_Gemm) continue;
    layer_shapes(benchmark::RegisterBenchmark((std::string(name) + "/" + be).c_str(), fn, be));
  }
  vector_sizes(benchmark::RegisterBenchmark(("BM_Adam/" + be).c_str(), BM_Adam, be));
  vector_sizes(benchmark::RegisterBenchmark(("BM_Sgd/" + be).c_str(), BM_Sgd, be));
}

const bool kRegistered = [] {
  register_all("cpu");
#ifdef NEUROAI_HAVE_CUDA
  register_all("cuda");
#endif
  return true;
}();

}  // namespace
}  // namespace neuroai::bench
