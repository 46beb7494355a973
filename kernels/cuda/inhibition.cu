// Lateral inhibition on a sheet (SPEC §4.1-4.3) on the GPU. The neighbourhood weights are
// tabulated once per call into device workspace (layout in kernels/inhibition_math.h); every
// warp reads the same table entry at the same time, so those reads are broadcasts from L1.
#include <algorithm>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/inhibition_math.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
namespace {

// A table of (2 er + 1) x (2 ec + 1) weights on the device.
struct DeviceTable {
  const float* w;
  int er;
  int ec;
};

// Grid-stride over the table entries; inv_z comes from the host (gaussian_normalizer).
__global__ void gaussian_table_kernel(Sheet sheet, DivisiveParams p, float inv_z, float* __restrict__ table,
                                      int64_t size) {
  for (int64_t t : grid_stride(size))
    table[t] = gaussian_table_entry(t, sheet, p, inv_z);
}

// Grid-stride over the table entries.
__global__ void dog_table_kernel(Sheet sheet, DogParams p, float* __restrict__ table, int64_t size) {
  for (int64_t t : grid_stride(size))
    table[t] = dog_table_entry(t, sheet, p);
}

// sum_{(dr, dc)} K(dr, dc) f(plane[(r + dr) * cols + c + dc]) with zero padding, offsets in
// ascending (dr, dc) order like the CPU backend.
template <class F>
__device__ float window_sum(const float* __restrict__ plane, Sheet sheet, int r, int c, DeviceTable k, F f) {
  const int width = 2 * k.ec + 1;
  const int dr0 = max(-k.er, -r), dr1 = min(k.er, sheet.rows - 1 - r);
  const int dc0 = max(-k.ec, -c), dc1 = min(k.ec, sheet.cols - 1 - c);
  float acc = 0.0f;
  for (int dr = dr0; dr <= dr1; ++dr) {
    const float* src = plane + int64_t(r + dr) * sheet.cols + c;
    const float* w = k.w + int64_t(dr + k.er) * width + k.ec;
    for (int dc = dc0; dc <= dc1; ++dc) {
      const float kw = __ldg(w + dc);
      if (kw != 0.0f) acc += kw * f(src[dc]);
    }
  }
  return acc;
}

struct Square {
  __device__ float operator()(float v) const { return v * v; }
};
struct Identity {
  __device__ float operator()(float v) const { return v; }
};

// One thread per (sample, unit): the denominator from the squared neighbourhood, then y.
__global__ void divisive_norm_forward_kernel(const float* __restrict__ h, int64_t batch, Sheet sheet,
                                             DivisiveParams p, DeviceTable k, float* __restrict__ y,
                                             float* __restrict__ d) {
  const int64_t n = int64_t(sheet.rows) * sheet.cols;
  const int64_t idx = global_thread();
  if (idx >= batch * n) return;
  const int64_t b = idx / n, i = idx % n;
  const float dd = divisive_denominator(window_sum(h + b * n, sheet, int(i / sheet.cols), int(i % sheet.cols), k,
                                                   Square{}),
                                        p);
  d[idx] = dd;
  y[idx] = divisive_output(h[idx], divisive_scale(dd, p));
}

// One thread per element: u = dy h D^(-beta-1).
__global__ void divisive_u_kernel(const float* __restrict__ h, const float* __restrict__ d,
                                  const float* __restrict__ dy, int64_t total, DivisiveParams p, float* __restrict__ u) {
  const int64_t idx = global_thread();
  if (idx < total) u[idx] = divisive_backward_u(dy[idx], h[idx], d[idx], divisive_scale(d[idx], p));
}

// One thread per (sample, unit) m: dh_m = dy_m D_m^-beta - 2 alpha beta h_m sum_i K_im u_i.
__global__ void divisive_norm_backward_kernel(const float* __restrict__ h, const float* __restrict__ d,
                                              const float* __restrict__ dy, const float* __restrict__ u,
                                              int64_t batch, Sheet sheet, DivisiveParams p, DeviceTable k,
                                              float* __restrict__ dh) {
  const int64_t n = int64_t(sheet.rows) * sheet.cols;
  const int64_t idx = global_thread();
  if (idx >= batch * n) return;
  const int64_t b = idx / n, i = idx % n;
  const float s = window_sum(u + b * n, sheet, int(i / sheet.cols), int(i % sheet.cols), k, Identity{});
  // D^-beta again rather than a second workspace: on the GPU memory, not powf, is the limit.
  dh[idx] = divisive_backward_dh(dy[idx], h[idx], divisive_scale(d[idx], p), s, p);
}

// One thread per (sample, unit): y = ReLU(h + gamma sum_{j != i} K h_j).
__global__ void dog_forward_kernel(const float* __restrict__ h, int64_t batch, Sheet sheet, DogParams p,
                                   DeviceTable k, float* __restrict__ y) {
  const int64_t n = int64_t(sheet.rows) * sheet.cols;
  const int64_t idx = global_thread();
  if (idx >= batch * n) return;
  const int64_t b = idx / n, i = idx % n;
  const float s = window_sum(h + b * n, sheet, int(i / sheet.cols), int(i % sheet.cols), k, Identity{});
  y[idx] = dog_output(h[idx], s, p);
}

// One thread per element: the ReLU-gated upstream gradient.
__global__ void dog_gate_kernel(const float* __restrict__ y, const float* __restrict__ dy, int64_t total,
                                float* __restrict__ g) {
  const int64_t idx = global_thread();
  if (idx < total) g[idx] = dog_gate(y[idx], dy[idx]);
}

// One thread per (sample, unit) m: dh_m = g_m + gamma sum_{i != m} K g_i (K is symmetric).
__global__ void dog_backward_kernel(const float* __restrict__ g, int64_t batch, Sheet sheet, DogParams p,
                                    DeviceTable k, float* __restrict__ dh) {
  const int64_t n = int64_t(sheet.rows) * sheet.cols;
  const int64_t idx = global_thread();
  if (idx >= batch * n) return;
  const int64_t b = idx / n, i = idx % n;
  const float s = window_sum(g + b * n, sheet, int(i / sheet.cols), int(i % sheet.cols), k, Identity{});
  dh[idx] = dog_backward_dh(g[idx], s, p);
}

// One thread per (sample, unit): the unit wins when fewer than k units of its clipped tile outrank
// it (kwta_beats), the same rule as the CPU backend.
__global__ void kwta_forward_kernel(const float* __restrict__ h, int64_t batch, Sheet sheet, KwtaParams p,
                                    float* __restrict__ y, uint8_t* __restrict__ winners) {
  const int64_t n = int64_t(sheet.rows) * sheet.cols;
  const int64_t idx = global_thread();
  if (idx >= batch * n) return;
  const int64_t b = idx / n, i = idx % n;
  const int r = int(i / sheet.cols), c = int(i % sheet.cols);
  const int r0 = r / p.tile * p.tile, r1 = min(sheet.rows, r0 + p.tile);
  const int c0 = c / p.tile * p.tile, c1 = min(sheet.cols, c0 + p.tile);
  const float* hb = h + b * n;
  const float v = hb[i];
  int beaten_by = 0;
  for (int rr = r0; rr < r1; ++rr)
    for (int cc = c0; cc < c1; ++cc) {
      const int64_t j = int64_t(rr) * sheet.cols + cc;
      beaten_by += kwta_beats(hb[j], j, v, i);
    }
  const bool win = beaten_by < p.k;
  winners[idx] = win ? 1 : 0;
  y[idx] = win ? v : 0.0f;
}

// One thread per element.
__global__ void kwta_backward_kernel(const uint8_t* __restrict__ winners, const float* __restrict__ dy, int64_t total,
                                     float* __restrict__ dh) {
  const int64_t idx = global_thread();
  if (idx < total) dh[idx] = winners[idx] ? dy[idx] : 0.0f;
}

// Fills `table` (inhibition_table_size floats, device) for the sheet.
cudaError_t launch_gaussian_table(Sheet sheet, const DivisiveParams& p, float* table, cudaStream_t stream) {
  const int64_t size = inhibition_table_size(p.radius, sheet);
  const float inv_z = 1.0f / gaussian_normalizer(p.radius, p.sigma);  // on the host, bit-equal to the CPU's
  NEUROAI_LAUNCH(gaussian_table_kernel, blocks_for(size, kBlock, 1024), kBlock, 0, stream)(sheet, p, inv_z, table,
      size);
  return cudaGetLastError();
}

cudaError_t launch_dog_table(Sheet sheet, const DogParams& p, float* table, cudaStream_t stream) {
  const int64_t size = inhibition_table_size(p.radius, sheet);
  NEUROAI_LAUNCH(dog_table_kernel, blocks_for(size, kBlock, 1024), kBlock, 0, stream)(sheet, p, table, size);
  return cudaGetLastError();
}

DeviceTable device_table(const float* w, int32_t radius, Sheet sheet) {
  return {w, inhibition_extent(radius, sheet.rows), inhibition_extent(radius, sheet.cols)};
}

}  // namespace

