// Graph-edge ops (backend.h section 11) and the CSR bookkeeping ops: the Hebbian edge rule, the GCN
// normalization, gather_flags and remap_indices on an SBM-like graph (4 blocks, mean degree ~20,
// c_out / c_in = 0.1: bench_models.cpp's GCN graph, sampled pair by pair so 100000 nodes stay cheap;
// node trace width f = 64); hebbian_csr_update (SPEC §7.2), csr_transpose with the gather of the
// values it feeds, and the re-compaction of a CSR layer after a pruning round (scan_flags,
// compact_f32 / compact_i32, csr_compact_indptr, and the whole sequence as SparseLinear::compact_csr
// runs it) on a uniform random 1024 x 1024 pattern (density per mille; a round keeps 80% of the
// entries).
// Baselines in this binary:
// - streaming ops: "copy_frac" = the time of one copy moving the op's bytes (std::memcpy on CPU,
//   cudaMemcpyAsync device-to-device on GPU) / the op's time, the fraction of copy bandwidth reached
//   (issue 7's GPU target for streaming kernels: >= 0.85); BM_Memcpy/<backend> is the copy alone.
//   "bytes/s" counts every array an op must read or write once (reads + writes; a copy of S bytes
//   moves 2 S), not the extra traffic of its gathers.
// - hebbian_csr_update is a sampled dense-dense product (2 B FLOPs per entry): BM_SgemmTN/<backend>
//   is the dense post^T pre on the same shape (OpenBLAS / cuBLAS).
// - GPU only: BM_CusparseCsr2csc/cuda (cusparseCsr2cscEx2) for csr_transpose, and
//   BM_CubSelectFlagged/cuda (cub::DeviceSelect::Flagged of the values and the indices, count read
//   back to the host as scan_flags does) for BM_CsrRecompact/cuda.
// CPU runs use NEUROAI_BENCH_THREADS threads (default 1) and report CPU time. GPU runs (when CUDA is
// compiled in; skipped without a device) are timed with CUDA events after a warm-up, on fewer shapes
// than the CPU runs (the device check's time budget).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <cblas.h>

#include "engine/csr_matrix.h"
#include "engine/graph_metrics.h"
#include "engine/tensor.h"
#include "kernels/backend.h"
#include "bench/bench_util.h"
#include "kernels/registry.h"
#include "models/gnn_graph.h"

#ifdef NEUROAI_HAVE_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusparse.h>

#include "kernels/cuda/cuda_backend.h"
#endif

