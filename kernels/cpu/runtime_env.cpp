// Two run-time settings that must be in the environment before OpenBLAS and libgomp initialize, so a
// program that needs them sets them and re-executes itself once:
// - OpenBLAS 0.3.21 (Debian 12) does not recognise some newer Xeons, notably inside VMs whose CPUID
//   names only "Intel Xeon Processor", and falls back to its Prescott kernels: SGEMM then runs ~4x
//   slower and every dense-vs-sparse comparison is skewed. We pick the core from the CPU's features.
// - libgomp's default lets idle threads spin; with more runnable threads than cores (a shared
//   2-core machine, ctest running binaries side by side) a training step measured 20x slower.
//   Passive waiting costs microseconds per parallel region on an idle machine.
// A value the user set is always kept.
#include <cstdlib>
#include <cstring>

#include <unistd.h>

#include "kernels/registry.h"

extern "C" char* openblas_get_corename(void);

namespace neuroai {

void ensure_runtime_env(char** argv) {
  if (std::getenv("NEUROAI_ENV_SET") != nullptr) return;  // already re-executed once
  bool changed = false;
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    changed = true;
  }
  const char* core = openblas_get_corename();
  if (std::getenv("OPENBLAS_CORETYPE") == nullptr && core != nullptr && std::strcmp(core, "Prescott") == 0) {
    __builtin_cpu_init();
    const char* want = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                       : __builtin_cpu_supports("avx2")  ? "Haswell"
                                                         : nullptr;
    if (want != nullptr) {
      setenv("OPENBLAS_CORETYPE", want, 1);
      changed = true;
    }
  }
  if (!changed) return;
  setenv("NEUROAI_ENV_SET", "1", 1);
  execv("/proc/self/exe", argv);  // only returns on failure: carry on with the defaults
}

}  // namespace neuroai
