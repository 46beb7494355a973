// Magnitude pruning, divisive normalization and trace updates. Pruning ranks n weights (normal
// scores, all alive) and prunes 50%; the GPU run also times one cudaMemcpy device-to-device of the
// same weights, the floor for any pass over them, and reports the ratio as "x_copy" (target: <= 4
// at 64M weights). "bytes/s" counts the bytes an op must touch at least once. GPU runs (when CUDA
// is compiled in; skipped without a device) are timed with CUDA events after a warm-up.
#include <algorithm>
#include <memory>
#include <random>
#include <string>
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
constexpr Sheet kSheet{32, 32};

std::vector<float> normal_floats(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// An owning buffer on a backend.
template <class T>
struct Buffer {
  Backend* be;
  T* p;
  Buffer(Backend& b, int64_t n) : be(&b), p(static_cast<T*>(b.alloc(size_t(n) * sizeof(T)))) {}
  Buffer(Backend& b, const std::vector<T>& host) : Buffer(b, int64_t(host.size())) {
    b.upload(p, host.data(), host.size() * sizeof(T));
  }
  ~Buffer() { be->free(p); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

void set_prune_counters(benchmark::State& state, int64_t n) {
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * int64_t(sizeof(float) + 1));  // read score and alive once
}

// Forward reads h, writes y and d; backward reads h, d, dy and writes dh.
constexpr int64_t kDivisiveBytesPerUnit = 7 * sizeof(float);

// ---- CPU ----

void BM_PruneSmallest_cpu(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto be = make_backend("cpu");
  Buffer<float> score(*be, normal_floats(n, 1));
  Buffer<uint8_t> alive(*be, n);
  const PruneTarget t{score.p, alive.p, n};
  for (auto _ : state) {
    state.PauseTiming();
    std::fill(alive.p, alive.p + n, uint8_t(1));
    state.ResumeTiming();
    be->prune_smallest(std::span<const PruneTarget>(&t, 1), n / 2);
  }
  set_prune_counters(state, n);
}

void BM_DivisiveNorm_cpu(benchmark::State& state) {
  auto be = make_backend("cpu");
  const int64_t n = kSheet.units(), total = kBatch * n;
  Buffer<float> h(*be, normal_floats(total, 2)), dy(*be, normal_floats(total, 3));
  Buffer<float> y(*be, total), d(*be, total), dh(*be, total);
  const DivisiveParams p;
  for (auto _ : state) {
    be->divisive_norm_forward(ConstDenseView(h.p, kBatch, n), kSheet, p, DenseView{y.p, kBatch, n},
                              DenseView{d.p, kBatch, n});
    be->divisive_norm_backward(ConstDenseView(h.p, kBatch, n), ConstDenseView(d.p, kBatch, n),
                               ConstDenseView(dy.p, kBatch, n), kSheet, p, DenseView{dh.p, kBatch, n});
  }
  state.SetItemsProcessed(state.iterations() * total);
  state.SetBytesProcessed(state.iterations() * total * kDivisiveBytesPerUnit);
}

void BM_TraceUpdate_cpu(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto be = make_backend("cpu");
  Buffer<float> x(*be, normal_floats(kBatch * n, 4)), trace(*be, normal_floats(n, 5));
  for (auto _ : state) be->trace_update(ConstDenseView(x.p, kBatch, n), 0.9f, trace.p);
  state.SetBytesProcessed(state.iterations() * (kBatch + 2) * n * int64_t(sizeof(float)));
}

void BM_Dog_cpu(benchmark::State& state) {
  auto be = make_backend("cpu");
  const int64_t n = kSheet.units(), total = kBatch * n;
  Buffer<float> h(*be, normal_floats(total, 2)), dy(*be, normal_floats(total, 3));
  Buffer<float> y(*be, total), dh(*be, total);
  const DogParams p;
  for (auto _ : state) {
    be->dog_forward(ConstDenseView(h.p, kBatch, n), kSheet, p, DenseView{y.p, kBatch, n});
    be->dog_backward(ConstDenseView(y.p, kBatch, n), ConstDenseView(dy.p, kBatch, n), kSheet, p,
                     DenseView{dh.p, kBatch, n});
  }
  state.SetItemsProcessed(state.iterations() * total);
}

void BM_Kwta_cpu(benchmark::State& state) {
  auto be = make_backend("cpu");
  const int64_t n = kSheet.units(), total = kBatch * n;
  Buffer<float> h(*be, normal_floats(total, 2)), dy(*be, normal_floats(total, 3));
  Buffer<float> y(*be, total), dh(*be, total);
  Buffer<uint8_t> winners(*be, total);
  const KwtaParams p;
  for (auto _ : state) {
    be->kwta_forward(ConstDenseView(h.p, kBatch, n), kSheet, p, DenseView{y.p, kBatch, n}, winners.p);
    be->kwta_backward(winners.p, ConstDenseView(dy.p, kBatch, n), DenseView{dh.p, kBatch, n});
  }
  state.SetItemsProcessed(state.iterations() * total);
}

BENCHMARK(BM_PruneSmallest_cpu)->Name("BM_PruneSmallest/cpu")->ArgNames({"n"})->Arg(1 << 20)->Arg(1 << 24)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DivisiveNorm_cpu)->Name("BM_DivisiveNorm/cpu/b:128/sheet:32x32")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Dog_cpu)->Name("BM_Dog/cpu/b:128/sheet:32x32")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Kwta_cpu)->Name("BM_Kwta/cpu/b:128/sheet:32x32")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TraceUpdate_cpu)->Name("BM_TraceUpdate/cpu/b:128")->ArgNames({"n"})->Arg(1 << 16)
    ->Unit(benchmark::kMicrosecond);