// h, y, d (batch, sheet.units()): device; table: device workspace of inhibition_table_size floats.
cudaError_t launch_divisive_norm_forward(const float* h, int64_t batch, Sheet sheet, const DivisiveParams& p,
                                         float* table, float* y, float* d, cudaStream_t stream) {
  cudaError_t err = launch_gaussian_table(sheet, p, table, stream);
  if (err != cudaSuccess) return err;
  NEUROAI_LAUNCH(divisive_norm_forward_kernel, blocks_for(batch * sheet.units()), kBlock, 0, stream)(h, batch, sheet, p,
      device_table(table, p.radius, sheet), y, d);
  return cudaGetLastError();
}

// h, d, dy, dh (batch, units): device; table as above; u: device workspace (batch, units).
cudaError_t launch_divisive_norm_backward(const float* h, const float* d, const float* dy, int64_t batch, Sheet sheet,
                                          const DivisiveParams& p, float* table, float* u, float* dh,
                                          cudaStream_t stream) {
  cudaError_t err = launch_gaussian_table(sheet, p, table, stream);
  if (err != cudaSuccess) return err;
  const int64_t total = batch * sheet.units();
  NEUROAI_LAUNCH(divisive_u_kernel, blocks_for(total), kBlock, 0, stream)(h, d, dy, total, p, u);
  NEUROAI_LAUNCH(divisive_norm_backward_kernel, blocks_for(total), kBlock, 0, stream)(h, d, dy, u, batch, sheet, p,
      device_table(table, p.radius, sheet), dh);
  return cudaGetLastError();
}

