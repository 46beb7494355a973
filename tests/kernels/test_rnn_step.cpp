// GRU and leaky-RNN step ops and the relevance trace, on every backend, against a plain double
// reference written here; backward passes against central finite differences of that reference.
#include <cmath>
#include <string>
#include <vector>

#include "backend_fixture.h"
#include "kernels/error.h"

namespace neuroai {
namespace {

using testing::all_close;
using testing::any_nonzero;
using testing::Buf;
using testing::random_floats;

struct Case {
  const char* name;
  int64_t b, h;
  bool gate;  // a phase gate m in (0, 1] per unit
};

// Named shapes: the smallest, not a warp multiple, wider than a block, an empty batch.
const Case kCases[] = {
    {"1x1", 1, 1, false}, {"1x1_gate", 1, 1, true}, {"3x5", 3, 5, false},
    {"3x5_gate", 3, 5, true}, {"4x33_gate", 4, 33, true}, {"empty_batch", 0, 4, true},
};

double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Plain GRU step in double: h' = m ((1 - z) n + z h) + (1 - m) h.
std::vector<double> gru_ref(const std::vector<double>& gi, const std::vector<double>& gh,
                            const std::vector<double>& hp, const std::vector<double>& m, int64_t B, int64_t H) {
  std::vector<double> out(size_t(B * H));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) {
      const double* xi = &gi[b * 3 * H];
      const double* xh = &gh[b * 3 * H];
      double r = sig(xi[j] + xh[j]);
      double z = sig(xi[H + j] + xh[H + j]);
      double n = std::tanh(xi[2 * H + j] + r * xh[2 * H + j]);
      double h = hp[b * H + j];
      double cell = (1 - z) * n + z * h;
      out[b * H + j] = m[j] * cell + (1 - m[j]) * h;
    }
  return out;
}

std::vector<double> rnn_ref(const std::vector<double>& gi, const std::vector<double>& gh,
                            const std::vector<double>& hp, const std::vector<double>& a, int64_t B, int64_t H) {
  std::vector<double> out(size_t(B * H));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) {
      int64_t e = b * H + j;
      out[e] = hp[e] + a[j] * (std::tanh(gi[e] + gh[e]) - hp[e]);
    }
  return out;
}

std::vector<double> to_d(const std::vector<float>& v) { return {v.begin(), v.end()}; }

double dot(const std::vector<double>& a, const std::vector<double>& c) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * c[i];
  return s;
}

// d/dv_i of L(v) = dot(f(v), c), central differences in double.
template <class F>
std::vector<double> fd_grad(std::vector<double> v, const std::vector<double>& c, F f) {
  const double eps = 1e-6;
  std::vector<double> g(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    double s = v[i];
    v[i] = s + eps;
    double lp = dot(f(v), c);
    v[i] = s - eps;
    double lm = dot(f(v), c);
    v[i] = s;
    g[i] = (lp - lm) / (2 * eps);
  }
  return g;
}

std::vector<float> gate_values(const Case& cs, uint64_t seed) {
  return cs.gate ? random_floats(size_t(cs.h), seed, 0.3f, 1.0f) : std::vector<float>(size_t(cs.h), 1.0f);
}

class RnnStep : public testing::BackendTest {};

TEST_P(RnnStep, GruForwardMatchesReference) {
  for (const auto& cs : kCases) {
    SCOPED_TRACE(cs.name);
    const int64_t B = cs.b, H = cs.h;
    auto gi = random_floats(size_t(B * 3 * H), 1, -2, 2), gh = random_floats(size_t(B * 3 * H), 2, -2, 2);
    auto hp = random_floats(size_t(B * H), 3), m = gate_values(cs, 4);
    Buf<float> dgi(be(), gi), dgh(be(), gh), dhp(be(), hp), dm(be(), m), out(be(), size_t(B * H)),
        saved(be(), size_t(B * 4 * H));
    be().gru_step_forward({dgi.get(), B, 3 * H}, {dgh.get(), B, 3 * H}, {dhp.get(), B, H},
                          cs.gate ? dm.get() : nullptr, out.view(B, H), saved.view(B, 4 * H));
    if (B == 0) continue;
    auto ref = gru_ref(to_d(gi), to_d(gh), to_d(hp), to_d(m), B, H);
    ASSERT_TRUE(any_nonzero(ref));
    EXPECT_TRUE(all_close(out.host(), ref, 1e-6, 1e-5));
    auto sv = saved.host();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j) {
        EXPECT_NEAR(sv[b * 4 * H + j], sig(gi[b * 3 * H + j] + gh[b * 3 * H + j]), 1e-6);
        EXPECT_EQ(sv[b * 4 * H + 3 * H + j], gh[b * 3 * H + 2 * H + j]);
      }
  }
}

