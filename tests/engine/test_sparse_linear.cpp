// SparseLinear: forward/backward against a plain double reference in both formats, the dense -> CSR
// hand-off keeping every result, pruning invariants, compaction, unit removal, checkpoints,
// finite differences, and the break-even measurement.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "backend_fixture.h"
#include "engine/safetensors.h"
#include "engine/sparse_linear.h"

namespace neuroai {
namespace {

using testing::all_close;
using testing::any_nonzero;
using testing::random_floats;
using testing::random_ints;
using testing::random_mask;

class SparseLinearTest : public testing::BackendTest {};

template <class T>
std::vector<T> host(Backend& b, const T* p, int64_t n) {
  std::vector<T> h(static_cast<size_t>(n));
  if (n > 0) b.download(h.data(), p, size_t(n) * sizeof(T));
  return h;
}

struct Case {
  const char* name;  // what the case is for
  int64_t batch, in, out;
  double density;
  bool empty_rows;
};

const Case kCases[] = {
    {"1x1", 1, 1, 1, 1.0, false},
    {"not_a_tile_multiple", 5, 37, 19, 0.5, false},
    {"empty_rows", 4, 20, 9, 0.6, true},  // output units 0, 3 and 8 have no inputs
    {"nnz_0", 3, 6, 4, 0.0, false},
    {"density_1", 4, 16, 8, 1.0, false},
};

std::vector<uint8_t> case_mask(const Case& c, uint64_t seed) {
  auto m = random_mask(size_t(c.in * c.out), c.density, seed);
  if (c.empty_rows)
    for (int64_t r : {int64_t(0), int64_t(3), c.out - 1})
      std::fill(m.begin() + r * c.in, m.begin() + (r + 1) * c.in, uint8_t(0));
  return m;
}

// Plain reference, double accumulation: y = x (W ⊙ M)^T + b, dx = dy (W ⊙ M), dW = (dy^T x) ⊙ M, db = sum_b dy.
struct Ref {
  std::vector<double> y, dx, dw, db;
};
Ref reference(const std::vector<float>& x, const std::vector<float>& w, const std::vector<uint8_t>& mask,
              const std::vector<float>& bias, const std::vector<float>& dy, int64_t B, int64_t in, int64_t out) {
  Ref r{std::vector<double>(size_t(B * out)), std::vector<double>(size_t(B * in)),
        std::vector<double>(size_t(out * in)), std::vector<double>(size_t(out))};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < out; ++i) {
      double s = bias.empty() ? 0.0 : bias[size_t(i)];
      for (int64_t j = 0; j < in; ++j)
        if (mask[size_t(i * in + j)]) s += double(x[size_t(b * in + j)]) * w[size_t(i * in + j)];
      r.y[size_t(b * out + i)] = s;
    }
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < in; ++j) {
      double s = 0;
      for (int64_t i = 0; i < out; ++i)
        if (mask[size_t(i * in + j)]) s += double(dy[size_t(b * out + i)]) * w[size_t(i * in + j)];
      r.dx[size_t(b * in + j)] = s;
    }
  for (int64_t i = 0; i < out; ++i) {
    for (int64_t j = 0; j < in; ++j) {
      double s = 0;
      if (mask[size_t(i * in + j)])
        for (int64_t b = 0; b < B; ++b) s += double(dy[size_t(b * out + i)]) * x[size_t(b * in + j)];
      r.dw[size_t(i * in + j)] = s;
    }
    for (int64_t b = 0; b < B; ++b) r.db[size_t(i)] += dy[size_t(b * out + i)];
  }
  return r;
}

// A per-entry array of the layer's current format as a dense (out, in) host matrix.
std::vector<float> dense_of(SparseLinear& l, const float* per_entry) {
  Backend& b = l.backend();
  if (l.format() == WeightFormat::Dense) return host(b, per_entry, l.in() * l.out());
  std::vector<float> d(size_t(l.in() * l.out()), 0.0f);
  const auto indptr = l.csr_indptr_host();
  const auto indices = l.csr_indices_host();
  const auto v = host(b, per_entry, l.nnz());
  for (int64_t r = 0; r < l.out(); ++r)
    for (int32_t k = indptr[size_t(r)]; k < indptr[size_t(r + 1)]; ++k) d[size_t(r * l.in() + indices[k])] = v[k];
  return d;
}

