#include "kernels/registry.h"

#include <omp.h>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/error.h"
#if defined(NEUROAI_HAVE_CUDA) || defined(NEUROAI_HAVE_CUDA_SIM)
#include "kernels/cuda/cuda_api.h"
#endif

extern "C" char* openblas_get_config(void);
extern "C" char* openblas_get_corename(void);

namespace neuroai {

int default_cpu_threads() { return omp_get_num_procs(); }

const std::vector<std::string>& backend_choices() {
  static const std::vector<std::string> names = {"cpu", "cuda", "cuda-sim", "auto"};
  return names;
}

std::string backend_choices_text() { return "cpu, cuda, cuda-sim or auto"; }

BuildInfo build_info() {
  BuildInfo b;
  b.version = NEUROAI_VERSION;
  b.build_type = NEUROAI_BUILD_TYPE;
  b.blas = std::string(openblas_get_config()) + ", core " + openblas_get_corename();
#ifdef NEUROAI_HAVE_CUDA
  b.cuda_compiled = true;
  b.cuda_archs = NEUROAI_CUDA_ARCHS;
  b.nvcc_version = NEUROAI_NVCC_VERSION;
#endif
  return b;
}

std::vector<BackendInfo> available_backends() {
  std::vector<BackendInfo> out;
  out.push_back({"cpu", true, ""});
#ifdef NEUROAI_HAVE_CUDA
  const auto& p = cuda::gpu::probe();
  out.push_back({"cuda", p.device_count > 0, p.reason});
#else
  out.push_back({"cuda", false, "neuroai was built without the CUDA backend (NEUROAI_CUDA=OFF or no nvcc)"});
#endif
#ifdef NEUROAI_HAVE_CUDA_SIM
  out.push_back({"cuda-sim", true, ""});
#else
  out.push_back({"cuda-sim", false, "neuroai was built without the CUDA simulator (NEUROAI_CUDA_SIM=OFF)"});
#endif
  return out;
}

std::vector<GpuInfo> cuda_devices() {
#ifdef NEUROAI_HAVE_CUDA
  return cuda::gpu::probe().devices;
#else
  return {};
#endif
}

std::unique_ptr<Backend> try_make_backend(const std::string& name, std::string* reason, const BackendOptions& opts) {
  std::string why;
  if (name == "cpu") return std::make_unique<cpu::CpuBackend>(opts.threads);
  if (name == "cuda" || name == "auto") {
    for (const auto& info : available_backends()) {
      if (info.name != "cuda") continue;
      if (info.available) {
#ifdef NEUROAI_HAVE_CUDA
        const auto& p = cuda::gpu::probe();
        if (opts.device < 0 || opts.device >= p.device_count) {
          why = fmt::format("CUDA device {} does not exist ({} device(s) found)", opts.device, p.device_count);
          break;
        }
        return cuda::gpu::make_backend(opts.device);
#endif
      }
      why = info.reason;
    }
    if (name == "auto") return std::make_unique<cpu::CpuBackend>(opts.threads);
  } else if (name == "cuda-sim") {
#ifdef NEUROAI_HAVE_CUDA_SIM
    if (opts.device != 0) {
      why = fmt::format("cuda-sim has one device, 0 (asked for {})", opts.device);
    } else {
      return cuda::sim::make_backend(0);
    }
#else
    why = available_backends().back().reason;
#endif
  } else {
    why = fmt::format("unknown backend '{}' (expected {})", name, backend_choices_text());
  }
  if (reason) *reason = why;
  return nullptr;
}

std::unique_ptr<Backend> make_backend(const std::string& name, const BackendOptions& opts) {
  std::string reason;
  auto b = try_make_backend(name, &reason, opts);
  NEUROAI_CHECK(b != nullptr, "cannot make backend '{}': {}", name, reason);
  return b;
}

}  // namespace neuroai
