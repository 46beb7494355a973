// Magnitude pruning on the GPU by radix select, never a sort. Keys are the 31 bits of |score|
// (non-negative floats order like their bit patterns). Three histogram passes over all targets fix
// the threshold key T digit by digit (11, 11, 9 bits), so that count(key < T) < n_prune <=
// count(key <= T). Entries with key < T are pruned; of the entries with key == T, the first
// n_prune - count(key < T) in (target, flat index) order are, found by a scan over the tie flags in
// global order (per-chunk counts, cub::DeviceScan over the chunks, cub::BlockScan inside a chunk),
// so the result equals the CPU's exactly. Everything stays on the device: no host sync.
#include <cub/cub.cuh>

#include <algorithm>
#include <span>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/inhibition_math.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
namespace {

constexpr int kBins = 2048;  // 11-bit digits
constexpr int kPasses = 3;
constexpr int kShift[kPasses] = {20, 9, 0};
constexpr int kDigitBits[kPasses] = {11, 11, 9};
constexpr int kHistThreads = 256;
constexpr int kHistCopies = 4;  // shared sub-histograms, so warps hitting one bin contend less
constexpr int kSelectThreads = 256;
constexpr int kChunkThreads = 256;
constexpr int kChunkItems = 16;
constexpr int64_t kChunk = int64_t(kChunkThreads) * kChunkItems;  // tie-scan granularity
constexpr int kApplyThreads = 256;

struct SelectState {
  uint32_t prefix;          // key bits fixed by the passes so far (= T after the last pass)
  uint32_t mask;            // which bits those are
  unsigned long long k;     // entries still to prune among the alive keys matching prefix
  unsigned long long ties;  // after the last pass: alive keys == T
  int split;                // 1 when only the first k of the ties are pruned
};

// Where a workspace of prune_workspace_bytes() is cut up.
struct Workspace {
  unsigned long long* hist;          // (kBins)
  SelectState* state;                // (1)
  unsigned long long* chunk_ties;    // (chunks) ties per chunk
  unsigned long long* chunk_before;  // (chunks) ties in earlier chunks
  void* cub_temp;
  size_t cub_bytes;
};

int64_t chunks_of(int64_t n) { return (n + kChunk - 1) / kChunk; }

bool aligned_for_vectors(const float* score, const uint8_t* alive) {
  return (reinterpret_cast<uintptr_t>(score) % 16 == 0) && (reinterpret_cast<uintptr_t>(alive) % 4 == 0);
}

// Calls keep(i, score[i]) for every alive (nonzero) entry i this thread owns (grid-stride, 4 at a
// time when the pointers allow) and clears the flag where it returns false; flags it keeps are
// never written.
template <class F>
__device__ void for_alive(const float* __restrict__ score, uint8_t* __restrict__ alive, int64_t n, bool vec, F keep) {
  const int64_t stride = grid_threads();
  const int64_t start = global_thread();
  int64_t tail = 0;
  if (vec) {
    const int64_t n4 = n / 4;
    for (int64_t q = start; q < n4; q += stride) {
      uchar4 a = reinterpret_cast<const uchar4*>(alive)[q];
      if (!(a.x | a.y | a.z | a.w)) continue;
      const float4 s = reinterpret_cast<const float4*>(score)[q];
      bool changed = false;
      if (a.x && !keep(4 * q + 0, s.x)) a.x = 0, changed = true;
      if (a.y && !keep(4 * q + 1, s.y)) a.y = 0, changed = true;
      if (a.z && !keep(4 * q + 2, s.z)) a.z = 0, changed = true;
      if (a.w && !keep(4 * q + 3, s.w)) a.w = 0, changed = true;
      if (changed) reinterpret_cast<uchar4*>(alive)[q] = a;
    }
    tail = n4 * 4;
  }
  for (int64_t i = tail + start; i < n; i += stride)
    if (alive[i] && !keep(i, score[i])) alive[i] = 0;
}

// One thread: sets the selection state before the first pass.
__global__ void prune_init_kernel(SelectState* st, unsigned long long n_prune) {
  if (threadIdx.x == 0) *st = SelectState{0u, 0u, n_prune, 0ull, 0};
}

// Grid-stride over one target: each block counts, in shared sub-histograms (one per group of
// warps), the current digit of the alive keys that match the prefix, then adds its nonzero bins to
// the global histogram.
__global__ void prune_hist_kernel(const float* __restrict__ score, const uint8_t* __restrict__ alive, int64_t n,
                                  bool vec, const SelectState* __restrict__ st, int shift, uint32_t digit_mask,
                                  unsigned long long* __restrict__ hist) {
  __shared__ unsigned int sh[kHistCopies][kBins];
  for (int i = threadIdx.x; i < kHistCopies * kBins; i += blockDim.x) (&sh[0][0])[i] = 0;
  __syncthreads();
  const uint32_t prefix = st->prefix, mask = st->mask;
  unsigned int* mine = sh[(threadIdx.x / 32) % kHistCopies];
  // Keeps every entry, so for_alive only reads the flags.
  for_alive(score, const_cast<uint8_t*>(alive), n, vec, [&](int64_t, float s) {
    const uint32_t key = prune_key(s);
    if ((key & mask) == prefix) atomicAdd(&mine[(key >> shift) & digit_mask], 1u);
    return true;
  });
  __syncthreads();
  for (int b = threadIdx.x; b < kBins; b += blockDim.x) {
    unsigned int c = 0;
    for (int j = 0; j < kHistCopies; ++j) c += sh[j][b];
    if (c) atomicAdd(&hist[b], (unsigned long long)c);
  }
}

// One block: thread t scans bins [t*8, t*8+8) of the histogram, finds the bin holding the k-th key,
// narrows the state to it and clears the histogram for the next pass.
__global__ void prune_select_kernel(unsigned long long* __restrict__ hist, SelectState* __restrict__ st, int shift,
                                    uint32_t digit_mask, bool last) {
  using Scan = cub::BlockScan<unsigned long long, kSelectThreads>;
  __shared__ typename Scan::TempStorage tmp;
  constexpr int kItems = kBins / kSelectThreads;
  unsigned long long c[kItems], before[kItems];
  for (int j = 0; j < kItems; ++j) c[j] = hist[threadIdx.x * kItems + j];
  const unsigned long long k = st->k;
  Scan(tmp).ExclusiveSum(c, before);
  __syncthreads();  // every thread has read st->k before one of them rewrites it
  for (int j = 0; j < kItems; ++j) {
    if (before[j] < k && k <= before[j] + c[j]) {
      const uint32_t bin = threadIdx.x * kItems + j;
      st->prefix |= bin << shift;
      st->mask |= digit_mask << shift;
      st->k = k - before[j];
      if (last) {
        st->ties = c[j];
        st->split = (k - before[j]) < c[j] ? 1 : 0;
      }
    }
    hist[threadIdx.x * kItems + j] = 0;
  }
}

// Grid-stride over one target: clears the alive keys below T, and the keys equal to T when all
// ties go (otherwise the tie kernels pick them).
__global__ void prune_apply_kernel(const float* __restrict__ score, uint8_t* __restrict__ alive, int64_t n, bool vec,
                                   const SelectState* __restrict__ st) {
  const uint32_t t = st->prefix;
  const bool all_ties = !st->split;
  for_alive(score, alive, n, vec, [&](int64_t, float s) {
    const uint32_t key = prune_key(s);
    return !(key < t || (key == t && all_ties));
  });
}

// One block per chunk of kChunk entries of one target (thread t owns kChunkItems consecutive
// entries): counts the alive keys == T when the ties are split, else writes 0.
__global__ void prune_tie_count_kernel(const float* __restrict__ score, const uint8_t* __restrict__ alive, int64_t n,
                                       const SelectState* __restrict__ st, unsigned long long* __restrict__ chunk_ties) {
  using Reduce = cub::BlockReduce<unsigned long long, kChunkThreads>;
  __shared__ typename Reduce::TempStorage tmp;
  unsigned long long c = 0;
  if (st->split) {
    const uint32_t t = st->prefix;
    const int64_t i0 = int64_t(blockIdx.x) * kChunk + int64_t(threadIdx.x) * kChunkItems;
    for (int j = 0; j < kChunkItems; ++j) {
      const int64_t i = i0 + j;
      if (i < n && alive[i] && prune_key(score[i]) == t) ++c;
    }
  }
  const unsigned long long total = Reduce(tmp).Sum(c);
  if (threadIdx.x == 0) chunk_ties[blockIdx.x] = total;
}

// Same chunking as prune_tie_count_kernel: the rank of each tie in global order is the ties in
// earlier chunks plus an exclusive block scan inside the chunk; the first st->k ties are pruned.
__global__ void prune_tie_apply_kernel(const float* __restrict__ score, uint8_t* __restrict__ alive, int64_t n,
                                       const SelectState* __restrict__ st,
                                       const unsigned long long* __restrict__ chunk_before) {
  using Scan = cub::BlockScan<unsigned long long, kChunkThreads>;
  __shared__ typename Scan::TempStorage tmp;
  if (!st->split) return;  // uniform over the block, so the scan below is never half-entered
  const uint32_t t = st->prefix;
  const unsigned long long k = st->k;
  const int64_t i0 = int64_t(blockIdx.x) * kChunk + int64_t(threadIdx.x) * kChunkItems;
  uint32_t is_tie = 0;  // bit j: entry i0 + j is an alive key == T
  unsigned long long mine = 0;
  for (int j = 0; j < kChunkItems; ++j) {
    const int64_t i = i0 + j;
    if (i < n && alive[i] && prune_key(score[i]) == t) {
      is_tie |= 1u << j;
      ++mine;
    }
  }
  unsigned long long rank = 0;
  Scan(tmp).ExclusiveSum(mine, rank);
  rank += chunk_before[blockIdx.x];
  for (int j = 0; j < kChunkItems && rank < k; ++j)
    if (is_tie & (1u << j)) {
      alive[i0 + j] = 0;
      ++rank;
    }
}

struct Plan {
  int64_t chunks = 0;
  size_t scan_bytes = 0;
};

cudaError_t plan(std::span<const PruneTarget> targets, Plan* p) {
  p->chunks = 0;
  for (const PruneTarget& g : targets) p->chunks += chunks_of(g.n);
  return cub::DeviceScan::ExclusiveSum(nullptr, p->scan_bytes, static_cast<unsigned long long*>(nullptr),
                                       static_cast<unsigned long long*>(nullptr), p->chunks);
}

size_t workspace_bytes(const Plan& p) {
  return align256(kBins * sizeof(unsigned long long)) + align256(sizeof(SelectState)) +
         2 * align256(p.chunks * sizeof(unsigned long long)) + align256(p.scan_bytes);
}

Workspace carve(void* base, const Plan& p) {
  char* c = static_cast<char*>(base);
  Workspace w{};
  w.hist = reinterpret_cast<unsigned long long*>(c);
  c += align256(kBins * sizeof(unsigned long long));
  w.state = reinterpret_cast<SelectState*>(c);
  c += align256(sizeof(SelectState));
  w.chunk_ties = reinterpret_cast<unsigned long long*>(c);
  c += align256(p.chunks * sizeof(unsigned long long));
  w.chunk_before = reinterpret_cast<unsigned long long*>(c);
  c += align256(p.chunks * sizeof(unsigned long long));
  w.cub_temp = c;
  w.cub_bytes = p.scan_bytes;
  return w;
}

struct NonzeroToInt64 {
  __device__ long long operator()(uint8_t v) const { return v != 0 ? 1 : 0; }
};
struct AddInt64 {
  __device__ long long operator()(long long a, long long b) const { return a + b; }
};

}  // namespace

