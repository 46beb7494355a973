#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"

#include <cstdlib>
#include <mutex>

#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/cuda_check.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {

bool sync_debug() {
  static const bool on = [] {
    const char* v = std::getenv("NEUROAI_CUDA_SYNC_DEBUG");
    return v != nullptr && v[0] != '\0' && v[0] != '0';
  }();
  return on;
}

const Probe& probe() {
  static Probe p;
  static std::once_flag once;
  std::call_once(once, [] {
    cudaRuntimeGetVersion(&p.runtime_version);
    cudaDriverGetVersion(&p.driver_version);
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      p.device_count = 0;
      p.reason = detail::cat("no usable CUDA device: ", cudaGetErrorName(err), " (", cudaGetErrorString(err), ")");
      cudaGetLastError();  // clear the sticky error so later calls start clean
      return;
    }
    if (n == 0) {
      p.reason = "no CUDA device found";
      return;
    }
    p.device_count = n;
    for (int i = 0; i < n; ++i) {
      cudaDeviceProp prop{};
      if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
        cudaGetLastError();
        continue;
      }
      p.devices.push_back({i, prop.name, prop.totalGlobalMem, prop.major, prop.minor});
    }
  });
  return p;
}

std::unique_ptr<Backend> make_backend(int device) { return std::make_unique<CudaBackend>(device); }

CudaBackend::CudaBackend(int device) : device_(device) {
  NEUROAI_CUDA_CHECK(cudaSetDevice(device_));
  NEUROAI_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, device_));
  NEUROAI_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  NEUROAI_CUBLAS_CHECK(cublasCreate(&cublas_));
  NEUROAI_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
  // TF32 stays off: fp32 results must match the CPU reference.
  NEUROAI_CUBLAS_CHECK(cublasSetMathMode(cublas_, CUBLAS_PEDANTIC_MATH));
  NEUROAI_CUSPARSE_CHECK(cusparseCreate(&cusparse_));
  NEUROAI_CUSPARSE_CHECK(cusparseSetStream(cusparse_, stream_));
}

CudaBackend::~CudaBackend() {
  cudaSetDevice(device_);
  if (stream_) cudaStreamSynchronize(stream_);
  if (scratch_) cudaFree(scratch_);
  if (pinned_) cudaFreeHost(pinned_);
  if (cusparse_) cusparseDestroy(cusparse_);
  if (cublas_) cublasDestroy(cublas_);
  if (stream_) cudaStreamDestroy(stream_);
}

std::string CudaBackend::description() const {
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, device_);
  return detail::cat("CUDA device ", device_, ": ", prop.name, " (sm_", prop.major, prop.minor, ", ",
                     prop.totalGlobalMem >> 30, " GiB)");
}

void* CudaBackend::alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  activate();
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, bytes);
  if (err != cudaSuccess) {
    cudaGetLastError();
    NEUROAI_FAIL_CAT("cuda backend: cannot allocate ", bytes, " bytes of device memory: ", cudaGetErrorString(err));
  }
  return p;
}

void CudaBackend::free(void* ptr) {
  if (ptr) {
    activate();
    cudaStreamSynchronize(stream_);
    cudaFree(ptr);
  }
}

void CudaBackend::upload(void* dst, const void* host_src, size_t bytes) {
  if (!bytes) return;
  activate();
  NEUROAI_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_));
  // The host buffer may be reused as soon as we return.
  NEUROAI_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::download(void* host_dst, const void* src, size_t bytes) {
  if (!bytes) return;
  activate();
  NEUROAI_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
  NEUROAI_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes) NEUROAI_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
}

void CudaBackend::memset_zero(void* dst, size_t bytes) {
  if (bytes) NEUROAI_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, stream()));
}

void CudaBackend::synchronize() { NEUROAI_CUDA_CHECK(cudaStreamSynchronize(stream())); }

bool CudaBackend::is_resident(const void* ptr) const {
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, ptr) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged;
}

void* CudaBackend::scratch(size_t bytes) {
  if (bytes > scratch_bytes_) {
    activate();
    if (scratch_) {
      NEUROAI_CUDA_CHECK(cudaStreamSynchronize(stream_));
      NEUROAI_CUDA_CHECK(cudaFree(scratch_));
      // Until the new buffer exists the backend has none: a failed cudaMalloc below must not leave
      // it holding a freed pointer and a size it does not have.
      scratch_ = nullptr;
      scratch_bytes_ = 0;
    }
    const size_t want = bytes + bytes / 4 + 256;
    void* p = nullptr;
    if (cudaError_t err = cudaMalloc(&p, want); err != cudaSuccess) {
      cudaGetLastError();  // clear it: the backend stays usable for smaller requests
      NEUROAI_FAIL_CAT("cuda backend: cannot allocate ", want, " bytes of scratch memory: ", cudaGetErrorString(err));
    }
    scratch_ = p;
    scratch_bytes_ = want;
  }
  return scratch_;
}

void CudaBackend::activate() const {
  int current = -1;
  if (cudaGetDevice(&current) != cudaSuccess || current != device_) NEUROAI_CUDA_CHECK(cudaSetDevice(device_));
}

void* CudaBackend::pinned(size_t bytes) {
  if (bytes > pinned_bytes_) {
    activate();
    if (pinned_) NEUROAI_CUDA_CHECK(cudaFreeHost(pinned_));
    pinned_bytes_ = bytes < 4096 ? 4096 : bytes;
    NEUROAI_CUDA_CHECK(cudaMallocHost(&pinned_, pinned_bytes_));
  }
  return pinned_;
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
