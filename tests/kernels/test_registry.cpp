// The registry: backend names, reasons, and "no GPU" as zero devices rather than an error.
#include <gtest/gtest.h>

#include "kernels/error.h"
#include "kernels/registry.h"

namespace neuroai {
namespace {

TEST(Registry, ListsCpuCudaAndCudaSim) {
  auto list = available_backends();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].name, "cpu");
  EXPECT_TRUE(list[0].available);
  EXPECT_EQ(list[1].name, "cuda");
  if (!list[1].available) {
    EXPECT_FALSE(list[1].reason.empty()) << "an unavailable backend must say why";
  }
  EXPECT_EQ(list[2].name, "cuda-sim");
  if (!list[2].available) {
    EXPECT_FALSE(list[2].reason.empty());
  }
}

// cuda-sim is the CUDA backend's own source on the simulator: it reports itself as a device
// backend, and auto never picks it.
TEST(Registry, CudaSimMakesWhereBuilt) {
  std::string reason;
  auto b = try_make_backend("cuda-sim", &reason);
  if (!b) GTEST_SKIP() << reason;
  EXPECT_EQ(b->name(), "cuda-sim");
  EXPECT_TRUE(b->is_cuda());
  EXPECT_NE(b->description().find("simulator"), std::string::npos) << b->description();
  EXPECT_EQ(try_make_backend("cuda-sim", &reason, {.device = 1}), nullptr);
  EXPECT_NE(reason.find("one device"), std::string::npos) << reason;
}

TEST(Registry, CpuAlwaysMakes) {
  auto b = make_backend("cpu", {.threads = 1});
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->name(), "cpu");
}

TEST(Registry, AutoFallsBackToCpuWithoutGpu) {
  auto b = make_backend("auto");
  ASSERT_NE(b, nullptr);
  bool cuda = available_backends()[1].available;
  EXPECT_EQ(b->name(), cuda ? "cuda" : "cpu");
}

TEST(Registry, UnknownNameRaisesWithExpectedNames) {
  try {
    make_backend("tpu");
    FAIL() << "expected neuroai::Error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("tpu"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cpu, cuda, cuda-sim or auto"), std::string::npos) << msg;
  }
}

TEST(Registry, CudaWithoutDeviceGivesReasonNotCrash) {
  std::string reason;
  auto b = try_make_backend("cuda", &reason);
  if (b) {
    EXPECT_EQ(b->name(), "cuda");
  } else {
    EXPECT_FALSE(reason.empty());
  }
}

TEST(Registry, BuildInfoNamesBlas) {
  auto info = build_info();
  EXPECT_NE(info.blas.find("OpenBLAS"), std::string::npos);
  EXPECT_FALSE(info.version.empty());
}

}  // namespace
}  // namespace neuroai