// Bytes of device workspace launch_prune_smallest needs for these targets.
size_t prune_smallest_workspace_bytes(std::span<const PruneTarget> targets) {
  Plan p;
  NEUROAI_CUDA_CHECK(plan(targets, &p));
  return workspace_bytes(p);
}

// targets: a host array of device (score, alive) pairs; 1 <= n_prune <= alive entries (checked by
// the caller); workspace: device, prune_smallest_workspace_bytes(targets) bytes.
cudaError_t launch_prune_smallest(std::span<const PruneTarget> targets, int64_t n_prune, void* workspace,
                                  int sm_count, cudaStream_t stream) {
  Plan p;
  cudaError_t err = plan(targets, &p);
  if (err != cudaSuccess) return err;
  const Workspace w = carve(workspace, p);
  if ((err = cudaMemsetAsync(w.hist, 0, kBins * sizeof(unsigned long long), stream)) != cudaSuccess) return err;
  NEUROAI_LAUNCH(prune_init_kernel, 1, 32, 0, stream)(w.state, (unsigned long long)n_prune);
  for (int pass = 0; pass < kPasses; ++pass) {
    const uint32_t digit_mask = (1u << kDigitBits[pass]) - 1u;
    for (const PruneTarget& g : targets) {
      if (g.n == 0) continue;
      const unsigned grid = blocks_for(g.n, kHistThreads * 16, int64_t(sm_count) * 4);
      NEUROAI_LAUNCH(prune_hist_kernel, grid, kHistThreads, 0, stream)(g.score, g.alive, g.n,
          aligned_for_vectors(g.score, g.alive), w.state, kShift[pass], digit_mask, w.hist);
    }
    NEUROAI_LAUNCH(prune_select_kernel, 1, kSelectThreads, 0, stream)(w.hist, w.state, kShift[pass], digit_mask,
        pass == kPasses - 1);
    if ((err = cudaGetLastError()) != cudaSuccess) return err;
  }
  // The tie count reads the alive flags before the apply kernel clears anything; the apply kernel
  // never touches keys == T while the ties are split, so the order only matters for clarity.
  int64_t chunk0 = 0;
  for (const PruneTarget& g : targets) {
    if (g.n == 0) continue;
    NEUROAI_LAUNCH(prune_tie_count_kernel, unsigned(chunks_of(g.n)), kChunkThreads, 0, stream)(g.score, g.alive, g.n,
        w.state, w.chunk_ties + chunk0);
    chunk0 += chunks_of(g.n);
  }
  if (p.chunks > 0) {
    size_t bytes = w.cub_bytes;
    err = cub::DeviceScan::ExclusiveSum(w.cub_temp, bytes, w.chunk_ties, w.chunk_before, p.chunks, stream);
    if (err != cudaSuccess) return err;
  }
  chunk0 = 0;
  for (const PruneTarget& g : targets) {
    if (g.n == 0) continue;
    const bool vec = aligned_for_vectors(g.score, g.alive);
    const unsigned grid = blocks_for(vec ? g.n / 4 + 1 : g.n, kApplyThreads, int64_t(sm_count) * 32);
    NEUROAI_LAUNCH(prune_apply_kernel, grid, kApplyThreads, 0, stream)(g.score, g.alive, g.n, vec, w.state);
    NEUROAI_LAUNCH(prune_tie_apply_kernel, unsigned(chunks_of(g.n)), kChunkThreads, 0, stream)(g.score, g.alive, g.n,
        w.state, w.chunk_before + chunk0);
    chunk0 += chunks_of(g.n);
  }
  return cudaGetLastError();
}

