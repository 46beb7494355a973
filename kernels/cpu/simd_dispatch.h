// Run-time choice between the AVX2 kernels (the compile-time floor) and AVX-512 variants built
// with target attributes, so one binary uses the widest vectors the machine has.
// NEUROAI_CPU_AVX2=1 in the environment forces the AVX2 kernels (to test or time them on an
// AVX-512 machine).
#pragma once

#include <cstdlib>

namespace neuroai::cpu {

inline bool cpu_has_avx512() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool has = [] {
    const char* force_avx2 = std::getenv("NEUROAI_CPU_AVX2");
    if (force_avx2 != nullptr && force_avx2[0] == '1') return false;
    return bool(__builtin_cpu_supports("avx512f"));
  }();
  return has;
#else
  return false;
#endif
}

}  // namespace neuroai::cpu
