#include "engine/sparse_linear.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <random>

#include "kernels/error.h"

namespace neuroai {

namespace {

// The layer validates every CSR pattern it builds from outside data once (hand-off, load), and its
// own compaction ops keep patterns valid; so it switches the backend's per-op CSR check off around its
// own CSR op calls only (on CUDA that check costs a device round trip per op) and restores the
// caller's setting afterwards.
class CsrCheckOff {
public:
  explicit CsrCheckOff(Backend& b) : b_(b), prev_(b.validate_csr_enabled()) { b_.set_validate_csr(false); }
  ~CsrCheckOff() { b_.set_validate_csr(prev_); }
  CsrCheckOff(const CsrCheckOff&) = delete;
  CsrCheckOff& operator=(const CsrCheckOff&) = delete;

private:
  Backend& b_;
  bool prev_;
};

template <class T>
std::vector<T> download(Backend& b, const T* p, int64_t n) {
  std::vector<T> h(static_cast<size_t>(std::max<int64_t>(n, 0)));
  if (n > 0) b.download(h.data(), p, size_t(n) * sizeof(T));
  return h;
}

Buffer<uint8_t> ones(Backend& b, int64_t n) { return Buffer<uint8_t>(b, std::vector<uint8_t>(size_t(n), 1)); }

}  // namespace

const char* format_name(WeightFormat f) { return f == WeightFormat::Dense ? "dense" : "csr"; }

SparseLinear::SparseLinear(Backend& b, int64_t in, int64_t out, uint64_t seed, bool bias, std::string name)
    : b_(&b), in_(in), out_(out), name_(std::move(name)), has_bias_(bias) {
  NEUROAI_CHECK(in > 0 && out > 0, "SparseLinear '{}': in and out must be > 0, got in {} out {}", name_, in, out);
  NEUROAI_CHECK(in <= INT32_MAX && out <= INT32_MAX, "SparseLinear '{}': in {} / out {} exceed int32", name_, in,
                out);
  std::mt19937_64 rng(seed);
  const float k = 1.0f / std::sqrt(float(in));
  std::uniform_real_distribution<float> u(-k, k);
  std::vector<float> w(size_t(in * out));
  for (auto& x : w) x = u(rng);
  w_ = Param(b, in * out);
  w_.set_w_host(w);
  w_.enable_mask();
  alive_count_ = in * out;
  if (has_bias_) {
    std::vector<float> bv(static_cast<size_t>(out));
    for (auto& x : bv) x = u(rng);
    b_param_ = Param(b, out);
    b_param_.set_w_host(bv);
  }
}

SparseLinear SparseLinear::from_csr_host(Backend& b, int64_t in, int64_t out, const std::vector<int32_t>& indptr,
                                         const std::vector<int32_t>& indices, const std::vector<float>& values,
                                         const std::vector<float>& bias, std::string name) {
  NEUROAI_CHECK(in > 0 && out > 0 && in <= INT32_MAX && out <= INT32_MAX,
                "SparseLinear '{}': in and out must be in [1, 2^31), got in {} out {}", name, in, out);
  NEUROAI_CHECK(int64_t(indptr.size()) == out + 1, "SparseLinear '{}': indptr has {} entries, expected out + 1 = {}",
                name, indptr.size(), out + 1);
  const int64_t nnz = indptr.back();
  NEUROAI_CHECK(nnz >= 0, "SparseLinear '{}': indptr ends at {} < 0", name, nnz);
  NEUROAI_CHECK(int64_t(indices.size()) == nnz && int64_t(values.size()) == nnz,
                "SparseLinear '{}': indptr ends at nnz {} but indices has {} and values {} entries", name, nnz,
                indices.size(), values.size());
  NEUROAI_CHECK(bias.empty() || int64_t(bias.size()) == out, "SparseLinear '{}': bias has {} entries, expected {}",
                name, bias.size(), out);
  SparseLinear l;
  l.b_ = &b;
  l.in_ = in;
  l.out_ = out;
  l.name_ = std::move(name);
  l.has_bias_ = !bias.empty();
  l.format_ = WeightFormat::Csr;
  l.w_ = Param(b, nnz);
  l.w_.set_w_host(values);
  l.indptr_ = Buffer<int32_t>(b, indptr);
  l.indices_ = Buffer<int32_t>(b, indices);
  l.alive_count_ = nnz;
  b.validate_csr(l.csr(), l.name_.c_str());
  l.alive_ = ones(b, nnz);
  l.ones_ = ones(b, nnz);
  l.rebuild_transpose();
  if (l.has_bias_) {
    l.b_param_ = Param(b, out);
    l.b_param_.set_w_host(bias);
  }
  return l;
}

double SparseLinear::density() const { return double(alive_count_) / double(in_ * out_); }

ConstCsrView SparseLinear::csr() const {
  NEUROAI_CHECK(format_ == WeightFormat::Csr, "SparseLinear '{}': csr() needs the CSR format", name_);
  return {indptr_.data(), indices_.data(), w_.w(), int32_t(out_), int32_t(in_), alive_count_};
}

ConstCsrView SparseLinear::csr_transposed() const {
  NEUROAI_CHECK(format_ == WeightFormat::Csr, "SparseLinear '{}': csr_transposed() needs the CSR format", name_);
  return wt_.view();
}

void SparseLinear::check_batch(ConstDenseView v, int64_t cols, const char* what, const char* arg) const {
  NEUROAI_CHECK(v.cols == cols, "SparseLinear '{}' {}: {} has {} columns, expected {}", name_, what, arg, v.cols, cols);
}

// Until something is pruned the mask is all ones and dW needs no masking. A stale count could only
// change gradients at entries the optimizer step ignores.
const uint8_t* SparseLinear::dense_mask() const { return alive_count_ == in_ * out_ ? nullptr : w_.mask(); }

void SparseLinear::forward(ConstDenseView x, DenseView y) {
  check_batch(x, in_, "forward", "x");
  check_batch(y, out_, "forward", "y");
  NEUROAI_CHECK(y.rows == x.rows, "SparseLinear '{}' forward: y has {} rows, x has {}", name_, y.rows, x.rows);
  last_batch_ = x.rows;
  const float* bias = has_bias_ ? b_param_.w() : nullptr;
  if (format_ == WeightFormat::Dense) {
    // Pruned entries of W are exactly 0 (every path that writes W or the mask zeroes them, and the
    // masked optimizer step keeps them so), so W is W ⊙ M: the GEMM reads W directly instead of a
    // masked copy of it (a quarter of a masked dense step).
    b_->masked_linear_forward(x, {w_.w(), out_, in_}, nullptr, bias, y);
  } else {
    CsrCheckOff off(*b_);
    b_->spmm_csr(csr(), x, bias, y, false);
  }
}

void SparseLinear::backward(ConstDenseView x, ConstDenseView dy, DenseView dx, bool accumulate_dx) {
  check_batch(x, in_, "backward", "x");
  check_batch(dy, out_, "backward", "dy");
  NEUROAI_CHECK(dy.rows == x.rows, "SparseLinear '{}' backward: dy has {} rows, x has {}", name_, dy.rows, x.rows);
  if (dx.data) {
    check_batch(dx, in_, "backward", "dx");
    NEUROAI_CHECK(dx.rows == x.rows, "SparseLinear '{}' backward: dx has {} rows, x has {}", name_, dx.rows, x.rows);
  }
  float* db = has_bias_ ? b_param_.g() : nullptr;
  if (format_ == WeightFormat::Dense) {
    // One call accumulates dW and db; a dx that must be overwritten is cleared first.
    // As in forward, dX reads W directly; dW accumulates unmasked and its pruned entries (0 before,
    // as the last call left them) are cleared after, which keeps them exactly 0.
    if (dx.data && !accumulate_dx) b_->memset_zero(dx.data, size_t(dx.size()) * sizeof(float));
    b_->masked_linear_backward(x, {w_.w(), out_, in_}, nullptr, dy, dx, {w_.g(), out_, in_}, db, true);
    if (const uint8_t* mask = dense_mask()) b_->apply_mask(in_ * out_, mask, w_.g());
    return;
  }
  CsrCheckOff off(*b_);
  const int64_t nnz = alive_count_;
  if (nnz > 0) b_->sddmm_csr(csr(), dy, x, w_.g(), true);
  if (db) b_->col_sum(dy, db, true);
  if (dx.data) {
    if (nnz > 0) b_->gather(w_.w(), perm_.data(), nnz, wt_.values());
    b_->spmm_csr(csr_transposed(), dy, nullptr, dx, accumulate_dx);
  }
}

void SparseLinear::zero_grad() {
  w_.zero_grad();
  if (has_bias_) b_param_.zero_grad();
}

void SparseLinear::step(const OptimConfig& cfg, float lr, int64_t t) {
  w_.step(cfg, lr, t);
  if (has_bias_) b_param_.step(cfg, lr, t);
}

void SparseLinear::reset_optimizer_state() {
  w_.zero_moments();
  if (has_bias_) b_param_.zero_moments();
}

PruneTarget SparseLinear::prune_target(const float* score) {
  PruneTarget t;
  t.score = score ? score : w_.w();
  t.alive = format_ == WeightFormat::Dense ? w_.mask() : alive_.data();
  t.n = format_ == WeightFormat::Dense ? in_ * out_ : alive_count_;
  return t;
}

int64_t SparseLinear::alive() const {
  if (format_ == WeightFormat::Dense) return b_->count_nonzero(w_.mask(), in_ * out_);
  return alive_count_ > 0 ? b_->count_nonzero(alive_.data(), alive_count_) : 0;
}

void SparseLinear::apply_pruning() {
  if (format_ == WeightFormat::Dense) {
    w_.apply_mask();
    alive_count_ = b_->count_nonzero(w_.mask(), in_ * out_);
    if (handoff_.format == SparseFormat::Auto && handoff_.switch_density > 0.0) {
      if (density() < handoff_.switch_density) to_csr();
    } else if (handoff_.format == SparseFormat::Auto && last_batch_ > 0) {
      maybe_to_csr(last_batch_);
    }
  } else {
    compact_csr();
  }
  if (has_bias_) b_param_.apply_mask();
}

void SparseLinear::set_handoff(const HandoffPolicy& p) {
  p.validate();
  handoff_ = p;
  if (p.format == SparseFormat::Csr && format_ == WeightFormat::Dense) to_csr();
}

const char* sparse_format_name(SparseFormat f) {
  switch (f) {
    case SparseFormat::Auto: return "auto";
    case SparseFormat::Dense: return "dense";
    case SparseFormat::Csr: return "csr";
  }
  return "?";
}

SparseFormat parse_sparse_format(const std::string& s) {
  if (s == "auto") return SparseFormat::Auto;
  if (s == "dense") return SparseFormat::Dense;
  if (s == "csr") return SparseFormat::Csr;
  NEUROAI_FAIL("--sparse-format: expected auto, dense or csr, got '{}'", s);
}

void HandoffPolicy::validate() const {
  NEUROAI_CHECK(switch_density >= 0.0 && switch_density <= 1.0, "--switch-density must be in [0, 1], got {}",
                switch_density);
}

bool SparseLinear::maybe_to_csr(int64_t batch) {
  if (format_ != WeightFormat::Dense || batch <= 0) return false;
  if (density() >= break_even_density(*b_, batch, in_, out_)) return false;
  to_csr();
  return true;
}

void SparseLinear::compact_csr() {
  const int64_t nnz = alive_count_;
  if (nnz == 0) return;
  Buffer<int32_t> pos(*b_, nnz + 1);  // (nnz + 1) exclusive prefix sum of alive_
  const int64_t kept = b_->scan_flags(alive_.data(), nnz, pos.data());
  if (kept == nnz) return;
  w_.compact(alive_.data(), pos.data(), kept);
  Buffer<int32_t> indices(*b_, kept);
  if (kept > 0) b_->compact_i32(indices_.data(), alive_.data(), pos.data(), nnz, indices.data());
  Buffer<int32_t> indptr(*b_, out_ + 1);
  b_->csr_compact_indptr(indptr_.data(), int32_t(out_), pos.data(), indptr.data());
  indices_ = std::move(indices);
  indptr_ = std::move(indptr);
  alive_ = Buffer<uint8_t>(*b_, kept);
  if (kept > 0) b_->copy(alive_.data(), ones_.data(), size_t(kept));
  alive_count_ = kept;
  rebuild_transpose();
}

void SparseLinear::rebuild_transpose() {
  const int64_t nnz = alive_count_;
  wt_ = CsrMatrix(*b_, int32_t(in_), int32_t(out_), nnz);
  perm_ = Buffer<int32_t>(*b_, nnz);
  CsrCheckOff off(*b_);
  b_->csr_transpose(csr(), wt_.view(), perm_.data());
}

void SparseLinear::to_csr() {
  NEUROAI_CHECK(format_ == WeightFormat::Dense, "SparseLinear '{}': to_csr() on a layer that is already CSR", name_);
  Buffer<int32_t> indptr(*b_, out_ + 1);  // (out + 1)
  const ConstDenseView wv{w_.w(), out_, in_};
  const int64_t nnz = b_->dense_to_csr_count(wv, w_.mask(), indptr.data());
  NEUROAI_CHECK(nnz <= INT32_MAX, "SparseLinear '{}': {} alive weights do not fit int32 CSR indices", name_, nnz);
  Buffer<int32_t> indices(*b_, nnz);  // (nnz)
  Param values(*b_, nnz);
  values.alloc_moments(w_.m() != nullptr, w_.v() != nullptr);
  if (nnz > 0) {
    // The grads and moments are row-major like W, so the same mask gives them the values' order.
    auto fill = [&](const float* dense, float* dst) {
      b_->dense_to_csr_fill({dense, out_, in_}, w_.mask(),
                            {indptr.data(), indices.data(), dst, int32_t(out_), int32_t(in_), nnz});
    };
    fill(w_.w(), values.w());
    fill(w_.g(), values.g());
    if (w_.m()) fill(w_.m(), values.m());
    if (w_.v()) fill(w_.v(), values.v());
  }
  format_ = WeightFormat::Csr;
  w_ = std::move(values);
  indptr_ = std::move(indptr);
  indices_ = std::move(indices);
  alive_count_ = nnz;
  b_->validate_csr(csr(), name_.c_str());
  alive_ = ones(*b_, nnz);
  ones_ = ones(*b_, nnz);
  rebuild_transpose();
  b_->validate_csr(csr_transposed(), (name_ + " (transposed)").c_str());
}

std::vector<float> SparseLinear::weight_dense_host() const {
  if (format_ == WeightFormat::Dense) return w_.w_host();
  std::vector<float> w(size_t(in_ * out_), 0.0f);
  const auto indptr = indptr_.to_host();
  const auto indices = indices_.to_host();
  const auto values = w_.w_host();
  for (int64_t r = 0; r < out_; ++r)
    for (int32_t k = indptr[r]; k < indptr[r + 1]; ++k) w[size_t(r * in_ + indices[k])] = values[k];
  return w;
}

std::vector<uint8_t> SparseLinear::mask_dense_host() const {
  if (format_ == WeightFormat::Dense) return download(*b_, w_.mask(), in_ * out_);
  std::vector<uint8_t> m(size_t(in_ * out_), 0);
  const auto indptr = indptr_.to_host();
  const auto indices = indices_.to_host();
  const auto alive = alive_.to_host();
  for (int64_t r = 0; r < out_; ++r)
    for (int32_t k = indptr[r]; k < indptr[r + 1]; ++k) m[size_t(r * in_ + indices[k])] = alive[k];
  return m;
}

std::vector<float> SparseLinear::bias_host() const { return has_bias_ ? b_param_.w_host() : std::vector<float>{}; }

void SparseLinear::set_weight_dense_host(const std::vector<float>& w, const std::vector<uint8_t>& mask) {
  const size_t n = size_t(in_ * out_);
  NEUROAI_CHECK(w.size() == n && mask.size() == n,
                "SparseLinear '{}' set_weight_dense_host: got {} weights and {} mask entries, expected {} ({}x{})",
                name_, w.size(), mask.size(), n, out_, in_);
  if (format_ == WeightFormat::Dense) {
    std::vector<float> wm(n);
    std::vector<uint8_t> m(n);
    for (size_t i = 0; i < n; ++i) {
      m[i] = mask[i] ? 1 : 0;
      wm[i] = m[i] ? w[i] : 0.0f;
    }
    w_.set_w_host(wm);
    b_->upload(w_.mask(), m.data(), n);
    apply_pruning();
    return;
  }
  const auto indptr = indptr_.to_host();
  const auto indices = indices_.to_host();
  std::vector<float> values(static_cast<size_t>(alive_count_));
  std::vector<uint8_t> alive(static_cast<size_t>(alive_count_));
  int64_t inside = 0;
  for (int64_t r = 0; r < out_; ++r)
    for (int32_t k = indptr[r]; k < indptr[r + 1]; ++k) {
      const size_t i = size_t(r * in_ + indices[k]);
      values[k] = w[i];
      alive[k] = mask[i] ? 1 : 0;
      inside += alive[k];
    }
  const int64_t total = std::count_if(mask.begin(), mask.end(), [](uint8_t x) { return x != 0; });
  NEUROAI_CHECK(total == inside,
                "SparseLinear '{}' set_weight_dense_host: the mask keeps {} entries outside the CSR pattern "
                "(a CSR layer never densifies)",
                name_, total - inside);
  w_.set_w_host(values);
  if (!alive.empty()) alive_.upload(alive);
  apply_pruning();
}

void SparseLinear::set_weight_values_host(const std::vector<float>& w) {
  NEUROAI_CHECK(int64_t(w.size()) == in_ * out_, "SparseLinear '{}' set_weight_values_host: got {} weights, expected {}",
                name_, w.size(), in_ * out_);
  if (format_ == WeightFormat::Dense) {
    const auto m = download(*b_, w_.mask(), in_ * out_);
    std::vector<float> wm(w.size());
    for (size_t i = 0; i < w.size(); ++i) wm[i] = m[i] ? w[i] : 0.0f;
    w_.set_w_host(wm);
    return;
  }
  const auto indptr = indptr_.to_host();
  const auto indices = indices_.to_host();
  std::vector<float> values(static_cast<size_t>(alive_count_));
  for (int64_t r = 0; r < out_; ++r)
    for (int32_t k = indptr[r]; k < indptr[r + 1]; ++k) values[k] = w[size_t(r * in_ + indices[k])];
  w_.set_w_host(values);
}

void SparseLinear::set_bias_host(const std::vector<float>& b) {
  NEUROAI_CHECK(has_bias_, "SparseLinear '{}' set_bias_host: the layer has no bias", name_);
  NEUROAI_CHECK(int64_t(b.size()) == out_, "SparseLinear '{}' set_bias_host: got {} values, expected {}", name_,
                b.size(), out_);
  b_param_.set_w_host(b);
  b_param_.apply_mask();
}

void SparseLinear::remove_output_unit(int64_t i) {
  NEUROAI_CHECK(i >= 0 && i < out_, "SparseLinear '{}' remove_output_unit: unit {} outside [0, {})", name_, i, out_);
  if (format_ == WeightFormat::Dense) {
    b_->memset_zero(w_.mask() + i * in_, size_t(in_));
  } else {
    const auto row = download(*b_, indptr_.data() + i, 2);
    if (row[1] > row[0]) b_->memset_zero(alive_.data() + row[0], size_t(row[1] - row[0]));
  }
  if (has_bias_) {
    b_param_.enable_mask();
    b_->memset_zero(b_param_.mask() + i, 1);
  }
  apply_pruning();
}

void SparseLinear::remove_input_unit(int64_t j) {
  NEUROAI_CHECK(j >= 0 && j < in_, "SparseLinear '{}' remove_input_unit: unit {} outside [0, {})", name_, j, in_);
  if (format_ == WeightFormat::Dense) {
    auto m = download(*b_, w_.mask(), in_ * out_);
    for (int64_t r = 0; r < out_; ++r) m[size_t(r * in_ + j)] = 0;
    b_->upload(w_.mask(), m.data(), m.size());
  } else if (alive_count_ > 0) {
    // Column j of W is row j of W^T; perm maps those entries back to W's storage order.
    const auto row = download(*b_, wt_.indptr() + j, 2);
    const auto perm = download(*b_, perm_.data() + row[0], row[1] - row[0]);
    auto alive = alive_.to_host();
    for (int32_t k : perm) alive[size_t(k)] = 0;
    alive_.upload(alive);
  }
  apply_pruning();
}

void SparseLinear::save(SafetensorsFile& f, const std::string& prefix) const {
  if (format_ == WeightFormat::Dense) {
    f.tensors[prefix + "weight"] = st_from_f32(weight_dense_host(), {out_, in_});
    const auto m = mask_dense_host();
    if (std::any_of(m.begin(), m.end(), [](uint8_t x) { return x == 0; }))
      f.tensors[prefix + "weight.mask"] = st_from_u8(m, {out_, in_});
  } else {
    f.tensors[prefix + "weight.crow_indices"] = st_from_i32(indptr_.to_host(), {out_ + 1});
    f.tensors[prefix + "weight.col_indices"] = st_from_i32(indices_.to_host(), {alive_count_});
    f.tensors[prefix + "weight.values"] = st_from_f32(w_.w_host(), {alive_count_});
    f.metadata[prefix + "weight.shape"] = std::to_string(out_) + "," + std::to_string(in_);
  }
  if (has_bias_) f.tensors[prefix + "bias"] = st_from_f32(b_param_.w_host(), {out_});
}

SparseLinear SparseLinear::load(Backend& b, const SafetensorsFile& f, const std::string& prefix, std::string name) {
  auto find = [&](const std::string& key) -> const StTensor* {
    auto it = f.tensors.find(prefix + key);
    return it == f.tensors.end() ? nullptr : &it->second;
  };
  const StTensor* bias_t = find("bias");
  if (const StTensor* wt = find("weight")) {
    NEUROAI_CHECK(wt->shape.size() == 2 && wt->shape[0] > 0 && wt->shape[1] > 0,
                  "checkpoint: tensor '{}weight' must have shape [out, in]", prefix);
    const int64_t out = wt->shape[0], in = wt->shape[1];
    SparseLinear l(b, in, out, 0, bias_t != nullptr, std::move(name));
    const auto w = st_to_f32(*wt, prefix + "weight");
    std::vector<uint8_t> mask(w.size(), 1);
    if (const StTensor* mt = find("weight.mask")) {
      NEUROAI_CHECK(mt->shape == wt->shape, "checkpoint: '{}weight.mask' has a different shape from '{}weight'",
                    prefix, prefix);
      mask = st_to_u8(*mt, prefix + "weight.mask");
    }
    l.set_weight_dense_host(w, mask);
    if (bias_t) l.set_bias_host(st_to_f32(*bias_t, prefix + "bias"));
    return l;
  }
  const StTensor* pt = find("weight.crow_indices");
  const StTensor* it = find("weight.col_indices");
  const StTensor* vt = find("weight.values");
  NEUROAI_CHECK(pt && it && vt,
                "checkpoint: no tensor '{0}weight' and no complete CSR '{0}weight.crow_indices' / "
                "'{0}weight.col_indices' / '{0}weight.values'",
                prefix);
  auto sh = f.metadata.find(prefix + "weight.shape");
  NEUROAI_CHECK(sh != f.metadata.end(), "checkpoint: CSR weight '{}weight' needs metadata '{}weight.shape' = \"out,in\"",
                prefix, prefix);
  int64_t out = 0, in = 0;
  const std::string& shape = sh->second;
  const size_t comma = shape.find(',');
  const char* end = shape.data() + shape.size();
  const bool parsed = comma != std::string::npos &&
                      std::from_chars(shape.data(), shape.data() + comma, out).ptr == shape.data() + comma &&
                      std::from_chars(shape.data() + comma + 1, end, in).ptr == end;
  NEUROAI_CHECK(parsed && out > 0 && in > 0, "checkpoint: metadata '{}weight.shape' = \"{}\", expected \"out,in\"",
                prefix, shape);
  std::vector<float> bias;
  if (bias_t) bias = st_to_f32(*bias_t, prefix + "bias");
  return from_csr_host(b, in, out, st_to_i32(*pt, prefix + "weight.crow_indices"),
                       st_to_i32(*it, prefix + "weight.col_indices"), st_to_f32(*vt, prefix + "weight.values"), bias,
                       std::move(name));
}

}  // namespace neuroai
