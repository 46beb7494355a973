// cuda-sim: device memory, copies, streams, events and errors (see runtime.h).
#include "kernels/cuda/sim/runtime.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define NSIM_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define NSIM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define NSIM_POISON(p, n) ((void)(p), (void)(n))
#define NSIM_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace neuroai::cudasim {

struct CUstream_st {
  unsigned flags = 0;
};
struct CUevent_st {
  std::chrono::steady_clock::time_point t{};
  bool recorded = false;
};

namespace {

enum class Kind { Device, Pinned };

struct Block {
  size_t bytes;
  Kind kind;
};

struct State {
  std::recursive_mutex mu;
  std::map<uintptr_t, Block> blocks;  // base address -> allocation
  std::unordered_map<const void*, int> dynamic_shared_optin;
  int device_scopes = 0;  // open DeviceScopes: device memory is unpoisoned while > 0
  Counters counters;
};

State& state() {
  static State* s = new State;  // never destroyed: backends may be freed during static destruction
  return *s;
}

thread_local cudaError_t t_last = cudaSuccess;
thread_local std::string t_detail;
thread_local std::string t_message;
thread_local int t_device = 0;

constexpr size_t kDeviceMemory = size_t(16) << 30;  // what cudaGetDeviceProperties reports

const char* name_of(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer:
      return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection:
      return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorNoDevice:
      return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice:
      return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle:
      return "cudaErrorInvalidResourceHandle";
    case cudaErrorIllegalAddress:
      return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources:
      return "cudaErrorLaunchOutOfResources";
    case cudaErrorLaunchFailure:
      return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}

const char* text_of(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorInvalidConfiguration:
      return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer:
      return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection:
      return "invalid copy direction for memcpy";
    case cudaErrorNoDevice:
      return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice:
      return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle:
      return "invalid resource handle";
    case cudaErrorIllegalAddress:
      return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources:
      return "too many resources requested for launch";
    case cudaErrorLaunchFailure:
      return "unspecified launch failure";
  }
  return "unknown error";
}

const Block* lookup(uintptr_t p, uintptr_t* base) {
  auto& s = state();
  auto it = s.blocks.upper_bound(p);
  if (it == s.blocks.begin()) return nullptr;
  --it;
  if (p > it->first + it->second.bytes) return nullptr;  // one past the end still belongs to it
  *base = it->first;
  return &it->second;
}

bool on_device(const void* p) {
  uintptr_t base;
  const Block* b = lookup(reinterpret_cast<uintptr_t>(p), &base);
  return b != nullptr && b->kind == Kind::Device;
}

void set_device_poison(bool poisoned) {
  for (auto& [base, b] : state().blocks) {
    if (b.kind != Kind::Device) continue;
    if (poisoned) {
      NSIM_POISON(reinterpret_cast<void*>(base), b.bytes);
    } else {
      NSIM_UNPOISON(reinterpret_cast<void*>(base), b.bytes);
    }
  }
}

std::string hex(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

// The copy's direction checked against where dst and src live.
cudaError_t check_copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, const char* call) {
  const bool dst_dev = is_device_range(dst, bytes), src_dev = is_device_range(src, bytes);
  const bool dst_in = on_device(dst), src_in = on_device(src);
  auto bad = [&](const std::string& what) { return fail(cudaErrorInvalidValue, std::string(call) + ": " + what); };
  switch (kind) {
    case cudaMemcpyHostToDevice:
      if (!dst_dev)
        return bad(dst_in ? "the copy runs past the end of dst's allocation"
                          : "dst " + hex(dst) + " is not device memory");
      if (src_in) return bad("src " + hex(src) + " is device memory, but the copy says HostToDevice");
      break;
    case cudaMemcpyDeviceToHost:
      if (!src_dev)
        return bad(src_in ? "the copy runs past the end of src's allocation"
                          : "src " + hex(src) + " is not device memory");
      if (dst_in) return bad("dst " + hex(dst) + " is device memory, but the copy says DeviceToHost");
      break;
    case cudaMemcpyDeviceToDevice:
      if (!dst_dev)
        return bad(dst_in ? "the copy runs past the end of dst's allocation"
                          : "dst " + hex(dst) + " is not device memory");
      if (!src_dev)
        return bad(src_in ? "the copy runs past the end of src's allocation"
                          : "src " + hex(src) + " is not device memory");
      break;
    case cudaMemcpyDefault:
      if ((dst_in && !dst_dev) || (src_in && !src_dev)) return bad("the copy runs past the end of an allocation");
      break;
    case cudaMemcpyHostToHost:
      if (dst_in || src_in) return bad("HostToHost names device memory");
      break;
    default:
      return bad("unknown cudaMemcpyKind");
  }
  return cudaSuccess;
}

}  // namespace

