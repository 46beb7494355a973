// Owning buffers and matrices that know their backend. Move-only; memory moves between host and
// backend only when asked (upload / to_host).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "kernels/backend.h"
#include "kernels/error.h"

namespace neuroai {

template <class T>
class Buffer {
public:
  Buffer() = default;
  Buffer(Backend& b, int64_t n) : b_(&b), n_(n) {
    NEUROAI_CHECK(n >= 0, "Buffer: size must be >= 0, got {}", n);
    p_ = static_cast<T*>(b.alloc(size_t(n) * sizeof(T)));
  }
  Buffer(Backend& b, const std::vector<T>& host) : Buffer(b, int64_t(host.size())) { upload(host); }
  ~Buffer() { reset(); }
  Buffer(Buffer&& o) noexcept { swap(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      reset();
      swap(o);
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void reset() {
    if (b_ && p_) b_->free(p_);
    p_ = nullptr;
    n_ = 0;
  }
  void swap(Buffer& o) noexcept {
    std::swap(b_, o.b_);
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
  }

  T* data() { return p_; }
  const T* data() const { return p_; }
  int64_t size() const { return n_; }
  size_t bytes() const { return size_t(n_) * sizeof(T); }
  Backend* backend() const { return b_; }
  bool empty() const { return n_ == 0; }

  void upload(const std::vector<T>& host) {
    NEUROAI_CHECK(int64_t(host.size()) == n_, "Buffer::upload: {} elements given, buffer holds {}", host.size(), n_);
    b_->upload(p_, host.data(), bytes());
  }
  std::vector<T> to_host() const {
    std::vector<T> h(static_cast<size_t>(n_));
    if (n_) b_->download(h.data(), p_, bytes());
    return h;
  }
  void zero() {
    if (n_) b_->memset_zero(p_, bytes());
  }
  Buffer clone() const {
    Buffer c(*b_, n_);
    if (n_) b_->copy(c.p_, p_, bytes());
    return c;
  }

private:
  Backend* b_ = nullptr;
  T* p_ = nullptr;
  int64_t n_ = 0;
};

// A row-major fp32 matrix on a backend. A vector is (1, n).
class Tensor {
public:
  Tensor() = default;
  Tensor(Backend& b, int64_t rows, int64_t cols) : buf_(b, rows * cols), rows_(rows), cols_(cols) {}
  Tensor(Backend& b, int64_t rows, int64_t cols, const std::vector<float>& host) : Tensor(b, rows, cols) {
    buf_.upload(host);
  }
  static Tensor zeros(Backend& b, int64_t rows, int64_t cols) {
    Tensor t(b, rows, cols);
    t.zero();
    return t;
  }

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t size() const { return rows_ * cols_; }
  float* data() { return buf_.data(); }
  const float* data() const { return buf_.data(); }
  Backend* backend() const { return buf_.backend(); }
  bool empty() const { return size() == 0; }

  DenseView view() { return {buf_.data(), rows_, cols_}; }
  ConstDenseView view() const { return {buf_.data(), rows_, cols_}; }
  ConstDenseView cview() const { return view(); }
  // Rows [r0, r0 + n) as a view (rows are contiguous).
  DenseView rows_view(int64_t r0, int64_t n) { return {buf_.data() + r0 * cols_, n, cols_}; }
  ConstDenseView rows_view(int64_t r0, int64_t n) const { return {buf_.data() + r0 * cols_, n, cols_}; }

  void zero() { buf_.zero(); }
  void upload(const std::vector<float>& host) { buf_.upload(host); }
  std::vector<float> to_host() const { return buf_.to_host(); }
  Tensor clone() const {
    Tensor t;
    t.buf_ = buf_.clone();
    t.rows_ = rows_;
    t.cols_ = cols_;
    return t;
  }
  // Same storage, new shape of the same size.
  void reshape(int64_t rows, int64_t cols) {
    NEUROAI_CHECK(rows * cols == size(), "Tensor::reshape: {}x{} does not hold {} elements", rows, cols, size());
    rows_ = rows;
    cols_ = cols;
  }

private:
  Buffer<float> buf_;
  int64_t rows_ = 0;
  int64_t cols_ = 0;
};

}  // namespace neuroai
