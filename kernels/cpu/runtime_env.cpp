// OpenBLAS 0.3.21 (Debian 12) does not recognise some newer Xeons, notably inside VMs whose CPUID
// names only "Intel Xeon Processor", and falls back to its Prescott kernels: SGEMM then runs ~4x
// slower and every dense-vs-sparse comparison is skewed. The core can only be chosen before the
// library initializes, so when that fallback is detected on a CPU with AVX2 we set
// OPENBLAS_CORETYPE from the CPU's features and re-execute ourselves once.
#include <cstdlib>
#include <cstring>

#include <unistd.h>

#include "kernels/registry.h"

extern "C" char* openblas_get_corename(void);

namespace neuroai {

void ensure_openblas_core(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // the user chose, or we already re-executed
  const char* core = openblas_get_corename();
  if (core == nullptr || std::strcmp(core, "Prescott") != 0) return;
  __builtin_cpu_init();
  const char* want = __builtin_cpu_supports("avx512f") ? "SkylakeX" : __builtin_cpu_supports("avx2") ? "Haswell" : nullptr;
  if (want == nullptr) return;
  setenv("OPENBLAS_CORETYPE", want, 1);
  execv("/proc/self/exe", argv);  // only returns on failure: carry on with the slow core
}

}  // namespace neuroai
