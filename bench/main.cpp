// Google Benchmark's main, after ensure_runtime_env (OpenBLAS's real kernels for the SGEMM baseline).
#include <benchmark/benchmark.h>

#include "kernels/registry.h"

int main(int argc, char** argv) {
  neuroai::ensure_runtime_env(argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
