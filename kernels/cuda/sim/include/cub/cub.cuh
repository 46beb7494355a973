// cuda-sim: the CUB algorithms neuroai calls, with CUB's interfaces.
//
// Device-wide calls keep CUB's two-phase protocol: with d_temp_storage null they only write the
// temporary storage they need; otherwise they check that the storage given is device memory of at
// least that size, scribble over it (so a caller that keeps live data there finds out), and run on
// the host. Block-level collectives (BlockScan, BlockReduce) are real collectives over the block's
// threads: each thread publishes its value in TempStorage, the block meets at a barrier, and each
// thread reads what it needs. As in CUB, reusing TempStorage needs a __syncthreads() between the
// calls; without it the simulator's thread order makes the result wrong, as a GPU may.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cuda/sim/include/cuda_runtime.h"
#include "kernels/error.h"

namespace cub {
inline namespace nsim {

namespace detail {

// The temporary storage a device-wide call asks for: enough that a query for a smaller problem
// does not cover a larger one.
inline size_t temp_bytes_for(int64_t n, size_t item_bytes) {
  return 256 + size_t(std::max<int64_t>(n, 0)) * item_bytes / 8;
}

template <class It>
void check_input(It, int64_t, const char*) {}
template <class T>
void check_input(T* p, int64_t n, const char* what) {
  if (n > 0 && !neuroai::cudasim::is_device_range(p, size_t(n) * sizeof(T)))
    throw neuroai::Error(std::string("cuda-sim: cub ") + what + ": a pointer argument is not device memory of " +
                             std::to_string(n) + " items",
                         __FILE__, __LINE__);
}

// Phase one (query) or the checks of phase two. Returns true when the call should compute.
inline bool begin(void* d_temp, size_t& temp_bytes, size_t need, const char* what, cudaError_t* err) {
  *err = cudaSuccess;
  if (d_temp == nullptr) {
    temp_bytes = need;
    return false;
  }
  if (temp_bytes < need) {
    *err = neuroai::cudasim::fail(cudaErrorInvalidValue, std::string("cub ") + what + ": temp_storage_bytes " +
                                                             std::to_string(temp_bytes) + " < the " +
                                                             std::to_string(need) + " the size query returned");
    return false;
  }
  if (!neuroai::cudasim::is_device_range(d_temp, need)) {
    *err = neuroai::cudasim::fail(cudaErrorInvalidValue,
                                  std::string("cub ") + what + ": d_temp_storage is not device memory of that size");
    return false;
  }
  std::memset(d_temp, 0xa5, need);
  return true;
}

}  // namespace detail

struct DeviceScan {
  template <class In, class Out, class NumItems>
  static cudaError_t ExclusiveSum(void* d_temp, size_t& temp_bytes, In in, Out out, NumItems n,
                                  cudaStream_t = nullptr) {
    using T = typename std::iterator_traits<In>::value_type;
    cudaError_t err;
    neuroai::cudasim::DeviceScope scope;
    if (!detail::begin(d_temp, temp_bytes, detail::temp_bytes_for(int64_t(n), sizeof(T)), "DeviceScan::ExclusiveSum",
                       &err))
      return err;
    detail::check_input(in, int64_t(n), "DeviceScan::ExclusiveSum input");
    detail::check_input(out, int64_t(n), "DeviceScan::ExclusiveSum output");
    T acc{};
    for (int64_t i = 0; i < int64_t(n); ++i) {
      const T v = in[i];  // read before the write: in and out may be the same array
      out[i] = acc;
      acc = acc + v;
    }
    return cudaSuccess;
  }

  template <class In, class Out, class NumItems>
  static cudaError_t InclusiveSum(void* d_temp, size_t& temp_bytes, In in, Out out, NumItems n,
                                  cudaStream_t = nullptr) {
    using T = typename std::iterator_traits<In>::value_type;
    cudaError_t err;
    neuroai::cudasim::DeviceScope scope;
    if (!detail::begin(d_temp, temp_bytes, detail::temp_bytes_for(int64_t(n), sizeof(T)), "DeviceScan::InclusiveSum",
                       &err))
      return err;
    detail::check_input(in, int64_t(n), "DeviceScan::InclusiveSum input");
    detail::check_input(out, int64_t(n), "DeviceScan::InclusiveSum output");
    T acc{};
    for (int64_t i = 0; i < int64_t(n); ++i) {
      acc = acc + T(in[i]);
      out[i] = acc;
    }
    return cudaSuccess;
  }
};

struct DeviceReduce {
  // out[0] = reduce(init, transform(in[0]), ..., transform(in[n - 1])), in index order.
  template <class In, class Out, class NumItems, class ReduceOp, class TransformOp, class T>
  static cudaError_t TransformReduce(void* d_temp, size_t& temp_bytes, In in, Out out, NumItems n, ReduceOp reduce,
                                     TransformOp transform, T init, cudaStream_t = nullptr) {
    cudaError_t err;
    neuroai::cudasim::DeviceScope scope;
    if (!detail::begin(d_temp, temp_bytes, detail::temp_bytes_for(int64_t(n), sizeof(T)),
                       "DeviceReduce::TransformReduce", &err))
      return err;
    detail::check_input(in, int64_t(n), "DeviceReduce::TransformReduce input");
    detail::check_input(out, 1, "DeviceReduce::TransformReduce output");
    T acc = init;
    for (int64_t i = 0; i < int64_t(n); ++i) acc = reduce(acc, T(transform(in[i])));
    *out = acc;
    return cudaSuccess;
  }

  template <class In, class Out, class NumItems>
  static cudaError_t Sum(void* d_temp, size_t& temp_bytes, In in, Out out, NumItems n, cudaStream_t s = nullptr) {
    using T = typename std::iterator_traits<In>::value_type;
    return TransformReduce(
        d_temp, temp_bytes, in, out, n, std::plus<T>{}, [](T v) { return v; }, T{}, s);
  }
};

struct DeviceRadixSort {
  // A stable sort of (key, value) pairs by the key bits [begin_bit, end_bit), ascending.
  template <class K, class V, class NumItems>
  static cudaError_t SortPairs(void* d_temp, size_t& temp_bytes, const K* keys_in, K* keys_out, const V* values_in,
                               V* values_out, NumItems n, int begin_bit = 0, int end_bit = int(sizeof(K) * 8),
                               cudaStream_t = nullptr) {
    static_assert(std::is_unsigned_v<K> || std::is_signed_v<K>, "integer keys only in the simulator");
    cudaError_t err;
    neuroai::cudasim::DeviceScope scope;
    if (!detail::begin(d_temp, temp_bytes, detail::temp_bytes_for(int64_t(n), sizeof(K) + sizeof(V)),
                       "DeviceRadixSort::SortPairs", &err))
      return err;
    if (begin_bit < 0 || end_bit > int(sizeof(K) * 8) || begin_bit >= end_bit)
      return neuroai::cudasim::fail(cudaErrorInvalidValue, "cub DeviceRadixSort::SortPairs: bad bit range");
    detail::check_input(keys_in, int64_t(n), "DeviceRadixSort::SortPairs keys_in");
    detail::check_input(keys_out, int64_t(n), "DeviceRadixSort::SortPairs keys_out");
    detail::check_input(values_in, int64_t(n), "DeviceRadixSort::SortPairs values_in");
    detail::check_input(values_out, int64_t(n), "DeviceRadixSort::SortPairs values_out");
    using U = std::make_unsigned_t<K>;
    const int bits = end_bit - begin_bit;
    const U digit_mask = bits >= int(sizeof(U) * 8) ? U(~U(0)) : U((U(1) << bits) - 1);
    auto digits = [&](K k) {
      U u = U(k);
      if constexpr (std::is_signed_v<K>) u ^= U(U(1) << (sizeof(U) * 8 - 1));  // CUB's signed-key order
      return U((u >> begin_bit) & digit_mask);
    };
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return digits(keys_in[a]) < digits(keys_in[b]); });
    std::vector<K> k(static_cast<size_t>(n));
    std::vector<V> v(static_cast<size_t>(n));
    for (size_t i = 0; i < order.size(); ++i) k[i] = keys_in[order[i]], v[i] = values_in[order[i]];
    std::copy(k.begin(), k.end(), keys_out);
    std::copy(v.begin(), v.end(), values_out);
    return cudaSuccess;
  }
};

