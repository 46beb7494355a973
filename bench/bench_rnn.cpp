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
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/bench_util.h"
#include "kernels/backend.h"

namespace neuroai::bench {
namespace {

constexpr int64_t kBatch = 128;
constexpr int64_t kSteps = 28;  // sequence length of the row-sequential 28x28 images (bench_models.cpp)

// gi, gh (B, 3H), h_prev (B, H) -> h_out (B, H), saved (B, 4H); the plain cell (no phase gate).
void BM_GruStepForward(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t b = state.range(0), h = state.range(1);
  Buffer<float> gi(*be, uniform(b * 3 * h, 1)), gh(*be, uniform(b * 3 * h, 2)), hp(*be, uniform(b * h, 3));
  Buffer<float> ho(*be, b * h), saved(*be, b * 4 * h);
  const double s = run_timed(state, *be, [&] {
    be->gru_step_forward({gi.data(), b, 3 * h}, {gh.data(), b, 3 * h}, {hp.data(), b, h}, nullptr, {ho.data(), b, h},
                         {saved.data(), b, 4 * h});
  });
  set_counters(state, be.get(), 0.0, 4.0 * double(b * h) * (3 + 3 + 1 + 1 + 4), s);
}

// dh_out, h_prev (B, H), saved (B, 4H) -> dgi, dgh (B, 3H), dh_prev (B, H).
void BM_GruStepBackward(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t b = state.range(0), h = state.range(1);
  Buffer<float> dho(*be, uniform(b * h, 1)), hp(*be, uniform(b * h, 2));
  Buffer<float> dgi(*be, b * 3 * h), dgh(*be, b * 3 * h), dhp(*be, b * h), saved(*be, b * 4 * h);
  {
    // saved = the forward's [r | z | n | gh_n] so the gates hold realistic values.
    Buffer<float> gi(*be, uniform(b * 3 * h, 3)), gh(*be, uniform(b * 3 * h, 4)), ho(*be, b * h);
    be->gru_step_forward({gi.data(), b, 3 * h}, {gh.data(), b, 3 * h}, {hp.data(), b, h}, nullptr, {ho.data(), b, h},
                         {saved.data(), b, 4 * h});
    be->synchronize();
  }
  const double s = run_timed(state, *be, [&] {
    be->gru_step_backward({dho.data(), b, h}, {hp.data(), b, h}, {saved.data(), b, 4 * h}, nullptr, {dgi.data(), b, 3 * h},
                          {dgh.data(), b, 3 * h}, {dhp.data(), b, h});
  });
  set_counters(state, be.get(), 0.0, 4.0 * double(b * h) * (1 + 1 + 4 + 3 + 3 + 1), s);
}

// Leaky RNN (alpha per unit): gi, gh, h_prev (B, H) -> h_out, saved (B, H).
void BM_RnnStepForward(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t b = state.range(0), h = state.range(1);
  Buffer<float> gi(*be, uniform(b * h, 1)), gh(*be, uniform(b * h, 2)), hp(*be, uniform(b * h, 3));
  Buffer<float> alpha(*be, std::vector<float>(size_t(h), 0.5f)), ho(*be, b * h), saved(*be, b * h);
  const double s = run_timed(state, *be, [&] {
    be->rnn_step_forward({gi.data(), b, h}, {gh.data(), b, h}, {hp.data(), b, h}, alpha.data(), nullptr, {ho.data(), b, h}, {saved.data(), b, h});
  });
  set_counters(state, be.get(), 0.0, 4.0 * double(b * h) * (3 + 2), s);
}

// dh_out, saved (B, H) -> dpre, dh_prev (B, H).
void BM_RnnStepBackward(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t b = state.range(0), h = state.range(1);
  Buffer<float> dho(*be, uniform(b * h, 1)), saved(*be, uniform(b * h, 2));
  Buffer<float> alpha(*be, std::vector<float>(size_t(h), 0.5f)), dpre(*be, b * h), dhp(*be, b * h);
  const double s = run_timed(state, *be, [&] {
    be->rnn_step_backward({dho.data(), b, h}, {saved.data(), b, h}, alpha.data(), nullptr, {dpre.data(), b, h}, {dhp.data(), b, h});
  });
  set_counters(state, be.get(), 0.0, 4.0 * double(b * h) * (2 + 2), s);
}

// x (R, N) with R = T * B rows (one sequence's states), trace (N) read and written.
void BM_SqTraceUpdate(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t r = state.range(0), n = state.range(1);
  Buffer<float> x(*be, uniform(r * n, 1)), trace(*be, std::vector<float>(size_t(n), 0.f));
  const double s = run_timed(state, *be, [&] { be->sq_trace_update({x.data(), r, n}, 0.99f, trace.data()); });
  set_counters(state, be.get(), 2.0 * double(r * n), 4.0 * double(r * n + 2 * n), s);
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

const bool kRegistered = register_for_backends(register_all);

}  // namespace
}  // namespace neuroai::bench
