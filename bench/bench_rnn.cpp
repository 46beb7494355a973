// Recurrent-cell ops (backend.h section 10): the GRU and leaky-RNN steps, forward and backward, and
// the relevance trace sq_trace_update, at the recurrent models' shapes (batch 128, hidden 128 and
// 1024; the trace over the T * B = 28 * 128 rows of one sequence). The x W^T GEMMs of a step are
// spmm / masked linear (bench_csr.cpp, bench_dense.cpp); these ops are the pointwise remainder, so
// their baseline is a copy of the same bytes: "copy_frac" = (time of one std::memcpy on CPU /
// cudaMemcpyAsync device-to-device on GPU moving the op's bytes) / the op's time, i.e. the achieved
// fraction of copy bandwidth (issue 7's GPU target: >= 0.85). "bytes/s" counts every array an op
// must read or write once (reads + writes); a copy of S bytes moves 2 S. BM_Memcpy/<backend>
// (bench_graph.cpp) is the stand-alone copy. CPU runs use NEUROAI_BENCH_THREADS threads (default 1)
// and report CPU time; GPU runs (when CUDA is compiled in; skipped without a device) are timed with
// CUDA events after a warm-up.
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
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

constexpr int64_t kBatch = 128;
constexpr int64_t kSteps = 28;  // sequence length of the row-sequential 28x28 images (bench_models.cpp)

std::vector<float> uniform(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = u(rng);
  return v;
}

// An array on a backend, uploaded from the host when given one.
template <class T>
struct DevBuf {
  Backend* be;
  T* p;
  DevBuf(Backend& b, int64_t n) : be(&b), p(static_cast<T*>(b.alloc(size_t(n) * sizeof(T)))) {}
  DevBuf(Backend& b, const std::vector<T>& h) : DevBuf(b, int64_t(h.size())) {
    b.upload(p, h.data(), h.size() * sizeof(T));
  }
  ~DevBuf() { be->free(p); }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
};

// The named backend (cpu: NEUROAI_BENCH_THREADS threads, default 1), or the benchmark skipped.
std::unique_ptr<Backend> backend_or_skip(benchmark::State& state, const std::string& name) {
  std::string reason;
  BackendOptions opts;
  const char* t = std::getenv("NEUROAI_BENCH_THREADS");
  opts.threads = t && std::atoi(t) > 0 ? std::atoi(t) : 1;
  auto be = try_make_backend(name, &reason, opts);
  if (!be) state.SkipWithError((name + " backend unavailable: " + reason).c_str());
  return be;
}

// CPU seconds of the calling thread (the clock of Google Benchmark's cpu_time).
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Runs op() per iteration after a warm-up and returns its mean seconds: on "cuda" timed with CUDA
// events on the backend's stream (manual time); on "cpu" Google Benchmark's own clock, the CPU time
// of this thread, which a busy shared machine inflates less than the wall clock (ops there are
// synchronous; the CPU backend runs one thread unless NEUROAI_BENCH_THREADS says otherwise).
template <class Op>
double run_timed(benchmark::State& state, Backend& be, Op op) {
  for (int i = 0; i < 3; ++i) op();
  be.synchronize();
#ifdef NEUROAI_HAVE_CUDA
  if (auto* cb = dynamic_cast<cuda::CudaBackend*>(&be)) {
    cudaEvent_t start, stop;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    double total = 0;
    for (auto _ : state) {
      cudaEventRecord(start, cb->stream());
      op();
      cudaEventRecord(stop, cb->stream());
      cudaEventSynchronize(stop);
      float ms = 0;
      cudaEventElapsedTime(&ms, start, stop);
      state.SetIterationTime(double(ms) / 1e3);
      total += double(ms) / 1e3;
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return state.iterations() > 0 ? total / double(state.iterations()) : 0.0;
  }
#endif
  const double t0 = thread_cpu_seconds();
  for (auto _ : state) op();
  return state.iterations() > 0 ? (thread_cpu_seconds() - t0) / double(state.iterations()) : 0.0;
}

// One copy of `bytes` bytes within the backend's memory: std::memcpy on cpu, cudaMemcpyAsync
// device-to-device on the backend's stream on cuda.
void copy_once(Backend& be, void* dst, const void* src, size_t bytes) {
#ifdef NEUROAI_HAVE_CUDA
  if (auto* cb = dynamic_cast<cuda::CudaBackend*>(&be)) {
    cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cb->stream());
    return;
  }
#endif
  std::memcpy(dst, src, bytes);
  benchmark::DoNotOptimize(dst);
}

