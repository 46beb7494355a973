#include "kernels/activation_math.h"
#include "kernels/cpu/cpu_backend.h"

namespace neuroai::cpu {
namespace {

// Below this many elements the OpenMP fork costs more than the loop.
constexpr int64_t kParallelMin = int64_t(1) << 15;

template <Activation A>
void activation_forward_loop(const float* x, int64_t n, float* y) {
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = activation_fwd<A>(x[i]);
}

template <Activation A>
void activation_backward_loop(const float* y, const float* dy, int64_t n, float* dx) {
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) dx[i] = activation_bwd<A>(y[i], dy[i]);
}

}  // namespace

void CpuBackend::bias_add_impl(DenseView y, const float* bias) {
  const int64_t rows = y.rows, cols = y.cols;
  float* d = y.data;
#pragma omp parallel for if (y.size() > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    float* row = d + r * cols;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) row[c] += bias[c];
  }
}

void CpuBackend::activation_forward_impl(Activation act, const float* x, int64_t n, float* y) {
  switch (act) {
    case Activation::Identity:
      if (x != y) copy(y, x, size_t(n) * sizeof(float));
      break;
    case Activation::Relu: activation_forward_loop<Activation::Relu>(x, n, y); break;
    case Activation::Tanh: activation_forward_loop<Activation::Tanh>(x, n, y); break;
    case Activation::Sigmoid: activation_forward_loop<Activation::Sigmoid>(x, n, y); break;
  }
}

void CpuBackend::activation_backward_impl(Activation act, const float* y, const float* dy, int64_t n, float* dx) {
  switch (act) {
    case Activation::Identity:
      if (dy != dx) copy(dx, dy, size_t(n) * sizeof(float));
      break;
    case Activation::Relu: activation_backward_loop<Activation::Relu>(y, dy, n, dx); break;
    case Activation::Tanh: activation_backward_loop<Activation::Tanh>(y, dy, n, dx); break;
    case Activation::Sigmoid: activation_backward_loop<Activation::Sigmoid>(y, dy, n, dx); break;
  }
}

void CpuBackend::axpy_impl(int64_t n, float alpha, const float* x, float* y) {
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void CpuBackend::scale_impl(int64_t n, float alpha, float* x) {
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) x[i] *= alpha;
}

void CpuBackend::fill_impl(int64_t n, float value, float* x) {
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) x[i] = value;
}

void CpuBackend::apply_mask_impl(int64_t n, const uint8_t* mask, float* x) {
  // A select, not a product: pruned entries become exactly 0 even when they hold inf or nan.
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) x[i] = mask[i] ? x[i] : 0.0f;
}

void CpuBackend::add_sign_impl(int64_t n, float alpha, const float* x, float* dx) {
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    float s = x[i] > 0.0f ? 1.0f : (x[i] < 0.0f ? -1.0f : 0.0f);
    dx[i] += alpha * s;
  }
}

}  // namespace neuroai::cpu
