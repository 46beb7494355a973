// The one backend interface of neuroai (ggml-style): memory, copies, synchronize, and one public,
// non-virtual, checked method per op. Each checked method validates shapes, sizes and residency
// once, then calls the pure-virtual <op>_impl that CpuBackend (kernels/cpu/) and CudaBackend
// (kernels/cuda/) implement, one file per op with the same stem in both.
//
// Conventions for every op:
// - fp32 values, int32 CSR indices, uint8 masks (1 = alive/kept, 0 = pruned).
// - Dense matrices are row-major and contiguous: element (r, c) at data[r * cols + c].
// - Every pointer lives on this backend (host memory for "cpu", device memory for "cuda").
// - Scalar results (a loss, a sum) are written to a 1-element buffer on the backend, so the GPU
//   never has to synchronize; read it with download().
// - Ops are asynchronous on CUDA (one stream per backend); download() and synchronize() wait.
// - Where CPU and GPU must agree exactly (pruning order, winners, CSR column order), the op's doc
//   says how ties are broken.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace neuroai {

// ---- views ---------------------------------------------------------------------------------

// A row-major dense matrix on some backend; a vector is a 1 x n matrix.
struct DenseView {
  float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t size() const { return rows * cols; }
};

struct ConstDenseView {
  const float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  ConstDenseView() = default;
  ConstDenseView(const float* d, int64_t r, int64_t c) : data(d), rows(r), cols(c) {}
  ConstDenseView(const DenseView& v) : data(v.data), rows(v.rows), cols(v.cols) {}  // NOLINT
  int64_t size() const { return rows * cols; }
};

// A CSR matrix: rows x cols, indptr[rows + 1], indices[nnz] (column of each entry, strictly
// increasing within a row), values[nnz]. For a layer weight, rows = outputs, cols = inputs.
struct CsrView {
  int32_t* indptr = nullptr;
  int32_t* indices = nullptr;
  float* values = nullptr;
  int32_t rows = 0;
  int32_t cols = 0;
  int64_t nnz = 0;
};

struct ConstCsrView {
  const int32_t* indptr = nullptr;
  const int32_t* indices = nullptr;
  const float* values = nullptr;
  int32_t rows = 0;
  int32_t cols = 0;
  int64_t nnz = 0;
  ConstCsrView() = default;
  ConstCsrView(const int32_t* p, const int32_t* i, const float* v, int32_t r, int32_t c, int64_t n)
      : indptr(p), indices(i), values(v), rows(r), cols(c), nnz(n) {}
  ConstCsrView(const CsrView& v)  // NOLINT
      : indptr(v.indptr), indices(v.indices), values(v.values), rows(v.rows), cols(v.cols), nnz(v.nnz) {}
};

// ---- op parameters -------------------------------------------------------------------------

enum class Activation { Identity, Relu, Tanh, Sigmoid };
enum class Reduction { Sum, SumSquares, SumAbs };

// A 2-D neuron sheet: unit i sits at (i / cols, i % cols); rows * cols = layer width.
struct Sheet {
  int32_t rows = 0;
  int32_t cols = 0;
  int64_t units() const { return int64_t(rows) * cols; }
};

// SPEC §4.1 divisive normalization: D_i = k + alpha * sum_j K_ij h_j^2, y_i = h_i * D_i^-beta,
// K_ij = exp(-d_ij^2 / (2 sigma^2)) / Z for d_ij <= radius, Z = sum over the full unclipped kernel.
struct DivisiveParams {
  float k = 1.0f;
  float alpha = 1.0f;
  float beta = 0.75f;
  float sigma = 1.5f;
  int32_t radius = 3;
};

// SPEC §4.2 difference of Gaussians: y_i = ReLU(h_i + gamma * sum_{j != i, d_ij <= radius} K(d_ij) h_j),
// K(d) = a_e exp(-d^2 / 2 sigma_e^2) - a_i exp(-d^2 / 2 sigma_i^2).
struct DogParams {
  float sigma_e = 1.0f;
  float sigma_i = 3.0f;
  float a_e = 1.0f;
  float a_i = 0.5f;
  float gamma = 0.1f;
  int32_t radius = 6;
};

