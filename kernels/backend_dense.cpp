// Checked public methods of the dense ops (GEMM, masked linear, pointwise, reductions, softmax
// cross-entropy, optimizer steps): shapes, sizes, null pointers and residency are validated here,
// once; degenerate shapes (an empty inner dimension) are routed here too, so impls see real work.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>

#include "kernels/backend.h"
#include "kernels/error.h"

namespace neuroai {
namespace {

void check_shape_nonneg(ConstDenseView v, const char* op, const char* arg) {
  NEUROAI_CHECK(v.rows >= 0 && v.cols >= 0, "{}: {} has negative shape {}x{}", op, arg, v.rows, v.cols);
}

// A dense argument with data: non-negative shape, and a pointer unless it is empty.
void check_dense(ConstDenseView v, const char* op, const char* arg) {
  check_shape_nonneg(v, op, arg);
  NEUROAI_CHECK(v.size() == 0 || v.data != nullptr, "{}: {} is {}x{} but its data is null", op, arg, v.rows,
                v.cols);
}

// cuBLAS and OpenBLAS take 32-bit dimensions.
void check_blas_dim(int64_t d, const char* op, const char* arg) {
  NEUROAI_CHECK(d <= INT32_MAX, "{}: {} has a dimension of {} (expected <= 2^31 - 1 for BLAS)", op, arg, d);
}

void check_n(int64_t n, const char* op) { NEUROAI_CHECK(n >= 0, "{}: n is {} (expected n >= 0)", op, n); }

void check_ptr(const void* p, int64_t n, const char* op, const char* arg) {
  NEUROAI_CHECK(n == 0 || p != nullptr, "{}: {} is null but {} entries are needed", op, arg, n);
}

}  // namespace

// ---- GEMM -------------------------------------------------------------------------------------

void Backend::gemm(bool trans_a, bool trans_b, float alpha, ConstDenseView a, ConstDenseView b, float beta,
                   DenseView c) {
  const char* op = "gemm";
  check_dense(a, op, "a");
  check_dense(b, op, "b");
  check_dense(c, op, "c");
  int64_t m = trans_a ? a.cols : a.rows;
  int64_t k = trans_a ? a.rows : a.cols;
  int64_t kb = trans_b ? b.cols : b.rows;
  int64_t n = trans_b ? b.rows : b.cols;
  NEUROAI_CHECK(kb == k, "gemm: op(b) is {}x{} but op(a) is {}x{} (expected op(b).rows == op(a).cols = {})", kb, n,
                m, k, k);
  NEUROAI_CHECK(c.rows == m && c.cols == n, "gemm: c is {}x{} (expected {}x{} = op(a).rows x op(b).cols)", c.rows,
                c.cols, m, n);
  check_blas_dim(std::max(a.rows, a.cols), op, "a");
  check_blas_dim(std::max(b.rows, b.cols), op, "b");
  check_resident(a.data, op, "a");
  check_resident(b.data, op, "b");
  check_resident(c.data, op, "c");
  if (c.size() == 0) return;
  if (k == 0) {  // op(A) op(B) is all zeros; BLAS leading dimensions would be 0 here
    if (beta == 0.0f) {
      fill_impl(c.size(), 0.0f, c.data);
    } else {
      scale_impl(c.size(), beta, c.data);
    }
    return;
  }
  gemm_impl(trans_a, trans_b, alpha, a, b, beta, c);
}

// ---- masked linear ----------------------------------------------------------------------------

void Backend::masked_linear_forward(ConstDenseView x, ConstDenseView w, const uint8_t* mask, const float* bias,
                                    DenseView y) {
  const char* op = "masked_linear_forward";
  check_dense(x, op, "x");
  check_dense(w, op, "w");
  check_dense(y, op, "y");
  NEUROAI_CHECK(w.cols == x.cols, "{}: w is {}x{} but x has {} columns (expected w.cols == x.cols)", op, w.rows,
                w.cols, x.cols);
  NEUROAI_CHECK(y.rows == x.rows && y.cols == w.rows, "{}: y is {}x{} (expected {}x{} = x.rows x w.rows)", op,
                y.rows, y.cols, x.rows, w.rows);
  check_blas_dim(std::max(x.rows, x.cols), op, "x");
  check_blas_dim(w.rows, op, "w");
  check_resident(x.data, op, "x");
  check_resident(w.data, op, "w");
  check_resident(mask, op, "mask");
  check_resident(bias, op, "bias");
  check_resident(y.data, op, "y");
  if (y.size() == 0) return;
  if (x.cols == 0) {
    fill_impl(y.size(), 0.0f, y.data);
    if (bias) bias_add_impl(y, bias);
    return;
  }
  masked_linear_forward_impl(x, w, mask, bias, y);
}

void Backend::masked_linear_backward(ConstDenseView x, ConstDenseView w, const uint8_t* mask, ConstDenseView dy,
                                     DenseView dx, DenseView dw, float* db, bool accumulate) {
  const char* op = "masked_linear_backward";
  check_dense(x, op, "x");
  check_dense(w, op, "w");
  check_dense(dy, op, "dy");
  NEUROAI_CHECK(w.cols == x.cols, "{}: w is {}x{} but x has {} columns (expected w.cols == x.cols)", op, w.rows,
                w.cols, x.cols);
  NEUROAI_CHECK(dy.rows == x.rows && dy.cols == w.rows, "{}: dy is {}x{} (expected {}x{} = x.rows x w.rows)", op,
                dy.rows, dy.cols, x.rows, w.rows);
  check_blas_dim(std::max(x.rows, x.cols), op, "x");
  check_blas_dim(w.rows, op, "w");
  if (dx.data) {
    check_shape_nonneg(dx, op, "dx");
    NEUROAI_CHECK(dx.rows == x.rows && dx.cols == x.cols, "{}: dx is {}x{} (expected {}x{}, the shape of x)", op,
                  dx.rows, dx.cols, x.rows, x.cols);
  }
  if (dw.data) {
    check_shape_nonneg(dw, op, "dw");
    NEUROAI_CHECK(dw.rows == w.rows && dw.cols == w.cols, "{}: dw is {}x{} (expected {}x{}, the shape of w)", op,
                  dw.rows, dw.cols, w.rows, w.cols);
  }
  check_resident(x.data, op, "x");
  check_resident(w.data, op, "w");
  check_resident(mask, op, "mask");
  check_resident(dy.data, op, "dy");
  check_resident(dx.data, op, "dx");
  check_resident(dw.data, op, "dw");
  check_resident(db, op, "db");
  // Empty batch or empty output: every gradient is an empty sum.
  if (x.rows == 0 || w.rows == 0) {
    if (!accumulate) {
      if (dx.data) fill_impl(dx.size(), 0.0f, dx.data);
      if (dw.data) fill_impl(dw.size(), 0.0f, dw.data);
      if (db) fill_impl(w.rows, 0.0f, db);
    }
    return;
  }
  if (x.cols == 0) {  // no inputs: only db has entries
    if (db) col_sum_impl(dy, db, accumulate);
    return;
  }
  if (!dx.data && !dw.data && !db) return;
  masked_linear_backward_impl(x, w, mask, dy, dx.data ? dx : DenseView{}, dw.data ? dw : DenseView{}, db,
                              accumulate);
}

// ---- pointwise and reductions -----------------------------------------------------------------

void Backend::bias_add(DenseView y, const float* bias) {
  check_dense(y, "bias_add", "y");
  check_ptr(bias, y.cols, "bias_add", "bias");
  check_resident(y.data, "bias_add", "y");
  check_resident(bias, "bias_add", "bias");
  if (y.size() == 0) return;
  bias_add_impl(y, bias);
}

void Backend::col_sum(ConstDenseView x, float* out, bool accumulate) {
  check_dense(x, "col_sum", "x");
  check_ptr(out, x.cols, "col_sum", "out");
  check_resident(x.data, "col_sum", "x");
  check_resident(out, "col_sum", "out");
  if (x.cols == 0) return;
  if (x.rows == 0) {
    if (!accumulate) fill_impl(x.cols, 0.0f, out);
    return;
  }
  col_sum_impl(x, out, accumulate);
}

void Backend::activation_forward(Activation act, const float* x, int64_t n, float* y) {
  const char* op = "activation_forward";
  check_n(n, op);
  check_ptr(x, n, op, "x");
  check_ptr(y, n, op, "y");
  check_resident(x, op, "x");
  check_resident(y, op, "y");
  if (n > 0) activation_forward_impl(act, x, n, y);
}

void Backend::activation_backward(Activation act, const float* y, const float* dy, int64_t n, float* dx) {
  const char* op = "activation_backward";
  check_n(n, op);
  check_ptr(y, n, op, "y");
  check_ptr(dy, n, op, "dy");
  check_ptr(dx, n, op, "dx");
  check_resident(y, op, "y");
  check_resident(dy, op, "dy");
  check_resident(dx, op, "dx");
  if (n > 0) activation_backward_impl(act, y, dy, n, dx);
}

void Backend::softmax_xent(ConstDenseView logits, const int32_t* labels, float* loss, DenseView dlogits) {
  const char* op = "softmax_xent";
  check_dense(logits, op, "logits");
  NEUROAI_CHECK(logits.rows == 0 || logits.cols >= 1, "{}: logits is {}x0 (expected at least 1 class)", op,
                logits.rows);
  check_ptr(labels, logits.rows, op, "labels");
  NEUROAI_CHECK(loss != nullptr, "{}: loss is null (expected a 1-element buffer)", op);
  if (dlogits.data) {
    check_shape_nonneg(dlogits, op, "dlogits");
    NEUROAI_CHECK(dlogits.rows == logits.rows && dlogits.cols == logits.cols,
                  "{}: dlogits is {}x{} (expected {}x{}, the shape of logits)", op, dlogits.rows, dlogits.cols,
                  logits.rows, logits.cols);
  }
  check_resident(logits.data, op, "logits");
  check_resident(labels, op, "labels");
  check_resident(loss, op, "loss");
  check_resident(dlogits.data, op, "dlogits");
  // Host-resident labels are checked before anything is written; device labels would cost a sync,
  // so the CUDA kernel counts an out-of-range label as loss 0 instead (see backend.h).
  if (!is_cuda()) {
    for (int64_t b = 0; b < logits.rows; ++b)
      NEUROAI_CHECK(labels[b] >= 0 && labels[b] < logits.cols, "{}: labels[{}] is {} (expected 0 <= label < {})", op,
                    b, labels[b], logits.cols);
  }
  if (logits.rows == 0) {
    fill_impl(1, 0.0f, loss);
    return;
  }
  softmax_xent_impl(logits, labels, loss, dlogits.data ? dlogits : DenseView{});
}

void Backend::argmax_rows(ConstDenseView logits, int32_t* out) {
  check_dense(logits, "argmax_rows", "logits");
  NEUROAI_CHECK(logits.rows == 0 || logits.cols >= 1, "argmax_rows: logits is {}x0 (expected at least 1 column)",
                logits.rows);
  NEUROAI_CHECK(logits.cols <= INT32_MAX, "argmax_rows: logits has {} columns (expected <= 2^31 - 1)", logits.cols);
  check_ptr(out, logits.rows, "argmax_rows", "out");
  check_resident(logits.data, "argmax_rows", "logits");
  check_resident(out, "argmax_rows", "out");
  if (logits.rows > 0) argmax_rows_impl(logits, out);
}

void Backend::reduce(Reduction r, const float* x, int64_t n, float* out) {
  check_n(n, "reduce");
  check_ptr(x, n, "reduce", "x");
  NEUROAI_CHECK(out != nullptr, "reduce: out is null (expected a 1-element buffer)");
  check_resident(x, "reduce", "x");
  check_resident(out, "reduce", "out");
  if (n == 0) {
    fill_impl(1, 0.0f, out);
    return;
  }
  reduce_impl(r, x, n, out);
}

void Backend::axpy(int64_t n, float alpha, const float* x, float* y) {
  check_n(n, "axpy");
  check_ptr(x, n, "axpy", "x");
  check_ptr(y, n, "axpy", "y");
  check_resident(x, "axpy", "x");
  check_resident(y, "axpy", "y");
  if (n > 0) axpy_impl(n, alpha, x, y);
}

void Backend::scale(int64_t n, float alpha, float* x) {
  check_n(n, "scale");
  check_ptr(x, n, "scale", "x");
  check_resident(x, "scale", "x");
  if (n > 0) scale_impl(n, alpha, x);
}

void Backend::fill(int64_t n, float value, float* x) {
  check_n(n, "fill");
  check_ptr(x, n, "fill", "x");
  check_resident(x, "fill", "x");
  if (n > 0) fill_impl(n, value, x);
}

void Backend::apply_mask(int64_t n, const uint8_t* mask, float* x) {
  check_n(n, "apply_mask");
  check_ptr(mask, n, "apply_mask", "mask");
  check_ptr(x, n, "apply_mask", "x");
  check_resident(mask, "apply_mask", "mask");
  check_resident(x, "apply_mask", "x");
  if (n > 0) apply_mask_impl(n, mask, x);
}

void Backend::add_sign(int64_t n, float alpha, const float* x, float* dx) {
  check_n(n, "add_sign");
  check_ptr(x, n, "add_sign", "x");
  check_ptr(dx, n, "add_sign", "dx");
  check_resident(x, "add_sign", "x");
  check_resident(dx, "add_sign", "dx");
  if (n > 0) add_sign_impl(n, alpha, x, dx);
}

// ---- optimizer steps --------------------------------------------------------------------------

void Backend::sgd_step(const SgdParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w,
                       float* momentum) {
  const char* op = "sgd_step";
  check_n(n, op);
  NEUROAI_CHECK(std::isfinite(p.lr) && p.lr >= 0, "{}: lr is {} (expected a finite lr >= 0)", op, p.lr);
  NEUROAI_CHECK(p.momentum >= 0 && p.momentum < 1, "{}: momentum is {} (expected 0 <= momentum < 1)", op,
                p.momentum);
  NEUROAI_CHECK(p.weight_decay >= 0, "{}: weight_decay is {} (expected >= 0)", op, p.weight_decay);
  NEUROAI_CHECK(!p.nesterov || p.momentum > 0, "{}: nesterov needs momentum > 0 (got momentum {})", op, p.momentum);
  check_ptr(grad, n, op, "grad");
  check_ptr(w, n, op, "w");
  NEUROAI_CHECK(n == 0 || momentum != nullptr || p.momentum == 0,
                "{}: momentum buffer is null but momentum is {} (expected a buffer of n = {} floats)", op, p.momentum,
                n);
  check_resident(grad, op, "grad");
  check_resident(mask, op, "mask");
  check_resident(w, op, "w");
  check_resident(momentum, op, "momentum");
  if (n > 0) sgd_step_impl(p, n, grad, mask, w, momentum);
}

void Backend::adam_step(const AdamParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w, float* m,
                        float* v) {
  const char* op = "adam_step";
  check_n(n, op);
  NEUROAI_CHECK(std::isfinite(p.lr) && p.lr >= 0, "{}: lr is {} (expected a finite lr >= 0)", op, p.lr);
  NEUROAI_CHECK(p.beta1 >= 0 && p.beta1 < 1, "{}: beta1 is {} (expected 0 <= beta1 < 1)", op, p.beta1);
  NEUROAI_CHECK(p.beta2 >= 0 && p.beta2 < 1, "{}: beta2 is {} (expected 0 <= beta2 < 1)", op, p.beta2);
  NEUROAI_CHECK(p.eps >= 0, "{}: eps is {} (expected eps >= 0)", op, p.eps);
  NEUROAI_CHECK(p.weight_decay >= 0, "{}: weight_decay is {} (expected >= 0)", op, p.weight_decay);
  NEUROAI_CHECK(p.step >= 1, "{}: step is {} (expected step >= 1; the first step is 1)", op, p.step);
  check_ptr(grad, n, op, "grad");
  check_ptr(w, n, op, "w");
  check_ptr(m, n, op, "m");
  check_ptr(v, n, op, "v");
  check_resident(grad, op, "grad");
  check_resident(mask, op, "mask");
  check_resident(w, op, "w");
  check_resident(m, op, "m");
  check_resident(v, op, "v");
  if (n > 0) adam_step_impl(p, n, grad, mask, w, m, v);
}

}  // namespace neuroai
