// CSR kernels against dense baselines on the same shapes (issue 7): SpMM Y (m, n) = X (m, k) W^T
// with W (n, k) at `density` (per mille), its transposed product dX = dY W, SDDMM at W's pattern,
// and dense -> CSR. Baselines: OpenBLAS SGEMM on CPU; cuBLAS SGEMM and cuSPARSE on GPU. CPU runs use
// one thread for both sides. "FLOP/s" counts useful work (2 m nnz for the sparse ops). GPU runs
// (when CUDA is compiled in; skipped without a device) are timed with CUDA events after a warm-up.
// Note: OpenBLAS 0.3.21 does not recognise every recent x86 CPU and may fall back to old SSE
// kernels; set OPENBLAS_CORETYPE (e.g. SkylakeX or Haswell) for a fair SGEMM baseline.
#include <random>
#include <vector>

#include <benchmark/benchmark.h>
#include <cblas.h>

#include "kernels/cpu/cpu_backend.h"

#ifdef NEUROAI_HAVE_CUDA
#include <memory>
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusparse.h>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/registry.h"
#endif

namespace neuroai::bench {
namespace {

struct Problem {
  int64_t m = 0, k = 0, n = 0;  // batch, inputs, outputs
  double density = 0;
  std::vector<float> x;        // (m, k)
  std::vector<float> dy;       // (m, n)
  std::vector<float> w_dense;  // (n, k), zeros off the pattern
  std::vector<uint8_t> mask;   // (n, k)
  std::vector<int32_t> indptr, indices, t_indptr, t_indices;
  std::vector<float> values, t_values;
  int64_t nnz() const { return int64_t(indices.size()); }
};

// A uniform random pattern and its transpose, built on the host.
Problem make_problem(const benchmark::State& state) {
  Problem p;
  p.m = state.range(0);
  p.k = state.range(1);
  p.n = state.range(2);
  p.density = double(state.range(3)) / 1000.0;
  std::mt19937_64 rng(1234);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::bernoulli_distribution keep(p.density);
  p.x.resize(size_t(p.m * p.k));
  p.dy.resize(size_t(p.m * p.n));
  for (auto& v : p.x) v = u(rng);
  for (auto& v : p.dy) v = u(rng);
  p.w_dense.assign(size_t(p.n * p.k), 0.f);
  p.mask.assign(size_t(p.n * p.k), 0);
  p.indptr.push_back(0);
  for (int64_t r = 0; r < p.n; ++r) {
    for (int64_t c = 0; c < p.k; ++c)
      if (keep(rng)) {
        float v = u(rng);
        p.w_dense[r * p.k + c] = v;
        p.mask[r * p.k + c] = 1;
        p.indices.push_back(int32_t(c));
        p.values.push_back(v);
      }
    p.indptr.push_back(int32_t(p.indices.size()));
  }
  p.t_indptr.push_back(0);
  for (int64_t c = 0; c < p.k; ++c) {
    for (int64_t r = 0; r < p.n; ++r)
      if (p.mask[r * p.k + c]) {
        p.t_indices.push_back(int32_t(r));
        p.t_values.push_back(p.w_dense[r * p.k + c]);
      }
    p.t_indptr.push_back(int32_t(p.t_indices.size()));
  }
  return p;
}

// flops = 0 for ops without arithmetic (conversions): no FLOP/s counter.
void set_counters(benchmark::State& state, double flops, double bytes) {
  if (flops > 0) state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
}

double csr_bytes(int64_t rows, int64_t nnz) { return 4.0 * double(rows + 1) + 8.0 * double(nnz); }

void BM_SpmmCsr_cpu(benchmark::State& state) {
  Problem p = make_problem(state);
  cpu::CpuBackend be(1);
  be.set_validate_csr(false);
  ConstCsrView a(p.indptr.data(), p.indices.data(), p.values.data(), int32_t(p.n), int32_t(p.k), p.nnz());
  std::vector<float> y(size_t(p.m * p.n));
  for (auto _ : state) {
    be.spmm_csr(a, {p.x.data(), p.m, p.k}, nullptr, {y.data(), p.m, p.n}, false);
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, 2.0 * p.m * p.nnz(), 4.0 * (p.m * p.k + p.m * p.n) + csr_bytes(p.n, p.nnz()));
}

// dX (m, k) = dY (m, n) W: spmm with the transposed pattern W^T (k, n).
void BM_SpmmCsrT_cpu(benchmark::State& state) {
  Problem p = make_problem(state);
  cpu::CpuBackend be(1);
  be.set_validate_csr(false);
  ConstCsrView at(p.t_indptr.data(), p.t_indices.data(), p.t_values.data(), int32_t(p.k), int32_t(p.n), p.nnz());
  std::vector<float> dx(size_t(p.m * p.k));
  for (auto _ : state) {
    be.spmm_csr(at, {p.dy.data(), p.m, p.n}, nullptr, {dx.data(), p.m, p.k}, false);
    benchmark::DoNotOptimize(dx.data());
  }
  set_counters(state, 2.0 * p.m * p.nnz(), 4.0 * (p.m * p.k + p.m * p.n) + csr_bytes(p.k, p.nnz()));
}

// dW (n, k) at W's pattern = dY^T X.
void BM_SddmmCsr_cpu(benchmark::State& state) {
  Problem p = make_problem(state);
  cpu::CpuBackend be(1);
  be.set_validate_csr(false);
  ConstCsrView a(p.indptr.data(), p.indices.data(), nullptr, int32_t(p.n), int32_t(p.k), p.nnz());
  std::vector<float> out(size_t(p.nnz()) + 1);
  for (auto _ : state) {
    be.sddmm_csr(a, {p.dy.data(), p.m, p.n}, {p.x.data(), p.m, p.k}, out.data(), false);
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, 2.0 * p.m * p.nnz(), 4.0 * (p.m * p.k + p.m * p.n) + csr_bytes(p.n, p.nnz()));
}

// Masked dense W (n, k) -> CSR (count + fill); m is unused.
void BM_DenseToCsr_cpu(benchmark::State& state) {
  Problem p = make_problem(state);
  cpu::CpuBackend be(1);
  std::vector<int32_t> indptr(size_t(p.n) + 1), indices(size_t(p.nnz()) + 1);
  std::vector<float> values(size_t(p.nnz()) + 1);
  for (auto _ : state) {
    int64_t nnz = be.dense_to_csr_count({p.w_dense.data(), p.n, p.k}, p.mask.data(), indptr.data());
    be.dense_to_csr_fill({p.w_dense.data(), p.n, p.k}, p.mask.data(),
                         {indptr.data(), indices.data(), values.data(), int32_t(p.n), int32_t(p.k), nnz});
    benchmark::DoNotOptimize(values.data());
  }
  set_counters(state, 0.0, 5.0 * p.n * p.k + csr_bytes(p.n, p.nnz()));
}

// Dense W (n, k) -> CSR keeping W != 0 (no mask): the semantics of torch's to_sparse_csr, which
// bench/peers/dense_to_csr.py compares against; m is unused. W is read twice (count, fill).
void BM_DenseToCsrNz_cpu(benchmark::State& state) {
  Problem p = make_problem(state);
  cpu::CpuBackend be(1);
  std::vector<int32_t> indptr(size_t(p.n) + 1), indices(size_t(p.nnz()) + 1);
  std::vector<float> values(size_t(p.nnz()) + 1);
  for (auto _ : state) {
    int64_t nnz = be.dense_to_csr_count({p.w_dense.data(), p.n, p.k}, nullptr, indptr.data());
    be.dense_to_csr_fill({p.w_dense.data(), p.n, p.k}, nullptr,
                         {indptr.data(), indices.data(), values.data(), int32_t(p.n), int32_t(p.k), nnz});
    benchmark::DoNotOptimize(values.data());
  }
  set_counters(state, 0.0, 8.0 * p.n * p.k + csr_bytes(p.n, p.nnz()));
}

// The dense baseline: Y (m, n) = X (m, k) W^T with W dense (n, k); density is ignored.
void BM_Sgemm_cpu(benchmark::State& state) {
  Problem p = make_problem(state);
  cpu::CpuBackend be(1);
  openblas_set_num_threads(1);
  std::vector<float> y(size_t(p.m * p.n));
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(p.m), int(p.n), int(p.k), 1.f, p.x.data(), int(p.k),
                p.w_dense.data(), int(p.k), 0.f, y.data(), int(p.n));
    benchmark::DoNotOptimize(y.data());
  }
  set_counters(state, 2.0 * p.m * p.n * p.k, 4.0 * (p.m * p.k + p.m * p.n + p.n * p.k));
}