cudaError_t fail(cudaError_t err, const std::string& detail) {
  t_last = err;
  t_detail = detail;
  return err;
}

const Counters& counters() { return state().counters; }

void count_launch() { ++state().counters.launches; }

Allocation find_device_allocation(const void* ptr) {
  std::lock_guard lock(state().mu);
  uintptr_t base;
  const Block* b = lookup(reinterpret_cast<uintptr_t>(ptr), &base);
  if (b == nullptr || b->kind != Kind::Device) return {};
  return {reinterpret_cast<const unsigned char*>(base), b->bytes};
}

bool is_device_range(const void* ptr, size_t bytes) {
  std::lock_guard lock(state().mu);
  uintptr_t base;
  const uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  const Block* b = lookup(p, &base);
  return b != nullptr && b->kind == Kind::Device && p + bytes <= base + b->bytes;
}

bool is_pinned_host(const void* ptr) {
  std::lock_guard lock(state().mu);
  uintptr_t base;
  const Block* b = lookup(reinterpret_cast<uintptr_t>(ptr), &base);
  return b != nullptr && b->kind == Kind::Pinned;
}

DeviceScope::DeviceScope() {
  auto& s = state();
  s.mu.lock();
  if (s.device_scopes++ == 0) set_device_poison(false);
}

DeviceScope::~DeviceScope() {
  auto& s = state();
  if (--s.device_scopes == 0) set_device_poison(true);
  s.mu.unlock();
}

void set_max_dynamic_shared(const void* kernel, int bytes) {
  std::lock_guard lock(state().mu);
  state().dynamic_shared_optin[kernel] = bytes;
}

int max_dynamic_shared(const void* kernel) {
  std::lock_guard lock(state().mu);
  auto it = state().dynamic_shared_optin.find(kernel);
  return it == state().dynamic_shared_optin.end() ? 48 * 1024 : it->second;
}

// ---- devices ---------------------------------------------------------------------------------

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice, "cuda-sim has one device, 0");
  t_device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  *device = t_device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice, "cuda-sim has one device, 0");
  *prop = cudaDeviceProp{};
  std::snprintf(prop->name, sizeof prop->name, "cuda-sim (SIMT simulator of sm_90 on the CPU)");
  prop->totalGlobalMem = kDeviceMemory;
  prop->sharedMemPerBlock = 48 * 1024;
  prop->sharedMemPerBlockOptin = 227 * 1024;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = 1024, prop->maxThreadsDim[1] = 1024, prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 0x7fffffff, prop->maxGridSize[1] = 65535, prop->maxGridSize[2] = 65535;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 4;  // few SMs: grids sized by SM count stay small, and the simulator fast
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  cudaDeviceProp p;
  if (cudaError_t e = cudaGetDeviceProperties(&p, device); e != cudaSuccess) return e;
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock:
      *value = p.maxThreadsPerBlock;
      break;
    case cudaDevAttrMaxSharedMemoryPerBlock:
      *value = int(p.sharedMemPerBlock);
      break;
    case cudaDevAttrWarpSize:
      *value = 32;
      break;
    case cudaDevAttrMultiProcessorCount:
      *value = p.multiProcessorCount;
      break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin:
      *value = int(p.sharedMemPerBlockOptin);
      break;
    default:
      return fail(cudaErrorInvalidValue, "cudaDeviceGetAttribute: attribute not simulated");
  }
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  *version = 13000;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) {
  *version = 13000;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  ++state().counters.syncs;
  return cudaSuccess;
}

// ---- errors ----------------------------------------------------------------------------------

cudaError_t cudaGetLastError() {
  const cudaError_t e = t_last;
  t_last = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return t_last; }

const char* cudaGetErrorName(cudaError_t err) { return name_of(err); }

const char* cudaGetErrorString(cudaError_t err) {
  t_message = text_of(err);
  if (err != cudaSuccess && !t_detail.empty()) t_message += " (cuda-sim: " + t_detail + ")";
  return t_message.c_str();
}

