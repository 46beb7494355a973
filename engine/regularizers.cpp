#include "engine/regularizers.h"

#include <algorithm>
#include <cmath>

#include "kernels/error.h"

namespace neuroai {

namespace {
constexpr double kEntropyGuard = 1e-9;  // inside the log of SPEC §3.2
constexpr double kEps = 1e-8;           // SPEC §0 denominators and guards
}  // namespace

// ---- host definitions ---------------------------------------------------------------------------

double l1_activity_host(const double* h, int64_t batch, int64_t units, std::vector<double>* grad) {
  const int64_t n = batch * units;
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += std::abs(h[i]);
  if (grad) {
    grad->assign(size_t(n), 0.0);
    for (int64_t i = 0; i < n; ++i) (*grad)[i] = h[i] > 0 ? 1.0 / batch : (h[i] < 0 ? -1.0 / batch : 0.0);
  }
  return batch > 0 ? s / batch : 0.0;
}

double usage_entropy_host(const double* h, int64_t batch, int64_t units, std::vector<double>* grad) {
  if (grad) grad->assign(size_t(batch * units), 0.0);
  std::vector<double> u(size_t(units), 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < units; ++i) u[i] += h[b * units + i];
  double s = 0.0;
  for (double x : u) s += x;
  if (s < kEps) return 0.0;
  double ent = 0.0, mean_q = 0.0;
  std::vector<double> q(static_cast<size_t>(units));  // dH/dp_i
  for (int64_t i = 0; i < units; ++i) {
    const double p = u[i] / s;
    ent -= p * std::log(p + kEntropyGuard);
    q[i] = -std::log(p + kEntropyGuard) - p / (p + kEntropyGuard);
    mean_q += p * q[i];
  }
  if (grad) {
    // dp_k/du_i = (delta_ki - p_k) / S, the same for every sample b.
    for (int64_t i = 0; i < units; ++i) {
      const double g = (q[i] - mean_q) / s;
      for (int64_t b = 0; b < batch; ++b) (*grad)[b * units + i] = g;
    }
  }
  return ent;
}

double participation_ratio_host(const double* h, int64_t batch, int64_t units, std::vector<double>* grad) {
  if (grad) grad->assign(size_t(batch * units), 0.0);
  if (batch < 2) return 0.0;
  std::vector<double> hc(h, h + batch * units);  // H~ (B, N)
  for (int64_t i = 0; i < units; ++i) {
    double m = 0.0;
    for (int64_t b = 0; b < batch; ++b) m += hc[b * units + i];
    m /= batch;
    for (int64_t b = 0; b < batch; ++b) hc[b * units + i] -= m;
  }
  std::vector<double> k(size_t(batch * batch), 0.0);  // K = H~ H~^T (B, B)
  for (int64_t a = 0; a < batch; ++a)
    for (int64_t b = 0; b < batch; ++b) {
      double s = 0.0;
      for (int64_t i = 0; i < units; ++i) s += hc[a * units + i] * hc[b * units + i];
      k[a * batch + b] = s;
    }
  const double bm1 = double(batch - 1);
  double tr = 0.0, q = 0.0;
  for (int64_t a = 0; a < batch; ++a) tr += k[a * batch + a];
  for (double x : k) q += x * x;
  tr /= bm1;
  q /= bm1 * bm1;
  if (tr < kEps) return 0.0;
  const double pr = tr * tr / q;
  if (grad) {
    // dPR/dH~ = (4 T_c / ((B-1) Q)) (H~ - (T_c / Q) K H~ / (B-1)); zero column means, so = dPR/dH.
    const double c1 = 4.0 * tr / (bm1 * q), c2 = tr / (q * bm1);
    for (int64_t a = 0; a < batch; ++a)
      for (int64_t i = 0; i < units; ++i) {
        double kh = 0.0;
        for (int64_t b = 0; b < batch; ++b) kh += k[a * batch + b] * hc[b * units + i];
        (*grad)[a * units + i] = c1 * (hc[a * units + i] - c2 * kh);
      }
  }
  return pr;
}

std::vector<int32_t> neighbourhood_units(Sheet sheet, int32_t r0, int32_t c0, float radius, int max_units) {
  const int32_t reach = int32_t(std::floor(radius));
  const double r2max = double(radius) * radius;
  std::vector<std::pair<double, int32_t>> cand;
  for (int32_t r = std::max(0, r0 - reach); r <= std::min(sheet.rows - 1, r0 + reach); ++r)
    for (int32_t c = std::max(0, c0 - reach); c <= std::min(sheet.cols - 1, c0 + reach); ++c) {
      const double d2 = double(r - r0) * (r - r0) + double(c - c0) * (c - c0);
      if (d2 <= r2max) cand.emplace_back(d2, r * sheet.cols + c);
    }
  std::sort(cand.begin(), cand.end());
  if (int64_t(cand.size()) > max_units) cand.resize(size_t(max_units));
  std::vector<int32_t> out;
  out.reserve(cand.size());
  for (const auto& [d2, i] : cand) out.push_back(i);
  return out;
}

std::vector<std::vector<int32_t>> sample_neighbourhoods(Sheet sheet, const SpatialLossConfig& c, std::mt19937_64& rng) {
  std::uniform_int_distribution<int64_t> pick(0, sheet.units() - 1);
  std::vector<std::vector<int32_t>> nbs;
  for (int n = 0; n < c.neighbourhoods; ++n) {
    const int64_t centre = pick(rng);
    nbs.push_back(neighbourhood_units(sheet, int32_t(centre / sheet.cols), int32_t(centre % sheet.cols), c.radius,
                                      c.max_units));
  }
  return nbs;
}

double spatial_loss_host(const double* h, int64_t batch, Sheet sheet, const std::vector<std::vector<int32_t>>& nbs,
                         std::vector<double>* grad) {
  const int64_t units = sheet.units();
  if (grad) grad->assign(size_t(batch * units), 0.0);
  struct Nb {
    const std::vector<int32_t>* units;
    std::vector<double> xc, z, norm;  // (m, B) centered columns, normalized columns, norms
    std::vector<double> v, w;         // (pairs) r_ij and D_ij, lower triangle a > b
  };
  std::vector<Nb> valid;
  for (const auto& nb : nbs)
    if (nb.size() >= 3 && batch >= 2) valid.push_back(Nb{&nb, {}, {}, {}, {}, {}});
  if (valid.empty()) return 0.0;
  const double inv_n = 1.0 / double(valid.size());
  double loss = 0.0;
  for (auto& s : valid) {
    const auto& u = *s.units;
    const int64_t m = int64_t(u.size());
    s.xc.resize(size_t(m * batch));
    s.z.resize(size_t(m * batch));
    s.norm.resize(size_t(m));
    for (int64_t a = 0; a < m; ++a) {
      double mean = 0.0;
      for (int64_t b = 0; b < batch; ++b) mean += h[b * units + u[a]];
      mean /= batch;
      double nn = 0.0;
      for (int64_t b = 0; b < batch; ++b) {
        const double x = h[b * units + u[a]] - mean;
        s.xc[a * batch + b] = x;
        nn += x * x;
      }
      s.norm[a] = std::sqrt(nn);
      for (int64_t b = 0; b < batch; ++b) s.z[a * batch + b] = s.xc[a * batch + b] / (s.norm[a] + kEps);
    }
    for (int64_t a = 1; a < m; ++a)
      for (int64_t c = 0; c < a; ++c) {
        double r = 0.0;
        for (int64_t b = 0; b < batch; ++b) r += s.z[a * batch + b] * s.z[c * batch + b];
        const double dr = double(u[a] / sheet.cols - u[c] / sheet.cols);
        const double dc = double(u[a] % sheet.cols - u[c] % sheet.cols);
        s.v.push_back(r);
        s.w.push_back(1.0 / (1.0 + std::sqrt(dr * dr + dc * dc)));
      }
    const size_t np = s.v.size();
    double mv = 0.0, mw = 0.0;
    for (size_t p = 0; p < np; ++p) {
      mv += s.v[p];
      mw += s.w[p];
    }
    mv /= double(np);
    mw /= double(np);
    double nv = 0.0, nw = 0.0, dot = 0.0;
    for (size_t p = 0; p < np; ++p) {
      s.v[p] -= mv;
      s.w[p] -= mw;
      nv += s.v[p] * s.v[p];
      nw += s.w[p] * s.w[p];
    }
    nv = std::sqrt(nv);
    nw = std::sqrt(nw);
    if (nw < kEps) continue;  // every pair at the same distance: no spatial signal
    for (size_t p = 0; p < np; ++p) {
      s.w[p] /= nw;  // w^ (zero mean, unit norm)
      dot += s.v[p] * s.w[p];
    }
    const double corr = dot / (nv + kEps);
    loss += inv_n * (1.0 - corr);
    if (!grad) continue;
    // dL/dv_p = -(1/n) [w^_p / (nv + eps) - dot v~_p / (nv (nv + eps)^2)]; the centering of v is
    // absorbed because w^ has zero mean.
    std::vector<double> gz(size_t(m * batch), 0.0);  // dL/dz (m, B)
    size_t p = 0;
    for (int64_t a = 1; a < m; ++a)
      for (int64_t c = 0; c < a; ++c, ++p) {
        double g = s.w[p] / (nv + kEps);
        if (nv > 0) g -= dot * s.v[p] / (nv * (nv + kEps) * (nv + kEps));
        g *= -inv_n;
        for (int64_t b = 0; b < batch; ++b) {
          gz[a * batch + b] += g * s.z[c * batch + b];
          gz[c * batch + b] += g * s.z[a * batch + b];
        }
      }
    for (int64_t a = 0; a < m; ++a) {
      // z = x~ / (|x~| + eps): dL/dx~ = gz / (n + eps) - x~ (x~ . gz) / (n (n + eps)^2); then un-center.
      const double n = s.norm[a];
      double xg = 0.0;
      for (int64_t b = 0; b < batch; ++b) xg += s.xc[a * batch + b] * gz[a * batch + b];
      std::vector<double> gx(static_cast<size_t>(batch));
      double mean = 0.0;
      for (int64_t b = 0; b < batch; ++b) {
        double g = gz[a * batch + b] / (n + kEps);
        if (n > 0) g -= s.xc[a * batch + b] * xg / (n * (n + kEps) * (n + kEps));
        gx[b] = g;
        mean += g;
      }
      mean /= batch;
      for (int64_t b = 0; b < batch; ++b) (*grad)[b * units + u[a]] += gx[b] - mean;
    }
  }
  return loss;
}

// ---- backend paths ------------------------------------------------------------------------------

IdrRegularizer::IdrRegularizer(Backend& b, const IdrConfig& c, int64_t max_batch, int64_t units)
    : b_(&b), c_(c), units_(units), scalar_(b, 2), colsum_(b, units) {
  if (c_.pr != 0.0f) {
    centered_ = Tensor(b, max_batch, units);
    gram_ = Tensor(b, max_batch, max_batch);
  }
}

RegLosses IdrRegularizer::apply(ConstDenseView y, DenseView dy) {
  NEUROAI_CHECK(y.cols == units_ && dy.rows == y.rows && dy.cols == y.cols,
                "IdrRegularizer: y is {}x{}, dy {}x{}, expected {} columns", y.rows, y.cols, dy.rows, dy.cols, units_);
  RegLosses out;
  const int64_t batch = y.rows, n = y.size();
  if (batch == 0) return out;
  float host[2] = {0.0f, 0.0f};
  if (c_.l1 != 0.0f) {
    // SPEC §3.1: lambda / B * sum |y|; dy += lambda / B * sign(y).
    b_->reduce(Reduction::SumAbs, y.data, n, scalar_.data());
    b_->add_sign(n, c_.l1 / float(batch), y.data, dy.data);
    b_->download(host, scalar_.data(), sizeof(float));
    out.l1 = double(c_.l1) * host[0] / double(batch);
  }
  if (c_.entropy != 0.0f) {
    // Usage u (N) is small: the entropy and its per-unit gradient are computed on the host and
    // broadcast over the batch with bias_add.
    b_->col_sum(y, colsum_.data(), false);
    std::vector<float> u = colsum_.to_host();
    std::vector<double> ud(u.begin(), u.end());
    std::vector<double> g;
    out.entropy = double(c_.entropy) * usage_entropy_host(ud.data(), 1, units_, &g);
    for (int64_t i = 0; i < units_; ++i) u[i] = float(c_.entropy * g[i]);
    colsum_.upload(u);
    b_->bias_add(dy, colsum_.data());
  }
  if (c_.pr != 0.0f && batch >= 2) {
    // SPEC §3.3 with the B x B Gram matrix K = H~ H~^T.
    DenseView hc = centered_.rows_view(0, batch);
    DenseView k{gram_.data(), batch, batch};
    b_->copy(hc.data, y.data, size_t(n) * sizeof(float));
    b_->col_sum(y, colsum_.data(), false);
    b_->scale(units_, -1.0f / float(batch), colsum_.data());
    b_->bias_add(hc, colsum_.data());
    b_->gemm(false, true, 1.0f, hc, hc, 0.0f, k);
    b_->reduce(Reduction::SumSquares, hc.data, n, scalar_.data());
    b_->reduce(Reduction::SumSquares, k.data, k.size(), scalar_.data() + 1);
    b_->download(host, scalar_.data(), 2 * sizeof(float));
    const double bm1 = double(batch - 1);
    const double tr = host[0] / bm1, q = host[1] / (bm1 * bm1);
    if (tr >= kEps && q > 0) {
      const double pr = tr * tr / q;
      out.pr = double(c_.pr) * pr / double(units_);
      const double c1 = double(c_.pr) / double(units_) * 4.0 * tr / (bm1 * q);
      const double c2 = tr / (q * bm1);
      b_->axpy(n, float(c1), hc.data, dy.data);
      b_->gemm(false, false, float(-c1 * c2), k, hc, 1.0f, dy);
    }
  }
  return out;
}

SpatialRegularizer::SpatialRegularizer(Backend& b, const SpatialLossConfig& c, Sheet sheet, int64_t max_batch,
                                       uint64_t seed)
    : b_(&b), c_(c), sheet_(sheet), rng_(seed), grad_(b, max_batch * sheet.units()) {}

RegLosses SpatialRegularizer::apply(ConstDenseView y, DenseView dy) {
  NEUROAI_CHECK(y.cols == sheet_.units() && dy.rows == y.rows && dy.cols == y.cols,
                "SpatialRegularizer: y is {}x{}, dy {}x{}, expected {} columns", y.rows, y.cols, dy.rows, dy.cols,
                sheet_.units());
  RegLosses out;
  const int64_t n = y.size();
  if (y.rows < 2) return out;
  std::vector<float> hf(static_cast<size_t>(n));
  b_->download(hf.data(), y.data, size_t(n) * sizeof(float));
  std::vector<double> h(hf.begin(), hf.end()), g;
  const auto nbs = sample_neighbourhoods(sheet_, c_, rng_);
  out.spatial = double(c_.alpha) * spatial_loss_host(h.data(), y.rows, sheet_, nbs, &g);
  for (int64_t i = 0; i < n; ++i) hf[i] = float(c_.alpha * g[i]);
  b_->upload(grad_.data(), hf.data(), size_t(n) * sizeof(float));
  b_->axpy(n, 1.0f, grad_.data(), dy.data);
  return out;
}

}  // namespace neuroai
