// cuda-sim, device side: what a kernel body sees. threadIdx and friends, __syncthreads, the warp
// intrinsics, atomics and the math intrinsics the kernels use, with the semantics of sm_90 and
// stricter where the hardware's behaviour is undefined (see kernels/cuda/sim/README.md).
//
// Each thread of a block runs as a cooperative context (kernels/cuda/sim/scheduler.cpp). A thread
// runs until it reaches a barrier or a warp operation, or exits; when every thread of the block is
// waiting, the scheduler completes whichever barrier or warp operation all its participants have
// reached, and reports anything else as an error naming the kernel, block, thread and source line.
#pragma once

#include <math.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <source_location>
#include <type_traits>

#include "kernels/cuda/sim/runtime.h"

// Function and variable qualifiers: the host compiler ignores the execution spaces.
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __constant__
// Static shared memory is one object per kernel, shared by the block's threads (one block runs at a
// time). The section lets the scheduler fill it with a poison pattern at every block start. GCC
// ignores the section on a static local of a function template: keep __shared__ arrays in plain
// kernels (today's kernels do), or they are not poisoned.
#define __shared__ __attribute__((section("nsim_shared"))) static

namespace neuroai::cudasim {

// The built-in variables of the running thread, set by the scheduler before it resumes a thread.
extern uint3 threadIdx;
extern uint3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;
constexpr int warpSize = 32;

enum class WarpOp { Shfl, ShflXor, ShflDown, ShflUp, Ballot, Any, All, ReduceAdd, SyncWarp };

// Suspends the calling thread at a warp operation until every lane its mask names has reached the
// same operation at the same place, then returns this lane's result (raw bits, up to 8 bytes).
uint64_t warp_op(WarpOp op, unsigned mask, uint64_t value, int arg, int width, const std::source_location& loc);
// Suspends the calling thread until every live thread of its block has reached this barrier.
void sync_block(const std::source_location& loc);
// Lanes of the calling thread's warp that have not exited (the simulator's __activemask).
unsigned live_lanes();
// The block's dynamic shared memory (the launch's smem bytes; poisoned at block start).
void* dynamic_shared();

template <class T>
uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "warp operations move up to 8 bytes");
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}
template <class T>
T from_bits(uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof(T));
  return v;
}

// ---- barriers and warp intrinsics ----------------------------------------------------------

inline void __syncthreads(std::source_location loc = std::source_location::current()) { sync_block(loc); }
inline void __syncwarp(unsigned mask = 0xffffffffu, std::source_location loc = std::source_location::current()) {
  warp_op(WarpOp::SyncWarp, mask, 0, 0, 32, loc);
}
template <class T>
T __shfl_sync(unsigned mask, T v, int src, int width = 32, std::source_location loc = std::source_location::current()) {
  return from_bits<T>(warp_op(WarpOp::Shfl, mask, to_bits(v), src, width, loc));
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32,
                  std::source_location loc = std::source_location::current()) {
  return from_bits<T>(warp_op(WarpOp::ShflXor, mask, to_bits(v), lane_mask, width, loc));
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32,
                   std::source_location loc = std::source_location::current()) {
  return from_bits<T>(warp_op(WarpOp::ShflDown, mask, to_bits(v), int(delta), width, loc));
}
template <class T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32,
                 std::source_location loc = std::source_location::current()) {
  return from_bits<T>(warp_op(WarpOp::ShflUp, mask, to_bits(v), int(delta), width, loc));
}
inline unsigned __ballot_sync(unsigned mask, int pred, std::source_location loc = std::source_location::current()) {
  return unsigned(warp_op(WarpOp::Ballot, mask, pred != 0, 0, 32, loc));
}
inline int __any_sync(unsigned mask, int pred, std::source_location loc = std::source_location::current()) {
  return int(warp_op(WarpOp::Any, mask, pred != 0, 0, 32, loc));
}
inline int __all_sync(unsigned mask, int pred, std::source_location loc = std::source_location::current()) {
  return int(warp_op(WarpOp::All, mask, pred != 0, 0, 32, loc));
}
inline unsigned __reduce_add_sync(unsigned mask, unsigned v,
                                  std::source_location loc = std::source_location::current()) {
  return unsigned(warp_op(WarpOp::ReduceAdd, mask, v, 0, 32, loc));
}
inline int __reduce_add_sync(unsigned mask, int v, std::source_location loc = std::source_location::current()) {
  return int(unsigned(warp_op(WarpOp::ReduceAdd, mask, unsigned(v), 0, 32, loc)));
}
inline unsigned __activemask() { return live_lanes(); }

// ---- atomics: one block runs at a time and a thread is never preempted between two of its own
// instructions, so a read-modify-write is atomic as written. Each returns the old value. --------

template <class T>
T atomicAdd(T* p, T v) {
  const T old = *p;
  *p = old + v;
  return old;
}
template <class T>
T atomicSub(T* p, T v) {
  const T old = *p;
  *p = old - v;
  return old;
}
template <class T>
T atomicMin(T* p, T v) {
  const T old = *p;
  *p = v < old ? v : old;
  return old;
}
template <class T>
T atomicMax(T* p, T v) {
  const T old = *p;
  *p = v > old ? v : old;
  return old;
}
template <class T>
T atomicExch(T* p, T v) {
  const T old = *p;
  *p = v;
  return old;
}
template <class T>
T atomicCAS(T* p, T compare, T v) {
  const T old = *p;
  if (old == compare) *p = v;
  return old;
}

// ---- CUDA's device min / max overloads (int, unsigned, 64-bit, float, double) ----------------

inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline long min(long a, long b) { return a < b ? a : b; }
inline long max(long a, long b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }

// ---- loads, bit and math intrinsics --------------------------------------------------------

template <class T>
T __ldg(const T* p) {
  return *p;
}
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __popcll(unsigned long long v) { return __builtin_popcountll(v); }
inline int __clz(unsigned v) { return v ? __builtin_clz(v) : 32; }
inline int __clzll(unsigned long long v) { return v ? __builtin_clzll(v) : 64; }
inline int __ffs(unsigned v) { return __builtin_ffs(int(v)); }
inline unsigned __brev(unsigned v) {
  v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
  v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
  v = ((v >> 4) & 0x0f0f0f0fu) | ((v & 0x0f0f0f0fu) << 4);
  v = ((v >> 8) & 0x00ff00ffu) | ((v & 0x00ff00ffu) << 8);
  return (v >> 16) | (v << 16);
}
inline unsigned __float_as_uint(float f) { return std::bit_cast<unsigned>(f); }
inline int __float_as_int(float f) { return std::bit_cast<int>(f); }
inline float __uint_as_float(unsigned u) { return std::bit_cast<float>(u); }
inline float __int_as_float(int i) { return std::bit_cast<float>(i); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return !(x > 0.0f) ? 0.0f : (x > 1.0f ? 1.0f : x); }  // NaN -> 0, as on the GPU
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }

}  // namespace neuroai::cudasim