#ifdef NEUROAI_HAVE_CUDA

// The CUDA backend, or null after SkipWithError when there is no usable GPU.
std::unique_ptr<Backend> cuda_or_skip(benchmark::State& state) {
  std::string reason;
  auto be = try_make_backend("cuda", &reason);
  if (!be) state.SkipWithError(("cuda backend unavailable: " + reason).c_str());
  return be;
}

cudaStream_t stream_of(Backend& be) { return dynamic_cast<cuda::CudaBackend&>(be).stream(); }

// Times op() on the backend's stream with CUDA events: `reps` runs after one warm-up, mean ms.
template <class Op>
float time_ms(cudaStream_t stream, int reps, Op op) {
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  op();
  cudaEventRecord(e0, stream);
  for (int r = 0; r < reps; ++r) op();
  cudaEventRecord(e1, stream);
  cudaEventSynchronize(e1);
  float ms = 0;
  cudaEventElapsedTime(&ms, e0, e1);
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  return ms / float(reps);
}

void BM_PruneSmallest_cuda(benchmark::State& state) {
  auto be = cuda_or_skip(state);
  if (!be) return;
  const int64_t n = state.range(0);
  const cudaStream_t stream = stream_of(*be);
  Buffer<float> score(*be, normal_floats(n, 1)), copy(*be, n);
  Buffer<uint8_t> alive(*be, n);
  const PruneTarget t{score.p, alive.p, n};
  const float copy_ms = time_ms(stream, 10, [&] {
    cudaMemcpyAsync(copy.p, score.p, size_t(n) * sizeof(float), cudaMemcpyDeviceToDevice, stream);
  });
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  double total_ms = 0;
  auto reset = [&] { cudaMemsetAsync(alive.p, 1, size_t(n), stream); };
  reset();
  be->prune_smallest(std::span<const PruneTarget>(&t, 1), n / 2);  // warm-up
  for (auto _ : state) {
    reset();
    cudaEventRecord(e0, stream);
    be->prune_smallest(std::span<const PruneTarget>(&t, 1), n / 2);
    cudaEventRecord(e1, stream);
    cudaEventSynchronize(e1);
    float ms = 0;
    cudaEventElapsedTime(&ms, e0, e1);
    total_ms += ms;
    state.SetIterationTime(ms / 1e3);
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  set_prune_counters(state, n);
  state.counters["copy_ms"] = copy_ms;
  state.counters["x_copy"] = float(total_ms / double(state.iterations())) / copy_ms;
}

void BM_DivisiveNorm_cuda(benchmark::State& state) {
  auto be = cuda_or_skip(state);
  if (!be) return;
  const int64_t n = kSheet.units(), total = kBatch * n;
  Buffer<float> h(*be, normal_floats(total, 2)), dy(*be, normal_floats(total, 3));
  Buffer<float> y(*be, total), d(*be, total), dh(*be, total);
  const DivisiveParams p;
  auto op = [&] {
    be->divisive_norm_forward(ConstDenseView(h.p, kBatch, n), kSheet, p, DenseView{y.p, kBatch, n},
                              DenseView{d.p, kBatch, n});
    be->divisive_norm_backward(ConstDenseView(h.p, kBatch, n), ConstDenseView(d.p, kBatch, n),
                               ConstDenseView(dy.p, kBatch, n), kSheet, p, DenseView{dh.p, kBatch, n});
  };
  for (auto _ : state) state.SetIterationTime(time_ms(stream_of(*be), 20, op) / 1e3);
  state.SetItemsProcessed(state.iterations() * total);
  state.SetBytesProcessed(state.iterations() * total * kDivisiveBytesPerUnit);
}

void BM_TraceUpdate_cuda(benchmark::State& state) {
  auto be = cuda_or_skip(state);
  if (!be) return;
  const int64_t n = state.range(0);
  Buffer<float> x(*be, normal_floats(kBatch * n, 4)), trace(*be, normal_floats(n, 5));
  auto op = [&] { be->trace_update(ConstDenseView(x.p, kBatch, n), 0.9f, trace.p); };
  for (auto _ : state) state.SetIterationTime(time_ms(stream_of(*be), 20, op) / 1e3);
  state.SetBytesProcessed(state.iterations() * (kBatch + 2) * n * int64_t(sizeof(float)));
}

BENCHMARK(BM_PruneSmallest_cuda)->Name("BM_PruneSmallest/cuda")->ArgNames({"n"})->Arg(1 << 20)->Arg(1 << 24)
    ->Arg(1 << 26)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DivisiveNorm_cuda)->Name("BM_DivisiveNorm/cuda/b:128/sheet:32x32")->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TraceUpdate_cuda)->Name("BM_TraceUpdate/cuda/b:128")->ArgNames({"n"})->Arg(1 << 16)->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

#endif  // NEUROAI_HAVE_CUDA

}  // namespace
}  // namespace neuroai::bench
