// Plain C++ entry points into the CUDA backends for the registry (no CUDA headers here).
//
// The kernels/cuda/ sources are compiled twice: by nvcc for the GPU ("cuda", namespace
// neuroai::cuda::gpu) and by the host compiler against the SIMT simulator ("cuda-sim", namespace
// neuroai::cuda::sim, kernels/cuda/sim/). Both are inline namespaces, so code inside kernels/cuda/
// names neuroai::cuda::X and gets its own build's X; the registry names each explicitly.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/registry.h"

#if defined(NEUROAI_CUDA_SIM)
#define NEUROAI_CUDA_ABI sim
#else
#define NEUROAI_CUDA_ABI gpu
#endif

namespace neuroai::cuda {

struct Probe {
  int device_count = 0;
  std::string reason;  // why device_count is 0
  std::vector<GpuInfo> devices;
  int runtime_version = 0;
  int driver_version = 0;
};

inline namespace gpu {
// Probes cudaGetDeviceCount once per process; clears the error when there is no device or driver.
const Probe& probe();
std::unique_ptr<Backend> make_backend(int device);
}  // namespace gpu

inline namespace sim {
const Probe& probe();
std::unique_ptr<Backend> make_backend(int device);
}  // namespace sim

}  // namespace neuroai::cuda
