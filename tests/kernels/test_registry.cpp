// The registry: backend names, reasons, and "no GPU" as zero devices rather than an error.
#include <gtest/gtest.h>

#include "kernels/error.h"
#include "kernels/registry.h"

namespace neuroai {
namespace {

TEST(Registry, ListsCpuAndCuda) {
  auto list = available_backends();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "cpu");
  EXPECT_TRUE(list[0].available);
  EXPECT_EQ(list[1].name, "cuda");
  if (!list[1].available) {
    EXPECT_FALSE(list[1].reason.empty()) << "an unavailable backend must say why";
  }
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
    EXPECT_NE(msg.find("cpu, cuda or auto"), std::string::npos) << msg;
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
