// SparseLinear: a fully connected layer y = x W^T + b whose weight W (out, in) is pruned during
// training. It starts dense (W and a mask, masked GEMM); when its density falls below the break-even
// density measured on the running backend for its shapes, it converts to CSR in place and from then on
// trains with SpMM forward, transposed SpMM for dX and SDDMM for dW. It never densifies again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/csr_matrix.h"
#include "engine/optimizer.h"
#include "engine/safetensors.h"
#include "engine/tensor.h"
#include "kernels/backend.h"

namespace neuroai {

enum class WeightFormat { Dense, Csr };
const char* format_name(WeightFormat f);  // "dense" / "csr"

// When a layer goes from dense to CSR: one policy, with one option name and one set of values
// (--sparse-format auto|dense|csr, --switch-density), in every family.
enum class SparseFormat { Auto, Dense, Csr };
const char* sparse_format_name(SparseFormat f);          // "auto", "dense", "csr"
SparseFormat parse_sparse_format(const std::string& s);  // Error naming the value otherwise
struct HandoffPolicy {
  // auto: after each pruning, hand a dense layer over to CSR below the threshold; dense: never; csr: CSR
  // from the start.
  SparseFormat format = SparseFormat::Auto;
  // auto: the threshold density; 0 = break_even_density measured for the layer's shape and the batch of
  // its last forward().
  double switch_density = 0.0;
  bool measured() const { return format == SparseFormat::Auto && switch_density <= 0.0; }
  // Error "--switch-density must be in [0, 1], got ..." otherwise.
  void validate() const;
};

class SparseLinear {
public:
  SparseLinear() = default;
  // W (out, in) ~ U(-1/sqrt(in), 1/sqrt(in)) and bias likewise (PyTorch nn.Linear init), seeded; all
  // alive; dense format.
  SparseLinear(Backend& b, int64_t in, int64_t out, uint64_t seed, bool bias = true, std::string name = "");
  // A CSR layer straight from host arrays (indptr (out + 1), indices (nnz), values (nnz), bias (out) or
  // empty for no bias); the pattern is validated once.
  static SparseLinear from_csr_host(Backend& b, int64_t in, int64_t out, const std::vector<int32_t>& indptr,
                                    const std::vector<int32_t>& indices, const std::vector<float>& values,
                                    const std::vector<float>& bias, std::string name = "");
  SparseLinear(SparseLinear&&) noexcept = default;
  SparseLinear& operator=(SparseLinear&&) noexcept = default;

  Backend& backend() const { return *b_; }
  int64_t in() const { return in_; }
  int64_t out() const { return out_; }
  const std::string& name() const { return name_; }
  bool has_bias() const { return has_bias_; }
  WeightFormat format() const { return format_; }
  // Alive weights as of the last apply_pruning() / to_csr() / setter (no device work). In CSR format
  // this is the number of stored entries.
  int64_t nnz() const { return alive_count_; }
  double density() const;  // nnz() / (in * out)

  // y (B, out) = x (B, in) W^T + b (masked GEMM when dense, SpMM when CSR).
  void forward(ConstDenseView x, DenseView y);
  // Accumulates dW (dense: masked; CSR: SDDMM at the stored entries) and db into the grads; writes (or
  // adds, when accumulate_dx) dx (B, in) unless dx.data is null (dense: masked GEMM; CSR: SpMM with the
  // transposed pattern, its values gathered from W through perm).
  void backward(ConstDenseView x, ConstDenseView dy, DenseView dx, bool accumulate_dx = false);
  void zero_grad();
  // Weights and bias; pruned entries stay exactly 0 with 0 moments.
  void step(const OptimConfig& cfg, float lr, int64_t t);
  // Zeroes the optimizer moments (weights and bias), e.g. after rewinding.
  void reset_optimizer_state();

  // One PruneTarget over the alive weights: score = W (|W| is ranked) or `score`, a backend buffer with
  // one value per entry of the CURRENT format (dense: out * in, row-major; CSR: nnz, in storage order).
  // prune_smallest then clears alive flags; apply_pruning() enforces them.
  PruneTarget prune_target(const float* score = nullptr);
  // Dense: W, grad and moments zeroed where the mask is 0. CSR: values, grads, moments and column
  // indices compacted to the alive entries, row pointers and the transposed pattern rebuilt, all on the
  // backend. Then the hand-off policy: a dense layer under SparseFormat::Auto converts when density() is
  // below its switch density, or below break_even_density for the batch size of the last forward().
  void apply_pruning();
  // Current alive count, counted on the backend (sees flags cleared since the last apply_pruning()).
  int64_t alive() const;
  // The hand-off policy of apply_pruning() (default: auto at the measured break-even). SparseFormat::Csr
  // converts a dense layer now.
  void set_handoff(const HandoffPolicy& p);
  const HandoffPolicy& handoff() const { return handoff_; }
  // Converts when density() < break_even_density(backend, batch, in, out); returns true if it did.
  bool maybe_to_csr(int64_t batch);
  // Hand-off: dense + mask -> CSR on the backend (alive entries kept even when 0; grads and moments
  // carried over in the same order). Irreversible.
  void to_csr();

