// Host-side CSR helpers for the CSR kernel tests: random patterns built with plain loops, device
// copies, and double-precision references written independently of the backends.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "backend_fixture.h"
#include "engine/csr_matrix.h"

namespace neuroai::testing {

using neuroai::HostCsr;

// A named shape for the case lists; every `empty_every`-th row (when > 0) has no entries.
struct CsrCase {
  std::string name;
  int32_t rows;
  int32_t cols;
  int64_t batch;
  double density;
  int empty_every = 0;
};

inline std::vector<CsrCase> csr_cases() {
  return {
      {"one_by_one", 1, 1, 1, 1.0},                  // smallest non-empty problem
      {"not_tile_multiple", 37, 53, 29, 0.3},        // no dimension a multiple of 8 or 16
      {"empty_rows", 20, 30, 17, 0.5, 3},            // rows without entries between full ones
      {"nnz_zero", 8, 9, 5, 0.0},                    // nothing stored at all
      {"density_one", 16, 24, 33, 1.0},              // every entry stored
      {"wide_batch", 9, 70, 150, 0.4},               // batch beyond one 128-wide register block
  };
}

// Integer-valued entries in [-3, 3] \ {0} so sums are exact in float.
inline HostCsr random_csr(int32_t rows, int32_t cols, double density, uint64_t seed, int empty_every = 0) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution keep(density);
  std::uniform_int_distribution<int> mag(1, 3), sign(0, 1);
  HostCsr a;
  a.rows = rows;
  a.cols = cols;
  for (int32_t r = 0; r < rows; ++r) {
    bool empty = empty_every > 0 && r % empty_every == 0;
    for (int32_t c = 0; c < cols; ++c) {
      if (!keep(rng) || empty) continue;
      a.indices.push_back(c);
      a.values.push_back(float(mag(rng) * (sign(rng) ? 1 : -1)));
    }
    a.indptr.push_back(int32_t(a.indices.size()));
  }
  return a;
}

inline std::vector<double> dense_of(const HostCsr& a) {
  std::vector<double> d(size_t(a.rows) * a.cols, 0.0);
  for (int32_t r = 0; r < a.rows; ++r)
    for (int32_t k = a.indptr[r]; k < a.indptr[r + 1]; ++k) d[size_t(r) * a.cols + a.indices[k]] = a.values[k];
  return d;
}

// The CSR arrays of a HostCsr on a backend, as they are: unlike the engine's CsrMatrix, not
// validated, so that the tests can hand the ops broken matrices.
struct DevCsr {
  Buf<int32_t> indptr;
  Buf<int32_t> indices;
  Buf<float> values;
  int32_t rows;
  int32_t cols;
  int64_t nnz;
  DevCsr(Backend& b, const HostCsr& a)
      : indptr(b, a.indptr), indices(b, a.indices), values(b, a.values), rows(a.rows), cols(a.cols), nnz(a.nnz()) {}
  // An uninitialized rows x cols matrix with nnz entries.
  DevCsr(Backend& b, int32_t r, int32_t c, int64_t n)
      : indptr(b, size_t(r) + 1), indices(b, size_t(n)), values(b, size_t(n)), rows(r), cols(c), nnz(n) {}
  CsrView view() { return {indptr.get(), indices.get(), values.get(), rows, cols, nnz}; }
};

}  // namespace neuroai::testing
