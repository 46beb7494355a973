// Checked public methods of the graph-edge ops (SPEC §8): sizes, null pointers and residency are
// validated here, once; the CSR pattern through check_csr_arg.
#include <initializer_list>
#include <utility>

#include "kernels/backend.h"
#include "kernels/error.h"

namespace neuroai {
namespace {

void check_ptr(const void* p, int64_t n, const char* op, const char* arg) {
  NEUROAI_CHECK(n == 0 || p != nullptr, "{}: '{}' is null but must hold {} elements", op, arg, n);
}

using Arg = std::pair<const void*, const char*>;

}  // namespace

void Backend::hebbian_edge_forward(ConstDenseView x, const int32_t* pair_u, const int32_t* pair_v, int64_t n_pairs,
                                   const float* rule, const float* w, const float* alpha, const float* hb_old,
                                   float* hb_new, float* cos, float* ssum, float* a) {
  const char* op = "hebbian_edge_forward";
  NEUROAI_CHECK(n_pairs >= 0, "{}: n_pairs is {} (expected >= 0)", op, n_pairs);
  NEUROAI_CHECK(x.rows >= 1 && x.cols >= 1 && x.data != nullptr, "{}: the trace x is {}x{} (expected (H, N), H, N >= 1)",
                op, x.rows, x.cols);
  check_ptr(rule, 4, op, "rule");
  for (auto [p, name] : {Arg{pair_u, "pair_u"}, {pair_v, "pair_v"}, {w, "w"}, {alpha, "alpha"}, {hb_old, "hb_old"},
                         {hb_new, "hb_new"}, {cos, "cos"}, {ssum, "ssum"}, {a, "a"}})
    check_ptr(p, n_pairs, op, name);
  NEUROAI_CHECK(hb_new != hb_old || n_pairs == 0, "{}: hb_new must not alias hb_old", op);
  for (auto [p, name] : {Arg{x.data, "x"}, {pair_u, "pair_u"}, {pair_v, "pair_v"}, {rule, "rule"}, {w, "w"},
                         {alpha, "alpha"}, {hb_old, "hb_old"}, {hb_new, "hb_new"}, {cos, "cos"}, {ssum, "ssum"},
                         {a, "a"}})
    check_resident(p, op, name);
  if (n_pairs == 0) return;
  hebbian_edge_forward_impl(x, pair_u, pair_v, n_pairs, rule, w, alpha, hb_old, hb_new, cos, ssum, a);
}

void Backend::hebbian_edge_backward(int64_t n_pairs, const float* ga, const float* a, const float* alpha,
                                    const float* hb_old, const float* hb_new, const float* cos, const float* ssum,
                                    const float* rule, float* gw, float* galpha, float* grule_parts) {
  const char* op = "hebbian_edge_backward";
  NEUROAI_CHECK(n_pairs >= 0, "{}: n_pairs is {} (expected >= 0)", op, n_pairs);
  check_ptr(rule, 4, op, "rule");
  check_ptr(grule_parts, 4 * n_pairs, op, "grule_parts");
  for (auto [p, name] : {Arg{ga, "ga"}, {a, "a"}, {alpha, "alpha"}, {hb_old, "hb_old"}, {hb_new, "hb_new"},
                         {cos, "cos"}, {ssum, "ssum"}, {gw, "gw"}, {galpha, "galpha"}})
    check_ptr(p, n_pairs, op, name);
  for (auto [p, name] : {Arg{ga, "ga"}, {a, "a"}, {alpha, "alpha"}, {hb_old, "hb_old"}, {hb_new, "hb_new"},
                         {cos, "cos"}, {ssum, "ssum"}, {rule, "rule"}, {gw, "gw"}, {galpha, "galpha"},
                         {grule_parts, "grule_parts"}})
    check_resident(p, op, name);
  if (n_pairs == 0) return;
  hebbian_edge_backward_impl(n_pairs, ga, a, alpha, hb_old, hb_new, cos, ssum, rule, gw, galpha, grule_parts);
}

void Backend::gcn_norm_forward(ConstCsrView pattern, const int32_t* entry_pair, const float* a, float* v, float* dinv,
                               float* anorm) {
  const char* op = "gcn_norm_forward";
  check_csr_arg(pattern, op, "pattern");
  NEUROAI_CHECK(pattern.rows == pattern.cols, "{}: the pattern is {}x{} (expected square)", op, pattern.rows,
                pattern.cols);
  for (auto [p, name] : {Arg{entry_pair, "entry_pair"}, {v, "v"}, {anorm, "anorm"}})
    check_ptr(p, pattern.nnz, op, name);
  check_ptr(dinv, pattern.rows, op, "dinv");
  for (auto [p, name] : {Arg{entry_pair, "entry_pair"}, {a, "a"}, {v, "v"}, {dinv, "dinv"}, {anorm, "anorm"}})
    check_resident(p, op, name);
  if (pattern.rows == 0) return;
  gcn_norm_forward_impl(pattern, entry_pair, a, v, dinv, anorm);
}

void Backend::gcn_norm_backward(ConstCsrView pattern, const int32_t* mirror, const int32_t* pair_u,
                                const int32_t* pair_v, const int32_t* pair_e1, const int32_t* pair_e2,
                                int64_t n_pairs, const float* v, const float* dinv, const float* g, float* ga) {
  const char* op = "gcn_norm_backward";
  check_csr_arg(pattern, op, "pattern");
  NEUROAI_CHECK(pattern.rows == pattern.cols, "{}: the pattern is {}x{} (expected square)", op, pattern.rows,
                pattern.cols);
  NEUROAI_CHECK(n_pairs >= 0 && 2 * n_pairs <= pattern.nnz, "{}: n_pairs is {} (expected 0 <= 2 P <= nnz = {})", op,
                n_pairs, pattern.nnz);
  for (auto [p, name] : {Arg{mirror, "mirror"}, {v, "v"}, {g, "g"}}) check_ptr(p, pattern.nnz, op, name);
  for (auto [p, name] : {Arg{pair_u, "pair_u"}, {pair_v, "pair_v"}, {pair_e1, "pair_e1"}, {pair_e2, "pair_e2"},
                         {ga, "ga"}})
    check_ptr(p, n_pairs, op, name);
  check_ptr(dinv, pattern.rows, op, "dinv");
  for (auto [p, name] : {Arg{mirror, "mirror"}, {pair_u, "pair_u"}, {pair_v, "pair_v"}, {pair_e1, "pair_e1"},
                         {pair_e2, "pair_e2"}, {v, "v"}, {dinv, "dinv"}, {g, "g"}, {ga, "ga"}})
    check_resident(p, op, name);
  if (n_pairs == 0) return;
  gcn_norm_backward_impl(pattern, mirror, pair_u, pair_v, pair_e1, pair_e2, n_pairs, v, dinv, g, ga);
}

void Backend::gather_flags(const uint8_t* flags, const int32_t* idx, int64_t n, uint8_t* out) {
  const char* op = "gather_flags";
  NEUROAI_CHECK(n >= 0, "{}: n is {} (expected >= 0)", op, n);
  check_ptr(idx, n, op, "idx");
  check_ptr(out, n, op, "out");
  for (auto [p, name] : {Arg{flags, "flags"}, {idx, "idx"}, {out, "out"}}) check_resident(p, op, name);
  if (n == 0) return;
  gather_flags_impl(flags, idx, n, out);
}

void Backend::remap_indices(const int32_t* idx, int64_t n, const int32_t* pos, int32_t* out) {
  const char* op = "remap_indices";
  NEUROAI_CHECK(n >= 0, "{}: n is {} (expected >= 0)", op, n);
  check_ptr(idx, n, op, "idx");
  check_ptr(out, n, op, "out");
  NEUROAI_CHECK(out != idx || n == 0, "{}: out must not alias idx", op);
  for (auto [p, name] : {Arg{idx, "idx"}, {pos, "pos"}, {out, "out"}}) check_resident(p, op, name);
  if (n == 0) return;
  remap_indices_impl(idx, n, pos, out);
}

}  // namespace neuroai