  // Host access for metrics, scores, merging and checkpoints.
  std::vector<float> weight_dense_host() const;  // (out, in), zeros where pruned
  std::vector<uint8_t> mask_dense_host() const;  // (out, in)
  std::vector<float> bias_host() const;          // (out), empty without bias
  // Dense: W = w ⊙ mask and the mask replaced (grads and moments zeroed where the mask is 0).
  // CSR: the mask must lie inside the stored pattern (never densify); stored entries outside it are
  // pruned and compacted, the rest take their values from w.
  void set_weight_dense_host(const std::vector<float>& w, const std::vector<uint8_t>& mask);
  // Writes w (out, in) into the alive entries only (pattern and moments unchanged): rewinding.
  void set_weight_values_host(const std::vector<float>& w);
  void set_bias_host(const std::vector<float>& b);
  // Structured pruning: zero and mask out row i (output unit i, its bias included) / column j.
  void remove_output_unit(int64_t i);
  void remove_input_unit(int64_t j);

  // Checkpoint: prefix + "weight" (dense F32 [out, in]) or prefix + "weight.crow_indices" (I32 [out + 1]),
  // ".col_indices" (I32 [nnz]), ".values" (F32 [nnz]) with the shape in metadata prefix + "weight.shape"
  // ("out,in"); prefix + "weight.mask" (U8 [out, in], dense only, when anything is pruned); prefix +
  // "bias" (F32 [out]). Optimizer moments are not saved.
  void save(SafetensorsFile& f, const std::string& prefix) const;
  static SparseLinear load(Backend& b, const SafetensorsFile& f, const std::string& prefix, std::string name = "");

  // Raw access (tests, the pruner).
  Param& weight() { return w_; }  // dense: out * in with mask; CSR: nnz values, no mask
  Param& bias() { return b_param_; }
  ConstCsrView csr() const;            // CSR format only
  ConstCsrView csr_transposed() const;  // CSR format only; values as of the last backward()
  const int32_t* csr_perm() const { return perm_.data(); }
  std::vector<int32_t> csr_indptr_host() const { return indptr_.to_host(); }
  std::vector<int32_t> csr_indices_host() const { return indices_.to_host(); }

private:
  const uint8_t* dense_mask() const;
  void rebuild_transpose();
  void compact_csr();
  void check_batch(ConstDenseView x, int64_t cols, const char* what, const char* arg) const;

  Backend* b_ = nullptr;
  int64_t in_ = 0, out_ = 0;
  std::string name_;
  bool has_bias_ = false;
  WeightFormat format_ = WeightFormat::Dense;
  int64_t alive_count_ = 0;
  HandoffPolicy handoff_;
  int64_t last_batch_ = 0;

  Param w_;        // dense: (out, in) with mask; CSR: (nnz) values
  Param b_param_;  // (out); masked only once an output unit was removed

  // CSR format only.
  Buffer<int32_t> indptr_;    // (out + 1)
  Buffer<int32_t> indices_;   // (nnz)
  Buffer<uint8_t> alive_;     // (nnz) 1 = alive; prune_smallest clears, apply_pruning compacts
  Buffer<uint8_t> ones_;      // (nnz at hand-off) all 1: resets alive_ after compaction, device to device
  CsrMatrix wt_;              // W^T (in x out); its values are values[perm], gathered before each use
  Buffer<int32_t> perm_;      // (nnz)
};

// Dense vs CSR forward + backward time of a (batch, in, out) layer on a backend.
struct BreakEvenTable {
  std::vector<double> density;  // ascending, the densities measured
  std::vector<double> dense_ms, csr_ms;
  // The highest measured density at which CSR is faster; 0 when it never is.
  double break_even = 0.0;
};
// Times one forward + backward (dx, dW, db) of a real SparseLinear at each density (random patterns):
// dense once (its time does not depend on the density), CSR per density; one warm-up call, then the
// median of up to 3 repetitions (1 when a call takes > 20 ms), backend synchronize() around each.
// stop_early: densities are visited from the highest down and the first one where CSR wins ends the
// measurement (CSR time grows with the density), so the table may hold only the top few.
BreakEvenTable measure_break_even(Backend& b, int64_t batch, int64_t in, int64_t out,
                                  std::vector<double> densities = {0.5, 0.4, 0.3, 0.2, 0.1, 0.05},
                                  bool stop_early = false);
// measure_break_even(..., stop_early = true).break_even, cached per machine and shape: the key is the
// backend's description, the CPU model, the OpenMP thread count, batch, in and out. The cache lives in
// memory and in a small file, $NEUROAI_CACHE_DIR (else $XDG_CACHE_HOME/neuroai, else ~/.cache/neuroai)
// /break_even.json, so that two runs with one seed on one machine hand off at the same step without
// --switch-density. NEUROAI_CACHE_DIR=off keeps it in memory only. A cache file that cannot be read or
// written is ignored (it is only a cache).
// On cuda-sim nothing is timed: the break-even is kSimBreakEven.
inline constexpr double kSimBreakEven = 0.5;
double break_even_density(Backend& b, int64_t batch, int64_t in, int64_t out);
// The break-evens this process has used, {key: density}: the training loop stores them in the run's
// state and config.json, so that a resume hands off where the first process did, on any machine.
nlohmann::json break_even_used();
// Adds entries (break_even_used()'s form) to the in-memory cache, overriding what is there.
void seed_break_even(const nlohmann::json& entries);
// The cache file in use ("" when off).
std::string break_even_cache_path();
// Makes break_even_density return `density` without measuring (a command-line override, tests); a
// negative value restores measuring.
void set_break_even_override(double density);

}  // namespace neuroai
