// `neuroai sweep --grid`: grids that cannot be run as given are usage errors before any run folder is
// made (tests/fuzz/fuzz_sweep_grid finds the ones that used to hang or collide).
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "cli_util.h"

namespace {

namespace fs = std::filesystem;

using neuroai::test::Result;
using neuroai::test::sh;

class SweepGrid : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::path(NEUROAI_BINARY_DIR) / "test_sweep_grid_tmp" /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "config.toml") << "command = \"train mlp\"\nepochs = 1\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  // The sweep's dry run with these extra arguments.
  Result sweep(const std::string& args) const {
    return sh(std::string(NEUROAI_BINARY_DIR) + "/neuroai sweep " + (dir_ / "config.toml").string() +
              " --dry-run --out " + (dir_ / "out").string() + " " + args);
  }
  fs::path dir_;
};

// Found by fuzz_sweep_grid (corpus/fuzz_sweep_grid/regress-explode): two axes of 900 values listed
// 1.6 million runs (a hang, then gigabytes of argv).
TEST_F(SweepGrid, MoreRunsThanTheLimitIsAUsageError) {
  std::string many;
  for (int i = 1; i <= 200; ++i) many += (i > 1 ? "," : "") + std::to_string(i);
  const Result r = sweep("--grid epochs=" + many + " --grid batch=" + many);
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("more than 10000 runs"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

// Two equal values, or one key on two axes, would give two runs the same run folder.
TEST_F(SweepGrid, RepeatedValuesAndKeysAreUsageErrors) {
  Result r = sweep("--grid epochs=1,2,1");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("value '1' is listed twice"), std::string::npos) << r.out;
  r = sweep("--grid epochs=1,2 --grid epochs=3");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("'epochs' has an axis already"), std::string::npos) << r.out;
  r = sweep("--grid epochs=1,2 --set seed=0x10");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("seed-16"), std::string::npos) << "a TOML hex seed is 16, not 0: " << r.out;
}

}  // namespace