// SPEC §4.3 local k-winners-take-all: in each tile x tile block of the sheet keep the k largest
// units (ties: larger value first, then lower unit index), zero the rest. Edge tiles are clipped.
struct KwtaParams {
  int32_t tile = 4;
  int32_t k = 4;
};

// SGD with momentum (PyTorch convention): g' = g + wd * w; m = mu * m + g'; w -= lr * (nesterov ? g' + mu * m : m).
struct SgdParams {
  float lr = 0.01f;
  float momentum = 0.9f;
  float weight_decay = 0.0f;
  bool nesterov = false;
};

// Adam / AdamW (PyTorch convention): m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
// w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps); decoupled = AdamW weight decay
// (w -= lr * wd * w first), else L2 (g += wd * w). step t starts at 1.
struct AdamParams {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  bool decoupled = false;
  int64_t step = 1;
};

// One tensor taking part in magnitude pruning: score[n] (|score| is ranked; pass the weights for
// plain magnitude pruning, or precomputed scores), alive[n] (1 = alive) updated in place.
struct PruneTarget {
  const float* score = nullptr;
  uint8_t* alive = nullptr;
  int64_t n = 0;
};

// ---- the backend ---------------------------------------------------------------------------

class Backend {
public:
  virtual ~Backend() = default;
  Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  // "cpu" or "cuda".
  virtual std::string name() const = 0;
  // One line describing the device (CPU threads, or the GPU's name and compute capability).
  virtual std::string description() const = 0;
  // True for the backends whose memory is device memory: "cuda" and its simulator "cuda-sim".
  bool is_cuda() const { return name().starts_with("cuda"); }

  // ---- memory ----
  // alloc(0) returns nullptr; free(nullptr) is a no-op. Memory is 256-byte aligned.
  virtual void* alloc(size_t bytes) = 0;
  virtual void free(void* ptr) = 0;
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;    // host -> backend
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;  // backend -> host (waits)
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;          // backend -> backend
  virtual void memset_zero(void* dst, size_t bytes) = 0;
  virtual void synchronize() = 0;
  // True when ptr can be read by this backend's ops (host memory for cpu, device memory for cuda).
  virtual bool is_resident(const void* ptr) const = 0;

  // CSR arguments are checked structurally (indptr monotone from 0 to nnz, indices in range and
  // increasing within each row) by every checked op while this is on (the default). The engine
  // turns it off for patterns it produced itself and has validated once; on CUDA the full check
  // costs a device round trip.
  void set_validate_csr(bool on) { validate_csr_ = on; }
  bool validate_csr_enabled() const { return validate_csr_; }
  // Full structural check of a CSR matrix; throws Error naming `what` and the first violation.
  void validate_csr(ConstCsrView a, const char* what);

  // ==== 1. dense GEMM ====
  // C = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T. Shapes after op: A (m, k), B (k, n),
  // C (m, n). fp32 accumulation (TF32 never used).
  void gemm(bool trans_a, bool trans_b, float alpha, ConstDenseView a, ConstDenseView b, float beta, DenseView c);

  // ==== 2. masked linear ====
  // Y (B, out) = X (B, in) * (W (out, in) ⊙ M (out, in))^T + bias (out; may be null).
  void masked_linear_forward(ConstDenseView x, ConstDenseView w, const uint8_t* mask, const float* bias, DenseView y);
  // dX (B, in) = dY * (W ⊙ M); dW (out, in) = (dY^T X) ⊙ M; db (out) = sum_b dY. Any output may be
  // skipped (null data). accumulate: outputs += instead of =. Masked dW entries are exactly 0
  // (left untouched when accumulating).
  void masked_linear_backward(ConstDenseView x, ConstDenseView w, const uint8_t* mask, ConstDenseView dy,
                              DenseView dx, DenseView dw, float* db, bool accumulate);