struct Outputs {
  std::vector<float> y, dx, dw, db;
};
// zero_grad, forward, backward; outputs on the host (dW as a dense matrix).
Outputs run(SparseLinear& l, const std::vector<float>& x, const std::vector<float>& dy, int64_t B) {
  Backend& b = l.backend();
  Tensor xt(b, B, l.in(), x), dyt(b, B, l.out(), dy), y(b, B, l.out()), dx(b, B, l.in());
  l.zero_grad();
  l.forward(xt.cview(), y.view());
  l.backward(xt.cview(), dyt.cview(), dx.view());
  return {y.to_host(), dx.to_host(), dense_of(l, l.weight().g()),
          l.has_bias() ? host(b, l.bias().g(), l.out()) : std::vector<float>{}};
}

SparseLinear make_layer(Backend& b, const Case& c, const std::vector<float>& w, const std::vector<uint8_t>& mask,
                        const std::vector<float>& bias) {
  SparseLinear l(b, c.in, c.out, 1, true, c.name);
  l.set_handoff({SparseFormat::Dense});
  l.set_weight_dense_host(w, mask);
  l.set_bias_host(bias);
  return l;
}

void expect_equal(const Outputs& a, const Outputs& b) {
  EXPECT_TRUE(all_close(a.y, b.y, 0, 0));
  EXPECT_TRUE(all_close(a.dx, b.dx, 0, 0));
  EXPECT_TRUE(all_close(a.dw, b.dw, 0, 0));
  EXPECT_TRUE(all_close(a.db, b.db, 0, 0));
}

// Integer-valued inputs: the dense path equals the reference exactly, the CSR path after to_csr()
// equals the dense path exactly, and so does a CSR layer after pruning + compaction.
TEST_P(SparseLinearTest, HandOffKeepsResults) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    const auto w = random_ints(size_t(c.in * c.out), 1);
    const auto mask = case_mask(c, 2);
    const auto bias = random_ints(size_t(c.out), 3);
    const auto x = random_ints(size_t(c.batch * c.in), 4);
    const auto dy = random_ints(size_t(c.batch * c.out), 5);
    SparseLinear l = make_layer(be(), c, w, mask, bias);
    const int64_t alive = std::count(mask.begin(), mask.end(), uint8_t(1));
    ASSERT_EQ(l.nnz(), alive);
    ASSERT_EQ(l.alive(), alive);

    const Ref ref = reference(x, w, mask, bias, dy, c.batch, c.in, c.out);
    ASSERT_TRUE(any_nonzero(ref.y));
    const Outputs dense = run(l, x, dy, c.batch);
    EXPECT_TRUE(all_close(dense.y, ref.y, 0, 0));
    EXPECT_TRUE(all_close(dense.dx, ref.dx, 0, 0));
    EXPECT_TRUE(all_close(dense.dw, ref.dw, 0, 0));
    EXPECT_TRUE(all_close(dense.db, ref.db, 0, 0));

    l.to_csr();
    ASSERT_EQ(l.format(), WeightFormat::Csr);
    EXPECT_EQ(l.nnz(), alive);
    EXPECT_EQ(l.alive(), alive);
    EXPECT_EQ(l.mask_dense_host(), mask);
    be().validate_csr(l.csr(), "layer");
    be().validate_csr(l.csr_transposed(), "layer^T");
    expect_equal(run(l, x, dy, c.batch), dense);
    EXPECT_TRUE(be().validate_csr_enabled());  // the layer's CSR ops leave the caller's setting alone

    // Prune a third of the stored entries, compact, compare with the reference on the new mask.
    const int64_t k = alive / 3;
    const PruneTarget t = l.prune_target();
    be().prune_smallest({&t, 1}, k);
    EXPECT_EQ(l.alive(), alive - k);
    l.apply_pruning();
    EXPECT_EQ(l.nnz(), alive - k);
    EXPECT_DOUBLE_EQ(l.density(), double(alive - k) / double(c.in * c.out));
    be().validate_csr(l.csr(), "compacted");
    be().validate_csr(l.csr_transposed(), "compacted^T");
    const auto mask2 = l.mask_dense_host();
    for (size_t i = 0; i < mask.size(); ++i) EXPECT_LE(mask2[i], mask[i]) << "mask not monotone at " << i;
    const Ref ref2 = reference(x, w, mask2, bias, dy, c.batch, c.in, c.out);
    const Outputs pruned = run(l, x, dy, c.batch);
    EXPECT_TRUE(all_close(pruned.y, ref2.y, 0, 0));
    EXPECT_TRUE(all_close(pruned.dx, ref2.dx, 0, 0));
    EXPECT_TRUE(all_close(pruned.dw, ref2.dw, 0, 0));
    EXPECT_TRUE(all_close(pruned.db, ref2.db, 0, 0));
    // The smallest |W| went: every pruned entry is <= every surviving one in magnitude.
    float max_pruned = 0, min_alive = 1e30f;
    for (size_t i = 0; i < mask.size(); ++i) {
      if (mask[i] && !mask2[i]) max_pruned = std::max(max_pruned, std::fabs(w[i]));
      if (mask2[i]) min_alive = std::min(min_alive, std::fabs(w[i]));
    }
    if (k > 0 && alive - k > 0) {
      EXPECT_LE(max_pruned, min_alive);
    }
  }
}

