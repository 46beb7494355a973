// validate_csr and the CSR checks of the checked ops: each kind of broken CSR raises
// neuroai::Error whose message names the argument and the violation.
#include <gtest/gtest.h>

#include "backend_fixture.h"
#include "csr_test_util.h"
#include "kernels/error.h"

namespace neuroai::testing {
namespace {

class CsrValidate : public BackendTest {};

// 3x4: row 0 = {0, 2}, row 1 = {}, row 2 = {1, 3}.
HostCsr good() { return {3, 4, {0, 2, 2, 4}, {0, 2, 1, 3}, {1, 2, 3, 4}}; }

struct BadCase {
  std::string name;  // what is broken
  HostCsr a;
  std::string expect;  // a piece of the message
};

std::vector<BadCase> bad_cases() {
  std::vector<BadCase> v;
  HostCsr a = good();
  a.indptr[0] = 1;
  v.push_back({"indptr_start", a, "indptr[0] = 1, expected 0"});
  a = good();
  a.indptr = {0, 2, 1, 4};
  v.push_back({"indptr_decreasing", a, "indptr is not monotone: indptr[2] = 1 < indptr[1] = 2"});
  a = good();
  a.indptr = {0, 2, 2, 3};
  v.push_back({"indptr_end", a, "indptr[3] = 3, expected nnz = 4"});
  a = good();
  a.indices[3] = 4;
  v.push_back({"index_too_large", a, "column index 4 of entry 3 is out of range [0, 4)"});
  a = good();
  a.indices[0] = -1;
  v.push_back({"index_negative", a, "column index -1 of entry 0 is out of range [0, 4)"});
  a = good();
  a.indices[3] = 1;
  v.push_back({"index_repeated", a, "not strictly increasing within a row: entry 3 has 1 after 1"});
  a = good();
  a.indices = {2, 0, 1, 3};
  v.push_back({"index_decreasing", a, "not strictly increasing within a row: entry 1 has 0 after 2"});
  return v;
}

TEST_P(CsrValidate, GoodMatrixPasses) {
  DevCsr d(be(), good());
  EXPECT_NO_THROW(be().validate_csr(d.view(), "w"));
  HostCsr empty = random_csr(5, 6, 0.0, 1);
  DevCsr de(be(), empty);
  EXPECT_NO_THROW(be().validate_csr(de.view(), "empty"));
  HostCsr none = random_csr(0, 6, 0.5, 2);
  DevCsr dn(be(), none);
  EXPECT_NO_THROW(be().validate_csr(dn.view(), "no rows"));
}

TEST_P(CsrValidate, EachViolationIsNamed) {
  for (const auto& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    DevCsr d(be(), c.a);
    try {
      be().validate_csr(d.view(), "layer1.w");
      ADD_FAILURE() << "expected neuroai::Error";
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("'layer1.w'"), std::string::npos) << msg;
      EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
    }
  }
}

// The first violation is reported: a broken indptr wins over bad indices, earlier entries win.
TEST_P(CsrValidate, FirstViolationWins) {
  HostCsr a = good();
  a.indptr[3] = 3;
  a.indices[0] = 9;
  DevCsr d(be(), a);
  try {
    be().validate_csr(d.view(), "w");
    FAIL() << "expected neuroai::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("indptr[3] = 3"), std::string::npos) << e.what();
  }
  a = good();
  a.indices = {0, 2, 5, 9};  // entries 2 and 3 are both out of range
  DevCsr d2(be(), a);
  try {
    be().validate_csr(d2.view(), "w");
    FAIL() << "expected neuroai::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("column index 5 of entry 2"), std::string::npos) << e.what();
  }
}

// The checked ops validate their CSR arguments (named as the argument) while validation is on.
TEST_P(CsrValidate, CheckedOpsNameTheArgument) {
  for (const auto& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    DevCsr d(be(), c.a);
    Buf<float> x(be(), 2 * 4), y(be(), 2 * 3), out(be(), 4), dense(be(), 12);
    Buf<int32_t> perm(be(), 4);
    DevCsr t(be(), 4, 3, 4);
    auto expect_named = [&](auto&& call, const char* arg) {
      try {
        call();
        ADD_FAILURE() << "expected neuroai::Error for " << arg;
      } catch (const Error& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find(std::string("'") + arg + "'"), std::string::npos) << msg;
        EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
      }
    };
    expect_named([&] { be().spmm_csr(d.view(), x.view(2, 4), nullptr, y.view(2, 3), false); }, "a");
    expect_named([&] { be().sddmm_csr(d.view(), y.view(2, 3), x.view(2, 4), out.get(), false); }, "pattern");
    expect_named([&] { be().csr_to_dense(d.view(), dense.view(3, 4)); }, "a");
    expect_named([&] { be().csr_transpose(d.view(), t.view(), perm.get()); }, "a");
  }
}

// With validation off, a structurally wrong but in-bounds pattern is not checked (the engine's
// choice for patterns it built itself).
TEST_P(CsrValidate, ValidationCanBeTurnedOff) {
  HostCsr a = good();
  a.indices = {2, 0, 1, 3};
  DevCsr d(be(), a);
  Buf<float> x(be(), random_ints(2 * 4, 3)), y(be(), 2 * 3);
  be().set_validate_csr(false);
  EXPECT_NO_THROW(be().spmm_csr(d.view(), x.view(2, 4), nullptr, y.view(2, 3), false));
  be().set_validate_csr(true);
  EXPECT_THROW(be().spmm_csr(d.view(), x.view(2, 4), nullptr, y.view(2, 3), false), Error);
}

TEST_P(CsrValidate, ShapeProblemsAreNamed) {
  DevCsr d(be(), good());
  CsrView v = d.view();
  v.nnz = 13;
  EXPECT_THROW(be().validate_csr(v, "w"), Error);  // indptr[3] != 13
  try {
    be().spmm_csr(v, ConstDenseView(nullptr, 0, 4), nullptr, DenseView{nullptr, 0, 3}, false);
    FAIL() << "expected neuroai::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nnz 13 > rows*cols"), std::string::npos) << e.what();
  }
}

NEUROAI_INSTANTIATE_BACKENDS(CsrValidate);

}  // namespace
}  // namespace neuroai::testing
