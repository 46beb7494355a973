// Shared test scaffolding: a value-parameterized fixture that runs each op suite once per backend,
// RAII buffers on a backend, seeded random inputs and tolerance helpers.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/backend.h"
#include "kernels/error.h"
#include "kernels/registry.h"

namespace neuroai::testing {

inline bool require_cuda() {
  const char* v = std::getenv("NEUROAI_REQUIRE_CUDA");
  return v != nullptr && v[0] == '1';
}

// Makes the backend named by the test parameter; skips (or, with NEUROAI_REQUIRE_CUDA=1, fails)
// when it cannot be made on this machine.
class BackendTest : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    std::string reason;
    backend_ = try_make_backend(GetParam(), &reason);
    if (!backend_) {
      if (GetParam() == "cuda" && require_cuda()) FAIL() << "NEUROAI_REQUIRE_CUDA=1 but cuda is unavailable: " << reason;
      GTEST_SKIP() << GetParam() << " backend unavailable: " << reason;
    }
  }
  Backend& be() { return *backend_; }
  std::unique_ptr<Backend> backend_;
};

// gtest names may not hold '-': the cuda-sim cases are SpmmCsr/cuda_sim.EmptyRows.
inline std::string backend_param_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  for (char& c : n)
    if (c == '-') c = '_';
  return n;
}

#define NEUROAI_INSTANTIATE_BACKENDS(Suite)                                                             \
  INSTANTIATE_TEST_SUITE_P(, Suite, ::testing::Values(std::string("cpu"), std::string("cuda"), std::string("cuda-sim")), \
                           ::neuroai::testing::backend_param_name)

// An owning buffer of T on a backend.
template <class T>
class Buf {
public:
  Buf(Backend& b, size_t n) : b_(&b), n_(n), p_(static_cast<T*>(b.alloc(n * sizeof(T)))) {}
  Buf(Backend& b, const std::vector<T>& host) : Buf(b, host.size()) { b.upload(p_, host.data(), n_ * sizeof(T)); }
  ~Buf() { b_->free(p_); }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  T* get() { return p_; }
  const T* get() const { return p_; }
  size_t size() const { return n_; }
  std::vector<T> host() const {
    std::vector<T> h(n_);
    b_->download(h.data(), p_, n_ * sizeof(T));
    return h;
  }
  void set(const std::vector<T>& h) { b_->upload(p_, h.data(), n_ * sizeof(T)); }
  DenseView view(int64_t rows, int64_t cols) { return {reinterpret_cast<float*>(p_), rows, cols}; }

private:
  Backend* b_;
  size_t n_;
  T* p_;
};

inline std::vector<float> random_floats(size_t n, uint64_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Integer-valued floats in [lo, hi] so GPU and reference can compare exactly (CUTLASS habit).
inline std::vector<float> random_ints(size_t n, uint64_t seed, int lo = -3, int hi = 3) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = float(d(rng));
  return v;
}

inline std::vector<uint8_t> random_mask(size_t n, double density, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution d(density);
  std::vector<uint8_t> v(n);
  for (auto& x : v) x = d(rng) ? 1 : 0;
  return v;
}

// |got - ref| <= atol + rtol * |ref| everywhere; reports the first violation and the max error.
template <class A, class B>
::testing::AssertionResult all_close(const A& got, const B& ref, double atol, double rtol) {
  if (got.size() != ref.size())
    return ::testing::AssertionFailure() << "size " << got.size() << " != " << ref.size();
  double max_err = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double g = double(got[i]), r = double(ref[i]), e = std::fabs(g - r);
    if (!(e <= atol + rtol * std::fabs(r)))
      return ::testing::AssertionFailure() << "element " << i << ": got " << g << ", expected " << r << " (atol "
                                           << atol << ", rtol " << rtol << ")";
    max_err = std::max(max_err, e);
  }
  // Collected by tools/device-check.sh from the XML report into its table: the largest error of
  // all comparisons in the current test (gtest keeps only the last value recorded for a key).
  static const ::testing::TestInfo* last_test = nullptr;
  static double test_max = 0;
  const auto* current = ::testing::UnitTest::GetInstance()->current_test_info();
  if (current != last_test) {
    last_test = current;
    test_max = 0;
  }
  test_max = std::max(test_max, max_err);
  ::testing::Test::RecordProperty("max_error", std::to_string(test_max));
  return ::testing::AssertionSuccess() << "max error " << max_err;
}

// Runs f, expects neuroai::Error, and checks that its message contains every piece (the argument's
// name, the expected value...).
template <class F>
void expect_error_naming(F&& f, const std::vector<std::string>& pieces) {
  try {
    f();
    ADD_FAILURE() << "expected neuroai::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& p : pieces) EXPECT_NE(msg.find(p), std::string::npos) << "message lacks '" << p << "': " << msg;
  }
}

template <class V>
bool any_nonzero(const V& v) {
  for (auto x : v)
    if (x != 0) return true;
  return false;
}

}  // namespace neuroai::testing