// accumulate_dx adds into dx in both formats.
TEST_P(SparseLinearTest, AccumulateDx) {
  const Case c{"acc", 3, 10, 7, 0.5, false};
  const auto x = random_ints(size_t(c.batch * c.in), 4), dy = random_ints(size_t(c.batch * c.out), 5);
  SparseLinear l = make_layer(be(), c, random_ints(size_t(c.in * c.out), 1), case_mask(c, 2), random_ints(7, 3));
  for (int f = 0; f < 2; ++f) {
    if (f == 1) l.to_csr();
    const Outputs r = run(l, x, dy, c.batch);
    ASSERT_TRUE(any_nonzero(r.dx));
    Tensor xt(be(), c.batch, c.in, x), dyt(be(), c.batch, c.out, dy), dx(be(), c.batch, c.in, r.dx);
    l.backward(xt.cview(), dyt.cview(), dx.view(), true);
    std::vector<float> twice(r.dx);
    for (auto& v : twice) v *= 2;
    EXPECT_TRUE(all_close(dx.to_host(), twice, 0, 0));
    // Grads accumulated too.
    std::vector<float> dw2 = r.dw;
    for (auto& v : dw2) v *= 2;
    EXPECT_TRUE(all_close(dense_of(l, l.weight().g()), dw2, 0, 0));
  }
}

// The optimizer moments built up in dense format arrive in CSR order at the hand-off, and training
// continues as it would have in dense format (integer x and dy make dW identical in both).
TEST_P(SparseLinearTest, HandOffCarriesMoments) {
  const Case c{"moments", 4, 13, 6, 0.5, false};
  const auto w0 = random_floats(size_t(c.in * c.out), 1), b0 = random_floats(6, 3);
  SparseLinear l = make_layer(be(), c, w0, case_mask(c, 2), b0);
  SparseLinear twin = make_layer(be(), c, w0, case_mask(c, 2), b0);
  OptimConfig adam;
  int64_t t = 0;
  auto train = [&](int steps) {
    for (int s = 0; s < steps; ++s) {
      ++t;
      const auto x = random_ints(size_t(c.batch * c.in), 10 + uint64_t(t));
      const auto dy = random_ints(size_t(c.batch * c.out), 20 + uint64_t(t));
      for (SparseLinear* p : {&l, &twin}) {
        run(*p, x, dy, c.batch);
        p->step(adam, 0.01f, t);
      }
    }
  };
  train(2);
  const int64_t n = c.in * c.out;
  const auto w = l.weight_dense_host();
  const auto m = host(be(), l.weight().m(), n), v = host(be(), l.weight().v(), n);
  ASSERT_TRUE(any_nonzero(m));
  l.to_csr();
  EXPECT_EQ(l.weight_dense_host(), w);
  EXPECT_EQ(dense_of(l, l.weight().m()), m);
  EXPECT_EQ(dense_of(l, l.weight().v()), v);
  train(2);
  EXPECT_TRUE(all_close(l.weight_dense_host(), twin.weight_dense_host(), 1e-6, 1e-6));
  EXPECT_TRUE(all_close(dense_of(l, l.weight().m()), host(be(), twin.weight().m(), n), 1e-6, 1e-6));
  EXPECT_TRUE(all_close(dense_of(l, l.weight().v()), host(be(), twin.weight().v(), n), 1e-6, 1e-6));
  EXPECT_TRUE(all_close(l.bias_host(), twin.bias_host(), 1e-6, 1e-6));
  // dx uses W^T's values, gathered from the updated W before every backward.
  const auto x = random_ints(size_t(c.batch * c.in), 90), dy = random_ints(size_t(c.batch * c.out), 91);
  const Outputs a = run(l, x, dy, c.batch), b = run(twin, x, dy, c.batch);
  ASSERT_TRUE(any_nonzero(b.dx));
  EXPECT_TRUE(all_close(a.y, b.y, 1e-5, 1e-5));
  EXPECT_TRUE(all_close(a.dx, b.dx, 1e-5, 1e-5));
}