  // ==== 3. CSR linear ====
  // Y (B, rows) = X (B, cols) * A^T + bias (rows; may be null); accumulate: Y += instead.
  // With A = W (out, in) this is the forward pass; with A = W^T (in, out, from csr_transpose) and
  // X = dY it is the input gradient dX = dY * W.
  void spmm_csr(ConstCsrView a, ConstDenseView x, const float* bias, DenseView y, bool accumulate);
  // Sampled dense-dense product at A's pattern (A's values are not read):
  // out[k] (+)= sum_b dY[b, i] * X[b, j] for the k-th stored entry (i, j). dY (B, rows), X (B, cols).
  void sddmm_csr(ConstCsrView pattern, ConstDenseView dy, ConstDenseView x, float* out_values, bool accumulate);

  // ==== 4. conversions and compaction ====
  // Dense -> CSR in two steps. Kept entries: mask[i] != 0 when mask is given (alive zeros stay in
  // the pattern), else W != 0. count writes indptr (rows + 1) and returns nnz (a host sync on CUDA);
  // fill writes out.indices / out.values (out.indptr must hold count's result). Column order ascending.
  int64_t dense_to_csr_count(ConstDenseView w, const uint8_t* mask, int32_t* indptr);
  void dense_to_csr_fill(ConstDenseView w, const uint8_t* mask, CsrView out);
  // out (rows, cols) = A with zeros elsewhere.
  void csr_to_dense(ConstCsrView a, DenseView out);
  // At = A^T (At.rows = A.cols, At.cols = A.rows, same nnz, columns ascending), and
  // perm[k] = position in A of At's k-th entry, so At.values[k] = A.values[perm[k]] (see gather).
  void csr_transpose(ConstCsrView a, CsrView at, int32_t* perm);
  // dst[k] = src[idx[k]] for k < n.
  void gather(const float* src, const int32_t* idx, int64_t n, float* dst);
  // pos (n + 1) = exclusive prefix sum of keep (n); returns the total (a host sync on CUDA).
  int64_t scan_flags(const uint8_t* keep, int64_t n, int32_t* pos);
  // dst[pos[k]] = src[k] for every kept k: stable compaction of a per-entry array after pruning.
  void compact_f32(const float* src, const uint8_t* keep, const int32_t* pos, int64_t n, float* dst);
  void compact_i32(const int32_t* src, const uint8_t* keep, const int32_t* pos, int64_t n, int32_t* dst);
  // out_indptr[r] = pos[indptr[r]] for r <= rows: the row pointers of a compacted CSR matrix.
  void csr_compact_indptr(const int32_t* indptr, int32_t rows, const int32_t* pos, int32_t* out_indptr);

  // ==== 5. magnitude pruning ====
  // Among all alive entries of all targets, set alive = 0 for the n_prune with the smallest
  // |score|; order by (|score|, target index, flat index) ascending, so CPU and CUDA agree exactly.
  // One target = layer-wise; several = global ranking. Needs n_prune <= number alive.
  void prune_smallest(std::span<const PruneTarget> targets, int64_t n_prune);
  // Number of nonzero flags.
  int64_t count_nonzero(const uint8_t* flags, int64_t n);

  // ==== 6. lateral inhibition on a sheet (rows of H are samples, columns the sheet's units) ====
  // Y = H * D^-beta; D (B, N) is saved for the backward pass.
  void divisive_norm_forward(ConstDenseView h, Sheet sheet, const DivisiveParams& p, DenseView y, DenseView d);
  void divisive_norm_backward(ConstDenseView h, ConstDenseView d, ConstDenseView dy, Sheet sheet,
                              const DivisiveParams& p, DenseView dh);
  void dog_forward(ConstDenseView h, Sheet sheet, const DogParams& p, DenseView y);
  // Uses y (the forward output) for the ReLU's gate.
  void dog_backward(ConstDenseView y, ConstDenseView dy, Sheet sheet, const DogParams& p, DenseView dh);
  // winners (B * N) = 1 for kept units; gradient flows only to winners.
  void kwta_forward(ConstDenseView h, Sheet sheet, const KwtaParams& p, DenseView y, uint8_t* winners);
  void kwta_backward(const uint8_t* winners, ConstDenseView dy, DenseView dh);