const std::vector<int64_t> kDensities = {1000, 500, 300, 200, 100, 50, 10};  // per mille

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "k", "n", "density"});
  for (int64_t d : kDensities) b->Args({128, 1024, 1024, d});
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_SpmmCsr_cpu)->Name("BM_SpmmCsr/cpu")->Apply(shapes);
BENCHMARK(BM_SpmmCsrT_cpu)->Name("BM_SpmmCsrT/cpu")->Apply(shapes);
BENCHMARK(BM_SddmmCsr_cpu)->Name("BM_SddmmCsr/cpu")->Apply(shapes);
BENCHMARK(BM_DenseToCsr_cpu)->Name("BM_DenseToCsr/cpu")->Apply(shapes);
BENCHMARK(BM_DenseToCsrNz_cpu)->Name("BM_DenseToCsrNz/cpu")->ArgNames({"m", "k", "n", "density"})
    ->Args({128, 1024, 1024, 100})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Sgemm_cpu)->Name("BM_Sgemm/cpu")->ArgNames({"m", "k", "n", "density"})->Args({128, 1024, 1024, 1000})
    ->Unit(benchmark::kMicrosecond);

#ifdef NEUROAI_HAVE_CUDA
// ---- GPU: our kernels against cuBLAS SGEMM and cuSPARSE on the same shapes ----