// Pruning invariants under training, in both formats: exact counts removed, pruned weights and
// their moments stay exactly 0 through optimizer steps, masks are monotone, density is right.
TEST_P(SparseLinearTest, PruningInvariants) {
  for (int f = 0; f < 2; ++f) {
    SCOPED_TRACE(f == 0 ? "dense" : "csr");
    const int64_t B = 5, in = 12, out = 10, n = in * out;
    SparseLinear l(be(), in, out, 9, true, "p");
    l.set_handoff({SparseFormat::Dense});
    if (f == 1) l.to_csr();
    OptimConfig adam;
    std::vector<uint8_t> prev = l.mask_dense_host();
    int64_t t = 0;
    for (int round = 0; round < 3; ++round) {
      for (int s = 0; s < 2; ++s) {
        run(l, random_floats(size_t(B * in), 100 + uint64_t(t)), random_floats(size_t(B * out), 200 + uint64_t(t)),
            B);
        l.step(adam, 0.01f, ++t);
      }
      const int64_t before = l.alive(), k = 17;
      const PruneTarget pt = l.prune_target();
      be().prune_smallest({&pt, 1}, k);
      l.apply_pruning();
      EXPECT_EQ(l.alive(), before - k);
      EXPECT_EQ(l.nnz(), before - k);
      EXPECT_DOUBLE_EQ(l.density(), double(before - k) / double(n));
      const auto mask = l.mask_dense_host();
      EXPECT_EQ(int64_t(std::count(mask.begin(), mask.end(), uint8_t(1))), before - k);
      for (size_t i = 0; i < mask.size(); ++i) EXPECT_LE(mask[i], prev[i]);
      prev = mask;
      for (int s = 0; s < 2; ++s) {
        run(l, random_floats(size_t(B * in), 300 + uint64_t(t)), random_floats(size_t(B * out), 400 + uint64_t(t)),
            B);
        l.step(adam, 0.01f, ++t);
      }
      const auto w = l.weight_dense_host();
      const auto g = dense_of(l, l.weight().g()), m = dense_of(l, l.weight().m()), v = dense_of(l, l.weight().v());
      for (size_t i = 0; i < mask.size(); ++i)
        if (!mask[i]) {
          EXPECT_EQ(w[i], 0.0f);
          EXPECT_EQ(g[i], 0.0f);
          EXPECT_EQ(m[i], 0.0f);
          EXPECT_EQ(v[i], 0.0f);
        }
      if (f == 1) {
        EXPECT_EQ(l.weight().size(), l.nnz());  // compacted: no dead entries stored
        be().validate_csr(l.csr(), "after steps");
      }
    }
  }
}

