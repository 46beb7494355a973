#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"

namespace neuroai::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;
constexpr unsigned kFull = 0xffffffffu;

__device__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFull, v, o));
  return v;
}

__device__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  return v;
}

// One warp per row (4 rows per block); lanes stride over the classes. Lane 0 adds the row's loss / B
// to the zeroed scalar. An out-of-range label (not checked on the device) gives loss 0 and a zero row.
__global__ void softmax_xent_kernel(const float* __restrict__ logits, const int32_t* __restrict__ labels,
                                    int64_t batch, int64_t classes, float* __restrict__ loss,
                                    float* __restrict__ dlogits) {
  const int64_t row = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= batch) return;
  const float* z = logits + row * classes;
  const float inv_b = 1.0f / float(batch);
  const int32_t label = labels[row];
  const bool valid = label >= 0 && label < classes;
  float mx = -INFINITY;
  for (int64_t c = lane; c < classes; c += 32) mx = fmaxf(mx, z[c]);
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int64_t c = lane; c < classes; c += 32) sum += expf(z[c] - mx);
  sum = warp_sum(sum);
  if (lane == 0 && valid) atomicAdd(loss, (mx + logf(sum) - z[label]) * inv_b);
  if (dlogits) {
    float* g = dlogits + row * classes;
    const float inv_sum = 1.0f / sum;
    for (int64_t c = lane; c < classes; c += 32)
      g[c] = valid ? (expf(z[c] - mx) * inv_sum - (c == label ? 1.0f : 0.0f)) * inv_b : 0.0f;
  }
}

// One warp per row (4 rows per block); each lane keeps its first maximum over its strided columns,
// then the warp keeps the larger value, or the lower index on a tie, so ties go to the lowest column.
__global__ void argmax_rows_kernel(const float* __restrict__ logits, int64_t batch, int64_t classes,
                                   int32_t* __restrict__ out) {
  const int64_t row = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= batch) return;
  const float* z = logits + row * classes;
  float best = -INFINITY;
  int32_t idx = int32_t(classes);  // sentinel: no column seen yet (lanes beyond the row's width)
  for (int64_t c = lane; c < classes; c += 32)
    if (idx == int32_t(classes) || z[c] > best) {
      best = z[c];
      idx = int32_t(c);
    }
  for (int o = 16; o > 0; o >>= 1) {
    const float ob = __shfl_xor_sync(kFull, best, o);
    const int32_t oi = __shfl_xor_sync(kFull, idx, o);
    if (oi != int32_t(classes) && (idx == int32_t(classes) || ob > best || (ob == best && oi < idx))) {
      best = ob;
      idx = oi;
    }
  }
  if (lane == 0) out[row] = idx;
}

unsigned blocks_for(int64_t rows) { return unsigned((rows + kWarpsPerBlock - 1) / kWarpsPerBlock); }

}  // namespace

// logits (B, C), labels (B), loss (1), dlogits (B, C) or null: device. loss must be zeroed first.
cudaError_t launch_softmax_xent(const float* logits, const int32_t* labels, int64_t batch, int64_t classes,
                                float* loss, float* dlogits, cudaStream_t stream) {
  softmax_xent_kernel<<<blocks_for(batch), kWarpsPerBlock * 32, 0, stream>>>(logits, labels, batch, classes, loss,
                                                                             dlogits);
  return cudaGetLastError();
}

// logits (B, C), out (B): device.
cudaError_t launch_argmax_rows(const float* logits, int64_t batch, int64_t classes, int32_t* out,
                               cudaStream_t stream) {
  argmax_rows_kernel<<<blocks_for(batch), kWarpsPerBlock * 32, 0, stream>>>(logits, batch, classes, out);
  return cudaGetLastError();
}

void CudaBackend::softmax_xent_impl(ConstDenseView logits, const int32_t* labels, float* loss, DenseView dlogits) {
  NEUROAI_CUDA_CHECK(cudaMemsetAsync(loss, 0, sizeof(float), stream()));
  NEUROAI_CUDA_CHECK(
      launch_softmax_xent(logits.data, labels, logits.rows, logits.cols, loss, dlogits.data, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::argmax_rows_impl(ConstDenseView logits, int32_t* out) {
  NEUROAI_CUDA_CHECK(launch_argmax_rows(logits.data, logits.rows, logits.cols, out, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

}  // namespace neuroai::cuda
