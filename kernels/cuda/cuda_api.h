// Plain C++ entry points into the CUDA backend for the registry (no CUDA headers here).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/registry.h"

namespace neuroai::cuda {

struct Probe {
  int device_count = 0;
  std::string reason;  // why device_count is 0
  std::vector<GpuInfo> devices;
  int runtime_version = 0;
  int driver_version = 0;
};

// Probes cudaGetDeviceCount once per process; clears the error when there is no device or driver.
const Probe& probe();
std::unique_ptr<Backend> make_backend(int device);

}  // namespace neuroai::cuda