// Central finite differences (double) of L = 0.5 sum y^2 against backward, both formats.
TEST_P(SparseLinearTest, FiniteDifferences) {
  const Case c{"fd", 3, 6, 5, 0.6, false};
  const auto x = random_floats(size_t(c.batch * c.in), 4);
  SparseLinear l = make_layer(be(), c, random_floats(size_t(c.in * c.out), 1), case_mask(c, 2), random_floats(5, 3));
  auto loss = [&](const std::vector<float>& xv) {
    Tensor xt(be(), c.batch, c.in, xv), y(be(), c.batch, c.out);
    l.forward(xt.cview(), y.view());
    double s = 0;
    for (float v : y.to_host()) s += 0.5 * double(v) * v;
    return s;
  };
  const double h = 1e-2;
  for (int f = 0; f < 2; ++f) {
    SCOPED_TRACE(f == 0 ? "dense" : "csr");
    if (f == 1) l.to_csr();
    Tensor xt(be(), c.batch, c.in, x), y(be(), c.batch, c.out), dx(be(), c.batch, c.in);
    l.zero_grad();
    l.forward(xt.cview(), y.view());
    l.backward(xt.cview(), y.cview(), dx.view());  // dL/dy = y
    const auto dx_h = dx.to_host(), dw_h = dense_of(l, l.weight().g()), db_h = host(be(), l.bias().g(), c.out);
    ASSERT_TRUE(any_nonzero(dw_h));

    std::vector<double> fd_x(x.size()), fd_w(dw_h.size(), 0.0), fd_b(size_t(c.out));
    for (size_t i = 0; i < x.size(); ++i) {
      auto xp = x, xm = x;
      xp[i] += float(h);
      xm[i] -= float(h);
      fd_x[i] = (loss(xp) - loss(xm)) / (2 * h);
    }
    const auto w = l.weight_dense_host();
    const auto mask = l.mask_dense_host();
    for (size_t i = 0; i < w.size(); ++i) {
      if (!mask[i]) continue;
      auto wp = w, wm = w;
      wp[i] += float(h);
      wm[i] -= float(h);
      l.set_weight_values_host(wp);
      const double lp = loss(x);
      l.set_weight_values_host(wm);
      fd_w[i] = (lp - loss(x)) / (2 * h);
    }
    l.set_weight_values_host(w);
    const auto b = l.bias_host();
    for (size_t i = 0; i < b.size(); ++i) {
      auto bp = b, bm = b;
      bp[i] += float(h);
      bm[i] -= float(h);
      l.set_bias_host(bp);
      const double lp = loss(x);
      l.set_bias_host(bm);
      fd_b[i] = (lp - loss(x)) / (2 * h);
    }
    l.set_bias_host(b);
    EXPECT_TRUE(all_close(dx_h, fd_x, 1e-3, 1e-3));
    EXPECT_TRUE(all_close(dw_h, fd_w, 1e-3, 1e-3));
    EXPECT_TRUE(all_close(db_h, fd_b, 1e-3, 1e-3));
  }
}

// Structured removal zeroes a row (with its bias) or a column and keeps it zero through training.
TEST_P(SparseLinearTest, RemoveUnits) {
  for (int f = 0; f < 2; ++f) {
    SCOPED_TRACE(f == 0 ? "dense" : "csr");
    const int64_t B = 4, in = 9, out = 7;
    SparseLinear l(be(), in, out, 5, true, "r");
    l.set_handoff({SparseFormat::Dense});
    if (f == 1) l.to_csr();
    l.remove_output_unit(2);
    l.remove_input_unit(4);
    EXPECT_EQ(l.nnz(), (out - 1) * (in - 1));
    OptimConfig adam;
    for (int t = 1; t <= 2; ++t) {
      run(l, random_floats(size_t(B * in), uint64_t(t)), random_floats(size_t(B * out), 10 + uint64_t(t)), B);
      l.step(adam, 0.01f, t);
    }
    const auto w = l.weight_dense_host();
    const auto mask = l.mask_dense_host();
    for (int64_t j = 0; j < in; ++j) {
      EXPECT_EQ(w[size_t(2 * in + j)], 0.0f);
      EXPECT_EQ(mask[size_t(2 * in + j)], 0);
    }
    for (int64_t i = 0; i < out; ++i) {
      EXPECT_EQ(w[size_t(i * in + 4)], 0.0f);
      EXPECT_EQ(mask[size_t(i * in + 4)], 0);
    }
    EXPECT_EQ(l.bias_host()[2], 0.0f);
    EXPECT_NE(l.bias_host()[3], 0.0f);
  }
}

