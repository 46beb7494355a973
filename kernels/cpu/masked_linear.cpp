#include <cblas.h>

#include "kernels/cpu/cpu_backend.h"

namespace neuroai::cpu {
namespace {

// out = W ⊙ M; a select rather than a product so that pruned inf/nan weights still give 0.
void masked_copy(const float* w, const uint8_t* mask, int64_t n, float* out) {
#pragma omp parallel for simd if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) out[i] = mask[i] ? w[i] : 0.0f;
}

}  // namespace

void CpuBackend::masked_linear_forward_impl(ConstDenseView x, ConstDenseView w, const uint8_t* mask,
                                            const float* bias, DenseView y) {
  const int64_t batch = x.rows, in = x.cols, out = w.rows;
  const float* wm = w.data;
  if (mask) {
    float* s = static_cast<float*>(scratch(size_t(w.size()) * sizeof(float)));  // (out, in)
    masked_copy(w.data, mask, w.size(), s);
    wm = s;
  }
  if (bias) {
    // Broadcast the bias first so the GEMM can accumulate onto it (beta = 1).
#pragma omp parallel for if (y.size() > (1 << 15))
    for (int64_t b = 0; b < batch; ++b) {
      float* row = y.data + b * out;
#pragma omp simd
      for (int64_t o = 0; o < out; ++o) row[o] = bias[o];
    }
  }
  // Y (B, out) = X (B, in) * Wm^T
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(batch), blasint(out), blasint(in), 1.0f, x.data,
              blasint(in), wm, blasint(in), bias ? 1.0f : 0.0f, y.data, blasint(out));
}

void CpuBackend::masked_linear_backward_impl(ConstDenseView x, ConstDenseView w, const uint8_t* mask,
                                             ConstDenseView dy, DenseView dx, DenseView dw, float* db,
                                             bool accumulate) {
  const int64_t batch = x.rows, in = x.cols, out = w.rows, nw = w.size();
  const float beta = accumulate ? 1.0f : 0.0f;
  // One scratch holds W ⊙ M (for dX) and dY^T X (for an accumulated masked dW).
  const bool need_wm = dx.data && mask;
  const bool need_g = dw.data && mask && accumulate;
  float* s = (need_wm || need_g) ? static_cast<float*>(scratch(size_t(nw) * (need_wm + need_g) * sizeof(float)))
                                 : nullptr;
  if (dx.data) {
    const float* wm = w.data;
    if (mask) {
      masked_copy(w.data, mask, nw, s);
      wm = s;
    }
    // dX (B, in) = dY (B, out) * Wm (out, in)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(batch), blasint(in), blasint(out), 1.0f, dy.data,
                blasint(out), wm, blasint(in), beta, dx.data, blasint(in));
  }
  if (dw.data) {
    if (need_g) {
      // Masked entries of dW are left untouched when accumulating, so dY^T X goes to scratch first.
      float* g = s + (need_wm ? nw : 0);  // (out, in)
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, blasint(out), blasint(in), blasint(batch), 1.0f, dy.data,
                  blasint(out), x.data, blasint(in), 0.0f, g, blasint(in));
      float* d = dw.data;
#pragma omp parallel for simd if (nw > (1 << 15))
      for (int64_t i = 0; i < nw; ++i) d[i] += mask[i] ? g[i] : 0.0f;
    } else {
      // dW (out, in) = dY^T (out, B) * X (B, in), then masked to exactly 0.
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, blasint(out), blasint(in), blasint(batch), 1.0f, dy.data,
                  blasint(out), x.data, blasint(in), beta, dw.data, blasint(in));
      if (mask) apply_mask_impl(nw, mask, dw.data);
    }
  }
  if (db) col_sum_impl(dy, db, accumulate);
}

}  // namespace neuroai::cpu