// The problem's arrays on a CUDA backend.
struct GpuProblem {
  cuda::CudaBackend* be = nullptr;
  std::unique_ptr<Backend> owner;
  std::vector<void*> allocs;
  float *x, *dy, *y, *dx, *w_dense, *values, *t_values, *out;
  uint8_t* mask;
  int32_t *indptr, *indices, *t_indptr, *t_indices, *d2c_indptr, *d2c_indices;
  float* d2c_values;

  template <class T>
  T* put(const std::vector<T>& h, size_t n = 0) {
    size_t count = n ? n : h.size();
    auto* p = static_cast<T*>(be->alloc(sizeof(T) * (count ? count : 1)));
    allocs.push_back(p);
    if (!h.empty()) be->upload(p, h.data(), sizeof(T) * h.size());
    return p;
  }
  ~GpuProblem() {
    for (void* p : allocs) be->free(p);
  }
};

// Makes the backend and uploads p; false (with SkipWithError) when there is no usable GPU.
bool make_gpu(benchmark::State& state, const Problem& p, GpuProblem& g) {
  std::string reason;
  g.owner = try_make_backend("cuda", &reason);
  if (!g.owner) {
    state.SkipWithError(("cuda backend unavailable: " + reason).c_str());
    return false;
  }
  g.be = dynamic_cast<cuda::CudaBackend*>(g.owner.get());
  g.be->set_validate_csr(false);
  g.x = g.put(p.x);
  g.dy = g.put(p.dy);
  g.y = g.put(std::vector<float>{}, size_t(p.m * p.n));
  g.dx = g.put(std::vector<float>{}, size_t(p.m * p.k));
  g.w_dense = g.put(p.w_dense);
  g.mask = g.put(p.mask);
  g.indptr = g.put(p.indptr);
  g.indices = g.put(p.indices);
  g.values = g.put(p.values);
  g.t_indptr = g.put(p.t_indptr);
  g.t_indices = g.put(p.t_indices);
  g.t_values = g.put(p.t_values);
  g.out = g.put(std::vector<float>{}, size_t(p.nnz()));
  g.d2c_indptr = g.put(std::vector<int32_t>{}, size_t(p.n) + 1);
  g.d2c_indices = g.put(std::vector<int32_t>{}, size_t(p.nnz()));
  g.d2c_values = g.put(std::vector<float>{}, size_t(p.nnz()));
  return true;
}

