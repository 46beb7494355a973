// cuda-sim, host side: the subset of the CUDA runtime API that kernels/cuda/ calls, on the CPU.
// Device memory is ordinary heap memory, one heap block per cudaMalloc (so AddressSanitizer sees
// every out-of-bounds kernel access), recorded in a registry so that copies, kernel arguments and
// library calls are checked against it. Streams and events are synchronous: an operation is done
// when its call returns. Everything lives in neuroai::cudasim, so these names never collide with
// the real runtime's when both backends are linked into one program; the headers under include/
// bring them into the global namespace for the .cu files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace neuroai::cudasim {

// ---- vector and launch types ----------------------------------------------------------------

struct uint3 {
  unsigned x = 0, y = 0, z = 0;
};

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}  // NOLINT
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}                                         // NOLINT
  constexpr operator uint3() const { return {x, y, z}; }                                      // NOLINT
};

struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) int2 {
  int x, y;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
struct alignas(4) uchar4 {
  unsigned char x, y, z, w;
};

// ---- errors --------------------------------------------------------------------------------

// The codes keep the real runtime's values, so a logged number means the same thing.
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
};
using cudaError = cudaError_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

enum cudaMemoryType {
  cudaMemoryTypeUnregistered = 0,
  cudaMemoryTypeHost = 1,
  cudaMemoryTypeDevice = 2,
  cudaMemoryTypeManaged = 3,
};

enum cudaDeviceAttr {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMaxSharedMemoryPerBlock = 8,
  cudaDevAttrWarpSize = 10,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrMaxSharedMemoryPerBlockOptin = 97,
};

enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
};

struct CUstream_st;
struct CUevent_st;
using cudaStream_t = CUstream_st*;
using cudaEvent_t = CUevent_st*;
constexpr unsigned cudaStreamDefault = 0;
constexpr unsigned cudaStreamNonBlocking = 1;

struct cudaDeviceProp {
  char name[256] = {};
  size_t totalGlobalMem = 0;
  size_t sharedMemPerBlock = 0;
  size_t sharedMemPerBlockOptin = 0;
  int warpSize = 32;
  int maxThreadsPerBlock = 0;
  int maxThreadsDim[3] = {};
  int maxGridSize[3] = {};
  int major = 0;
  int minor = 0;
  int multiProcessorCount = 0;
};

struct cudaPointerAttributes {
  cudaMemoryType type = cudaMemoryTypeUnregistered;
  int device = 0;
  void* devicePointer = nullptr;
  void* hostPointer = nullptr;
};

// ---- the API -------------------------------------------------------------------------------

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaRuntimeGetVersion(int* version);
cudaError_t cudaDriverGetVersion(int* version);
cudaError_t cudaDeviceSynchronize();

cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorName(cudaError_t err);
// The generic text of the code, followed by what the simulator found when it raised it.
const char* cudaGetErrorString(cudaError_t err);

cudaError_t cudaMalloc(void** ptr, size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMallocHost(void** ptr, size_t bytes);
cudaError_t cudaFreeHost(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* dst, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream = nullptr);
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attr, const void* ptr);

cudaError_t cudaStreamCreate(cudaStream_t* stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);

cudaError_t cudaEventCreate(cudaEvent_t* event);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
// Host wall time between the two records: the simulator's speed, never the GPU's.
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);

template <class F>
cudaError_t cudaFuncSetAttribute(F* func, cudaFuncAttribute attr, int value);

// ---- for the simulator's own code (kernel launches, cuBLAS, CUB) -----------------------------

// Device memory as the simulator sees it: null when ptr lies in no device allocation.
struct Allocation {
  const unsigned char* base = nullptr;
  size_t bytes = 0;
};
Allocation find_device_allocation(const void* ptr);
// True when [ptr, ptr + bytes) lies inside one device allocation (bytes may be 0: a pointer to the
// end of an allocation is still its pointer).
bool is_device_range(const void* ptr, size_t bytes);
bool is_pinned_host(const void* ptr);

// Records err as the last error with a detail for cudaGetErrorString, and returns it.
cudaError_t fail(cudaError_t err, const std::string& detail);

// While one lives, device memory may be read and written by host code: the simulator's kernels,
// copies and library calls. In an AddressSanitizer build device allocations are poisoned outside
// such a scope, so host code that reads a device pointer without a copy is reported where it does.
class DeviceScope {
 public:
  DeviceScope();
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;
};

// Counters for tests and tools: allocations and host synchronizations since the process began.
struct Counters {
  int64_t mallocs = 0;
  int64_t frees = 0;
  int64_t syncs = 0;     // cudaStreamSynchronize / cudaDeviceSynchronize / cudaEventSynchronize
  int64_t launches = 0;  // kernels run
};
const Counters& counters();
void count_launch();  // the scheduler's, once per kernel run

// Opt-in dynamic shared memory per kernel (cudaFuncSetAttribute), keyed by the kernel's address.
void set_max_dynamic_shared(const void* kernel, int bytes);
int max_dynamic_shared(const void* kernel);

template <class F>
cudaError_t cudaFuncSetAttribute(F* func, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return fail(cudaErrorInvalidValue, "unsupported attribute");
  if (value < 0 || value > 227 * 1024)
    return fail(cudaErrorInvalidValue,
                "cudaFuncSetAttribute: dynamic shared memory above 227 KiB (sm_90 opt-in limit)");
  set_max_dynamic_shared(reinterpret_cast<const void*>(func), value);
  return cudaSuccess;
}

}  // namespace neuroai::cudasim