// flags (n): device; out: device, one int64; temp: device, temp_bytes (query with temp = null).
cudaError_t launch_count_nonzero(const uint8_t* flags, int64_t n, long long* out, void* temp, size_t& temp_bytes,
                                 cudaStream_t stream) {
  return cub::DeviceReduce::TransformReduce(temp, temp_bytes, flags, out, n, AddInt64{}, NonzeroToInt64{}, 0LL,
                                            stream);
}

void CudaBackend::prune_smallest_impl(std::span<const PruneTarget> targets, int64_t n_prune) {
  void* ws = scratch(prune_smallest_workspace_bytes(targets));
  NEUROAI_CUDA_CHECK(launch_prune_smallest(targets, n_prune, ws, sm_count(), stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

int64_t CudaBackend::count_nonzero_impl(const uint8_t* flags, int64_t n) {
  size_t temp_bytes = 0;
  NEUROAI_CUDA_CHECK(launch_count_nonzero(flags, n, nullptr, nullptr, temp_bytes, stream()));
  char* ws = static_cast<char*>(scratch(256 + temp_bytes));
  auto* out = reinterpret_cast<long long*>(ws);
  NEUROAI_CUDA_CHECK(launch_count_nonzero(flags, n, out, ws + 256, temp_bytes, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
  auto* host = static_cast<long long*>(pinned(sizeof(long long)));
  NEUROAI_CUDA_CHECK(cudaMemcpyAsync(host, out, sizeof(long long), cudaMemcpyDeviceToHost, stream()));
  NEUROAI_CUDA_CHECK(cudaStreamSynchronize(stream()));
  return *host;
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