// Times f on the backend's stream with CUDA events, after a warm-up.
template <class F>
void time_gpu(benchmark::State& state, cudaStream_t stream, F&& f) {
  for (int i = 0; i < 3; ++i) f();
  cudaStreamSynchronize(stream);
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  for (auto _ : state) {
    cudaEventRecord(start, stream);
    f();
    cudaEventRecord(stop, stream);
    cudaEventSynchronize(stop);
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    state.SetIterationTime(ms / 1e3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

void BM_SpmmCsr_cuda(benchmark::State& state) {
  Problem p = make_problem(state);
  GpuProblem g;
  if (!make_gpu(state, p, g)) return;
  ConstCsrView a(g.indptr, g.indices, g.values, int32_t(p.n), int32_t(p.k), p.nnz());
  time_gpu(state, g.be->stream(),
           [&] { g.be->spmm_csr(a, {g.x, p.m, p.k}, nullptr, {g.y, p.m, p.n}, false); });
  set_counters(state, 2.0 * p.m * p.nnz(), 4.0 * (p.m * p.k + p.m * p.n) + csr_bytes(p.n, p.nnz()));
}

void BM_SpmmCsrT_cuda(benchmark::State& state) {
  Problem p = make_problem(state);
  GpuProblem g;
  if (!make_gpu(state, p, g)) return;
  ConstCsrView at(g.t_indptr, g.t_indices, g.t_values, int32_t(p.k), int32_t(p.n), p.nnz());
  time_gpu(state, g.be->stream(),
           [&] { g.be->spmm_csr(at, {g.dy, p.m, p.n}, nullptr, {g.dx, p.m, p.k}, false); });
  set_counters(state, 2.0 * p.m * p.nnz(), 4.0 * (p.m * p.k + p.m * p.n) + csr_bytes(p.k, p.nnz()));
}

void BM_SddmmCsr_cuda(benchmark::State& state) {
  Problem p = make_problem(state);
  GpuProblem g;
  if (!make_gpu(state, p, g)) return;
  ConstCsrView a(g.indptr, g.indices, nullptr, int32_t(p.n), int32_t(p.k), p.nnz());
  time_gpu(state, g.be->stream(),
           [&] { g.be->sddmm_csr(a, {g.dy, p.m, p.n}, {g.x, p.m, p.k}, g.out, false); });
  set_counters(state, 2.0 * p.m * p.nnz(), 4.0 * (p.m * p.k + p.m * p.n) + csr_bytes(p.n, p.nnz()));
}

void BM_DenseToCsr_cuda(benchmark::State& state) {
  Problem p = make_problem(state);
  GpuProblem g;
  if (!make_gpu(state, p, g)) return;
  time_gpu(state, g.be->stream(), [&] {
    int64_t nnz = g.be->dense_to_csr_count({g.w_dense, p.n, p.k}, g.mask, g.d2c_indptr);
    g.be->dense_to_csr_fill({g.w_dense, p.n, p.k}, g.mask,
                            {g.d2c_indptr, g.d2c_indices, g.d2c_values, int32_t(p.n), int32_t(p.k), nnz});
  });
  set_counters(state, 0.0, 5.0 * p.n * p.k + csr_bytes(p.n, p.nnz()));
}

// Y (m, n) = X (m, k) W^T in cuBLAS's column-major terms: Y^T (n, m) = W (k x n)^T X^T (k x m).
void BM_Sgemm_cuda(benchmark::State& state) {
  Problem p = make_problem(state);
  GpuProblem g;
  if (!make_gpu(state, p, g)) return;
  const float one = 1.f, zero = 0.f;
  time_gpu(state, g.be->stream(), [&] {
    cublasSgemm(g.be->cublas(), CUBLAS_OP_T, CUBLAS_OP_N, int(p.n), int(p.m), int(p.k), &one, g.w_dense, int(p.k),
                g.x, int(p.k), &zero, g.y, int(p.n));
  });
  set_counters(state, 2.0 * p.m * p.n * p.k, 4.0 * (p.m * p.k + p.m * p.n + p.n * p.k));
}

// cusparseSpMM with the fastest CSR algorithm for this shape: C (n x m, col-major = Y) =
// A (n x k) * B (k x m, col-major = X).
void BM_CusparseSpmm_cuda(benchmark::State& state) {
  Problem p = make_problem(state);
  GpuProblem g;
  if (!make_gpu(state, p, g)) return;
  cusparseHandle_t h = g.be->cusparse();
  cusparseSpMatDescr_t a;
  cusparseDnMatDescr_t b, c;
  cusparseCreateCsr(&a, p.n, p.k, p.nnz(), g.indptr, g.indices, g.values, CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                    CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F);
  cusparseCreateDnMat(&b, p.k, p.m, p.k, g.x, CUDA_R_32F, CUSPARSE_ORDER_COL);
  cusparseCreateDnMat(&c, p.n, p.m, p.n, g.y, CUDA_R_32F, CUSPARSE_ORDER_COL);
  const float one = 1.f, zero = 0.f;
  const auto op = CUSPARSE_OPERATION_NON_TRANSPOSE;
  cusparseSpMMAlg_t best = CUSPARSE_SPMM_ALG_DEFAULT;
  float best_ms = 1e30f;
  void* buffer = nullptr;
  size_t buffer_bytes = 0;
  cudaStream_t stream = g.be->stream();
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  for (cusparseSpMMAlg_t alg : {CUSPARSE_SPMM_CSR_ALG1, CUSPARSE_SPMM_CSR_ALG2, CUSPARSE_SPMM_CSR_ALG3}) {
    size_t bytes = 0;
    if (cusparseSpMM_bufferSize(h, op, op, &one, a, b, &zero, c, CUDA_R_32F, alg, &bytes) != CUSPARSE_STATUS_SUCCESS)
      continue;
    if (bytes > buffer_bytes) {
      cudaFree(buffer);
      cudaMalloc(&buffer, bytes);
      buffer_bytes = bytes;
    }
    if (cusparseSpMM_preprocess(h, op, op, &one, a, b, &zero, c, CUDA_R_32F, alg, buffer) != CUSPARSE_STATUS_SUCCESS)
      continue;
    cusparseSpMM(h, op, op, &one, a, b, &zero, c, CUDA_R_32F, alg, buffer);
    cudaEventRecord(e0, stream);
    for (int i = 0; i < 5; ++i) cusparseSpMM(h, op, op, &one, a, b, &zero, c, CUDA_R_32F, alg, buffer);
    cudaEventRecord(e1, stream);
    cudaEventSynchronize(e1);
    float ms = 0;
    cudaEventElapsedTime(&ms, e0, e1);
    if (ms < best_ms) best_ms = ms, best = alg;
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cusparseSpMM_preprocess(h, op, op, &one, a, b, &zero, c, CUDA_R_32F, best, buffer);
  time_gpu(state, stream, [&] { cusparseSpMM(h, op, op, &one, a, b, &zero, c, CUDA_R_32F, best, buffer); });
  state.counters["alg"] = double(best);
  set_counters(state, 2.0 * p.m * p.nnz(), 4.0 * (p.m * p.k + p.m * p.n) + csr_bytes(p.n, p.nnz()));
  cudaFree(buffer);
  cusparseDestroySpMat(a);
  cusparseDestroyDnMat(b);
  cusparseDestroyDnMat(c);
}

// cusparseSDDMM: C (n x k, W's pattern) = A (n x m; dY as col-major) * B^T (B = X as col-major k x m).
void BM_CusparseSddmm_cuda(benchmark::State& state) {
  Problem p = make_problem(state);
  GpuProblem g;
  if (!make_gpu(state, p, g)) return;
  cusparseHandle_t h = g.be->cusparse();
  cusparseDnMatDescr_t a, b;
  cusparseSpMatDescr_t c;
  cusparseCreateDnMat(&a, p.n, p.m, p.n, g.dy, CUDA_R_32F, CUSPARSE_ORDER_COL);
  cusparseCreateDnMat(&b, p.k, p.m, p.k, g.x, CUDA_R_32F, CUSPARSE_ORDER_COL);
  cusparseCreateCsr(&c, p.n, p.k, p.nnz(), g.indptr, g.indices, g.out, CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                    CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F);
  const float one = 1.f, zero = 0.f;
  const auto op_a = CUSPARSE_OPERATION_NON_TRANSPOSE, op_b = CUSPARSE_OPERATION_TRANSPOSE;
  size_t bytes = 0;
  cusparseSDDMM_bufferSize(h, op_a, op_b, &one, a, b, &zero, c, CUDA_R_32F, CUSPARSE_SDDMM_ALG_DEFAULT, &bytes);
  void* buffer = nullptr;
  cudaMalloc(&buffer, bytes ? bytes : 1);
  cusparseSDDMM_preprocess(h, op_a, op_b, &one, a, b, &zero, c, CUDA_R_32F, CUSPARSE_SDDMM_ALG_DEFAULT, buffer);
  time_gpu(state, g.be->stream(), [&] {
    cusparseSDDMM(h, op_a, op_b, &one, a, b, &zero, c, CUDA_R_32F, CUSPARSE_SDDMM_ALG_DEFAULT, buffer);
  });
  set_counters(state, 2.0 * p.m * p.nnz(), 4.0 * (p.m * p.k + p.m * p.n) + csr_bytes(p.n, p.nnz()));
  cudaFree(buffer);
  cusparseDestroyDnMat(a);
  cusparseDestroyDnMat(b);
  cusparseDestroySpMat(c);
}

// cusparseDenseToSparse of W (n x k, row-major) keeping its nonzeros: analysis (which counts),
// the nnz read back, then the conversion, as our count + fill do.
void BM_CusparseDenseToSparse_cuda(benchmark::State& state) {
  Problem p = make_problem(state);
  GpuProblem g;
  if (!make_gpu(state, p, g)) return;
  cusparseHandle_t h = g.be->cusparse();
  cusparseDnMatDescr_t w;
  cusparseSpMatDescr_t s;
  cusparseCreateDnMat(&w, p.n, p.k, p.k, g.w_dense, CUDA_R_32F, CUSPARSE_ORDER_ROW);
  cusparseCreateCsr(&s, p.n, p.k, 0, g.d2c_indptr, nullptr, nullptr, CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                    CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F);
  size_t bytes = 0;
  cusparseDenseToSparse_bufferSize(h, w, s, CUSPARSE_DENSETOSPARSE_ALG_DEFAULT, &bytes);
  void* buffer = nullptr;
  cudaMalloc(&buffer, bytes ? bytes : 1);
  time_gpu(state, g.be->stream(), [&] {
    cusparseDenseToSparse_analysis(h, w, s, CUSPARSE_DENSETOSPARSE_ALG_DEFAULT, buffer);
    int64_t rows = 0, cols = 0, nnz = 0;
    cusparseSpMatGetSize(s, &rows, &cols, &nnz);
    cusparseCsrSetPointers(s, g.d2c_indptr, g.d2c_indices, g.d2c_values);
    cusparseDenseToSparse_convert(h, w, s, CUSPARSE_DENSETOSPARSE_ALG_DEFAULT, buffer);
  });
  set_counters(state, 0.0, 4.0 * p.n * p.k + csr_bytes(p.n, p.nnz()));
  cudaFree(buffer);
  cusparseDestroyDnMat(w);
  cusparseDestroySpMat(s);
}

void gpu_shapes(benchmark::internal::Benchmark* b) {
  shapes(b);
  b->UseManualTime();
}

BENCHMARK(BM_SpmmCsr_cuda)->Name("BM_SpmmCsr/cuda")->Apply(gpu_shapes);
BENCHMARK(BM_SpmmCsrT_cuda)->Name("BM_SpmmCsrT/cuda")->Apply(gpu_shapes);
BENCHMARK(BM_SddmmCsr_cuda)->Name("BM_SddmmCsr/cuda")->Apply(gpu_shapes);
BENCHMARK(BM_DenseToCsr_cuda)->Name("BM_DenseToCsr/cuda")->Apply(gpu_shapes);
BENCHMARK(BM_CusparseSpmm_cuda)->Name("BM_CusparseSpmm/cuda")->Apply(gpu_shapes);
BENCHMARK(BM_CusparseSddmm_cuda)->Name("BM_CusparseSddmm/cuda")->Apply(gpu_shapes);
BENCHMARK(BM_CusparseDenseToSparse_cuda)->Name("BM_CusparseDenseToSparse/cuda")->Apply(gpu_shapes);
BENCHMARK(BM_Sgemm_cuda)->Name("BM_Sgemm/cuda")->ArgNames({"m", "k", "n", "density"})->Args({128, 1024, 1024, 1000})
    ->Unit(benchmark::kMicrosecond)->UseManualTime();
#endif  // NEUROAI_HAVE_CUDA

}  // namespace
}  // namespace neuroai::bench
