// Lateral inhibition on a sheet (SPEC §4.1-4.3): divisive normalization, difference of Gaussians,
// local k-WTA. Samples and sheet rows are spread over OpenMP threads; the neighbourhood sums run
// offset by offset over a whole sheet row so the inner loop is contiguous and vectorizes.
#include <algorithm>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/inhibition_math.h"

namespace neuroai::cpu {

namespace {

// A neighbourhood table (layout in inhibition_math.h) with its extents.
struct Table {
  std::vector<float> w;
  int er = 0;
  int ec = 0;
  float at(int dr, int dc) const { return w[size_t(dr + er) * (2 * ec + 1) + (dc + ec)]; }
};

Table gaussian_table(Sheet sheet, const DivisiveParams& p) {
  Table t{std::vector<float>(inhibition_table_size(p.radius, sheet)), inhibition_extent(p.radius, sheet.rows),
          inhibition_extent(p.radius, sheet.cols)};
  const float inv_z = 1.0f / gaussian_normalizer(p.radius, p.sigma);
  for (size_t i = 0; i < t.w.size(); ++i) t.w[i] = gaussian_table_entry(int64_t(i), sheet, p, inv_z);
  return t;
}

Table dog_table(Sheet sheet, const DogParams& p) {
  Table t{std::vector<float>(inhibition_table_size(p.radius, sheet)), inhibition_extent(p.radius, sheet.rows),
          inhibition_extent(p.radius, sheet.cols)};
  for (size_t i = 0; i < t.w.size(); ++i) t.w[i] = dog_table_entry(int64_t(i), sheet, p);
  return t;
}

// acc[c] = sum_{(dr, dc)} K(dr, dc) f(plane[(r + dr) * cols + c + dc]) for one sheet row r of one
// sample, zero padding outside the sheet; offsets in ascending (dr, dc) order like the CUDA kernels.
template <class F>
void window_sum_row(const float* plane, Sheet sheet, int r, const Table& k, float* acc, F f) {
  const int cols = sheet.cols;
  std::fill(acc, acc + cols, 0.0f);
  for (int dr = -k.er; dr <= k.er; ++dr) {
    const int rr = r + dr;
    if (rr < 0 || rr >= sheet.rows) continue;
    const float* src = plane + int64_t(rr) * cols;
    for (int dc = -k.ec; dc <= k.ec; ++dc) {
      const float w = k.at(dr, dc);
      if (w == 0.0f) continue;
      const int c0 = std::max(0, -dc), c1 = std::min(cols, cols - dc);
#pragma omp simd
      for (int c = c0; c < c1; ++c) acc[c] += w * f(src[c + dc]);
    }
  }
}

// Runs body(b, r, acc) for every (sample, sheet row) with a per-thread row accumulator.
template <class Body>
void for_each_sheet_row(int64_t batch, Sheet sheet, Body body) {
#pragma omp parallel
  {
    std::vector<float> acc(sheet.cols);
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < batch; ++b)
      for (int r = 0; r < sheet.rows; ++r) body(b, r, acc.data());
  }
}

}  // namespace

void CpuBackend::divisive_norm_forward_impl(ConstDenseView h, Sheet sheet, const DivisiveParams& p, DenseView y,
                                            DenseView d) {
  const Table k = gaussian_table(sheet, p);
  const int64_t n = sheet.units();
  for_each_sheet_row(h.rows, sheet, [&](int64_t b, int r, float* acc) {
    const float* hb = h.data + b * n;
    window_sum_row(hb, sheet, r, k, acc, [](float v) { return v * v; });
    const int64_t row0 = b * n + int64_t(r) * sheet.cols;
    for (int c = 0; c < sheet.cols; ++c) {
      const float dd = divisive_denominator(acc[c], p);
      d.data[row0 + c] = dd;
      y.data[row0 + c] = divisive_output(h.data[row0 + c], divisive_scale(dd, p));
    }
  });
}

