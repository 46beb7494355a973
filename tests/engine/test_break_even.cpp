// The break-even cache (engine/sparse_linear.h break_even_density): one file per user, keyed by machine
// and shape, shared by every process, and never a reason for a run to fail.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/sparse_linear.h"
#include "kernels/error.h"
#include "kernels/registry.h"

namespace neuroai {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

class BreakEvenCache : public ::testing::Test {
protected:
  void SetUp() override {
    // One folder per test: ctest runs the two side by side.
    dir_ = fs::path(::testing::TempDir()) /
           (std::string("break_even_cache_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    setenv("NEUROAI_CACHE_DIR", dir_.c_str(), 1);
  }
  void TearDown() override { setenv("NEUROAI_CACHE_DIR", "off", 1); }
  fs::path file() const { return dir_ / "break_even.json"; }
  fs::path dir_;
};

TEST_F(BreakEvenCache, AMeasurementIsMergedIntoTheFileAndTheFileIsRead) {
  EXPECT_EQ(break_even_cache_path(), file().string());
  fs::create_directories(dir_);
  std::ofstream(file()) << R"({"another machine | batch=1 in=2 out=3": 0.3})";
  const auto cpu = make_backend("cpu");
  const double be = break_even_density(*cpu, 5, 19, 3);
  // The entry written for this machine and shape, beside the one already there.
  const auto cache = read_json(file());
  ASSERT_EQ(cache.size(), 2u) << cache.dump();
  EXPECT_EQ(cache["another machine | batch=1 in=2 out=3"], 0.3);
  std::string key;
  for (const auto& [k, v] : cache.items())
    if (k.find("batch=5 in=19 out=3") != std::string::npos) key = k;
  ASSERT_FALSE(key.empty()) << cache.dump();
  EXPECT_EQ(cache[key].get<double>(), be);
  EXPECT_NE(key.find(cpu->description()), std::string::npos) << key;

  // Another process on this machine wrote a value for a shape this one has not measured: it is used
  // as it is, not measured again.
  std::string other = key;
  other.replace(other.find("batch=5"), 7, "batch=6");
  auto edited = cache;
  edited[other] = 0.42;
  std::ofstream(file()) << edited.dump();
  EXPECT_EQ(break_even_density(*cpu, 6, 19, 3), 0.42);
  EXPECT_EQ(break_even_used()[other], 0.42);
}

TEST_F(BreakEvenCache, AnUnreadableOrUnwritableCacheIsOnlyACacheMiss) {
  const auto cpu = make_backend("cpu");
  fs::create_directories(dir_);
  std::ofstream(file()) << "{ not json";
  const double be = break_even_density(*cpu, 4, 23, 9);
  EXPECT_GE(be, 0.0);
  EXPECT_LE(be, 0.5);
  const auto cache = read_json(file());  // replaced by a valid file holding the measurement
  ASSERT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.begin().value().get<double>(), be);

  // A cache folder that cannot be created: the density is still measured and returned.
  std::ofstream(dir_ / "blocker") << "a file, not a folder";
  setenv("NEUROAI_CACHE_DIR", (dir_ / "blocker" / "sub").c_str(), 1);
  const double be2 = break_even_density(*cpu, 4, 23, 10);
  EXPECT_GE(be2, 0.0);
  EXPECT_LE(be2, 0.5);

  // Values out of [0, 1] from a seed are refused, naming the entry.
  EXPECT_THROW(seed_break_even({{"k", 1.5}}), Error);
  setenv("NEUROAI_CACHE_DIR", "off", 1);
  EXPECT_EQ(break_even_cache_path(), "");
}

}  // namespace
}  // namespace neuroai
