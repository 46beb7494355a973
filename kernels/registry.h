// The only place that knows whether CUDA was compiled in; everyone else asks at run time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.h"

namespace neuroai {

struct BackendInfo {
  std::string name;        // "cpu" | "cuda" | "cuda-sim"
  bool available = false;  // a backend of this name can be made on this machine
  std::string reason;      // why not, when unavailable
};

struct GpuInfo {
  int index = 0;
  std::string name;
  size_t total_memory = 0;
  int cc_major = 0;
  int cc_minor = 0;
};

struct BuildInfo {
  std::string version;
  std::string build_type;
  bool cuda_compiled = false;
  std::string cuda_archs;    // e.g. "80-real;90-real;90-virtual"
  std::string nvcc_version;
  std::string blas;          // e.g. "OpenBLAS 0.3.21 (pthread)"
};

struct BackendOptions {
  int threads = 0;  // cpu: OpenMP threads; 0 = all cores
  int device = 0;   // cuda: device index
};

BuildInfo build_info();
// One entry per backend neuroai knows ("cpu", "cuda", "cuda-sim"), compiled in or not. "cuda-sim" is
// the CUDA backend's own source run on the CPU by the SIMT simulator (kernels/cuda/sim/): slow, for
// testing and debugging kernels, never for timing. Probing CUDA happens
// once per process (cudaGetDeviceCount); "no device" or "insufficient driver" is a reason, not an error.
std::vector<BackendInfo> available_backends();
// Devices the CUDA backend can use (empty without CUDA or GPU).
std::vector<GpuInfo> cuda_devices();
// The names --backend accepts, and the same as text for messages.
const std::vector<std::string>& backend_choices();
std::string backend_choices_text();
// "cpu", "cuda", "cuda-sim", or "auto" (cuda when available, else cpu; never the simulator). Throws Error naming the backend and
// the reason it cannot be made.
std::unique_ptr<Backend> make_backend(const std::string& name, const BackendOptions& opts = {});
// Same, but returns null and fills *reason instead of throwing.
std::unique_ptr<Backend> try_make_backend(const std::string& name, std::string* reason,
                                          const BackendOptions& opts = {});
// The OpenMP thread count used by the CPU backend when none is given.
int default_cpu_threads();
// Programs call this first thing in main(): sets OMP_WAIT_POLICY=passive and, where Debian's
// OpenBLAS fell back to its generic core on a CPU with AVX2, OPENBLAS_CORETYPE, then re-executes
// the program once (kernels/cpu/runtime_env.cpp). Values the user set are kept.
void ensure_runtime_env(char** argv);

}  // namespace neuroai
