// The SIMT simulator itself (kernels/cuda/sim/): real barrier and warp semantics, and the errors
// it raises where a GPU would hang or give an undefined result. The kernels here are written as
// the .cu files are, compiled against the simulator's headers (this file builds only with cuda-sim).
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cub/cub.cuh>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/registry.h"
#include "kernels/error.h"

namespace {

using neuroai::Error;
namespace cu = neuroai::cuda::sim;

// Device buffer of n Ts.
template <class T>
struct Dev {
  T* p = nullptr;
  size_t n;
  explicit Dev(size_t count, const std::vector<T>& init = {}) : n(count) {
    EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(T)), cudaSuccess);
    if (!init.empty()) EXPECT_EQ(cudaMemcpy(p, init.data(), n * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~Dev() { cudaFree(p); }
  std::vector<T> host() const {
    std::vector<T> h(n);
    EXPECT_EQ(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return h;
  }
};

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_has(const std::string& msg, const std::vector<std::string>& pieces) {
  ASSERT_FALSE(msg.empty()) << "expected an error";
  for (const auto& p : pieces) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' missing from: " << msg;
}

// ---- kernels -----------------------------------------------------------------------------------

// Each thread writes its rank to shared memory; after the barrier it reads its mirror's.
__global__ void mirror_kernel(int* out) {
  __shared__ int s[256];
  const int t = int(threadIdx.x);
  s[t] = t;
  __syncthreads();
  out[blockIdx.x * blockDim.x + t] = s[blockDim.x - 1 - t] + 1000 * int(blockIdx.x);
}

// The same without the barrier: thread 0 runs to its end before thread 255 has written anything.
__global__ void mirror_no_sync_kernel(int* out) {
  __shared__ int s[256];
  const int t = int(threadIdx.x);
  s[t] = t;
  out[t] = s[blockDim.x - 1 - t];
}

__global__ void warp_ops_kernel(int* out) {
  const int lane = cu::lane_id();
  const int v = lane * 3;
  out[0 * 32 + lane] = __shfl_sync(cu::kFullMask, v, 5);
  out[1 * 32 + lane] = __shfl_xor_sync(cu::kFullMask, v, 1);
  out[2 * 32 + lane] = __shfl_down_sync(cu::kFullMask, v, 4);
  out[3 * 32 + lane] = __shfl_up_sync(cu::kFullMask, v, 4);
  out[4 * 32 + lane] = int(__ballot_sync(cu::kFullMask, lane % 3 == 0));
  out[5 * 32 + lane] = __any_sync(cu::kFullMask, lane == 31);
  out[6 * 32 + lane] = __all_sync(cu::kFullMask, lane < 31);
  out[7 * 32 + lane] = __reduce_add_sync(cu::kFullMask, unsigned(lane));
  out[8 * 32 + lane] = __shfl_xor_sync(cu::kFullMask, v, 2, 4);  // width 4: within groups of 4
}

// Lanes 16..31 leave before the full-mask shuffle: lane 0 waits on lanes that have exited.
__global__ void exited_lane_kernel(float* out) {
  if (threadIdx.x >= 16) return;
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 1);
}

// Half the block waits at one barrier, half at another.
__global__ void divergent_barrier_kernel(int* out) {
  if (threadIdx.x < 64) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}

// Threads that exit early do not block the live ones' barrier (as on sm_70 and later).
__global__ void early_exit_barrier_kernel(int* out) {
  __shared__ int s[128];
  if (threadIdx.x >= 100) return;
  s[threadIdx.x] = int(threadIdx.x);
  __syncthreads();
  out[threadIdx.x] = s[99 - threadIdx.x];
}

// Reads shared memory no thread wrote.
__global__ void uninitialized_shared_kernel(float* out) {
  __shared__ float s[32];
  out[threadIdx.x] = s[threadIdx.x];
}

__global__ void write_kernel(float* out, int n) {
  for (int64_t i : cu::grid_stride(n)) out[i] = float(i);
}

__global__ void block_scan_kernel(const int* in, int* excl, int* total) {
  using Scan = cub::BlockScan<int, 128>;
  __shared__ typename Scan::TempStorage tmp;
  int agg = 0;
  Scan(tmp).ExclusiveSum(in[threadIdx.x], excl[threadIdx.x], agg);
  if (threadIdx.x == 0) *total = agg;
}

__global__ void block_reduce_kernel(const int* in, int* total) {
  using Reduce = cub::BlockReduce<int, 128>;
  __shared__ typename Reduce::TempStorage tmp;
  const int s = Reduce(tmp).Sum(in[threadIdx.x]);
  if (threadIdx.x == 0) *total = s;
}

// ---- tests -------------------------------------------------------------------------------------

TEST(CudaSim, BarrierOrdersSharedMemoryAcrossBlocks) {
  Dev<int> out(3 * 256);
  NEUROAI_LAUNCH(mirror_kernel, 3, 256, 0, nullptr)(out.p);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  auto h = out.host();
  for (int b = 0; b < 3; ++b)
    for (int t = 0; t < 256; ++t) ASSERT_EQ(h[size_t(b * 256 + t)], 255 - t + 1000 * b);
}

TEST(CudaSim, MissingBarrierShowsAsPoison) {
  Dev<int> out(256);
  NEUROAI_LAUNCH(mirror_no_sync_kernel, 1, 256, 0, nullptr)(out.p);
  auto h = out.host();
  // Thread 0 read slot 255 before thread 255 ran: the poison pattern (0xffffffff = -1), not 255.
  EXPECT_EQ(h[0], -1);
  EXPECT_EQ(h[255], 0);  // the last thread reads what thread 0 wrote
}

TEST(CudaSim, WarpIntrinsics) {
  Dev<int> out(9 * 32);
  NEUROAI_LAUNCH(warp_ops_kernel, 1, 32, 0, nullptr)(out.p);
  auto h = out.host();
  unsigned ballot = 0;
  for (int l = 0; l < 32; l += 3) ballot |= 1u << l;
  for (int l = 0; l < 32; ++l) {
    EXPECT_EQ(h[size_t(0 * 32 + l)], 15);
    EXPECT_EQ(h[size_t(1 * 32 + l)], (l ^ 1) * 3);
    EXPECT_EQ(h[size_t(2 * 32 + l)], (l + 4 < 32 ? l + 4 : l) * 3);
    EXPECT_EQ(h[size_t(3 * 32 + l)], (l >= 4 ? l - 4 : l) * 3);
    EXPECT_EQ(unsigned(h[size_t(4 * 32 + l)]), ballot);
    EXPECT_EQ(h[size_t(5 * 32 + l)], 1);
    EXPECT_EQ(h[size_t(6 * 32 + l)], 0);
    EXPECT_EQ(h[size_t(7 * 32 + l)], 31 * 32 / 2);
    EXPECT_EQ(h[size_t(8 * 32 + l)], (l ^ 2) * 3);
  }
}

TEST(CudaSim, WarpOpNamingAnExitedLaneIsAnError) {
  Dev<float> out(32);
  const std::string msg = error_of([&] { NEUROAI_LAUNCH(exited_lane_kernel, 2, 32, 0, nullptr)(out.p); });
  expect_has(msg, {"exited_lane_kernel", "block (0,0,0)", "thread (0,0,0)", "__shfl_xor_sync",
                   "test_cuda_sim.cpp:", "lane 16", "has exited"});
}

TEST(CudaSim, DivergentBarrierIsAnError) {
  Dev<int> out(128);
  const std::string msg = error_of([&] { NEUROAI_LAUNCH(divergent_barrier_kernel, 1, 128, 0, nullptr)(out.p); });
  expect_has(msg, {"divergent_barrier_kernel", "__syncthreads at", "is not reached by thread (64,0,0)"});
}

TEST(CudaSim, ExitedThreadsDoNotHoldTheBarrier) {
  Dev<int> out(100);
  NEUROAI_LAUNCH(early_exit_barrier_kernel, 1, 128, 0, nullptr)(out.p);
  auto h = out.host();
  for (int t = 0; t < 100; ++t) ASSERT_EQ(h[size_t(t)], 99 - t);
}

TEST(CudaSim, SharedMemoryIsPoisonedAtBlockStart) {
  Dev<float> out(32);
  NEUROAI_LAUNCH(uninitialized_shared_kernel, 1, 32, 0, nullptr)(out.p);
  for (float v : out.host()) EXPECT_TRUE(std::isnan(v));
}

TEST(CudaSim, LaunchLimitsOfSm90) {
  Dev<float> out(4);
  NEUROAI_LAUNCH(write_kernel, 1, 1025, 0, nullptr)(out.p, 4);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  NEUROAI_LAUNCH(write_kernel, dim3(1, 65536), 32, 0, nullptr)(out.p, 4);
  EXPECT_EQ(cudaPeekAtLastError(), cudaErrorInvalidConfiguration);
  EXPECT_NE(std::string(cudaGetErrorString(cudaGetLastError())).find("65535"), std::string::npos);
  NEUROAI_LAUNCH(write_kernel, 0, 32, 0, nullptr)(out.p, 4);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  NEUROAI_LAUNCH(write_kernel, 1, 32, 49 * 1024, nullptr)(out.p, 4);  // dynamic smem above 48 KiB, no opt-in
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  NEUROAI_LAUNCH(write_kernel, 2, 32, 0, nullptr)(out.p, 4);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(out.host(), (std::vector<float>{0, 1, 2, 3}));
}

TEST(CudaSim, HostPointerArgumentIsRejected) {
  std::vector<float> host(4);
  const std::string msg = error_of([&] { NEUROAI_LAUNCH(write_kernel, 1, 32, 0, nullptr)(host.data(), 4); });
  expect_has(msg, {"write_kernel", "argument 1 is a host pointer"});
}

#if defined(__SANITIZE_ADDRESS__)
// In an AddressSanitizer build device memory is poisoned outside kernels and copies: host code that
// dereferences a device pointer is reported where it does it, as a GPU's host would fault.
TEST(CudaSimDeathTest, HostReadOfDeviceMemoryIsReported) {
  Dev<float> d(4, {1, 2, 3, 4});
  EXPECT_DEATH(
      {
        volatile float v = d.p[1];
        (void)v;
      },
      "use-after-poison");
}
#endif

TEST(CudaSim, CopiesAreCheckedAgainstTheAllocations) {
  Dev<float> d(4);
  std::vector<float> h(8);
  EXPECT_EQ(cudaMemcpy(d.p, h.data(), 8 * sizeof(float), cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_NE(std::string(cudaGetErrorString(cudaGetLastError())).find("past the end"), std::string::npos);
  EXPECT_EQ(cudaMemcpy(h.data(), h.data() + 4, 4 * sizeof(float), cudaMemcpyDeviceToHost), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(d.p, d.p, 4 * sizeof(float), cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  cudaGetLastError();
  cudaPointerAttributes a;
  ASSERT_EQ(cudaPointerGetAttributes(&a, d.p + 2), cudaSuccess);
  EXPECT_EQ(a.type, cudaMemoryTypeDevice);
  ASSERT_EQ(cudaPointerGetAttributes(&a, h.data()), cudaSuccess);
  EXPECT_EQ(a.type, cudaMemoryTypeUnregistered);
}

TEST(CudaSim, CublasChecksLeadingDimensionsAsCublasDoes) {
  cublasHandle_t h;
  ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  // Column-major A (2x3), B (3x2): C (2x2) = A B.
  Dev<float> a(6, {1, 2, 3, 4, 5, 6}), b(6, {1, 0, 0, 1, 1, 1}), c(4);
  const float one = 1, zero = 0;
  EXPECT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &one, a.p, 1, b.p, 3, &zero, c.p, 2),
            CUBLAS_STATUS_INVALID_VALUE);  // lda < m
  EXPECT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &one, a.p, 4, b.p, 3, &zero, c.p, 2),
            CUBLAS_STATUS_EXECUTION_FAILED);  // lda = 4 reads past A's six floats
  ASSERT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &one, a.p, 2, b.p, 3, &zero, c.p, 2),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(c.host(), (std::vector<float>{1, 2, 9, 12}));
  // geam in place on A with a transpose is refused, as cuBLAS refuses it.
  EXPECT_EQ(cublasSgeam(h, CUBLAS_OP_T, CUBLAS_OP_N, 2, 2, &one, c.p, 2, &zero, c.p, 2, c.p, 2),
            CUBLAS_STATUS_INVALID_VALUE);
  cublasDestroy(h);
}

TEST(CudaSim, CubDeviceCallsKeepTheTempStorageProtocol) {
  Dev<int> in(5, {1, 2, 3, 4, 5}), out(5);
  size_t bytes = 0;
  ASSERT_EQ(cub::DeviceScan::ExclusiveSum(nullptr, bytes, in.p, out.p, 5), cudaSuccess);
  ASSERT_GT(bytes, 0u);
  Dev<unsigned char> temp(bytes);
  size_t short_bytes = bytes - 1;
  EXPECT_EQ(cub::DeviceScan::ExclusiveSum(temp.p, short_bytes, in.p, out.p, 5), cudaErrorInvalidValue);
  cudaGetLastError();
  ASSERT_EQ(cub::DeviceScan::ExclusiveSum(temp.p, bytes, in.p, out.p, 5), cudaSuccess);
  EXPECT_EQ(out.host(), (std::vector<int>{0, 1, 3, 6, 10}));
}

TEST(CudaSim, BlockCollectives) {
  std::vector<int> v(128);
  for (int i = 0; i < 128; ++i) v[size_t(i)] = i % 7;
  Dev<int> in(128, v), excl(128), total(1);
  NEUROAI_LAUNCH(block_scan_kernel, 1, 128, 0, nullptr)(in.p, excl.p, total.p);
  auto e = excl.host();
  int acc = 0;
  for (int i = 0; i < 128; ++i) {
    ASSERT_EQ(e[size_t(i)], acc);
    acc += v[size_t(i)];
  }
  EXPECT_EQ(total.host()[0], acc);
  NEUROAI_LAUNCH(block_reduce_kernel, 1, 128, 0, nullptr)(in.p, total.p);
  EXPECT_EQ(total.host()[0], acc);
  const std::string msg = error_of([&] { NEUROAI_LAUNCH(block_reduce_kernel, 1, 64, 0, nullptr)(in.p, total.p); });
  expect_has(msg, {"cub::BlockReduce is declared for 128 threads but the block has 64"});
}

// A scratch request the device cannot hold fails with a message and leaves the backend usable: it no
// longer keeps the freed buffer's pointer and size (cuda_backend.cu used to, after a failed cudaMalloc).
TEST(CudaSim, ScratchThatCannotBeAllocatedLeavesTheBackendConsistent) {
  auto be = neuroai::make_backend("cuda-sim");
  auto& cuda = dynamic_cast<cu::CudaBackend&>(*be);
  void* small = cuda.scratch(64);
  ASSERT_TRUE(neuroai::cudasim::is_device_range(small, 64));
  const std::string msg = error_of([&] { cuda.scratch(size_t(1) << 40); });
  expect_has(msg, {"cannot allocate", "scratch"});
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "the failed allocation's error is cleared";
  void* again = cuda.scratch(128);
  EXPECT_TRUE(neuroai::cudasim::is_device_range(again, 128));
  Dev<float> out(4);
  NEUROAI_LAUNCH(write_kernel, 1, 32, 0, cuda.stream())(out.p, 4);
  EXPECT_EQ(out.host(), (std::vector<float>{0, 1, 2, 3}));
}

}  // namespace
