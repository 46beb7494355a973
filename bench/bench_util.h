// Helpers shared by the op benchmarks (bench_rnn.cpp, bench_graph.cpp, bench_pointwise.cpp): backends
// that skip when unavailable, timing on the clock each backend reports (CPU time of this thread on cpu,
// CUDA events on cuda), and the copy baseline behind "copy_frac" (the fraction of copy bandwidth an op
// reaches).
#pragma once

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "engine/tensor.h"
#include "kernels/backend.h"
#include "kernels/registry.h"

#ifdef NEUROAI_HAVE_CUDA
#include <cuda_runtime.h>

#include "kernels/cuda/cuda_backend.h"
#endif

namespace neuroai::bench {

// Registers a file's benchmarks for every backend built in: fn("cpu"), and fn("cuda") with CUDA.
// For `const bool kRegistered = register_for_backends(register_all);` at namespace scope.
inline bool register_for_backends(void (*fn)(const std::string& backend)) {
  fn("cpu");
#ifdef NEUROAI_HAVE_CUDA
  fn("cuda");
#endif
  return true;
}

inline std::vector<float> uniform(int64_t n, uint64_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = u(rng);
  return v;
}

// The named backend (cpu: NEUROAI_BENCH_THREADS threads, default 1), or the benchmark skipped.
inline std::unique_ptr<Backend> backend_or_skip(benchmark::State& state, const std::string& name) {
  std::string reason;
  BackendOptions opts;
  const char* t = std::getenv("NEUROAI_BENCH_THREADS");
  opts.threads = t && std::atoi(t) > 0 ? std::atoi(t) : 1;
  auto be = try_make_backend(name, &reason, opts);
  if (!be) state.SkipWithError((name + " backend unavailable: " + reason).c_str());
  return be;
}

#ifdef NEUROAI_HAVE_CUDA
inline cuda::CudaBackend* as_cuda(Backend& be) { return dynamic_cast<cuda::CudaBackend*>(&be); }
#endif

// CPU seconds of the calling thread (the clock of Google Benchmark's cpu_time).
inline double thread_cpu_seconds() {
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
  if (auto* cb = as_cuda(be)) {
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
inline void copy_once(Backend& be, void* dst, const void* src, size_t bytes) {
#ifdef NEUROAI_HAVE_CUDA
  if (auto* cb = as_cuda(be)) {
    cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cb->stream());
    return;
  }
#endif
  std::memcpy(dst, src, bytes);
  benchmark::DoNotOptimize(dst);
}

// Mean seconds of copy_once over >= 10 copies and >= 10 ms after a warm-up, on the clock run_timed
// uses for this backend.
inline double copy_seconds(Backend& be, size_t bytes) {
  Buffer<unsigned char> src(be, int64_t(bytes)), dst(be, int64_t(bytes));
  be.memset_zero(src.data(), bytes);
  for (int i = 0; i < 3; ++i) copy_once(be, dst.data(), src.data(), bytes);
  be.synchronize();
  int64_t reps = 0;
  double s = 0;
#ifdef NEUROAI_HAVE_CUDA
  if (auto* cb = as_cuda(be)) {
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    for (const int64_t batch = 10; s < 0.01 && reps < 100000; reps += batch) {
      cudaEventRecord(e0, cb->stream());
      for (int64_t r = 0; r < batch; ++r) copy_once(be, dst.data(), src.data(), bytes);
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
    copy_once(be, dst.data(), src.data(), bytes);
    s = thread_cpu_seconds() - t0;
  }
  return s / double(reps);
}

// "bytes/s" for `bytes` moved per iteration, "FLOP/s" when flops > 0, and, when op_s > 0, "copy_frac"
// = the time of a copy moving the same bytes (bytes / 2 copied) over the op's mean time op_s.
inline void set_counters(benchmark::State& state, Backend* be, double flops, double bytes, double op_s) {
  if (flops > 0) state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
  if (be && op_s > 0) state.counters["copy_frac"] = copy_seconds(*be, size_t(bytes / 2)) / op_s;
}

// A benchmark function of one backend, registered as "<op>/<backend>".
using Fn = void (*)(benchmark::State&, const std::string&);

// Registers fn for backend be: Google Benchmark's CPU time on cpu, the CUDA events' (manual) time on cuda.
inline benchmark::internal::Benchmark* add(const char* op, const std::string& be, Fn fn) {
  auto* b = benchmark::RegisterBenchmark((std::string(op) + "/" + be).c_str(), fn, be)->Unit(benchmark::kMicrosecond);
  return be == "cpu" ? b : b->UseManualTime();
}

}  // namespace neuroai::bench