// A CSR layer never densifies: a mask reaching outside the stored pattern is an error; one inside it
// prunes the rest.
TEST_P(SparseLinearTest, CsrSetWeightsNeverDensifies) {
  const Case c{"csr_set", 2, 8, 6, 0.5, false};
  const auto mask = case_mask(c, 2);
  SparseLinear l = make_layer(be(), c, random_ints(size_t(c.in * c.out), 1), mask, random_ints(6, 3));
  l.to_csr();
  auto w = random_ints(size_t(c.in * c.out), 7);
  EXPECT_THROW(l.set_weight_dense_host(w, std::vector<uint8_t>(mask.size(), 1)), Error);
  auto sub = mask;
  for (size_t i = 0; i < sub.size(); i += 3) sub[i] = 0;
  l.set_weight_dense_host(w, sub);
  EXPECT_EQ(l.mask_dense_host(), sub);
  for (size_t i = 0; i < w.size(); ++i)
    if (!sub[i]) w[i] = 0;
  EXPECT_EQ(l.weight_dense_host(), w);
}

// Checkpoints: save -> file -> load keeps the format, weights, mask and bias (dense and CSR).
TEST_P(SparseLinearTest, CheckpointRoundTrip) {
  const Case c{"ckpt", 2, 11, 7, 0.4, false};
  const auto mask = case_mask(c, 2);
  for (int f = 0; f < 3; ++f) {
    SCOPED_TRACE(f == 0 ? "dense" : f == 1 ? "dense_unpruned" : "csr");
    SparseLinear l = make_layer(be(), c, random_floats(size_t(c.in * c.out), 1),
                                f == 1 ? std::vector<uint8_t>(mask.size(), 1) : mask, random_floats(7, 3));
    if (f == 2) l.to_csr();
    SafetensorsFile file;
    l.save(file, "layers.0.");
    EXPECT_EQ(file.tensors.count("layers.0.weight.mask"), f == 0 ? 1u : 0u);
    const std::string path = ::testing::TempDir() + "/sparse_linear_" + GetParam() + std::to_string(f) + ".safetensors";
    write_safetensors(path, file);
    const SafetensorsFile back = read_safetensors(path);
    std::remove(path.c_str());
    SparseLinear r = SparseLinear::load(be(), back, "layers.0.", "restored");
    EXPECT_EQ(r.format(), l.format());
    EXPECT_EQ(r.nnz(), l.nnz());
    EXPECT_EQ(r.weight_dense_host(), l.weight_dense_host());
    EXPECT_EQ(r.mask_dense_host(), l.mask_dense_host());
    EXPECT_EQ(r.bias_host(), l.bias_host());
    if (f == 2) {
      EXPECT_EQ(r.csr_indptr_host(), l.csr_indptr_host());
      EXPECT_EQ(r.csr_indices_host(), l.csr_indices_host());
    }
  }
  SafetensorsFile empty;
  EXPECT_THROW(SparseLinear::load(be(), empty, "missing.", ""), Error);

  // A corrupt CSR checkpoint (a column index out of range) is rejected when loaded.
  SparseLinear l = make_layer(be(), c, random_floats(size_t(c.in * c.out), 1), mask, random_floats(7, 3));
  l.to_csr();
  SafetensorsFile file;
  l.save(file, "");
  auto idx = st_to_i32(file.tensors["weight.col_indices"], "col_indices");
  ASSERT_FALSE(idx.empty());
  idx.back() = int32_t(c.in);
  file.tensors["weight.col_indices"] = st_from_i32(idx, {int64_t(idx.size())});
  EXPECT_THROW(SparseLinear::load(be(), file, "", "corrupt"), Error);
}

