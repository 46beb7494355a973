// Softmax cross-entropy and row argmax on the GPU, both one warp per row.
#include "kernels/argmax_math.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
namespace {

constexpr int kRowsPerBlock = 4;  // one warp per row

// One warp per row (4 rows per block); lanes stride over the classes. Lane 0 writes the row's loss
// term to row_loss; an out-of-range label (not checked on the device) gives 0 and a zero row.
__global__ void softmax_xent_kernel(const float* __restrict__ logits, const int32_t* __restrict__ labels,
                                    int64_t batch, int64_t classes, float* __restrict__ row_loss,
                                    float* __restrict__ dlogits) {
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = lane_id();
  if (row >= batch) return;
  const float* z = logits + row * classes;
  const float inv_b = 1.0f / float(batch);
  const int32_t label = labels[row];
  const bool valid = label >= 0 && label < classes;
  float mx = -INFINITY;
  for (int64_t c = lane; c < classes; c += kWarp) mx = fmaxf(mx, z[c]);
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int64_t c = lane; c < classes; c += kWarp) sum += expf(z[c] - mx);
  sum = warp_sum(sum);
  if (lane == 0) row_loss[row] = valid ? mx + logf(sum) - z[label] : 0.0f;
  if (dlogits) {
    float* g = dlogits + row * classes;
    const float inv_sum = 1.0f / sum;
    for (int64_t c = lane; c < classes; c += kWarp)
      g[c] = valid ? (expf(z[c] - mx) * inv_sum - (c == label ? 1.0f : 0.0f)) * inv_b : 0.0f;
  }
}

// One block: loss = sum(row_loss) / B, each thread over a strided slice, then a shared-memory tree,
// always in the same order, so identical runs give identical losses (a float atomicAdd per row would
// add them in scheduler order).
__global__ void mean_rows_kernel(const float* __restrict__ row_loss, int64_t batch, float* __restrict__ loss) {
  __shared__ float part[kBlock];
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < batch; i += kBlock) s += row_loss[i];
  part[threadIdx.x] = s;
  __syncthreads();
  for (int stride = kBlock / 2; stride > 0; stride /= 2) {
    if (int(threadIdx.x) < stride) part[threadIdx.x] += part[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) *loss = part[0] / float(batch);
}

// One warp per row (4 rows per block); each lane keeps its winner over its strided columns, then the
// warp merges winners with the rule of kernels/argmax_math.h, the CPU's rule.
__global__ void argmax_rows_kernel(const float* __restrict__ logits, int64_t batch, int64_t classes,
                                   int32_t* __restrict__ out) {
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = lane_id();
  if (row >= batch) return;
  const float* z = logits + row * classes;
  float best = -INFINITY;
  int32_t idx = int32_t(classes);  // sentinel: no column seen yet (lanes beyond the row's width)
  for (int64_t c = lane; c < classes; c += kWarp)
    if (idx == int32_t(classes) || argmax_beats(z[c], c, best, idx)) {
      best = z[c];
      idx = int32_t(c);
    }
  for (int o = kWarp / 2; o > 0; o /= 2) {
    const float ob = __shfl_xor_sync(kFullMask, best, o);
    const int32_t oi = __shfl_xor_sync(kFullMask, idx, o);
    if (oi != int32_t(classes) && (idx == int32_t(classes) || argmax_beats(ob, oi, best, idx))) {
      best = ob;
      idx = oi;
    }
  }
  if (lane == 0) out[row] = idx;
}

}  // namespace

// logits (B, C), labels (B), row_loss (B, scratch), loss (1), dlogits (B, C) or null: device. B >= 1.
cudaError_t launch_softmax_xent(const float* logits, const int32_t* labels, int64_t batch, int64_t classes,
                                float* row_loss, float* loss, float* dlogits, cudaStream_t stream) {
  NEUROAI_LAUNCH(softmax_xent_kernel, blocks_for(batch, kRowsPerBlock), kRowsPerBlock * kWarp, 0, stream)(logits,
      labels, batch, classes, row_loss, dlogits);
  NEUROAI_LAUNCH(mean_rows_kernel, 1, kBlock, 0, stream)(row_loss, batch, loss);
  return cudaGetLastError();
}

// logits (B, C), out (B): device.
cudaError_t launch_argmax_rows(const float* logits, int64_t batch, int64_t classes, int32_t* out,
                               cudaStream_t stream) {
  NEUROAI_LAUNCH(argmax_rows_kernel, blocks_for(batch, kRowsPerBlock), kRowsPerBlock * kWarp, 0, stream)(logits, batch,
      classes, out);
  return cudaGetLastError();
}

void CudaBackend::softmax_xent_impl(ConstDenseView logits, const int32_t* labels, float* loss, DenseView dlogits) {
  auto* row_loss = static_cast<float*>(scratch(sizeof(float) * size_t(logits.rows)));
  NEUROAI_CUDA_CHECK(
      launch_softmax_xent(logits.data, labels, logits.rows, logits.cols, row_loss, loss, dlogits.data, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::argmax_rows_impl(ConstDenseView logits, int32_t* out) {
  NEUROAI_CUDA_CHECK(launch_argmax_rows(logits.data, logits.rows, logits.cols, out, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