  // ==== 7. traces (SPEC §7) ====
  // trace[i] = lambda * trace[i] + (1 - lambda) * mean_b X[b, i]. X (B, N), trace (N).
  void trace_update(ConstDenseView x, float lambda, float* trace);
  // Per-edge Hebbian trace on A's pattern (values not read), hebb[nnz]:
  // H_k = clip((1 - eta) H_k + eta * mean_b post[b, i] * pre[b, j], -clip, clip) for entry k = (i, j).
  // post (B, rows), pre (B, cols).
  void hebbian_csr_update(ConstCsrView pattern, ConstDenseView post, ConstDenseView pre, float eta, float clip,
                          float* hebb);

  // ==== 8. pointwise and reductions ====
  void bias_add(DenseView y, const float* bias);                       // y[b, :] += bias
  void col_sum(ConstDenseView x, float* out, bool accumulate);         // out[c] (+)= sum_r x[r, c]
  void activation_forward(Activation act, const float* x, int64_t n, float* y);
  // dx = dy * f'(.) written in terms of the forward output y (ReLU: y > 0; tanh: 1 - y^2; sigmoid: y(1 - y)).
  void activation_backward(Activation act, const float* y, const float* dy, int64_t n, float* dx);
  // loss[0] = mean_b -log softmax(logits[b])[labels[b]]; dlogits = (softmax - onehot) / B when
  // dlogits.data is not null. Labels outside [0, C) are an error on CPU; on CUDA they count as loss 0.
  void softmax_xent(ConstDenseView logits, const int32_t* labels, float* loss, DenseView dlogits);
  // out[b] = argmax_c logits[b, c] (ties: lowest c; a NaN ranks above every number, as in PyTorch:
  // kernels/argmax_math.h).
  void argmax_rows(ConstDenseView logits, int32_t* out);
  // out[0] = sum x, sum x^2 or sum |x| (accumulated in double on CPU, in float pairs on CUDA).
  void reduce(Reduction r, const float* x, int64_t n, float* out);
  void axpy(int64_t n, float alpha, const float* x, float* y);        // y += alpha * x
  void scale(int64_t n, float alpha, float* x);                       // x *= alpha
  void fill(int64_t n, float value, float* x);
  void apply_mask(int64_t n, const uint8_t* mask, float* x);          // x[i] = 0 where mask[i] == 0
  void add_sign(int64_t n, float alpha, const float* x, float* dx);   // dx += alpha * sign(x), sign(0) = 0

  // ==== 9. optimizer steps ====
  // Dense tensors pass their mask (entries with mask 0 stay exactly 0 in w, m and v); CSR values
  // pass mask = null (every stored entry is alive).
  void sgd_step(const SgdParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w, float* momentum);
  void adam_step(const AdamParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w, float* m, float* v);