struct DeviceSelect {
  // Keeps in[i] where flags[i] != 0, in order; *num_selected = how many.
  template <class In, class Flags, class Out, class NumOut, class NumItems>
  static cudaError_t Flagged(void* d_temp, size_t& temp_bytes, In in, Flags flags, Out out, NumOut num_selected,
                             NumItems n, cudaStream_t = nullptr) {
    using T = typename std::iterator_traits<In>::value_type;
    cudaError_t err;
    neuroai::cudasim::DeviceScope scope;
    if (!detail::begin(d_temp, temp_bytes, detail::temp_bytes_for(int64_t(n), sizeof(T)), "DeviceSelect::Flagged",
                       &err))
      return err;
    detail::check_input(in, int64_t(n), "DeviceSelect::Flagged input");
    int64_t m = 0;
    for (int64_t i = 0; i < int64_t(n); ++i)
      if (flags[i]) out[m++] = in[i];
    *num_selected = m;
    return cudaSuccess;
  }
};

// ---- block-level collectives ---------------------------------------------------------------

namespace detail {
inline int block_rank() { return int(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)); }
inline void check_block_size(int threads, const char* what) {
  if (int(blockDim.x * blockDim.y * blockDim.z) != threads)
    throw neuroai::Error(std::string("cuda-sim: ") + what + " is declared for " + std::to_string(threads) +
                             " threads but the block has " + std::to_string(blockDim.x * blockDim.y * blockDim.z),
                         __FILE__, __LINE__);
}
}  // namespace detail

