#include "kernels/cpu/cpu_backend.h"

#include <cstdlib>
#include <cstring>

#include <cblas.h>
#include <omp.h>

#include "kernels/error.h"

namespace neuroai::cpu {

CpuBackend::CpuBackend(int threads) { set_threads(threads); }

void CpuBackend::set_threads(int threads) {
  NEUROAI_CHECK(threads >= 0, "cpu backend: threads must be >= 0 (0 = all cores), got {}", threads);
  threads_ = threads == 0 ? omp_get_num_procs() : threads;
  omp_set_num_threads(threads_);
  openblas_set_num_threads(threads_);
}

std::string CpuBackend::description() const {
  return fmt::format("CPU, {} OpenMP thread(s) of {} core(s)", threads_, omp_get_num_procs());
}

void* CpuBackend::alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  size_t rounded = (bytes + 255) / 256 * 256;
  void* p = std::aligned_alloc(256, rounded);
  NEUROAI_CHECK(p != nullptr, "cpu backend: out of host memory allocating {} bytes", bytes);
  return p;
}

void CpuBackend::free(void* ptr) { std::free(ptr); }

void CpuBackend::upload(void* dst, const void* host_src, size_t bytes) {
  if (bytes) std::memcpy(dst, host_src, bytes);
}
void CpuBackend::download(void* host_dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(host_dst, src, bytes);
}
void CpuBackend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memmove(dst, src, bytes);
}
void CpuBackend::memset_zero(void* dst, size_t bytes) {
  if (bytes) std::memset(dst, 0, bytes);
}

void* CpuBackend::scratch(size_t bytes) {
  if (scratch_.size() < bytes) scratch_.resize(bytes + bytes / 4 + 64);
  return scratch_.data();
}

}  // namespace neuroai::cpu
