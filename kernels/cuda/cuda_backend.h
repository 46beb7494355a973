// The CUDA backend: one stream, cuBLAS and cuSPARSE handles bound to it, CUB on that stream.
// Only kernels/cuda/*.cu include this header. Each <op>_impl is defined in kernels/cuda/<op>.cu.
// The same class, compiled against the simulator, is the "cuda-sim" backend (kernels/cuda/cuda_api.h).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusparse.h>

#include "kernels/backend.h"
#include "kernels/cuda/cuda_api.h"

namespace neuroai::cuda::NEUROAI_CUDA_ABI {

#if defined(NEUROAI_CUDA_SIM)
inline constexpr const char* kBackendName = "cuda-sim";
#else
inline constexpr const char* kBackendName = "cuda";
#endif

class CudaBackend final : public Backend {
public:
  explicit CudaBackend(int device = 0);
  ~CudaBackend() override;

  std::string name() const override { return kBackendName; }
  std::string description() const override;

  void* alloc(size_t bytes) override;
  void free(void* ptr) override;
  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void memset_zero(void* dst, size_t bytes) override;
  void synchronize() override;
  bool is_resident(const void* ptr) const override;

  // The backend's stream, with its device made current: every op gets its stream here, so two
  // backends on two GPUs in one process each launch on their own device.
  cudaStream_t stream() const {
    activate();
    return stream_;
  }
  cublasHandle_t cublas() const { return cublas_; }
  cusparseHandle_t cusparse() const { return cusparse_; }
  int device() const { return device_; }
  int sm_count() const { return sm_count_; }
  // A reusable device scratch buffer of at least `bytes`, ordered on stream(); valid until the next call.
  void* scratch(size_t bytes);
  // A small pinned host buffer for returning scalars (counts, totals) with one sync.
  void* pinned(size_t bytes);

protected:
  void validate_csr_impl(ConstCsrView a, const char* what) override;
  void gemm_impl(bool trans_a, bool trans_b, float alpha, ConstDenseView a, ConstDenseView b, float beta,
                 DenseView c) override;
  void masked_linear_forward_impl(ConstDenseView x, ConstDenseView w, const uint8_t* mask, const float* bias,
                                  DenseView y) override;
  void masked_linear_backward_impl(ConstDenseView x, ConstDenseView w, const uint8_t* mask, ConstDenseView dy,
                                   DenseView dx, DenseView dw, float* db, bool accumulate) override;
  void spmm_csr_impl(ConstCsrView a, ConstDenseView x, const float* bias, DenseView y, bool accumulate) override;
  void sddmm_csr_impl(ConstCsrView pattern, ConstDenseView dy, ConstDenseView x, float* out_values,
                      bool accumulate) override;
  int64_t dense_to_csr_count_impl(ConstDenseView w, const uint8_t* mask, int32_t* indptr) override;
  void dense_to_csr_fill_impl(ConstDenseView w, const uint8_t* mask, CsrView out) override;
  void csr_to_dense_impl(ConstCsrView a, DenseView out) override;
  void csr_transpose_impl(ConstCsrView a, CsrView at, int32_t* perm) override;
  void gather_impl(const float* src, const int32_t* idx, int64_t n, float* dst) override;
  int64_t scan_flags_impl(const uint8_t* keep, int64_t n, int32_t* pos) override;
  void compact_f32_impl(const float* src, const uint8_t* keep, const int32_t* pos, int64_t n, float* dst) override;
  void compact_i32_impl(const int32_t* src, const uint8_t* keep, const int32_t* pos, int64_t n,
                        int32_t* dst) override;
  void csr_compact_indptr_impl(const int32_t* indptr, int32_t rows, const int32_t* pos, int32_t* out_indptr) override;
  void prune_smallest_impl(std::span<const PruneTarget> targets, int64_t n_prune) override;
  int64_t count_nonzero_impl(const uint8_t* flags, int64_t n) override;
  void divisive_norm_forward_impl(ConstDenseView h, Sheet sheet, const DivisiveParams& p, DenseView y,
                                  DenseView d) override;
  void divisive_norm_backward_impl(ConstDenseView h, ConstDenseView d, ConstDenseView dy, Sheet sheet,
                                   const DivisiveParams& p, DenseView dh) override;
  void dog_forward_impl(ConstDenseView h, Sheet sheet, const DogParams& p, DenseView y) override;
  void dog_backward_impl(ConstDenseView y, ConstDenseView dy, Sheet sheet, const DogParams& p, DenseView dh) override;
  void kwta_forward_impl(ConstDenseView h, Sheet sheet, const KwtaParams& p, DenseView y, uint8_t* winners) override;
  void kwta_backward_impl(const uint8_t* winners, ConstDenseView dy, DenseView dh) override;
  void trace_update_impl(ConstDenseView x, float lambda, float* trace) override;
  void hebbian_csr_update_impl(ConstCsrView pattern, ConstDenseView post, ConstDenseView pre, float eta, float clip,
                               float* hebb) override;
  void bias_add_impl(DenseView y, const float* bias) override;
  void col_sum_impl(ConstDenseView x, float* out, bool accumulate) override;
  void activation_forward_impl(Activation act, const float* x, int64_t n, float* y) override;
  void activation_backward_impl(Activation act, const float* y, const float* dy, int64_t n, float* dx) override;
  void softmax_xent_impl(ConstDenseView logits, const int32_t* labels, float* loss, DenseView dlogits) override;
  void argmax_rows_impl(ConstDenseView logits, int32_t* out) override;
  void reduce_impl(Reduction r, const float* x, int64_t n, float* out) override;
  void axpy_impl(int64_t n, float alpha, const float* x, float* y) override;
  void scale_impl(int64_t n, float alpha, float* x) override;
  void fill_impl(int64_t n, float value, float* x) override;
  void apply_mask_impl(int64_t n, const uint8_t* mask, float* x) override;
  void add_sign_impl(int64_t n, float alpha, const float* x, float* dx) override;
  void sgd_step_impl(const SgdParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w,
                     float* momentum) override;
  void adam_step_impl(const AdamParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w, float* m,
                      float* v) override;
  void gru_step_forward_impl(ConstDenseView gi, ConstDenseView gh, ConstDenseView h_prev, const float* gate_m,
                             DenseView h_out, DenseView saved) override;
  void gru_step_backward_impl(ConstDenseView dh_out, ConstDenseView h_prev, ConstDenseView saved, const float* gate_m,
                              DenseView dgi, DenseView dgh, DenseView dh_prev) override;
  void rnn_step_forward_impl(ConstDenseView gi, ConstDenseView gh, ConstDenseView h_prev, const float* alpha,
                             const float* gate_m, DenseView h_out, DenseView saved) override;
  void rnn_step_backward_impl(ConstDenseView dh_out, ConstDenseView saved, const float* alpha, const float* gate_m,
                              DenseView dpre, DenseView dh_prev) override;
  void sq_trace_update_impl(ConstDenseView x, float beta, float* trace) override;
  void hebbian_edge_forward_impl(ConstDenseView x, const int32_t* pair_u, const int32_t* pair_v, int64_t n_pairs,
                                 const float* rule, const float* w, const float* alpha, const float* hb_old,
                                 float* hb_new, float* cos, float* ssum, float* a) override;
  void hebbian_edge_backward_impl(int64_t n_pairs, const float* ga, const float* a, const float* alpha,
                                  const float* hb_old, const float* hb_new, const float* cos, const float* ssum,
                                  const float* rule, float* gw, float* galpha, float* grule_parts) override;
  void gcn_norm_forward_impl(ConstCsrView pattern, const int32_t* entry_pair, const float* a, float* v, float* dinv,
                             float* anorm) override;
  void gcn_norm_backward_impl(ConstCsrView pattern, const int32_t* mirror, const int32_t* pair_u,
                              const int32_t* pair_v, const int32_t* pair_e1, const int32_t* pair_e2, int64_t n_pairs,
                              const float* v, const float* dinv, const float* g, float* ga) override;
  void gather_flags_impl(const uint8_t* flags, const int32_t* idx, int64_t n, uint8_t* out) override;
  void remap_indices_impl(const int32_t* idx, int64_t n, const int32_t* pos, int32_t* out) override;

private:
 void activate() const;  // makes device_ the calling thread's current device

 int device_ = 0;
 int sm_count_ = 0;
 cudaStream_t stream_ = nullptr;
 cublasHandle_t cublas_ = nullptr;
 cusparseHandle_t cusparse_ = nullptr;
 void* scratch_ = nullptr;
 size_t scratch_bytes_ = 0;
 void* pinned_ = nullptr;
 size_t pinned_bytes_ = 0;
};

// dst (n, m) row-major = src (m, n)^T + beta * dst, on the handle's stream (cublasSgeam; spmm_csr.cu).
void transpose_geam(cublasHandle_t h, const float* src, int64_t m, int64_t n, float beta, float* dst);

}  // namespace neuroai::cuda::NEUROAI_CUDA_ABI