namespace neuroai::bench {

#ifdef NEUROAI_HAVE_CUDA
// cub::DeviceSelect::Flagged (bench/cub_select.cu, compiled by nvcc): temp = null asks for temp_bytes.
cudaError_t cub_select_flagged(void* temp, size_t& temp_bytes, const float* in, const uint8_t* flags, float* out,
                               int32_t* num_selected, int64_t n, cudaStream_t stream);
cudaError_t cub_select_flagged(void* temp, size_t& temp_bytes, const int32_t* in, const uint8_t* flags, int32_t* out,
                               int32_t* num_selected, int64_t n, cudaStream_t stream);
#endif

namespace {

constexpr int64_t kBatch = 128;
constexpr int32_t kBlocks = 4;
constexpr double kDegree = 20.0, kRatio = 0.1;
constexpr double kKeep = 0.8;  // fraction of the entries a pruning round keeps

std::vector<uint8_t> flags(int64_t n, double p, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution keep(p);
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = keep(rng) ? 1 : 0;
  return v;
}

// ---- graph ops ------------------------------------------------------------------------------

// SBM-like node pairs on n nodes: n * kDegree / 2 draws of (u uniform, v in u's block with
// probability c_in / (c_in + (K - 1) c_out), else in another block), self-pairs and duplicates dropped.
// Cached per n: the CPU and GPU cases and Google Benchmark's repeated runs share one graph.
const EdgeList& sbm_pairs(int32_t n) {
  static std::map<int32_t, EdgeList> cache;
  auto it = cache.find(n);
  if (it != cache.end()) return it->second;
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int32_t> node(0, n - 1);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  const double p_intra = 1.0 / (1.0 + (kBlocks - 1) * kRatio);
  auto block_start = [&](int32_t blk) { return int32_t((int64_t(blk) * n + kBlocks - 1) / kBlocks); };
  EdgeList pairs;
  const int64_t draws = int64_t(double(n) * kDegree / 2);
  pairs.reserve(size_t(draws));
  for (int64_t d = 0; d < draws; ++d) {
    const int32_t u = node(rng);
    const int32_t blk = int32_t(int64_t(u) * kBlocks / n), lo = block_start(blk), hi = block_start(blk + 1);
    int32_t v;
    if (u01(rng) < p_intra) {
      v = lo + int32_t(u01(rng) * (hi - lo));
    } else {
      v = int32_t(u01(rng) * (n - (hi - lo)));  // a node outside [lo, hi)
      if (v >= lo) v += hi - lo;
    }
    v = std::min(v, n - 1);
    if (u != v) pairs.emplace_back(std::min(u, v), std::max(u, v));
  }
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  return cache.emplace(n, std::move(pairs)).first->second;
}

// X (f, N) feature-major node trace; per pair: u, v, w, alpha, hb_old read, hb_new, cos, ssum, a written.
void BM_HebbianEdgeForward(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int32_t n = int32_t(state.range(0));
  const int64_t f = state.range(1);
  DeviceGraph g(*be, n, sbm_pairs(n));
  const int64_t p = g.pairs();
  Buffer<float> x(*be, uniform(f * n, 1)), rule(*be, std::vector<float>{0.f, 1.f, 0.5f, 0.1f});
  Buffer<float> w(*be, uniform(p, 2)), alpha(*be, uniform(p, 3)), hb_old(*be, uniform(p, 4));
  Buffer<float> hb_new(*be, p), cos(*be, p), ssum(*be, p), a(*be, p);
  const double s = run_timed(state, *be, [&] {
    be->hebbian_edge_forward({x.data(), f, n}, g.pair_u(), g.pair_v(), p, rule.data(), w.data(), alpha.data(),
                             hb_old.data(), hb_new.data(), cos.data(), ssum.data(), a.data());
  });
  state.counters["pairs"] = double(p);
  set_counters(state, be.get(), 2.0 * double(f) * double(n + p), 4.0 * double(f * n + 9 * p), s);
}

// Per pair: ga, a, alpha, hb_old, hb_new, cos, ssum read, gw and galpha updated, grule_parts (4) written.
void BM_HebbianEdgeBackward(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t p = int64_t(sbm_pairs(int32_t(state.range(0))).size());
  Buffer<float> ga(*be, uniform(p, 1)), a(*be, uniform(p, 2, 0.f, 1.f)), alpha(*be, uniform(p, 3));
  Buffer<float> hb_old(*be, uniform(p, 4)), hb_new(*be, uniform(p, 5)), cos(*be, uniform(p, 6));
  Buffer<float> ssum(*be, uniform(p, 7, 0.f, 2.f)), rule(*be, std::vector<float>{0.f, 1.f, 0.5f, 0.1f});
  Buffer<float> gw(*be, std::vector<float>(size_t(p), 0.f)), galpha(*be, std::vector<float>(size_t(p), 0.f));
  Buffer<float> grule_parts(*be, 4 * p);
  const double s = run_timed(state, *be, [&] {
    be->hebbian_edge_backward(p, ga.data(), a.data(), alpha.data(), hb_old.data(), hb_new.data(), cos.data(),
                              ssum.data(), rule.data(), gw.data(), galpha.data(), grule_parts.data());
  });
  set_counters(state, be.get(), 0.0, 4.0 * double(15 * p), s);
}

// Reads indptr, indices, entry_pair and a; writes v, dinv and anorm.
void BM_GcnNormForward(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  be->set_validate_csr(false);
  const int32_t n = int32_t(state.range(0));
  DeviceGraph g(*be, n, sbm_pairs(n));
  const int64_t p = g.pairs(), e = g.entries();
  Buffer<float> a(*be, uniform(p, 1, 0.f, 1.f)), v(*be, e), dinv(*be, n), anorm(*be, e);
  const double s = run_timed(state, *be, [&] {
    be->gcn_norm_forward(g.csr(nullptr), g.entry_pair(), a.data(), v.data(), dinv.data(), anorm.data());
  });
  state.counters["entries"] = double(e);
  set_counters(state, be.get(), 0.0, 4.0 * double(2 * int64_t(n) + 1 + 4 * e + p), s);
}

// Reads indptr, indices, mirror, g, v, dinv and the four per-pair index arrays; writes ga.
void BM_GcnNormBackward(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  be->set_validate_csr(false);
  const int32_t n = int32_t(state.range(0));
  DeviceGraph g(*be, n, sbm_pairs(n));
  const int64_t p = g.pairs(), e = g.entries();
  Buffer<float> a(*be, uniform(p, 1, 0.f, 1.f)), v(*be, e), dinv(*be, n), anorm(*be, e);
  Buffer<float> grad(*be, uniform(e, 2)), ga(*be, p);
  be->gcn_norm_forward(g.csr(nullptr), g.entry_pair(), a.data(), v.data(), dinv.data(), anorm.data());
  const double s = run_timed(state, *be, [&] {
    be->gcn_norm_backward(g.csr(nullptr), g.mirror(), g.pair_u(), g.pair_v(), g.pair_e1(), g.pair_e2(), p, v.data(),
                          dinv.data(), grad.data(), ga.data());
  });
  set_counters(state, be.get(), 0.0, 4.0 * double(2 * int64_t(n) + 1 + 4 * e + 5 * p), s);
}

// The entries' keep flags from the pairs' alive flags (90% alive): idx = entry_pair (E), flags (P) bytes.
void BM_GatherFlags(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int32_t n = int32_t(state.range(0));
  DeviceGraph g(*be, n, sbm_pairs(n));
  const int64_t p = g.pairs(), e = g.entries();
  Buffer<uint8_t> alive(*be, flags(p, 0.9, 1)), out(*be, e);
  const double s = run_timed(state, *be, [&] { be->gather_flags(alive.data(), g.entry_pair(), e, out.data()); });
  set_counters(state, be.get(), 0.0, double(p + 4 * e + e), s);
}

// entry_pair (E) renumbered through the pairs' scan pos (P + 1), as DeviceGraph::compact does.
void BM_RemapIndices(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int32_t n = int32_t(state.range(0));
  DeviceGraph g(*be, n, sbm_pairs(n));
  const int64_t p = g.pairs(), e = g.entries();
  Buffer<uint8_t> alive(*be, flags(p, 0.9, 1));
  Buffer<int32_t> pos(*be, p + 1), out(*be, e);
  be->scan_flags(alive.data(), p, pos.data());
  const double s = run_timed(state, *be, [&] { be->remap_indices(g.entry_pair(), e, pos.data(), out.data()); });
  set_counters(state, be.get(), 0.0, 4.0 * double(2 * e + p + 1), s);
}

// ---- CSR ops: a uniform random pattern W (n, k) ---------------------------------------------

HostCsr random_csr(int32_t rows, int32_t cols, double density) {
  HostCsr a;
  a.rows = rows;
  a.cols = cols;
  std::mt19937_64 rng(1234);
  std::bernoulli_distribution keep(density);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (int32_t r = 0; r < rows; ++r) {
    for (int32_t c = 0; c < cols; ++c)
      if (keep(rng)) {
        a.indices.push_back(c);
        a.values.push_back(u(rng));
      }
    a.indptr.push_back(int32_t(a.indices.size()));
  }
  return a;
}

// Args (k, n, density) -> W (n, k) at density / 1000.
HostCsr csr_of(const benchmark::State& state, int first) {
  return random_csr(int32_t(state.range(first + 1)), int32_t(state.range(first)), double(state.range(first + 2)) / 1e3);
}

double csr_bytes(int64_t rows, int64_t nnz) { return 4.0 * double(rows + 1) + 8.0 * double(nnz); }

// post (m, n), pre (m, k), hebb (nnz) read and written: an SDDMM plus the per-entry update.
void BM_HebbianCsrUpdate(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  be->set_validate_csr(false);
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const CsrMatrix w(*be, csr_of(state, 1), "W");
  Buffer<float> post(*be, uniform(m * n, 1, 0.f, 1.f)), pre(*be, uniform(m * k, 2, 0.f, 1.f));
  Buffer<float> hebb(*be, std::vector<float>(size_t(w.nnz()), 0.f));
  const double s = run_timed(state, *be, [&] {
    be->hebbian_csr_update(w.view(), {post.data(), m, n}, {pre.data(), m, k}, 0.1f, 1.0f, hebb.data());
  });
  // post and pre once, the pattern's indptr and indices, hebb read and written.
  const double bytes = 4.0 * double(m * (n + k)) + 4.0 * double(n + 1) + 12.0 * double(w.nnz());
  set_counters(state, be.get(), 2.0 * double(m * w.nnz()), bytes, s);
}

// The dense baseline of hebbian_csr_update: C (n, k) = post^T (n, m) pre (m, k) / m; density is ignored.
void BM_SgemmTN(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  Buffer<float> post(*be, uniform(m * n, 1, 0.f, 1.f)), pre(*be, uniform(m * k, 2, 0.f, 1.f)), c(*be, n * k);
  const float alpha = 1.f / float(m), zero = 0.f;
  auto op = [&] {
#ifdef NEUROAI_HAVE_CUDA
    // cuBLAS is column-major: C^T (k x n) = pre (stored: k x m) * post (stored: n x m)^T.
    if (auto* cb = as_cuda(*be)) {
      cublasSgemm(cb->cublas(), CUBLAS_OP_N, CUBLAS_OP_T, int(k), int(n), int(m), &alpha, pre.data(), int(k),
                  post.data(), int(n), &zero, c.data(), int(k));
      return;
    }
#endif
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(n), int(k), int(m), alpha, post.data(), int(n),
                pre.data(), int(k), zero, c.data(), int(k));
  };
  run_timed(state, *be, op);
  set_counters(state, nullptr, 2.0 * double(m * n * k), 4.0 * double(m * n + m * k + n * k), 0.0);
}

// At (k, n) with values and perm: reads W's indptr, indices, values; writes At's and perm.
void BM_CsrTranspose(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  be->set_validate_csr(false);
  const CsrMatrix w(*be, csr_of(state, 0), "W");
  Buffer<int32_t> t_indptr(*be, int64_t(w.cols()) + 1), t_indices(*be, w.nnz()), perm(*be, w.nnz());
  Buffer<float> t_values(*be, w.nnz());
  const double s = run_timed(state, *be, [&] {
    be->csr_transpose(w.view(), {t_indptr.data(), t_indices.data(), t_values.data(), w.cols(), w.rows(), w.nnz()},
                      perm.data());
  });
  set_counters(state, be.get(), 0.0, csr_bytes(w.rows(), w.nnz()) + csr_bytes(w.cols(), w.nnz()) + 4.0 * double(w.nnz()), s);
}

// At.values = W.values[perm] with csr_transpose's perm: once per training step for the dX product.
void BM_Gather(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  be->set_validate_csr(false);
  const CsrMatrix w(*be, csr_of(state, 0), "W");
  Buffer<int32_t> t_indptr(*be, int64_t(w.cols()) + 1), t_indices(*be, w.nnz()), perm(*be, w.nnz());
  Buffer<float> t_values(*be, w.nnz());
  be->csr_transpose(w.view(), {t_indptr.data(), t_indices.data(), nullptr, w.cols(), w.rows(), w.nnz()}, perm.data());
  const double s =
      run_timed(state, *be, [&] { be->gather(w.values(), perm.data(), w.nnz(), t_values.data()); });
  set_counters(state, be.get(), 0.0, 12.0 * double(w.nnz()), s);
}

// A pruning round's keep flags over W's entries, their scan, and room for the compacted arrays.
struct Recompaction {
  CsrMatrix w;
  Buffer<uint8_t> keep;
  Buffer<int32_t> pos, indices, indptr;
  Buffer<float> values;
  int64_t kept = 0;
  Recompaction(Backend& be, const HostCsr& h)
      : w(be, h, "W"), keep(be, flags(h.nnz(), kKeep, 3)), pos(be, h.nnz() + 1), indices(be, h.nnz()),
        indptr(be, int64_t(h.rows) + 1), values(be, h.nnz()) {
    kept = be.scan_flags(keep.data(), w.nnz(), pos.data());
  }
};

// keep (nnz) bytes -> pos (nnz + 1); returns the total to the host.
void BM_ScanFlags(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  Recompaction r(*be, csr_of(state, 0));
  const double s = run_timed(state, *be, [&] { be->scan_flags(r.keep.data(), r.w.nnz(), r.pos.data()); });
  set_counters(state, be.get(), 0.0, double(r.w.nnz()) + 4.0 * double(r.w.nnz() + 1), s);
}

// src, keep, pos (nnz) -> dst (kept).
void BM_CompactF32(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  Recompaction r(*be, csr_of(state, 0));
  const double s = run_timed(state, *be, [&] {
    be->compact_f32(r.w.values(), r.keep.data(), r.pos.data(), r.w.nnz(), r.values.data());
  });
  set_counters(state, be.get(), 0.0, 9.0 * double(r.w.nnz()) + 4.0 * double(r.kept), s);
}

void BM_CompactI32(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  Recompaction r(*be, csr_of(state, 0));
  const double s = run_timed(state, *be, [&] {
    be->compact_i32(r.w.indices(), r.keep.data(), r.pos.data(), r.w.nnz(), r.indices.data());
  });
  set_counters(state, be.get(), 0.0, 9.0 * double(r.w.nnz()) + 4.0 * double(r.kept), s);
}

// indptr (n + 1) and pos at those offsets -> out (n + 1).
void BM_CsrCompactIndptr(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  Recompaction r(*be, csr_of(state, 0));
  const double s = run_timed(state, *be, [&] {
    be->csr_compact_indptr(r.w.indptr(), r.w.rows(), r.pos.data(), r.indptr.data());
  });
  set_counters(state, be.get(), 0.0, 12.0 * double(r.w.rows() + 1), s);
}

// SparseLinear::compact_csr's sequence: scan (host sync), values, indices, row pointers. "bytes/s"
// counts what any compaction must move: keep, values, indices and indptr read, the kept ones written.
void BM_CsrRecompact(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  Recompaction r(*be, csr_of(state, 0));
  const double s = run_timed(state, *be, [&] {
    const int64_t kept = be->scan_flags(r.keep.data(), r.w.nnz(), r.pos.data());
    benchmark::DoNotOptimize(kept);
    be->compact_f32(r.w.values(), r.keep.data(), r.pos.data(), r.w.nnz(), r.values.data());
    be->compact_i32(r.w.indices(), r.keep.data(), r.pos.data(), r.w.nnz(), r.indices.data());
    be->csr_compact_indptr(r.w.indptr(), r.w.rows(), r.pos.data(), r.indptr.data());
  });
  set_counters(state, be.get(), 0.0, 9.0 * double(r.w.nnz()) + 8.0 * double(r.kept) + 8.0 * double(r.w.rows() + 1), s);
}

// The stand-alone copy baseline: one copy of `bytes` per iteration; "bytes/s" counts read + write.
void BM_Memcpy(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  const size_t bytes = size_t(state.range(0));
  Buffer<unsigned char> src(*be, int64_t(bytes)), dst(*be, int64_t(bytes));
  be->memset_zero(src.data(), bytes);
  run_timed(state, *be, [&] { copy_once(*be, dst.data(), src.data(), bytes); });
  set_counters(state, nullptr, 0.0, 2.0 * double(bytes), 0.0);
}

#ifdef NEUROAI_HAVE_CUDA
// cusparseCsr2cscEx2 (ALG1, values copied): the vendor's transpose of W, without csr_transpose's perm.
void BM_CusparseCsr2csc(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  auto* cb = as_cuda(*be);
  const CsrMatrix w(*be, csr_of(state, 0), "W");
  Buffer<int32_t> t_indptr(*be, int64_t(w.cols()) + 1), t_indices(*be, w.nnz());
  Buffer<float> t_values(*be, w.nnz());
  auto call = [&](void* buffer, size_t* bytes) {
    if (bytes)
      return cusparseCsr2cscEx2_bufferSize(cb->cusparse(), w.rows(), w.cols(), int(w.nnz()), w.values(),
                                           w.indptr(), w.indices(), t_values.data(), t_indptr.data(),
                                           t_indices.data(), CUDA_R_32F, CUSPARSE_ACTION_NUMERIC,
                                           CUSPARSE_INDEX_BASE_ZERO, CUSPARSE_CSR2CSC_ALG1, bytes);
    return cusparseCsr2cscEx2(cb->cusparse(), w.rows(), w.cols(), int(w.nnz()), w.values(), w.indptr(),
                              w.indices(), t_values.data(), t_indptr.data(), t_indices.data(), CUDA_R_32F,
                              CUSPARSE_ACTION_NUMERIC, CUSPARSE_INDEX_BASE_ZERO, CUSPARSE_CSR2CSC_ALG1, buffer);
  };
  size_t bytes = 0;
  if (call(nullptr, &bytes) != CUSPARSE_STATUS_SUCCESS) {
    state.SkipWithError("cusparseCsr2cscEx2_bufferSize failed");
    return;
  }
  Buffer<unsigned char> buffer(*be, int64_t(std::max<size_t>(bytes, 1)));
  run_timed(state, *be, [&] { call(buffer.data(), nullptr); });
  set_counters(state, nullptr, 0.0, csr_bytes(w.rows(), w.nnz()) + csr_bytes(w.cols(), w.nnz()), 0.0);
}

// cub::DeviceSelect::Flagged of W's values and indices by the keep flags, the count read back to the
// host: BM_CsrRecompact/cuda's work without the row pointers. Same "bytes/s" accounting.
void BM_CubSelectFlagged(benchmark::State& state, const std::string& name) {
  auto be = backend_or_skip(state, name);
  if (!be) return;
  auto* cb = as_cuda(*be);
  Recompaction r(*be, csr_of(state, 0));
  Buffer<int32_t> num(*be, 2);
  size_t bytes_f = 0, bytes_i = 0;
  cub_select_flagged(nullptr, bytes_f, r.w.values(), r.keep.data(), r.values.data(), num.data(), r.w.nnz(),
                     cb->stream());
  cub_select_flagged(nullptr, bytes_i, r.w.indices(), r.keep.data(), r.indices.data(), num.data() + 1, r.w.nnz(),
                     cb->stream());
  size_t temp_bytes = std::max(bytes_f, bytes_i);
  Buffer<unsigned char> temp(*be, int64_t(std::max<size_t>(temp_bytes, 1)));
  auto* host_num = static_cast<int32_t*>(cb->pinned(sizeof(int32_t)));
  run_timed(state, *be, [&] {
    size_t b = temp_bytes;
    cub_select_flagged(temp.data(), b, r.w.values(), r.keep.data(), r.values.data(), num.data(), r.w.nnz(),
                       cb->stream());
    b = temp_bytes;
    cub_select_flagged(temp.data(), b, r.w.indices(), r.keep.data(), r.indices.data(), num.data() + 1, r.w.nnz(),
                       cb->stream());
    cudaMemcpyAsync(host_num, num.data(), sizeof(int32_t), cudaMemcpyDeviceToHost, cb->stream());
    cudaStreamSynchronize(cb->stream());
  });
  set_counters(state, nullptr, 0.0, 9.0 * double(r.w.nnz()) + 8.0 * double(r.kept), 0.0);
}
#endif  // NEUROAI_HAVE_CUDA

// ---- shapes and registration ----------------------------------------------------------------


// CPU: every size; GPU: the largest graph and density 0.1 only (the device check's time budget),
// except the compaction against CUB at every density.
void register_all(const std::string& be) {
  const bool gpu = be != "cpu";
  const std::vector<int64_t> nodes = gpu ? std::vector<int64_t>{100000} : std::vector<int64_t>{1000, 10000, 100000};
  const std::vector<int64_t> all_densities = {500, 100, 10};  // per mille
  const std::vector<int64_t> densities = gpu ? std::vector<int64_t>{100} : all_densities;

  for (int64_t n : nodes) {
    add("BM_HebbianEdgeForward", be, BM_HebbianEdgeForward)->ArgNames({"nodes", "f"})->Args({n, 64});
  }
  const std::pair<const char*, Fn> graph_ops[] = {{"BM_HebbianEdgeBackward", BM_HebbianEdgeBackward},
                                                  {"BM_GcnNormForward", BM_GcnNormForward},
                                                  {"BM_GcnNormBackward", BM_GcnNormBackward},
                                                  {"BM_GatherFlags", BM_GatherFlags},
                                                  {"BM_RemapIndices", BM_RemapIndices}};
  for (const auto& [op, fn] : graph_ops) {
    auto* b = add(op, be, fn)->ArgNames({"nodes"});
    for (int64_t n : nodes) b->Args({n});
  }

  auto* hebb = add("BM_HebbianCsrUpdate", be, BM_HebbianCsrUpdate)->ArgNames({"m", "k", "n", "density"});
  for (int64_t d : densities) hebb->Args({kBatch, 1024, 1024, d});
  add("BM_SgemmTN", be, BM_SgemmTN)->ArgNames({"m", "k", "n", "density"})->Args({kBatch, 1024, 1024, 1000});

  const std::pair<const char*, Fn> csr_ops[] = {{"BM_CsrTranspose", BM_CsrTranspose},
                                                {"BM_Gather", BM_Gather},
                                                {"BM_ScanFlags", BM_ScanFlags},
                                                {"BM_CompactF32", BM_CompactF32},
                                                {"BM_CompactI32", BM_CompactI32},
                                                {"BM_CsrCompactIndptr", BM_CsrCompactIndptr}};
  for (const auto& [op, fn] : csr_ops) {
    auto* b = add(op, be, fn)->ArgNames({"k", "n", "density"});
    for (int64_t d : densities) b->Args({1024, 1024, d});
  }
  auto* recompact = add("BM_CsrRecompact", be, BM_CsrRecompact)->ArgNames({"k", "n", "density"});
  for (int64_t d : all_densities) recompact->Args({1024, 1024, d});

  auto* copy = add("BM_Memcpy", be, BM_Memcpy)->ArgNames({"bytes"});
  for (int64_t bytes : {int64_t(1) << 20, int64_t(1) << 24, int64_t(1) << 27}) copy->Args({bytes});

#ifdef NEUROAI_HAVE_CUDA
  if (gpu) {
    auto* t = add("BM_CusparseCsr2csc", be, BM_CusparseCsr2csc)->ArgNames({"k", "n", "density"});
    for (int64_t d : densities) t->Args({1024, 1024, d});
    auto* sel = add("BM_CubSelectFlagged", be, BM_CubSelectFlagged)->ArgNames({"k", "n", "density"});
    for (int64_t d : all_densities) sel->Args({1024, 1024, d});
  }
#endif
}

const bool kRegistered = register_for_backends(register_all);

}  // namespace
}  // namespace neuroai::bench