  // ==== 10. recurrent cells (SPEC §6.1-6.4; per-element math in kernels/rnn_math.h) ====
  // Rows are the batch B, H the hidden width. gate_m (H) is the phase gate m_t of SPEC §6.2 for this
  // step (null = 1, the plain cell): h_out = m ⊙ h_cell + (1 - m) ⊙ h_prev.
  // GRU step, PyTorch/cuDNN form, gate blocks (r, z, n) of H columns each: gi (B, 3H) = x W_ih^T + b_ih,
  // gh (B, 3H) = h_prev W_hh^T + b_hh; r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n),
  // h_cell = (1 - z) ⊙ n + z ⊙ h_prev. saved (B, 4H) = [r | z | n | gh_n] for the backward pass.
  void gru_step_forward(ConstDenseView gi, ConstDenseView gh, ConstDenseView h_prev, const float* gate_m,
                        DenseView h_out, DenseView saved);
  // From dh_out (B, H): dgi (B, 3H) and dgh (B, 3H) (equal except the n block: dgh_n = r ⊙ dgi_n) and
  // dh_prev (B, H) = the direct path only (overwritten; the caller adds dgh W_hh).
  void gru_step_backward(ConstDenseView dh_out, ConstDenseView h_prev, ConstDenseView saved, const float* gate_m,
                         DenseView dgi, DenseView dgh, DenseView dh_prev);
  // Leaky RNN step: h~ = tanh(gi + gh), h_out = h_prev + a ⊙ (h~ - h_prev) with a = m ⊙ alpha (alpha (H):
  // α_f per unit, null = 1, the vanilla RNN). gi, gh, h_prev, h_out (B, H); saved (B, H) = h~.
  void rnn_step_forward(ConstDenseView gi, ConstDenseView gh, ConstDenseView h_prev, const float* alpha,
                        const float* gate_m, DenseView h_out, DenseView saved);
  // dpre (B, H) = dL/dgi = dL/dgh; dh_prev (B, H) = (1 - a) ⊙ dh_out, the direct path only (overwritten).
  void rnn_step_backward(ConstDenseView dh_out, ConstDenseView saved, const float* alpha, const float* gate_m,
                         DenseView dpre, DenseView dh_prev);
  // Relevance trace of SPEC §6.4: trace[j] = beta trace[j] + (1 - beta) mean_r x[r, j]^2. x (R, N),
  // trace (N); R = 0 leaves the trace unchanged.
  void sq_trace_update(ConstDenseView x, float beta, float* trace);

