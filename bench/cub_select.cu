// cub::DeviceSelect::Flagged for the compaction baseline of bench_graph.cpp (BM_CubSelectFlagged/cuda):
// CUB's device algorithms need nvcc, the benchmark programs are host C++. temp = null asks for the
// temporary storage size in temp_bytes.
#include <cstddef>
#include <cstdint>

#include <cub/cub.cuh>

namespace neuroai::bench {

cudaError_t cub_select_flagged(void* temp, size_t& temp_bytes, const float* in, const uint8_t* flags, float* out,
                               int32_t* num_selected, int64_t n, cudaStream_t stream) {
  return cub::DeviceSelect::Flagged(temp, temp_bytes, in, flags, out, num_selected, int(n), stream);
}

cudaError_t cub_select_flagged(void* temp, size_t& temp_bytes, const int32_t* in, const uint8_t* flags, int32_t* out,
                               int32_t* num_selected, int64_t n, cudaStream_t stream) {
  return cub::DeviceSelect::Flagged(temp, temp_bytes, in, flags, out, num_selected, int(n), stream);
}

}  // namespace neuroai::bench
