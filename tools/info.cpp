// `neuroai info`: version, build options, backends (and why CUDA is unavailable), CPU threads,
// BLAS, and each GPU's name, memory and compute capability.
#include <cstdio>

#include <fmt/format.h>

#include "kernels/registry.h"
#include "tools/commands.h"

namespace neuroai::tools {

Command add_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print version, build options, backends and devices");
  return {cmd, []() {
    BuildInfo b = build_info();
    fmt::print("neuroai {} ({} build)\n", b.version, b.build_type);
    if (b.cuda_compiled)
      fmt::print("CUDA backend compiled: yes (nvcc {}, archs {})\n", b.nvcc_version, b.cuda_archs);
    else
      fmt::print("CUDA backend compiled: no\n");
    fmt::print("BLAS: {}\n", b.blas);
    fmt::print("CPU threads: {} (default for --threads 0)\n", default_cpu_threads());
    fmt::print("Backends:\n");
    for (const auto& info : available_backends()) {
      if (info.available)
        fmt::print("  {:<8} available{}\n", info.name, info.name == "cuda-sim" ? " (the CUDA kernels simulated on the CPU: slow, never a timing)" : "");
      else
        fmt::print("  {:<8} unavailable: {}\n", info.name, info.reason);
    }
    auto gpus = cuda_devices();
    for (const auto& g : gpus)
      fmt::print("GPU {}: {}, {:.1f} GiB, compute capability {}.{}\n", g.index, g.name,
                 g.total_memory / double(1ull << 30), g.cc_major, g.cc_minor);
    return 0;
  }};
}

}  // namespace neuroai::tools