TEST_P(RnnStep, GruBackwardMatchesFiniteDifferences) {
  for (const auto& cs : kCases) {
    SCOPED_TRACE(cs.name);
    const int64_t B = cs.b, H = cs.h;
    auto gi = random_floats(size_t(B * 3 * H), 11, -2, 2), gh = random_floats(size_t(B * 3 * H), 12, -2, 2);
    auto hp = random_floats(size_t(B * H), 13), m = gate_values(cs, 14);
    auto c = random_floats(size_t(B * H), 15);  // L = sum c ⊙ h'
    Buf<float> dgi(be(), gi), dgh(be(), gh), dhp(be(), hp), dm(be(), m), out(be(), size_t(B * H)),
        saved(be(), size_t(B * 4 * H)), dc(be(), c), ggi(be(), size_t(B * 3 * H)), ggh(be(), size_t(B * 3 * H)),
        ghp(be(), size_t(B * H));
    const float* mp = cs.gate ? dm.get() : nullptr;
    be().gru_step_forward({dgi.get(), B, 3 * H}, {dgh.get(), B, 3 * H}, {dhp.get(), B, H}, mp, out.view(B, H),
                          saved.view(B, 4 * H));
    be().gru_step_backward({dc.get(), B, H}, {dhp.get(), B, H}, {saved.get(), B, 4 * H}, mp, ggi.view(B, 3 * H),
                           ggh.view(B, 3 * H), ghp.view(B, H));
    if (B == 0) continue;
    auto Gi = to_d(gi), Gh = to_d(gh), Hp = to_d(hp), M = to_d(m), C = to_d(c);
    auto fd_gi = fd_grad(Gi, C, [&](const std::vector<double>& v) { return gru_ref(v, Gh, Hp, M, B, H); });
    auto fd_gh = fd_grad(Gh, C, [&](const std::vector<double>& v) { return gru_ref(Gi, v, Hp, M, B, H); });
    auto fd_hp = fd_grad(Hp, C, [&](const std::vector<double>& v) { return gru_ref(Gi, Gh, v, M, B, H); });
    ASSERT_TRUE(any_nonzero(fd_gi));
    EXPECT_TRUE(all_close(ggi.host(), fd_gi, 1e-5, 1e-4));
    EXPECT_TRUE(all_close(ggh.host(), fd_gh, 1e-5, 1e-4));
    EXPECT_TRUE(all_close(ghp.host(), fd_hp, 1e-5, 1e-4));
  }
}

