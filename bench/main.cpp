// Google Benchmark's main, after making sure OpenBLAS runs its real kernels (the SGEMM baseline).
#include <benchmark/benchmark.h>

#include "kernels/registry.h"

int main(int argc, char** argv) {
  neuroai::ensure_openblas_core(argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