// apply_pruning hands the layer over to CSR once its density falls below the break-even density.
TEST_P(SparseLinearTest, AutomaticHandOff) {
  set_break_even_override(0.5);
  const int64_t B = 3, in = 10, out = 8;
  SparseLinear l(be(), in, out, 3, true, "auto");
  const auto x = random_floats(size_t(B * in), 1), dy = random_floats(size_t(B * out), 2);
  run(l, x, dy, B);  // records the batch size
  PruneTarget t = l.prune_target();
  be().prune_smallest({&t, 1}, 30);  // density 50 / 80 > 0.5: stays dense
  l.apply_pruning();
  EXPECT_EQ(l.format(), WeightFormat::Dense);
  const auto w = l.weight_dense_host();
  t = l.prune_target();
  be().prune_smallest({&t, 1}, 20);  // density 30 / 80 < 0.5: CSR
  l.apply_pruning();
  set_break_even_override(-1);
  EXPECT_EQ(l.format(), WeightFormat::Csr);
  EXPECT_EQ(l.nnz(), 30);
  const auto mask = l.mask_dense_host();
  auto expected = w;
  for (size_t i = 0; i < w.size(); ++i)
    if (!mask[i]) expected[i] = 0;
  EXPECT_EQ(l.weight_dense_host(), expected);
}

// The three policies of HandoffPolicy: a fixed switch density (no batch needed), never, from the start.
TEST_P(SparseLinearTest, HandoffPolicies) {
  const int64_t in = 10, out = 8;
  auto prune_to = [&](SparseLinear& l, int64_t alive) {
    PruneTarget t = l.prune_target();
    be().prune_smallest({&t, 1}, l.nnz() - alive);
    l.apply_pruning();
  };
  SparseLinear fixed(be(), in, out, 3, true, "fixed");
  fixed.set_handoff({SparseFormat::Auto, 0.3});
  prune_to(fixed, 40);  // density 0.5
  EXPECT_EQ(fixed.format(), WeightFormat::Dense);
  prune_to(fixed, 24);  // density 0.3: not below
  EXPECT_EQ(fixed.format(), WeightFormat::Dense);
  prune_to(fixed, 23);
  EXPECT_EQ(fixed.format(), WeightFormat::Csr);
  EXPECT_EQ(fixed.nnz(), 23);

  set_break_even_override(0.9);
  SparseLinear never(be(), in, out, 3, true, "never");
  never.set_handoff({SparseFormat::Dense});
  prune_to(never, 4);
  set_break_even_override(-1);
  EXPECT_EQ(never.format(), WeightFormat::Dense);

  SparseLinear csr(be(), in, out, 3, true, "csr");
  csr.set_handoff({SparseFormat::Csr});
  EXPECT_EQ(csr.format(), WeightFormat::Csr);
  EXPECT_EQ(csr.nnz(), in * out);

  EXPECT_THROW(fixed.set_handoff({SparseFormat::Auto, 1.5}), Error);
  EXPECT_EQ(parse_sparse_format("csr"), SparseFormat::Csr);
  EXPECT_THROW(parse_sparse_format("sparse"), Error);
}

// The break-even table is well formed and its cached density is stable (timings are not asserted).
TEST_P(SparseLinearTest, BreakEvenMeasurement) {
  const BreakEvenTable t = measure_break_even(be(), 8, 64, 32, {0.05, 0.3, 0.1});
  ASSERT_EQ(t.density, (std::vector<double>{0.05, 0.1, 0.3}));
  ASSERT_EQ(t.dense_ms.size(), 3u);
  ASSERT_EQ(t.csr_ms.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_GT(t.dense_ms[i], 0.0);
    EXPECT_GT(t.csr_ms[i], 0.0);
  }
  EXPECT_TRUE(t.break_even == 0.0 || t.break_even == 0.05 || t.break_even == 0.1 || t.break_even == 0.3);
  const double be1 = break_even_density(be(), 8, 64, 32);
  EXPECT_GE(be1, 0.0);
  EXPECT_LE(be1, 0.5);
  EXPECT_EQ(break_even_density(be(), 8, 64, 32), be1);
}

NEUROAI_INSTANTIATE_BACKENDS(SparseLinearTest);

}  // namespace
}  // namespace neuroai
