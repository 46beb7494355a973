// Graph-edge ops of the GNN (SPEC §8): the Hebbian edge rule (hand-computed example, backward against
// central differences in double), the GCN normalization (dense double reference, backward against
// central differences), and the re-compaction index helpers. Each case runs on cpu and cuda.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend_fixture.h"
#include "kernels/error.h"

namespace neuroai {
namespace {

using testing::all_close;
using testing::any_nonzero;
using testing::Buf;

// A symmetric pattern with self-loops, built independently of models/gnn_graph.cpp: rows hold their
// neighbours and themselves, columns ascending.
struct SymPattern {
  int32_t n = 0;
  std::vector<std::pair<int32_t, int32_t>> pairs;  // u < v
  std::vector<int32_t> indptr, indices, entry_pair, mirror, pu, pv, e1, e2;
};

SymPattern make_pattern(int32_t n, const std::vector<std::pair<int32_t, int32_t>>& pairs) {
  SymPattern s;
  s.n = n;
  s.pairs = pairs;
  std::vector<std::vector<int32_t>> dense(size_t(n), std::vector<int32_t>(size_t(n), -2));  // pair or -1 diag
  for (int32_t i = 0; i < n; ++i) dense[i][i] = -1;
  for (size_t p = 0; p < pairs.size(); ++p) {
    dense[pairs[p].first][pairs[p].second] = int32_t(p);
    dense[pairs[p].second][pairs[p].first] = int32_t(p);
  }
  std::vector<std::vector<int32_t>> pos(size_t(n), std::vector<int32_t>(size_t(n), -1));
  s.indptr.push_back(0);
  for (int32_t i = 0; i < n; ++i) {
    for (int32_t j = 0; j < n; ++j)
      if (dense[i][j] != -2) {
        pos[i][j] = int32_t(s.indices.size());
        s.indices.push_back(j);
        s.entry_pair.push_back(dense[i][j]);
      }
    s.indptr.push_back(int32_t(s.indices.size()));
  }
  for (int32_t i = 0; i < n; ++i)
    for (int32_t j = 0; j < n; ++j)
      if (pos[i][j] >= 0) s.mirror.push_back(pos[j][i]);
  for (auto [u, v] : pairs) {
    s.pu.push_back(u);
    s.pv.push_back(v);
    s.e1.push_back(pos[u][v]);
    s.e2.push_back(pos[v][u]);
  }
  return s;
}

std::vector<std::pair<int32_t, int32_t>> random_pairs(int32_t n, double density, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution keep(density);
  std::vector<std::pair<int32_t, int32_t>> p;
  for (int32_t u = 0; u < n; ++u)
    for (int32_t v = u + 1; v < n; ++v)
      if (keep(rng)) p.emplace_back(u, v);
  return p;
}

// Double reference of the GCN normalization: anorm per entry.
std::vector<double> ref_norm(const SymPattern& s, const std::vector<double>& a) {
  std::vector<double> deg(size_t(s.n), 0.0), out(s.indices.size());
  auto val = [&](size_t k) { return s.entry_pair[k] < 0 ? 1.0 : a[s.entry_pair[k]]; };
  for (int32_t i = 0; i < s.n; ++i)
    for (int32_t k = s.indptr[i]; k < s.indptr[i + 1]; ++k) deg[i] += val(k);
  for (int32_t i = 0; i < s.n; ++i)
    for (int32_t k = s.indptr[i]; k < s.indptr[i + 1]; ++k)
      out[k] = val(k) / std::sqrt(deg[i] * deg[s.indices[k]]);
  return out;
}

// Double reference of the Hebbian rule's a for given per-pair cos / ssum / hb_old.
double ref_a(double cos, double ssum, double hb_old, double w, double alpha, const double* rule) {
  const double eta = 1.0 / (1.0 + std::exp(-rule[0]));
  const double hb = std::clamp((1 - eta) * hb_old + eta * (rule[1] * cos + rule[2] * ssum + rule[3]), -1.0, 1.0);
  return 1.0 / (1.0 + std::exp(-(w + alpha * hb)));
}

class GnnEdges : public testing::BackendTest {};

// Hand-computed: trace columns x0 = (1, 0), x1 = (0, 2), x2 = (3, 4) (norms 1, 2, 5, mean 8/3);
// rule eta = 1/2, A = 1, B = 0.5, D = -0.2; the third pair clips at 1.
TEST_P(GnnEdges, HebbianForwardHandExample) {
  Backend& b = be();
  Buf<float> x(b, std::vector<float>{1, 0, 3, 0, 2, 4});  // (H = 2, N = 3) feature-major
  Buf<int32_t> pu(b, std::vector<int32_t>{0, 0, 1}), pv(b, std::vector<int32_t>{1, 2, 2});
  Buf<float> rule(b, std::vector<float>{0.0f, 1.0f, 0.5f, -0.2f});
  const std::vector<float> w = {0.0f, 1.0f, -1.0f}, alpha = {1.0f, 2.0f, 0.5f};
  Buf<float> wd(b, w), ad(b, alpha), hb_old(b, std::vector<float>{0.2f, -0.4f, 0.9f});
  Buf<float> hb_new(b, 3), cos(b, 3), ssum(b, 3), a(b, 3);
  b.hebbian_edge_forward({x.get(), 2, 3}, pu.get(), pv.get(), 3, rule.get(), wd.get(), ad.get(), hb_old.get(),
                         hb_new.get(), cos.get(), ssum.get(), a.get());
  const std::vector<double> hb_ref = {0.28125, 0.5625, 1.0};
  EXPECT_TRUE(all_close(cos.host(), std::vector<double>{0.0, 0.6, 0.8}, 1e-6, 1e-5));
  EXPECT_TRUE(all_close(ssum.host(), std::vector<double>{1.125, 2.25, 2.625}, 1e-6, 1e-5));
  EXPECT_TRUE(all_close(hb_new.host(), hb_ref, 1e-6, 1e-5));
  std::vector<double> a_ref(3);
  for (int p = 0; p < 3; ++p) a_ref[p] = 1.0 / (1.0 + std::exp(-(w[p] + alpha[p] * hb_ref[p])));
  EXPECT_TRUE(all_close(a.host(), a_ref, 1e-6, 1e-5));
}

// A zero trace (the first step) gives cos = ssum = 0 without NaN.
TEST_P(GnnEdges, HebbianForwardZeroTrace) {
  Backend& b = be();
  Buf<float> x(b, std::vector<float>(6, 0.0f));
  Buf<int32_t> pu(b, std::vector<int32_t>{0}), pv(b, std::vector<int32_t>{2});
  Buf<float> rule(b, std::vector<float>{0.0f, 1.0f, 1.0f, 0.5f});
  Buf<float> w(b, std::vector<float>{3.0f}), al(b, std::vector<float>{1.0f}), hb_old(b, std::vector<float>{0.0f});
  Buf<float> hb_new(b, 1), cos(b, 1), ssum(b, 1), a(b, 1);
  b.hebbian_edge_forward({x.get(), 2, 3}, pu.get(), pv.get(), 1, rule.get(), w.get(), al.get(), hb_old.get(),
                         hb_new.get(), cos.get(), ssum.get(), a.get());
  EXPECT_EQ(cos.host()[0], 0.0f);
  EXPECT_EQ(ssum.host()[0], 0.0f);
  EXPECT_NEAR(hb_new.host()[0], 0.25f, 1e-6f);  // eta D
}

// Backward against central differences of the double reference; loss = sum_p r_p a_p. Cases: inside
// the clip, and one pair clipped (rule gradient 0 there).
TEST_P(GnnEdges, HebbianBackwardFiniteDifferences) {
  Backend& b = be();
  const int64_t P = 5;
  const std::vector<float> cos = {0.1f, 0.9f, -0.3f, 0.5f, 0.95f}, ssum = {1.0f, 2.1f, 0.4f, 1.5f, 2.0f};
  const std::vector<float> hb_old = {0.2f, -0.5f, 0.1f, 0.6f, 0.99f}, w = {0.5f, -1.0f, 2.0f, 0.0f, 1.0f};
  const std::vector<float> alpha = {0.7f, -1.2f, 0.3f, 1.5f, 0.8f}, r = {1.0f, -2.0f, 0.5f, 1.5f, -1.0f};
  const std::vector<float> rule = {0.3f, 0.8f, 0.4f, 0.6f};  // the last pair clips at 1
  std::vector<float> a(P), hb_new(P);
  std::vector<double> rd(rule.begin(), rule.end());
  for (int64_t p = 0; p < P; ++p) {
    a[p] = float(ref_a(cos[p], ssum[p], hb_old[p], w[p], alpha[p], rd.data()));
    const double eta = 1.0 / (1.0 + std::exp(-rd[0]));
    hb_new[p] = float(std::clamp((1 - eta) * hb_old[p] + eta * (rd[1] * cos[p] + rd[2] * ssum[p] + rd[3]), -1.0, 1.0));
  }
  ASSERT_EQ(hb_new[4], 1.0f);
  Buf<float> ga(b, r), ad(b, a), al(b, alpha), ho(b, hb_old), hn(b, hb_new), cd(b, cos), sd(b, ssum), rl(b, rule);
  Buf<float> gw(b, std::vector<float>(P, 0.5f)), galpha(b, std::vector<float>(P, 0.0f)), parts(b, 4 * P);
  b.hebbian_edge_backward(P, ga.get(), ad.get(), al.get(), ho.get(), hn.get(), cd.get(), sd.get(), rl.get(), gw.get(),
                          galpha.get(), parts.get());
  auto loss = [&](const std::vector<double>& wv, const std::vector<double>& av, const std::vector<double>& rv) {
    double l = 0;
    for (int64_t p = 0; p < P; ++p) l += r[p] * ref_a(cos[p], ssum[p], hb_old[p], wv[p], av[p], rv.data());
    return l;
  };
  const double h = 1e-6;
  std::vector<double> wv(w.begin(), w.end()), av(alpha.begin(), alpha.end());
  std::vector<double> gw_ref(P), ga_ref(P), gr_ref(4, 0.0);
  for (int64_t p = 0; p < P; ++p) {
    auto wp = wv, wm = wv, ap = av, am = av;
    wp[p] += h, wm[p] -= h, ap[p] += h, am[p] -= h;
    gw_ref[p] = 0.5 + (loss(wp, av, rd) - loss(wm, av, rd)) / (2 * h);  // accumulated onto 0.5
    ga_ref[p] = (loss(wv, ap, rd) - loss(wv, am, rd)) / (2 * h);
  }
  for (int i = 0; i < 4; ++i) {
    auto rp = rd, rm = rd;
    rp[i] += h, rm[i] -= h;
    gr_ref[i] = (loss(wv, av, rp) - loss(wv, av, rm)) / (2 * h);
  }
  const auto pv = parts.host();
  std::vector<double> gr(4, 0.0);
  for (int64_t p = 0; p < P; ++p)
    for (int i = 0; i < 4; ++i) gr[i] += pv[4 * p + i];
  for (int i = 0; i < 4; ++i) EXPECT_EQ(pv[4 * 4 + i], 0.0f) << "clipped pair, rule part " << i;
  ASSERT_TRUE(any_nonzero(gr_ref));
  EXPECT_TRUE(all_close(gw.host(), gw_ref, 1e-5, 1e-3));
  EXPECT_TRUE(all_close(galpha.host(), ga_ref, 1e-5, 1e-3));
  EXPECT_TRUE(all_close(gr, gr_ref, 1e-5, 1e-3));
}

struct NormCase {
  const char* name;
  int32_t n;
  double density;
};
// 1 node (self-loop only), no pairs, a sparse graph with isolated nodes, a complete graph.
const NormCase kNormCases[] = {{"one_node", 1, 0.0}, {"no_pairs", 4, 0.0}, {"sparse", 13, 0.25}, {"complete", 6, 1.0}};

TEST_P(GnnEdges, GcnNormForwardMatchesDense) {
  Backend& b = be();
  for (const NormCase& c : kNormCases) {
    SCOPED_TRACE(c.name);
    const SymPattern s = make_pattern(c.n, random_pairs(c.n, c.density, 11));
    const auto a = testing::random_floats(std::max<size_t>(1, s.pairs.size()), 3, 0.05f, 1.0f);
    Buf<int32_t> ip(b, s.indptr), ix(b, s.indices), ep(b, s.entry_pair);
    Buf<float> ad(b, a), v(b, s.indices.size()), dinv(b, size_t(c.n)), an(b, s.indices.size());
    b.gcn_norm_forward({ip.get(), ix.get(), nullptr, c.n, c.n, int64_t(s.indices.size())}, ep.get(), ad.get(), v.get(),
                       dinv.get(), an.get());
    const auto ref = ref_norm(s, std::vector<double>(a.begin(), a.end()));
    ASSERT_TRUE(any_nonzero(ref));
    EXPECT_TRUE(all_close(an.host(), ref, 1e-6, 1e-5));
  }
}

// dL/da through both entries of each pair and both endpoints' degrees; loss = sum_k g_k anorm_k.
TEST_P(GnnEdges, GcnNormBackwardFiniteDifferences) {
  Backend& b = be();
  for (const NormCase& c : kNormCases) {
    SCOPED_TRACE(c.name);
    const SymPattern s = make_pattern(c.n, random_pairs(c.n, c.density, 12));
    const int64_t P = int64_t(s.pairs.size()), E = int64_t(s.indices.size());
    const auto a = testing::random_floats(size_t(std::max<int64_t>(P, 1)), 4, 0.05f, 1.0f);
    const auto g = testing::random_floats(size_t(E), 5);
    Buf<int32_t> ip(b, s.indptr), ix(b, s.indices), ep(b, s.entry_pair), mi(b, s.mirror);
    Buf<int32_t> pu(b, std::max<size_t>(1, P)), pv(b, std::max<size_t>(1, P)), e1(b, std::max<size_t>(1, P)),
        e2(b, std::max<size_t>(1, P));
    if (P) pu.set(s.pu), pv.set(s.pv), e1.set(s.e1), e2.set(s.e2);
    Buf<float> ad(b, a), v(b, size_t(E)), dinv(b, size_t(c.n)), an(b, size_t(E)), gd(b, g);
    Buf<float> ga(b, size_t(std::max<int64_t>(P, 1)));
    const ConstCsrView pat{ip.get(), ix.get(), nullptr, c.n, c.n, E};
    b.gcn_norm_forward(pat, ep.get(), ad.get(), v.get(), dinv.get(), an.get());
    b.gcn_norm_backward(pat, mi.get(), pu.get(), pv.get(), e1.get(), e2.get(), P, v.get(), dinv.get(), gd.get(),
                        ga.get());
    if (P == 0) continue;
    std::vector<double> ref(static_cast<size_t>(P));
    std::vector<double> ah(a.begin(), a.end());
    auto loss = [&](const std::vector<double>& av) {
      const auto an_ref = ref_norm(s, av);
      double l = 0;
      for (int64_t k = 0; k < E; ++k) l += g[k] * an_ref[k];
      return l;
    };
    for (int64_t p = 0; p < P; ++p) {
      auto ap = ah, am = ah;
      ap[p] += 1e-6, am[p] -= 1e-6;
      ref[p] = (loss(ap) - loss(am)) / 2e-6;
    }
    ASSERT_TRUE(any_nonzero(ref));
    auto got = ga.host();
    got.resize(size_t(P));
    EXPECT_TRUE(all_close(got, ref, 1e-5, 1e-3));
  }
}

TEST_P(GnnEdges, GatherFlagsAndRemap) {
  Backend& b = be();
  Buf<uint8_t> flags(b, std::vector<uint8_t>{1, 0, 1});
  Buf<int32_t> idx(b, std::vector<int32_t>{-1, 0, 1, 2, 1, -1});
  Buf<uint8_t> out(b, 6);
  b.gather_flags(flags.get(), idx.get(), 6, out.get());
  EXPECT_EQ(out.host(), (std::vector<uint8_t>{1, 1, 0, 1, 0, 1}));
  Buf<int32_t> pos(b, std::vector<int32_t>{0, 1, 1, 2}), rem(b, 6);
  b.remap_indices(idx.get(), 6, pos.get(), rem.get());
  EXPECT_EQ(rem.host(), (std::vector<int32_t>{-1, 0, 1, 1, 1, -1}));
}

TEST_P(GnnEdges, RejectsBadArguments) {
  Backend& b = be();
  Buf<int32_t> idx(b, std::vector<int32_t>{0});
  EXPECT_THROW(b.remap_indices(idx.get(), 1, idx.get(), idx.get()), Error);  // aliasing
  Buf<float> x(b, 6);
  EXPECT_THROW(b.hebbian_edge_forward({x.get(), 2, 3}, nullptr, nullptr, 2, nullptr, nullptr, nullptr, nullptr,
                                      nullptr, nullptr, nullptr, nullptr),
               Error);
}

NEUROAI_INSTANTIATE_BACKENDS(GnnEdges);

}  // namespace
}  // namespace neuroai