// ---- memory ----------------------------------------------------------------------------------

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  *ptr = nullptr;
  if (bytes > kDeviceMemory)
    return fail(cudaErrorMemoryAllocation,
                "cudaMalloc of " + std::to_string(bytes) + " bytes exceeds the device's memory");
  void* p = nullptr;
  // Its own heap block, exactly `bytes` long, so AddressSanitizer reports the first byte past it.
  if (posix_memalign(&p, 256, bytes == 0 ? 1 : bytes) != 0)
    return fail(cudaErrorMemoryAllocation, "cudaMalloc of " + std::to_string(bytes) + " bytes: host allocation failed");
  auto& s = state();
  std::lock_guard lock(s.mu);
  s.blocks[reinterpret_cast<uintptr_t>(p)] = {bytes, Kind::Device};
  ++s.counters.mallocs;
  if (s.device_scopes == 0) NSIM_POISON(p, bytes);
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (ptr == nullptr) return cudaSuccess;
  auto& s = state();
  std::lock_guard lock(s.mu);
  auto it = s.blocks.find(reinterpret_cast<uintptr_t>(ptr));
  if (it == s.blocks.end() || it->second.kind != Kind::Device)
    return fail(cudaErrorInvalidValue, "cudaFree(" + hex(ptr) + "): not the start of a device allocation");
  NSIM_UNPOISON(ptr, it->second.bytes);
  s.blocks.erase(it);
  ++s.counters.frees;
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  void* p = nullptr;
  if (posix_memalign(&p, 256, bytes == 0 ? 1 : bytes) != 0) return fail(cudaErrorMemoryAllocation, "cudaMallocHost");
  std::lock_guard lock(state().mu);
  state().blocks[reinterpret_cast<uintptr_t>(p)] = {bytes, Kind::Pinned};
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void* ptr) {
  if (ptr == nullptr) return cudaSuccess;
  std::lock_guard lock(state().mu);
  auto it = state().blocks.find(reinterpret_cast<uintptr_t>(ptr));
  if (it == state().blocks.end() || it->second.kind != Kind::Pinned)
    return fail(cudaErrorInvalidValue, "cudaFreeHost(" + hex(ptr) + "): not from cudaMallocHost");
  state().blocks.erase(it);
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  if (bytes == 0) return cudaSuccess;
  DeviceScope scope;
  if (cudaError_t e = check_copy(dst, src, bytes, kind, "cudaMemcpy"); e != cudaSuccess) return e;
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  ++state().counters.syncs;
  return cudaMemcpyAsync(dst, src, bytes, kind, nullptr);
}

cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t) {
  if (bytes == 0) return cudaSuccess;
  DeviceScope scope;
  if (!is_device_range(dst, bytes))
    return fail(cudaErrorInvalidValue, on_device(dst) ? "cudaMemset runs past the end of its allocation"
                                                      : "cudaMemset: " + hex(dst) + " is not device memory");
  std::memset(dst, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemset(void* dst, int value, size_t bytes) { return cudaMemsetAsync(dst, value, bytes, nullptr); }

cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attr, const void* ptr) {
  *attr = cudaPointerAttributes{};
  std::lock_guard lock(state().mu);
  uintptr_t base;
  const Block* b = lookup(reinterpret_cast<uintptr_t>(ptr), &base);
  if (b == nullptr) return cudaSuccess;  // unregistered host memory, as the real runtime reports it
  attr->type = b->kind == Kind::Device ? cudaMemoryTypeDevice : cudaMemoryTypeHost;
  attr->devicePointer = const_cast<void*>(ptr);
  if (b->kind == Kind::Pinned) attr->hostPointer = const_cast<void*>(ptr);
  return cudaSuccess;
}

// ---- streams and events ----------------------------------------------------------------------

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
  *stream = new CUstream_st{flags};
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t) {
  ++state().counters.syncs;
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) {
  *event = new CUevent_st;
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t) {
  if (event == nullptr) return fail(cudaErrorInvalidResourceHandle, "cudaEventRecord on a null event");
  event->t = std::chrono::steady_clock::now();
  event->recorded = true;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  ++state().counters.syncs;
  return event == nullptr ? fail(cudaErrorInvalidResourceHandle, "cudaEventSynchronize on a null event") : cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!start || !end || !start->recorded || !end->recorded)
    return fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime on an event never recorded");
  *ms = std::chrono::duration<float, std::milli>(end->t - start->t).count();
  return cudaSuccess;
}

}  // namespace neuroai::cudasim