// h, y (batch, units): device; table as above.
cudaError_t launch_dog_forward(const float* h, int64_t batch, Sheet sheet, const DogParams& p, float* table, float* y,
                               cudaStream_t stream) {
  cudaError_t err = launch_dog_table(sheet, p, table, stream);
  if (err != cudaSuccess) return err;
  NEUROAI_LAUNCH(dog_forward_kernel, blocks_for(batch * sheet.units()), kBlock, 0, stream)(h, batch, sheet, p,
      device_table(table, p.radius, sheet), y);
  return cudaGetLastError();
}

// y, dy, dh (batch, units): device; table as above; g: device workspace (batch, units).
cudaError_t launch_dog_backward(const float* y, const float* dy, int64_t batch, Sheet sheet, const DogParams& p,
                                float* table, float* g, float* dh, cudaStream_t stream) {
  cudaError_t err = launch_dog_table(sheet, p, table, stream);
  if (err != cudaSuccess) return err;
  const int64_t total = batch * sheet.units();
  NEUROAI_LAUNCH(dog_gate_kernel, blocks_for(total), kBlock, 0, stream)(y, dy, total, g);
  NEUROAI_LAUNCH(dog_backward_kernel, blocks_for(total), kBlock, 0, stream)(g, batch, sheet, p,
      device_table(table, p.radius, sheet), dh);
  return cudaGetLastError();
}

// h, y, winners (batch, units): device.
cudaError_t launch_kwta_forward(const float* h, int64_t batch, Sheet sheet, const KwtaParams& p, float* y,
                                uint8_t* winners, cudaStream_t stream) {
  NEUROAI_LAUNCH(kwta_forward_kernel, blocks_for(batch * sheet.units()), kBlock, 0, stream)(h, batch, sheet, p, y,
      winners);
  return cudaGetLastError();
}

// winners, dy, dh (total): device.
cudaError_t launch_kwta_backward(const uint8_t* winners, const float* dy, int64_t total, float* dh,
                                 cudaStream_t stream) {
  NEUROAI_LAUNCH(kwta_backward_kernel, blocks_for(total), kBlock, 0, stream)(winners, dy, total, dh);
  return cudaGetLastError();
}

void CudaBackend::divisive_norm_forward_impl(ConstDenseView h, Sheet sheet, const DivisiveParams& p, DenseView y,
                                             DenseView d) {
  auto* table = static_cast<float*>(scratch(inhibition_table_size(p.radius, sheet) * sizeof(float)));
  NEUROAI_CUDA_CHECK(launch_divisive_norm_forward(h.data, h.rows, sheet, p, table, y.data, d.data, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::divisive_norm_backward_impl(ConstDenseView h, ConstDenseView d, ConstDenseView dy, Sheet sheet,
                                              const DivisiveParams& p, DenseView dh) {
  const size_t table_bytes = align256(inhibition_table_size(p.radius, sheet) * sizeof(float));
  char* ws = static_cast<char*>(scratch(table_bytes + h.size() * sizeof(float)));
  NEUROAI_CUDA_CHECK(launch_divisive_norm_backward(h.data, d.data, dy.data, h.rows, sheet, p,
                                                   reinterpret_cast<float*>(ws),
                                                   reinterpret_cast<float*>(ws + table_bytes), dh.data, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::dog_forward_impl(ConstDenseView h, Sheet sheet, const DogParams& p, DenseView y) {
  auto* table = static_cast<float*>(scratch(inhibition_table_size(p.radius, sheet) * sizeof(float)));
  NEUROAI_CUDA_CHECK(launch_dog_forward(h.data, h.rows, sheet, p, table, y.data, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::dog_backward_impl(ConstDenseView y, ConstDenseView dy, Sheet sheet, const DogParams& p,
                                    DenseView dh) {
  const size_t table_bytes = align256(inhibition_table_size(p.radius, sheet) * sizeof(float));
  char* ws = static_cast<char*>(scratch(table_bytes + y.size() * sizeof(float)));
  NEUROAI_CUDA_CHECK(launch_dog_backward(y.data, dy.data, y.rows, sheet, p, reinterpret_cast<float*>(ws),
                                         reinterpret_cast<float*>(ws + table_bytes), dh.data, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::kwta_forward_impl(ConstDenseView h, Sheet sheet, const KwtaParams& p, DenseView y,
                                    uint8_t* winners) {
  NEUROAI_CUDA_CHECK(launch_kwta_forward(h.data, h.rows, sheet, p, y.data, winners, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::kwta_backward_impl(const uint8_t* winners, ConstDenseView dy, DenseView dh) {
  NEUROAI_CUDA_CHECK(launch_kwta_backward(winners, dy.data, dy.size(), dh.data, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