TEST_P(RnnStep, LeakyRnnForwardAndBackward) {
  for (const auto& cs : kCases) {
    SCOPED_TRACE(cs.name);
    const int64_t B = cs.b, H = cs.h;
    auto gi = random_floats(size_t(B * H), 21, -2, 2), gh = random_floats(size_t(B * H), 22, -2, 2);
    auto hp = random_floats(size_t(B * H), 23), m = gate_values(cs, 24);
    auto alpha = random_floats(size_t(H), 25, 0.1f, 1.0f), c = random_floats(size_t(B * H), 26);
    Buf<float> dgi(be(), gi), dgh(be(), gh), dhp(be(), hp), dm(be(), m), da(be(), alpha), out(be(), size_t(B * H)),
        saved(be(), size_t(B * H)), dc(be(), c), dpre(be(), size_t(B * H)), ghp(be(), size_t(B * H));
    const float* mp = cs.gate ? dm.get() : nullptr;
    be().rnn_step_forward({dgi.get(), B, H}, {dgh.get(), B, H}, {dhp.get(), B, H}, da.get(), mp, out.view(B, H),
                          saved.view(B, H));
    be().rnn_step_backward({dc.get(), B, H}, {saved.get(), B, H}, da.get(), mp, dpre.view(B, H), ghp.view(B, H));
    if (B == 0) continue;
    std::vector<double> a(static_cast<size_t>(H));
    for (int64_t j = 0; j < H; ++j) a[j] = double(alpha[j]) * m[j];
    auto Gi = to_d(gi), Gh = to_d(gh), Hp = to_d(hp), C = to_d(c);
    auto ref = rnn_ref(Gi, Gh, Hp, a, B, H);
    ASSERT_TRUE(any_nonzero(ref));
    EXPECT_TRUE(all_close(out.host(), ref, 1e-6, 1e-5));
    auto fd_pre = fd_grad(Gi, C, [&](const std::vector<double>& v) { return rnn_ref(v, Gh, Hp, a, B, H); });
    auto fd_hp = fd_grad(Hp, C, [&](const std::vector<double>& v) { return rnn_ref(Gi, Gh, v, a, B, H); });
    EXPECT_TRUE(all_close(dpre.host(), fd_pre, 1e-5, 1e-4));
    EXPECT_TRUE(all_close(ghp.host(), fd_hp, 1e-5, 1e-4));
  }
}

TEST_P(RnnStep, VanillaRnnIsAlphaOneWithoutGate) {
  const int64_t B = 2, H = 3;
  auto gi = random_floats(size_t(B * H), 31), gh = random_floats(size_t(B * H), 32), hp = random_floats(size_t(B * H), 33);
  Buf<float> dgi(be(), gi), dgh(be(), gh), dhp(be(), hp), out(be(), size_t(B * H)), saved(be(), size_t(B * H));
  be().rnn_step_forward({dgi.get(), B, H}, {dgh.get(), B, H}, {dhp.get(), B, H}, nullptr, nullptr, out.view(B, H),
                        saved.view(B, H));
  std::vector<double> ref(size_t(B * H));
  for (size_t e = 0; e < ref.size(); ++e) ref[e] = std::tanh(double(gi[e]) + gh[e]);
  EXPECT_TRUE(all_close(out.host(), ref, 1e-6, 1e-5));
}

TEST_P(RnnStep, SqTraceUpdate) {
  // (rows, cols): one entry, rows longer than a block, no rows.
  const std::pair<int64_t, int64_t> shapes[] = {{1, 1}, {300, 7}, {0, 5}};
  for (auto [R, N] : shapes) {
    SCOPED_TRACE(std::to_string(R) + "x" + std::to_string(N));
    auto x = testing::random_ints(size_t(R * N), 41);
    auto t0 = random_floats(size_t(N), 42, 0.0f, 2.0f);
    Buf<float> dx(be(), x), dt(be(), t0);
    const float beta = 0.75f;
    be().sq_trace_update({dx.get(), R, N}, beta, dt.get());
    std::vector<double> ref(static_cast<size_t>(N));
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t r = 0; r < R; ++r) s += double(x[r * N + j]) * x[r * N + j];
      ref[j] = R == 0 ? t0[j] : beta * t0[j] + (1 - beta) * s / R;
    }
    ASSERT_TRUE(any_nonzero(ref));
    EXPECT_TRUE(all_close(dt.host(), ref, 1e-6, 1e-5));
  }
}

TEST_P(RnnStep, BadShapesAreNamed) {
  Buf<float> a(be(), 64), b(be(), 64), c(be(), 64), d(be(), 64), e(be(), 64);
  try {
    be().gru_step_forward({a.get(), 2, 6}, {b.get(), 2, 5}, {c.get(), 2, 2}, nullptr, d.view(2, 2), e.view(2, 8));
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("gh is 2x5 (expected 2x6)"), std::string::npos) << err.what();
  }
  EXPECT_THROW(be().rnn_step_backward({a.get(), 2, 3}, {b.get(), 2, 3}, nullptr, nullptr, c.view(2, 3),
                                      d.view(3, 2)),
               Error);
  EXPECT_THROW(be().sq_trace_update({a.get(), 2, 3}, 1.5f, b.get()), Error);
}

NEUROAI_INSTANTIATE_BACKENDS(RnnStep);

}  // namespace
}  // namespace neuroai