template <class T, int BLOCK_DIM_X, int ALGORITHM = 0, int BLOCK_DIM_Y = 1, int BLOCK_DIM_Z = 1>
class BlockScan {
  static constexpr int kThreads = BLOCK_DIM_X * BLOCK_DIM_Y * BLOCK_DIM_Z;

 public:
  struct TempStorage {
    T partial[kThreads];
  };

  explicit BlockScan(TempStorage& s) : s_(s) { detail::check_block_size(kThreads, "cub::BlockScan"); }

  void ExclusiveSum(T input, T& output) {
    T aggregate;
    ExclusiveSum(input, output, aggregate);
  }
  void ExclusiveSum(T input, T& output, T& block_aggregate) {
    const int me = detail::block_rank();
    s_.partial[me] = input;
    __syncthreads();
    T acc{};
    for (int i = 0; i < me; ++i) acc = acc + s_.partial[i];
    output = acc;
    block_aggregate = acc;
    for (int i = me; i < kThreads; ++i) block_aggregate = block_aggregate + s_.partial[i];
  }
  void InclusiveSum(T input, T& output) {
    T before;
    ExclusiveSum(input, before);
    output = before + input;
  }
  // Blocked arrangement: thread t owns items [t * N, t * N + N) of the block's sequence.
  template <int N>
  void ExclusiveSum(const T (&input)[N], T (&output)[N]) {
    T mine{};
    for (int j = 0; j < N; ++j) mine = mine + input[j];
    T before;
    ExclusiveSum(mine, before);
    for (int j = 0; j < N; ++j) {
      output[j] = before;
      before = before + input[j];
    }
  }
  template <int N>
  void InclusiveSum(const T (&input)[N], T (&output)[N]) {
    T excl[N];
    ExclusiveSum(input, excl);
    for (int j = 0; j < N; ++j) output[j] = excl[j] + input[j];
  }

 private:
  TempStorage& s_;
};

template <class T, int BLOCK_DIM_X, int ALGORITHM = 0, int BLOCK_DIM_Y = 1, int BLOCK_DIM_Z = 1>
class BlockReduce {
  static constexpr int kThreads = BLOCK_DIM_X * BLOCK_DIM_Y * BLOCK_DIM_Z;

 public:
  struct TempStorage {
    T partial[kThreads];
  };

  explicit BlockReduce(TempStorage& s) : s_(s) { detail::check_block_size(kThreads, "cub::BlockReduce"); }

  // The block's total, valid in thread 0 only (as in CUB; the others get their own input back).
  T Sum(T input) { return Sum(input, kThreads); }
  T Sum(T input, int num_valid) {
    return Reduce(
        input, [](T a, T b) { return a + b; }, num_valid);
  }
  template <class Op>
  T Reduce(T input, Op op) {
    return Reduce(input, op, kThreads);
  }
  template <class Op>
  T Reduce(T input, Op op, int num_valid) {
    const int me = detail::block_rank();
    s_.partial[me] = input;
    __syncthreads();
    if (me != 0) return input;
    T acc = s_.partial[0];
    for (int i = 1; i < num_valid; ++i) acc = op(acc, s_.partial[i]);
    return acc;
  }

 private:
  TempStorage& s_;
};

}  // namespace nsim
}  // namespace cub