void CpuBackend::divisive_norm_backward_impl(ConstDenseView h, ConstDenseView d, ConstDenseView dy, Sheet sheet,
                                             const DivisiveParams& p, DenseView dh) {
  const Table k = gaussian_table(sheet, p);
  const int64_t total = h.size(), n = sheet.units();
  // powf dominates on the CPU, so D^-beta is computed once and kept beside u.
  float* u = static_cast<float*>(scratch(2 * total * sizeof(float)));  // (B, N)
  float* scale = u + total;                                             // (B, N)
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < total; ++i) {
    scale[i] = divisive_scale(d.data[i], p);
    u[i] = divisive_backward_u(dy.data[i], h.data[i], d.data[i], scale[i]);
  }
  for_each_sheet_row(h.rows, sheet, [&](int64_t b, int r, float* acc) {
    window_sum_row(u + b * n, sheet, r, k, acc, [](float v) { return v; });
    const int64_t row0 = b * n + int64_t(r) * sheet.cols;
    for (int c = 0; c < sheet.cols; ++c) {
      const int64_t i = row0 + c;
      dh.data[i] = divisive_backward_dh(dy.data[i], h.data[i], scale[i], acc[c], p);
    }
  });
}

void CpuBackend::dog_forward_impl(ConstDenseView h, Sheet sheet, const DogParams& p, DenseView y) {
  const Table k = dog_table(sheet, p);
  const int64_t n = sheet.units();
  for_each_sheet_row(h.rows, sheet, [&](int64_t b, int r, float* acc) {
    window_sum_row(h.data + b * n, sheet, r, k, acc, [](float v) { return v; });
    const int64_t row0 = b * n + int64_t(r) * sheet.cols;
    for (int c = 0; c < sheet.cols; ++c) y.data[row0 + c] = dog_output(h.data[row0 + c], acc[c], p);
  });
}

void CpuBackend::dog_backward_impl(ConstDenseView y, ConstDenseView dy, Sheet sheet, const DogParams& p,
                                   DenseView dh) {
  const Table k = dog_table(sheet, p);
  const int64_t total = y.size(), n = sheet.units();
  float* g = static_cast<float*>(scratch(total * sizeof(float)));  // (B, N) gated upstream gradient
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < total; ++i) g[i] = dog_gate(y.data[i], dy.data[i]);
  for_each_sheet_row(y.rows, sheet, [&](int64_t b, int r, float* acc) {
    window_sum_row(g + b * n, sheet, r, k, acc, [](float v) { return v; });
    const int64_t row0 = b * n + int64_t(r) * sheet.cols;
    for (int c = 0; c < sheet.cols; ++c) dh.data[row0 + c] = dog_backward_dh(g[row0 + c], acc[c], p);
  });
}

// A unit wins when fewer than k units of its (clipped) tile outrank it: the same rule, unit by
// unit, as the CUDA kernel, so winners agree exactly.
void CpuBackend::kwta_forward_impl(ConstDenseView h, Sheet sheet, const KwtaParams& p, DenseView y,
                                   uint8_t* winners) {
  const int64_t n = sheet.units();
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < h.rows; ++b) {
    for (int r = 0; r < sheet.rows; ++r) {
      const float* hb = h.data + b * n;
      const int r0 = r / p.tile * p.tile, r1 = std::min(sheet.rows, r0 + p.tile);
      for (int c = 0; c < sheet.cols; ++c) {
        const int c0 = c / p.tile * p.tile, c1 = std::min(sheet.cols, c0 + p.tile);
        const int64_t i = int64_t(r) * sheet.cols + c;
        const float v = hb[i];
        int beaten_by = 0;
        for (int rr = r0; rr < r1; ++rr)
          for (int cc = c0; cc < c1; ++cc) {
            const int64_t j = int64_t(rr) * sheet.cols + cc;
            beaten_by += kwta_beats(hb[j], j, v, i);
          }
        const bool win = beaten_by < p.k;
        winners[b * n + i] = win ? 1 : 0;
        y.data[b * n + i] = win ? v : 0.0f;
      }
    }
  }
}

void CpuBackend::kwta_backward_impl(const uint8_t* winners, ConstDenseView dy, DenseView dh) {
  const int64_t total = dy.size();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < total; ++i) dh.data[i] = winners[i] ? dy.data[i] : 0.0f;
}

}  // namespace neuroai::cpu
