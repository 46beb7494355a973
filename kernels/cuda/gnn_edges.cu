// Graph-edge ops of the GNN with Hebbian edges (SPEC §8) on the GPU: the Hebbian edge rule, the GCN
// normalization of A_eff + I and its backward, and the index helpers of re-compaction.
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/gnn_math.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {
namespace {

// One thread per node (grid-stride); consecutive threads read consecutive nodes of each feature row.
__global__ void node_norm_kernel(const float* __restrict__ x, int64_t h, int64_t n, float* __restrict__ norm) {
  for (int64_t i : grid_stride(n)) {
    float s = 0.0f;
    for (int64_t r = 0; r < h; ++r) s += x[r * n + i] * x[r * n + i];
    norm[i] = sqrtf(s);
  }
}

// One block: each thread sums a strided slice, then a shared-memory tree (deterministic order).
__global__ void mean_kernel(const float* __restrict__ v, int64_t n, float* __restrict__ mean) {
  __shared__ float part[kBlock];
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += v[i];
  part[threadIdx.x] = s;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (int(threadIdx.x) < stride) part[threadIdx.x] += part[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) *mean = part[0] / float(n);
}

// One thread per pair (grid-stride); the dot product walks the feature rows.
__global__ void hebbian_edge_forward_kernel(const float* __restrict__ x, int64_t h, int64_t n,
                                            const float* __restrict__ norm, const float* __restrict__ mean,
                                            const int32_t* __restrict__ pu, const int32_t* __restrict__ pv,
                                            int64_t n_pairs, const float* __restrict__ rule_d,
                                            const float* __restrict__ w, const float* __restrict__ alpha,
                                            const float* __restrict__ hb_old, float* __restrict__ hb_new,
                                            float* __restrict__ cos, float* __restrict__ ssum, float* __restrict__ a) {
  const float rule[4] = {rule_d[0], rule_d[1], rule_d[2], rule_d[3]};
  for (int64_t p : grid_stride(n_pairs)) {
    const int32_t u = pu[p], v = pv[p];
    float dot = 0.0f;
    for (int64_t r = 0; r < h; ++r) dot += x[r * n + u] * x[r * n + v];
    const HebbEdge e = hebb_edge_forward(dot, norm[u], norm[v], *mean, rule, w[p], alpha[p], hb_old[p]);
    hb_new[p] = e.hb_new;
    cos[p] = e.cos;
    ssum[p] = e.ssum;
    a[p] = e.a;
  }
}

// One thread per pair (grid-stride).
__global__ void hebbian_edge_backward_kernel(int64_t n_pairs, const float* __restrict__ ga,
                                             const float* __restrict__ a, const float* __restrict__ alpha,
                                             const float* __restrict__ hb_old, const float* __restrict__ hb_new,
                                             const float* __restrict__ cos, const float* __restrict__ ssum,
                                             const float* __restrict__ rule_d, float* __restrict__ gw,
                                             float* __restrict__ galpha, float* __restrict__ grule_parts) {
  const float rule[4] = {rule_d[0], rule_d[1], rule_d[2], rule_d[3]};
  for (int64_t p : grid_stride(n_pairs)) {
    float dw, dalpha;
    hebb_edge_backward(ga[p], a[p], alpha[p], hb_old[p], hb_new[p], cos[p], ssum[p], rule, &dw, &dalpha,
                       grule_parts + 4 * p);
    gw[p] += dw;
    galpha[p] += dalpha;
  }
}

// One thread per row (grid-stride): the row's effective weights and degree.
__global__ void gcn_degree_kernel(const int32_t* __restrict__ indptr, int32_t n, const int32_t* __restrict__ pair,
                                  const float* __restrict__ a, float* __restrict__ v, float* __restrict__ dinv) {
  for (int64_t i : grid_stride(n)) {
    float deg = 0.0f;
    for (int32_t k = indptr[i]; k < indptr[i + 1]; ++k) {
      v[k] = pair[k] < 0 ? 1.0f : a[pair[k]];
      deg += v[k];
    }
    dinv[i] = deg > 0.0f ? rsqrtf(deg) : 0.0f;
  }
}

// One thread per row (grid-stride): normalized values of the row's entries.
__global__ void gcn_normalize_kernel(const int32_t* __restrict__ indptr, const int32_t* __restrict__ indices,
                                     int32_t n, const float* __restrict__ v, const float* __restrict__ dinv,
                                     float* __restrict__ anorm) {
  for (int64_t i : grid_stride(n))
    for (int32_t k = indptr[i]; k < indptr[i + 1]; ++k) anorm[k] = dinv[i] * v[k] * dinv[indices[k]];
}

// One thread per row (grid-stride): dL/ddeg of the row's node.
__global__ void gcn_gdeg_kernel(const int32_t* __restrict__ indptr, const int32_t* __restrict__ indices, int32_t n,
                                const int32_t* __restrict__ mirror, const float* __restrict__ v,
                                const float* __restrict__ dinv, const float* __restrict__ g,
                                float* __restrict__ gdeg) {
  for (int64_t i : grid_stride(n)) {
    float s = 0.0f;
    for (int32_t k = indptr[i]; k < indptr[i + 1]; ++k) s += (g[k] + g[mirror[k]]) * v[k] * dinv[indices[k]];
    gdeg[i] = -0.5f * dinv[i] * dinv[i] * dinv[i] * s;
  }
}

// One thread per pair (grid-stride).
__global__ void gcn_pair_grad_kernel(const int32_t* __restrict__ pu, const int32_t* __restrict__ pv,
                                     const int32_t* __restrict__ e1, const int32_t* __restrict__ e2, int64_t n_pairs,
                                     const float* __restrict__ dinv, const float* __restrict__ g,
                                     const float* __restrict__ gdeg, float* __restrict__ ga) {
  for (int64_t p : grid_stride(n_pairs)) {
    const int32_t u = pu[p], w = pv[p];
    ga[p] = (g[e1[p]] + g[e2[p]]) * dinv[u] * dinv[w] + gdeg[u] + gdeg[w];
  }
}

// One thread per element (grid-stride).
__global__ void gather_flags_kernel(const uint8_t* __restrict__ flags, const int32_t* __restrict__ idx, int64_t n,
                                    uint8_t* __restrict__ out) {
  for (int64_t k : grid_stride(n))
    out[k] = idx[k] < 0 ? uint8_t(1) : flags[idx[k]];
}

// One thread per element (grid-stride).
__global__ void remap_indices_kernel(const int32_t* __restrict__ idx, int64_t n, const int32_t* __restrict__ pos,
                                     int32_t* __restrict__ out) {
  for (int64_t k : grid_stride(n))
    out[k] = idx[k] < 0 ? idx[k] : pos[idx[k]];
}

}  // namespace

// x (h, n), pu / pv / w / alpha / hb_old / outputs (n_pairs), rule (4), work (n + 1): device.
cudaError_t launch_hebbian_edge_forward(const float* x, int64_t h, int64_t n, const int32_t* pu, const int32_t* pv,
                                        int64_t n_pairs, const float* rule, const float* w, const float* alpha,
                                        const float* hb_old, float* hb_new, float* cos, float* ssum, float* a,
                                        float* work, cudaStream_t stream) {
  float* norm = work;
  float* mean = work + n;
  NEUROAI_LAUNCH(node_norm_kernel, blocks_for(n), kBlock, 0, stream)(x, h, n, norm);
  NEUROAI_LAUNCH(mean_kernel, 1, kBlock, 0, stream)(norm, n, mean);
  NEUROAI_LAUNCH(hebbian_edge_forward_kernel, blocks_for(n_pairs), kBlock, 0, stream)(x, h, n, norm, mean, pu, pv,
      n_pairs, rule, w, alpha, hb_old, hb_new, cos, ssum, a);
  return cudaGetLastError();
}

// Per-pair arrays (n_pairs), rule (4), grule_parts (n_pairs, 4): device.
cudaError_t launch_hebbian_edge_backward(int64_t n_pairs, const float* ga, const float* a, const float* alpha,
                                         const float* hb_old, const float* hb_new, const float* cos,
                                         const float* ssum, const float* rule, float* gw, float* galpha,
                                         float* grule_parts, cudaStream_t stream) {
  NEUROAI_LAUNCH(hebbian_edge_backward_kernel, blocks_for(n_pairs), kBlock, 0, stream)(n_pairs, ga, a, alpha, hb_old,
      hb_new, cos, ssum, rule, gw, galpha, grule_parts);
  return cudaGetLastError();
}

// indptr (n + 1), indices / pair / v / anorm (nnz), a (pairs), dinv (n): device.
cudaError_t launch_gcn_norm_forward(const int32_t* indptr, const int32_t* indices, int32_t n, const int32_t* pair,
                                    const float* a, float* v, float* dinv, float* anorm, cudaStream_t stream) {
  NEUROAI_LAUNCH(gcn_degree_kernel, blocks_for(n), kBlock, 0, stream)(indptr, n, pair, a, v, dinv);
  NEUROAI_LAUNCH(gcn_normalize_kernel, blocks_for(n), kBlock, 0, stream)(indptr, indices, n, v, dinv, anorm);
  return cudaGetLastError();
}

// indptr (n + 1), indices / mirror / v / g (nnz), pair arrays / ga (n_pairs), dinv / gdeg (n): device.
cudaError_t launch_gcn_norm_backward(const int32_t* indptr, const int32_t* indices, int32_t n, const int32_t* mirror,
                                     const int32_t* pu, const int32_t* pv, const int32_t* e1, const int32_t* e2,
                                     int64_t n_pairs, const float* v, const float* dinv, const float* g, float* gdeg,
                                     float* ga, cudaStream_t stream) {
  NEUROAI_LAUNCH(gcn_gdeg_kernel, blocks_for(n), kBlock, 0, stream)(indptr, indices, n, mirror, v, dinv, g, gdeg);
  NEUROAI_LAUNCH(gcn_pair_grad_kernel, blocks_for(n_pairs), kBlock, 0, stream)(pu, pv, e1, e2, n_pairs, dinv, g, gdeg,
      ga);
  return cudaGetLastError();
}

// flags (max idx + 1), idx / out (n): device.
cudaError_t launch_gather_flags(const uint8_t* flags, const int32_t* idx, int64_t n, uint8_t* out, cudaStream_t stream) {
  NEUROAI_LAUNCH(gather_flags_kernel, blocks_for(n), kBlock, 0, stream)(flags, idx, n, out);
  return cudaGetLastError();
}

// idx / out (n), pos (max idx + 1): device.
cudaError_t launch_remap_indices(const int32_t* idx, int64_t n, const int32_t* pos, int32_t* out,
                                 cudaStream_t stream) {
  NEUROAI_LAUNCH(remap_indices_kernel, blocks_for(n), kBlock, 0, stream)(idx, n, pos, out);
  return cudaGetLastError();
}

void CudaBackend::hebbian_edge_forward_impl(ConstDenseView x, const int32_t* pair_u, const int32_t* pair_v,
                                            int64_t n_pairs, const float* rule, const float* w, const float* alpha,
                                            const float* hb_old, float* hb_new, float* cos, float* ssum, float* a) {
  float* work = static_cast<float*>(scratch(size_t(x.cols + 1) * sizeof(float)));
  NEUROAI_CUDA_CHECK(launch_hebbian_edge_forward(x.data, x.rows, x.cols, pair_u, pair_v, n_pairs, rule, w, alpha,
                                                 hb_old, hb_new, cos, ssum, a, work, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::hebbian_edge_backward_impl(int64_t n_pairs, const float* ga, const float* a, const float* alpha,
                                             const float* hb_old, const float* hb_new, const float* cos,
                                             const float* ssum, const float* rule, float* gw, float* galpha,
                                             float* grule_parts) {
  NEUROAI_CUDA_CHECK(launch_hebbian_edge_backward(n_pairs, ga, a, alpha, hb_old, hb_new, cos, ssum, rule, gw, galpha,
                                                  grule_parts, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::gcn_norm_forward_impl(ConstCsrView pattern, const int32_t* entry_pair, const float* a, float* v,
                                        float* dinv, float* anorm) {
  NEUROAI_CUDA_CHECK(launch_gcn_norm_forward(pattern.indptr, pattern.indices, pattern.rows, entry_pair, a, v, dinv,
                                             anorm, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::gcn_norm_backward_impl(ConstCsrView pattern, const int32_t* mirror, const int32_t* pair_u,
                                         const int32_t* pair_v, const int32_t* pair_e1, const int32_t* pair_e2,
                                         int64_t n_pairs, const float* v, const float* dinv, const float* g,
                                         float* ga) {
  float* gdeg = static_cast<float*>(scratch(size_t(pattern.rows) * sizeof(float)));
  NEUROAI_CUDA_CHECK(launch_gcn_norm_backward(pattern.indptr, pattern.indices, pattern.rows, mirror, pair_u, pair_v,
                                              pair_e1, pair_e2, n_pairs, v, dinv, g, gdeg, ga, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::gather_flags_impl(const uint8_t* flags, const int32_t* idx, int64_t n, uint8_t* out) {
  NEUROAI_CUDA_CHECK(launch_gather_flags(flags, idx, n, out, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

void CudaBackend::remap_indices_impl(const int32_t* idx, int64_t n, const int32_t* pos, int32_t* out) {
  NEUROAI_CUDA_CHECK(launch_remap_indices(idx, n, pos, out, stream()));
  NEUROAI_CUDA_LAUNCH_CHECK(stream());
}

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
