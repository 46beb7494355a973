// Recurrent-cell steps on the CPU: one pass over the (B, H) elements per step, the gate arithmetic
// from kernels/rnn_math.h (its exp / tanh are call-free on the host, so the unit loops vectorize).
#include <algorithm>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/rnn_math.h"

namespace neuroai::cpu {
namespace {

// Below this many elements the OpenMP fork costs more than the loop.
constexpr int64_t kParallelMin = int64_t(1) << 14;
constexpr int64_t kUnitBlock = 64;

// Per-unit factor a[j] * b[j] (a null pointer stands for ones): the unit loops then read it
// unconditionally, since a conditional load (`p ? p[j] : 1`) keeps them from vectorizing.
std::vector<float> unit_factor(const float* a, const float* b, int64_t h) {
  std::vector<float> f(static_cast<size_t>(h), 1.0f);
  for (int64_t j = 0; j < h; ++j) f[size_t(j)] = (a ? a[j] : 1.0f) * (b ? b[j] : 1.0f);
  return f;
}

}  // namespace

void CpuBackend::gru_step_forward_impl(ConstDenseView gi, ConstDenseView gh, ConstDenseView h_prev,
                                       const float* gate_m, DenseView h_out, DenseView saved) {
  const int64_t B = h_prev.rows, H = h_prev.cols;
  const std::vector<float> gate = unit_factor(gate_m, nullptr, H);
  const float* mj = gate.data();
#pragma omp parallel for if (B * H > kParallelMin)
  for (int64_t b = 0; b < B; ++b) {
    const float* xi = gi.data + b * 3 * H;   // (3H) = [r | z | n]
    const float* xh = gh.data + b * 3 * H;   // (3H)
    const float* hp = h_prev.data + b * H;   // (H)
    float* ho = h_out.data + b * H;          // (H)
    float* sv = saved.data + b * 4 * H;      // (4H) = [r | z | n | gh_n]
    // Blocks of units computed into local arrays, then stored: the 12 streams sit H floats apart, so
    // with H a multiple of 1024 a store and the next loads share their low 12 address bits and the
    // loads stall on the stores (4K aliasing); the store phase separates them.
    for (int64_t j0 = 0; j0 < H; j0 += kUnitBlock) {
      const int64_t n = std::min(kUnitBlock, H - j0);
      alignas(64) float r[kUnitBlock], z[kUnitBlock], c[kUnitBlock], h[kUnitBlock];
#pragma omp simd
      for (int64_t q = 0; q < n; ++q) {
        const int64_t j = j0 + q;
        h[q] = rnn_math::gru_forward(xi[j], xi[H + j], xi[2 * H + j], xh[j], xh[H + j], xh[2 * H + j], hp[j], mj[j],
                                     &r[q], &z[q], &c[q]);
      }
      std::copy_n(h, n, ho + j0);
      std::copy_n(r, n, sv + j0);
      std::copy_n(z, n, sv + H + j0);
      std::copy_n(c, n, sv + 2 * H + j0);
      std::copy_n(xh + 2 * H + j0, n, sv + 3 * H + j0);
    }
  }
}

void CpuBackend::gru_step_backward_impl(ConstDenseView dh_out, ConstDenseView h_prev, ConstDenseView saved,
                                        const float* gate_m, DenseView dgi, DenseView dgh, DenseView dh_prev) {
  const int64_t B = h_prev.rows, H = h_prev.cols;
#pragma omp parallel for if (B * H > kParallelMin)
  for (int64_t b = 0; b < B; ++b) {
    const float* dh = dh_out.data + b * H;
    const float* hp = h_prev.data + b * H;
    const float* sv = saved.data + b * 4 * H;
    float* di = dgi.data + b * 3 * H;
    float* dg = dgh.data + b * 3 * H;
    float* dp = dh_prev.data + b * H;
    for (int64_t j = 0; j < H; ++j) {
      const float m = gate_m ? gate_m[j] : 1.0f;
      const auto g = rnn_math::gru_backward(dh[j], hp[j], sv[j], sv[H + j], sv[2 * H + j], sv[3 * H + j], m);
      di[j] = g.dr;
      di[H + j] = g.dz;
      di[2 * H + j] = g.dn_in;
      dg[j] = g.dr;
      dg[H + j] = g.dz;
      dg[2 * H + j] = g.dn_h;
      dp[j] = g.dhp;
    }
  }
}

void CpuBackend::rnn_step_forward_impl(ConstDenseView gi, ConstDenseView gh, ConstDenseView h_prev,
                                       const float* alpha, const float* gate_m, DenseView h_out, DenseView saved) {
  const int64_t B = h_prev.rows, H = h_prev.cols;
  const std::vector<float> step = unit_factor(alpha, gate_m, H);
  const float* aj = step.data();
#pragma omp parallel for if (B * H > kParallelMin)
  for (int64_t b = 0; b < B; ++b) {
    const int64_t o = b * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      h_out.data[o + j] = rnn_math::rnn_forward(gi.data[o + j] + gh.data[o + j], h_prev.data[o + j], aj[j],
                                                &saved.data[o + j]);
    }
  }
}

void CpuBackend::rnn_step_backward_impl(ConstDenseView dh_out, ConstDenseView saved, const float* alpha,
                                        const float* gate_m, DenseView dpre, DenseView dh_prev) {
  const int64_t B = saved.rows, H = saved.cols;
#pragma omp parallel for if (B * H > kParallelMin)
  for (int64_t b = 0; b < B; ++b) {
    const int64_t o = b * H;
    for (int64_t j = 0; j < H; ++j) {
      const float a = (alpha ? alpha[j] : 1.0f) * (gate_m ? gate_m[j] : 1.0f);
      const float dh = dh_out.data[o + j];
      dpre.data[o + j] = rnn_math::rnn_backward_pre(dh, saved.data[o + j], a);
      dh_prev.data[o + j] = rnn_math::rnn_backward_hp(dh, a);
    }
  }
}

void CpuBackend::sq_trace_update_impl(ConstDenseView x, float beta, float* trace) {
  const int64_t R = x.rows, N = x.cols;
  // Row-major walk with per-column double sums: the rows stream through once.
  std::vector<double> acc(size_t(N), 0.0);
  for (int64_t r = 0; r < R; ++r) {
    const float* row = x.data + r * N;
    for (int64_t j = 0; j < N; ++j) acc[j] += double(row[j]) * row[j];
  }
  for (int64_t j = 0; j < N; ++j) trace[j] = beta * trace[j] + (1.0f - beta) * float(acc[j] / double(R));
}

}  // namespace neuroai::cpu