  // ==== 11. graph edges (SPEC §8; per-element math in kernels/gnn_math.h) ====
  // An undirected graph on N nodes is a symmetric CSR pattern (N x N, E entries) that stores both
  // directions of each of its P node pairs and every self-loop. entry_pair (E): the pair of each entry,
  // -1 for self-loops; mirror (E): the entry (j, i) of entry (i, j) (itself on the diagonal); per pair
  // p: nodes pair_u < pair_v (P) and entries pair_e1 = (u, v), pair_e2 = (v, u) (P).
  // Hebbian edge rule on the node trace X (H, N) (feature-major): norm_i = ||X[:, i]||, mean norm m,
  // rule = (theta_eta, A, B, D) on the backend: cos = X_u.X_v / (norm_u norm_v + 1e-8),
  // ssum = (norm_u + norm_v) / (m + 1e-8), eta = sigmoid(theta_eta),
  // hb_new = clip((1 - eta) hb_old + eta (A cos + B ssum + D), -1, 1), a = sigmoid(w + alpha hb_new).
  // All per-pair arrays (P); outputs must not alias inputs.
  void hebbian_edge_forward(ConstDenseView x, const int32_t* pair_u, const int32_t* pair_v, int64_t n_pairs,
                            const float* rule, const float* w, const float* alpha, const float* hb_old, float* hb_new,
                            float* cos, float* ssum, float* a);
  // From ga (P) = dL/da: gw (P) += dz, galpha (P) += dz hb_new with dz = ga a (1 - a), and grule_parts
  // (P, 4) = each pair's contribution to dL/d rule (col_sum sums them). hb_old and X are state (no
  // gradient); the clip passes gradient only inside (-1, 1).
  void hebbian_edge_backward(int64_t n_pairs, const float* ga, const float* a, const float* alpha, const float* hb_old,
                             const float* hb_new, const float* cos, const float* ssum, const float* rule, float* gw,
                             float* galpha, float* grule_parts);
  // GCN normalization of A_eff + I: v[k] = a[entry_pair[k]] (1 on self-loops), deg_i = sum of row i of v,
  // dinv (N) = deg^-1/2, anorm[k] = dinv_i v[k] dinv_j. The pattern's values are not read.
  void gcn_norm_forward(ConstCsrView pattern, const int32_t* entry_pair, const float* a, float* v, float* dinv,
                        float* anorm);
  // From g (E) = dL/danorm: ga (P) = dL/da[p] through both entries of each pair and the degrees of both
  // endpoints (overwritten).
  void gcn_norm_backward(ConstCsrView pattern, const int32_t* mirror, const int32_t* pair_u, const int32_t* pair_v,
                         const int32_t* pair_e1, const int32_t* pair_e2, int64_t n_pairs, const float* v,
                         const float* dinv, const float* g, float* ga);
  // out[k] = idx[k] < 0 ? 1 : flags[idx[k]] (entry keep flags from pair alive flags; self-loops kept).
  void gather_flags(const uint8_t* flags, const int32_t* idx, int64_t n, uint8_t* out);
  // out[k] = idx[k] < 0 ? idx[k] : pos[idx[k]] (renumbers stored indices after a compaction).
  void remap_indices(const int32_t* idx, int64_t n, const int32_t* pos, int32_t* out);

protected:
  virtual void validate_csr_impl(ConstCsrView a, const char* what) = 0;
  virtual void gemm_impl(bool trans_a, bool trans_b, float alpha, ConstDenseView a, ConstDenseView b, float beta,
                         DenseView c) = 0;
  virtual void masked_linear_forward_impl(ConstDenseView x, ConstDenseView w, const uint8_t* mask, const float* bias,
                                          DenseView y) = 0;
  virtual void masked_linear_backward_impl(ConstDenseView x, ConstDenseView w, const uint8_t* mask, ConstDenseView dy,
                                           DenseView dx, DenseView dw, float* db, bool accumulate) = 0;
  virtual void spmm_csr_impl(ConstCsrView a, ConstDenseView x, const float* bias, DenseView y, bool accumulate) = 0;
  virtual void sddmm_csr_impl(ConstCsrView pattern, ConstDenseView dy, ConstDenseView x, float* out_values,
                              bool accumulate) = 0;
  virtual int64_t dense_to_csr_count_impl(ConstDenseView w, const uint8_t* mask, int32_t* indptr) = 0;
  virtual void dense_to_csr_fill_impl(ConstDenseView w, const uint8_t* mask, CsrView out) = 0;
  virtual void csr_to_dense_impl(ConstCsrView a, DenseView out) = 0;
  virtual void csr_transpose_impl(ConstCsrView a, CsrView at, int32_t* perm) = 0;
  virtual void gather_impl(const float* src, const int32_t* idx, int64_t n, float* dst) = 0;
  virtual int64_t scan_flags_impl(const uint8_t* keep, int64_t n, int32_t* pos) = 0;
  virtual void compact_f32_impl(const float* src, const uint8_t* keep, const int32_t* pos, int64_t n, float* dst) = 0;
  virtual void compact_i32_impl(const int32_t* src, const uint8_t* keep, const int32_t* pos, int64_t n,
                                int32_t* dst) = 0;
  virtual void csr_compact_indptr_impl(const int32_t* indptr, int32_t rows, const int32_t* pos,
                                       int32_t* out_indptr) = 0;
  virtual void prune_smallest_impl(std::span<const PruneTarget> targets, int64_t n_prune) = 0;
  virtual int64_t count_nonzero_impl(const uint8_t* flags, int64_t n) = 0;
  virtual void divisive_norm_forward_impl(ConstDenseView h, Sheet sheet, const DivisiveParams& p, DenseView y,
                                          DenseView d) = 0;
  virtual void divisive_norm_backward_impl(ConstDenseView h, ConstDenseView d, ConstDenseView dy, Sheet sheet,
                                           const DivisiveParams& p, DenseView dh) = 0;
  virtual void dog_forward_impl(ConstDenseView h, Sheet sheet, const DogParams& p, DenseView y) = 0;
  virtual void dog_backward_impl(ConstDenseView y, ConstDenseView dy, Sheet sheet, const DogParams& p,
                                 DenseView dh) = 0;
  virtual void kwta_forward_impl(ConstDenseView h, Sheet sheet, const KwtaParams& p, DenseView y,
                                 uint8_t* winners) = 0;
  virtual void kwta_backward_impl(const uint8_t* winners, ConstDenseView dy, DenseView dh) = 0;
  virtual void trace_update_impl(ConstDenseView x, float lambda, float* trace) = 0;
  virtual void hebbian_csr_update_impl(ConstCsrView pattern, ConstDenseView post, ConstDenseView pre, float eta,
                                       float clip, float* hebb) = 0;
  virtual void bias_add_impl(DenseView y, const float* bias) = 0;
  virtual void col_sum_impl(ConstDenseView x, float* out, bool accumulate) = 0;
  virtual void activation_forward_impl(Activation act, const float* x, int64_t n, float* y) = 0;
  virtual void activation_backward_impl(Activation act, const float* y, const float* dy, int64_t n, float* dx) = 0;
  virtual void softmax_xent_impl(ConstDenseView logits, const int32_t* labels, float* loss, DenseView dlogits) = 0;
  virtual void argmax_rows_impl(ConstDenseView logits, int32_t* out) = 0;
  virtual void reduce_impl(Reduction r, const float* x, int64_t n, float* out) = 0;
  virtual void axpy_impl(int64_t n, float alpha, const float* x, float* y) = 0;
  virtual void scale_impl(int64_t n, float alpha, float* x) = 0;
  virtual void fill_impl(int64_t n, float value, float* x) = 0;
  virtual void apply_mask_impl(int64_t n, const uint8_t* mask, float* x) = 0;
  virtual void add_sign_impl(int64_t n, float alpha, const float* x, float* dx) = 0;
  virtual void sgd_step_impl(const SgdParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w,
                             float* momentum) = 0;
  virtual void adam_step_impl(const AdamParams& p, int64_t n, const float* grad, const uint8_t* mask, float* w,
                              float* m, float* v) = 0;
  virtual void gru_step_forward_impl(ConstDenseView gi, ConstDenseView gh, ConstDenseView h_prev, const float* gate_m,
                                     DenseView h_out, DenseView saved) = 0;
  virtual void gru_step_backward_impl(ConstDenseView dh_out, ConstDenseView h_prev, ConstDenseView saved,
                                      const float* gate_m, DenseView dgi, DenseView dgh, DenseView dh_prev) = 0;
  virtual void rnn_step_forward_impl(ConstDenseView gi, ConstDenseView gh, ConstDenseView h_prev, const float* alpha,
                                     const float* gate_m, DenseView h_out, DenseView saved) = 0;
  virtual void rnn_step_backward_impl(ConstDenseView dh_out, ConstDenseView saved, const float* alpha,
                                      const float* gate_m, DenseView dpre, DenseView dh_prev) = 0;
  virtual void sq_trace_update_impl(ConstDenseView x, float beta, float* trace) = 0;
  virtual void hebbian_edge_forward_impl(ConstDenseView x, const int32_t* pair_u, const int32_t* pair_v,
                                         int64_t n_pairs, const float* rule, const float* w, const float* alpha,
                                         const float* hb_old, float* hb_new, float* cos, float* ssum, float* a) = 0;
  virtual void hebbian_edge_backward_impl(int64_t n_pairs, const float* ga, const float* a, const float* alpha,
                                          const float* hb_old, const float* hb_new, const float* cos,
                                          const float* ssum, const float* rule, float* gw, float* galpha,
                                          float* grule_parts) = 0;
  virtual void gcn_norm_forward_impl(ConstCsrView pattern, const int32_t* entry_pair, const float* a, float* v,
                                     float* dinv, float* anorm) = 0;
  virtual void gcn_norm_backward_impl(ConstCsrView pattern, const int32_t* mirror, const int32_t* pair_u,
                                      const int32_t* pair_v, const int32_t* pair_e1, const int32_t* pair_e2,
                                      int64_t n_pairs, const float* v, const float* dinv, const float* g,
                                      float* ga) = 0;
  virtual void gather_flags_impl(const uint8_t* flags, const int32_t* idx, int64_t n, uint8_t* out) = 0;
  virtual void remap_indices_impl(const int32_t* idx, int64_t n, const int32_t* pos, int32_t* out) = 0;

  // Helpers for the checked methods (kernels/backend_*.cpp).
  void check_resident(const void* ptr, const char* op, const char* arg) const;
  void check_csr_arg(ConstCsrView a, const char* op, const char* arg);

private:
  bool validate_csr_ = true;
};

}  // namespace neuroai