// Mean seconds of copy_once over >= 10 copies and >= 10 ms after a warm-up, on the clock run_timed
// uses for this backend.
double copy_seconds(Backend& be, size_t bytes) {
  DevBuf<unsigned char> src(be, int64_t(bytes)), dst(be, int64_t(bytes));
  be.memset_zero(src.p, bytes);
  for (int i = 0; i < 3; ++i) copy_once(be, dst.p, src.p, bytes);
  be.synchronize();
  int64_t reps = 0;
  double s = 0;
#ifdef NEUROAI_HAVE_CUDA
  if (auto* cb = dynamic_cast<cuda::CudaBackend*>(&be)) {
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    for (const int64_t batch = 10; s < 0.01 && reps < 100000; reps += batch) {
      cudaEventRecord(e0, cb->stream());
      for (int64_t r = 0; r < batch; ++r) copy_once(be, dst.p, src.p, bytes);
      cudaEventRecord(e1, cb->stream());
      cudaEventSynchronize(e1);
      float ms = 0;
      cudaEventElapsedTime(&ms, e0, e1);
      s += double(ms) / 1e3;
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    return s / double(reps);
  }
#endif
  const double t0 = thread_cpu_seconds();
  for (; reps < 10 || s < 0.01; ++reps) {
    copy_once(be, dst.p, src.p, bytes);
    s = thread_cpu_seconds() - t0;
  }
  return s / double(reps);
}

// "bytes/s" for `bytes` moved per iteration, "FLOP/s" when flops > 0, and "copy_frac" = the time of a
// copy moving the same bytes (bytes / 2 copied) over the op's mean time `op_s`.
void set_counters(benchmark::State& state, Backend& be, double flops, double bytes, double op_s) {
  if (flops > 0) state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
  if (op_s > 0) state.counters["copy_frac"] = copy_seconds(be, size_t(bytes / 2)) / op_s;
}

// gi, gh (B, 3H), h_prev (B, H) -> h_out (B, H), saved (B, 4H); the plain cell (no phase gate).
void BM_GruStepForward(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t b = state.range(0), h = state.range(1);
  DevBuf<float> gi(*be, uniform(b * 3 * h, 1)), gh(*be, uniform(b * 3 * h, 2)), hp(*be, uniform(b * h, 3));
  DevBuf<float> ho(*be, b * h), saved(*be, b * 4 * h);
  const double s = run_timed(state, *be, [&] {
    be->gru_step_forward({gi.p, b, 3 * h}, {gh.p, b, 3 * h}, {hp.p, b, h}, nullptr, {ho.p, b, h},
                         {saved.p, b, 4 * h});
  });
  set_counters(state, *be, 0.0, 4.0 * double(b * h) * (3 + 3 + 1 + 1 + 4), s);
}

// dh_out, h_prev (B, H), saved (B, 4H) -> dgi, dgh (B, 3H), dh_prev (B, H).
void BM_GruStepBackward(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t b = state.range(0), h = state.range(1);
  DevBuf<float> dho(*be, uniform(b * h, 1)), hp(*be, uniform(b * h, 2));
  DevBuf<float> dgi(*be, b * 3 * h), dgh(*be, b * 3 * h), dhp(*be, b * h), saved(*be, b * 4 * h);
  {
    // saved = the forward's [r | z | n | gh_n] so the gates hold realistic values.
    DevBuf<float> gi(*be, uniform(b * 3 * h, 3)), gh(*be, uniform(b * 3 * h, 4)), ho(*be, b * h);
    be->gru_step_forward({gi.p, b, 3 * h}, {gh.p, b, 3 * h}, {hp.p, b, h}, nullptr, {ho.p, b, h},
                         {saved.p, b, 4 * h});
    be->synchronize();
  }
  const double s = run_timed(state, *be, [&] {
    be->gru_step_backward({dho.p, b, h}, {hp.p, b, h}, {saved.p, b, 4 * h}, nullptr, {dgi.p, b, 3 * h},
                          {dgh.p, b, 3 * h}, {dhp.p, b, h});
  });
  set_counters(state, *be, 0.0, 4.0 * double(b * h) * (1 + 1 + 4 + 3 + 3 + 1), s);
}

// Leaky RNN (alpha per unit): gi, gh, h_prev (B, H) -> h_out, saved (B, H).
void BM_RnnStepForward(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t b = state.range(0), h = state.range(1);
  DevBuf<float> gi(*be, uniform(b * h, 1)), gh(*be, uniform(b * h, 2)), hp(*be, uniform(b * h, 3));
  DevBuf<float> alpha(*be, std::vector<float>(size_t(h), 0.5f)), ho(*be, b * h), saved(*be, b * h);
  const double s = run_timed(state, *be, [&] {
    be->rnn_step_forward({gi.p, b, h}, {gh.p, b, h}, {hp.p, b, h}, alpha.p, nullptr, {ho.p, b, h}, {saved.p, b, h});
  });
  set_counters(state, *be, 0.0, 4.0 * double(b * h) * (3 + 2), s);
}

// dh_out, saved (B, H) -> dpre, dh_prev (B, H).
void BM_RnnStepBackward(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t b = state.range(0), h = state.range(1);
  DevBuf<float> dho(*be, uniform(b * h, 1)), saved(*be, uniform(b * h, 2));
  DevBuf<float> alpha(*be, std::vector<float>(size_t(h), 0.5f)), dpre(*be, b * h), dhp(*be, b * h);
  const double s = run_timed(state, *be, [&] {
    be->rnn_step_backward({dho.p, b, h}, {saved.p, b, h}, alpha.p, nullptr, {dpre.p, b, h}, {dhp.p, b, h});
  });
  set_counters(state, *be, 0.0, 4.0 * double(b * h) * (2 + 2), s);
}

// x (R, N) with R = T * B rows (one sequence's states), trace (N) read and written.
void BM_SqTraceUpdate(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t r = state.range(0), n = state.range(1);
  DevBuf<float> x(*be, uniform(r * n, 1)), trace(*be, std::vector<float>(size_t(n), 0.f));
  const double s = run_timed(state, *be, [&] { be->sq_trace_update({x.p, r, n}, 0.99f, trace.p); });
  set_counters(state, *be, 2.0 * double(r * n), 4.0 * double(r * n + 2 * n), s);
}

using Fn = void (*)(benchmark::State&, const std::string&);

// Google Benchmark's CPU time on cpu, the CUDA events' (manual) time on cuda.
benchmark::internal::Benchmark* add(const char* op, const std::string& be, Fn fn) {
  auto* b = benchmark::RegisterBenchmark((std::string(op) + "/" + be).c_str(), fn, be)->Unit(benchmark::kMicrosecond);
  return be == "cpu" ? b : b->UseManualTime();
}

// Registered by hand so the names read BM_<Op>/<backend>.
void register_all(const std::string& be) {
  const std::pair<const char*, Fn> step_ops[] = {{"BM_GruStepForward", BM_GruStepForward},
                                                 {"BM_GruStepBackward", BM_GruStepBackward},
                                                 {"BM_RnnStepForward", BM_RnnStepForward},
                                                 {"BM_RnnStepBackward", BM_RnnStepBackward}};
  for (const auto& [op, fn] : step_ops)
    add(op, be, fn)->ArgNames({"b", "h"})->Args({kBatch, 128})->Args({kBatch, 1024});
  add("BM_SqTraceUpdate", be, BM_SqTraceUpdate)
      ->ArgNames({"r", "n"})
      ->Args({kSteps * kBatch, 128})
      ->Args({kSteps * kBatch, 1024});
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
