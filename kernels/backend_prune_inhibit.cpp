// Checked public methods of the pruning, inhibition and trace ops (backend.h §5-7): shapes,
// parameters, pointers and residency are validated here once; the impls assume valid input.
#include <cmath>

#include "kernels/backend.h"
#include "kernels/error.h"

namespace neuroai {

namespace {

void check_sheet(Sheet sheet, const char* op) {
  NEUROAI_CHECK(sheet.rows >= 1 && sheet.cols >= 1, "{}: sheet must be at least 1x1, got {}x{}", op, sheet.rows,
                sheet.cols);
}

// A (rows, cols) matrix argument: the expected shape and data present when non-empty.
void check_dense(ConstDenseView v, int64_t rows, int64_t cols, const char* op, const char* arg) {
  NEUROAI_CHECK(v.rows == rows && v.cols == cols, "{}: '{}' must be {}x{}, got {}x{}", op, arg, rows, cols, v.rows,
                v.cols);
  NEUROAI_CHECK(v.size() == 0 || v.data != nullptr, "{}: '{}' ({}x{}) has no data", op, arg, rows, cols);
}

// h (B, N) on a sheet of N units.
void check_sheet_input(ConstDenseView h, Sheet sheet, const char* op, const char* arg) {
  check_sheet(sheet, op);
  NEUROAI_CHECK(h.rows >= 0, "{}: '{}' has negative rows {}", op, arg, h.rows);
  NEUROAI_CHECK(h.cols == sheet.units(), "{}: '{}' has {} columns but the {}x{} sheet has {} units", op, arg, h.cols,
                sheet.rows, sheet.cols, sheet.units());
  check_dense(h, h.rows, h.cols, op, arg);
}

void check_radius(int32_t radius, const char* op) {
  NEUROAI_CHECK(radius >= 0, "{}: radius must be >= 0, got {}", op, radius);
}

void check_divisive(const DivisiveParams& p, const char* op) {
  NEUROAI_CHECK(std::isfinite(p.sigma) && p.sigma > 0, "{}: sigma must be > 0, got {}", op, p.sigma);
  check_radius(p.radius, op);
  NEUROAI_CHECK(std::isfinite(p.beta) && p.beta >= 0, "{}: beta must be >= 0, got {}", op, p.beta);
  // D = k + alpha * (non-negative sum) must stay positive for D^-beta.
  NEUROAI_CHECK(std::isfinite(p.k) && p.k > 0, "{}: k must be > 0, got {}", op, p.k);
  NEUROAI_CHECK(std::isfinite(p.alpha) && p.alpha >= 0, "{}: alpha must be >= 0, got {}", op, p.alpha);
}

void check_dog(const DogParams& p, const char* op) {
  NEUROAI_CHECK(std::isfinite(p.sigma_e) && p.sigma_e > 0, "{}: sigma_e must be > 0, got {}", op, p.sigma_e);
  NEUROAI_CHECK(std::isfinite(p.sigma_i) && p.sigma_i > 0, "{}: sigma_i must be > 0, got {}", op, p.sigma_i);
  NEUROAI_CHECK(std::isfinite(p.a_e) && std::isfinite(p.a_i) && std::isfinite(p.gamma),
                "{}: a_e, a_i and gamma must be finite, got {}, {}, {}", op, p.a_e, p.a_i, p.gamma);
  check_radius(p.radius, op);
}

}  // namespace

// ---- magnitude pruning ----

int64_t Backend::count_nonzero(const uint8_t* flags, int64_t n) {
  const char* op = "count_nonzero";
  NEUROAI_CHECK(n >= 0, "{}: n must be >= 0, got {}", op, n);
  NEUROAI_CHECK(n == 0 || flags != nullptr, "{}: 'flags' is null but n = {}", op, n);
  check_resident(flags, op, "flags");
  if (n == 0) return 0;
  return count_nonzero_impl(flags, n);
}

void Backend::prune_smallest(std::span<const PruneTarget> targets, int64_t n_prune) {
  const char* op = "prune_smallest";
  NEUROAI_CHECK(n_prune >= 0, "{}: n_prune must be >= 0, got {}", op, n_prune);
  int64_t alive = 0;
  for (size_t t = 0; t < targets.size(); ++t) {
    const PruneTarget& g = targets[t];
    NEUROAI_CHECK(g.n >= 0, "{}: target {} has negative size {}", op, t, g.n);
    if (g.n == 0) continue;
    NEUROAI_CHECK(g.score != nullptr && g.alive != nullptr, "{}: target {} (n = {}) has a null score or alive", op, t,
                  g.n);
    check_resident(g.score, op, "targets[].score");
    check_resident(g.alive, op, "targets[].alive");
    alive += count_nonzero_impl(g.alive, g.n);
  }
  NEUROAI_CHECK(n_prune <= alive, "{}: cannot prune {} entries, only {} are alive", op, n_prune, alive);
  if (n_prune == 0) return;
  prune_smallest_impl(targets, n_prune);
}

// ---- lateral inhibition ----

void Backend::divisive_norm_forward(ConstDenseView h, Sheet sheet, const DivisiveParams& p, DenseView y, DenseView d) {
  const char* op = "divisive_norm_forward";
  check_sheet_input(h, sheet, op, "h");
  check_divisive(p, op);
  check_dense(y, h.rows, h.cols, op, "y");
  check_dense(d, h.rows, h.cols, op, "d");
  check_resident(h.data, op, "h");
  check_resident(y.data, op, "y");
  check_resident(d.data, op, "d");
  if (h.size() == 0) return;
  divisive_norm_forward_impl(h, sheet, p, y, d);
}

void Backend::divisive_norm_backward(ConstDenseView h, ConstDenseView d, ConstDenseView dy, Sheet sheet,
                                     const DivisiveParams& p, DenseView dh) {
  const char* op = "divisive_norm_backward";
  check_sheet_input(h, sheet, op, "h");
  check_divisive(p, op);
  check_dense(d, h.rows, h.cols, op, "d");
  check_dense(dy, h.rows, h.cols, op, "dy");
  check_dense(dh, h.rows, h.cols, op, "dh");
  check_resident(h.data, op, "h");
  check_resident(d.data, op, "d");
  check_resident(dy.data, op, "dy");
  check_resident(dh.data, op, "dh");
  if (h.size() == 0) return;
  divisive_norm_backward_impl(h, d, dy, sheet, p, dh);
}

void Backend::dog_forward(ConstDenseView h, Sheet sheet, const DogParams& p, DenseView y) {
  const char* op = "dog_forward";
  check_sheet_input(h, sheet, op, "h");
  check_dog(p, op);
  check_dense(y, h.rows, h.cols, op, "y");
  check_resident(h.data, op, "h");
  check_resident(y.data, op, "y");
  if (h.size() == 0) return;
  dog_forward_impl(h, sheet, p, y);
}

void Backend::dog_backward(ConstDenseView y, ConstDenseView dy, Sheet sheet, const DogParams& p, DenseView dh) {
  const char* op = "dog_backward";
  check_sheet_input(y, sheet, op, "y");
  check_dog(p, op);
  check_dense(dy, y.rows, y.cols, op, "dy");
  check_dense(dh, y.rows, y.cols, op, "dh");
  check_resident(y.data, op, "y");
  check_resident(dy.data, op, "dy");
  check_resident(dh.data, op, "dh");
  if (y.size() == 0) return;
  dog_backward_impl(y, dy, sheet, p, dh);
}

void Backend::kwta_forward(ConstDenseView h, Sheet sheet, const KwtaParams& p, DenseView y, uint8_t* winners) {
  const char* op = "kwta_forward";
  check_sheet_input(h, sheet, op, "h");
  NEUROAI_CHECK(p.tile >= 1, "{}: tile must be >= 1, got {}", op, p.tile);
  NEUROAI_CHECK(p.k >= 1 && int64_t(p.k) <= int64_t(p.tile) * p.tile, "{}: k must be in [1, tile*tile = {}], got {}",
                op, int64_t(p.tile) * p.tile, p.k);
  check_dense(y, h.rows, h.cols, op, "y");
  NEUROAI_CHECK(h.size() == 0 || winners != nullptr, "{}: 'winners' is null", op);
  check_resident(h.data, op, "h");
  check_resident(y.data, op, "y");
  check_resident(winners, op, "winners");
  if (h.size() == 0) return;
  kwta_forward_impl(h, sheet, p, y, winners);
}

void Backend::kwta_backward(const uint8_t* winners, ConstDenseView dy, DenseView dh) {
  const char* op = "kwta_backward";
  NEUROAI_CHECK(dy.rows >= 0 && dy.cols >= 0, "{}: 'dy' has negative shape {}x{}", op, dy.rows, dy.cols);
  check_dense(dy, dy.rows, dy.cols, op, "dy");
  check_dense(dh, dy.rows, dy.cols, op, "dh");
  NEUROAI_CHECK(dy.size() == 0 || winners != nullptr, "{}: 'winners' is null", op);
  check_resident(winners, op, "winners");
  check_resident(dy.data, op, "dy");
  check_resident(dh.data, op, "dh");
  if (dy.size() == 0) return;
  kwta_backward_impl(winners, dy, dh);
}

// ---- traces ----

void Backend::trace_update(ConstDenseView x, float lambda, float* trace) {
  const char* op = "trace_update";
  NEUROAI_CHECK(x.rows >= 1 && x.cols >= 0, "{}: 'x' must have at least one row (the batch mean), got {}x{}", op,
                x.rows, x.cols);
  check_dense(x, x.rows, x.cols, op, "x");
  NEUROAI_CHECK(lambda >= 0 && lambda <= 1, "{}: lambda must be in [0, 1], got {}", op, lambda);
  NEUROAI_CHECK(x.cols == 0 || trace != nullptr, "{}: 'trace' is null", op);
  check_resident(x.data, op, "x");
  check_resident(trace, op, "trace");
  if (x.cols == 0) return;
  trace_update_impl(x, lambda, trace);
}

void Backend::hebbian_csr_update(ConstCsrView pattern, ConstDenseView post, ConstDenseView pre, float eta, float clip,
                                 float* hebb) {
  const char* op = "hebbian_csr_update";
  check_csr_arg(pattern, op, "pattern");
  NEUROAI_CHECK(post.rows >= 1, "{}: 'post' must have at least one row (the batch mean), got {}", op, post.rows);
  check_dense(post, post.rows, pattern.rows, op, "post");
  check_dense(pre, post.rows, pattern.cols, op, "pre");
  NEUROAI_CHECK(eta >= 0 && eta <= 1, "{}: eta must be in [0, 1], got {}", op, eta);
  NEUROAI_CHECK(clip > 0, "{}: clip must be > 0, got {}", op, clip);
  NEUROAI_CHECK(pattern.nnz == 0 || hebb != nullptr, "{}: 'hebb' is null but nnz = {}", op, pattern.nnz);
  check_resident(post.data, op, "post");
  check_resident(pre.data, op, "pre");
  check_resident(hebb, op, "hebb");
  if (pattern.nnz == 0) return;
  hebbian_csr_update_impl(pattern, post, pre, eta, clip, hebb);
}

}  // namespace neuroai
