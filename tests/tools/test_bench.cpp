// `neuroai bench`: the JSON document names every prunable layer shape once with its table and the
// engine's hand-off density, and bad options fail with a message naming the option. Tiny shapes: the
// timings themselves are not checked (speed is measured in bench/, never asserted in tests).
#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

// Runs the neuroai program with args; returns (exit status, stdout + stderr).
std::pair<int, std::string> run_neuroai(const std::string& args) {
  const std::string cmd = std::string(NEUROAI_BINARY_DIR) + "/neuroai " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

const char* kCommon = " --batch 4 --threads 1 --backend cpu --densities 1,0.5,0.1 --json";

bool engine_density(double d) {
  for (double e : {0.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05})
    if (d == e) return true;
  return false;
}

TEST(Bench, MlpJsonHasEveryLayerShapeOnce) {
  // 8 -> 16 -> 16 -> 16 -> 4: the two 16 -> 16 layers share one measurement.
  auto [rc, out] = run_neuroai(std::string("bench --model mlp --inputs 8 --hidden 16,16,16 --outputs 4") + kCommon);
  ASSERT_EQ(rc, 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["backend"], "cpu");
  EXPECT_EQ(j["threads"], 1);
  ASSERT_EQ(j["layers"].size(), 3u);
  const int64_t shapes[3][2] = {{8, 16}, {16, 16}, {16, 4}};
  for (size_t i = 0; i < 3; ++i) {
    const auto& l = j["layers"][i];
    EXPECT_EQ(l["in"], shapes[i][0]);
    EXPECT_EQ(l["out"], shapes[i][1]);
    EXPECT_EQ(l["batch"], 4);
    EXPECT_EQ(l["density"], nlohmann::json({0.1, 0.5, 1.0}));  // ascending, as measured
    ASSERT_EQ(l["dense_ms"].size(), 3u);
    ASSERT_EQ(l["csr_ms"].size(), 3u);
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_GT(l["dense_ms"][k].get<double>(), 0.0);
      EXPECT_GT(l["csr_ms"][k].get<double>(), 0.0);
    }
    const double be = l["break_even"];
    EXPECT_TRUE(be == 0.0 || be == 0.1 || be == 0.5 || be == 1.0) << be;
    EXPECT_TRUE(engine_density(l["handoff_density"].get<double>())) << l["handoff_density"];
  }
}

TEST(Bench, GruShapesAreInputAndRecurrentWeights) {
  auto [rc, out] = run_neuroai(std::string("bench --model gru --inputs 3 --hidden 8 --steps 5") + kCommon);
  ASSERT_EQ(rc, 0) << out;
  const auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j["layers"].size(), 2u);
  EXPECT_EQ(j["layers"][0]["name"], "rnn.weight_ih");
  EXPECT_EQ(j["layers"][0]["batch"], 20);  // steps * batch rows at once
  EXPECT_EQ(j["layers"][0]["in"], 3);
  EXPECT_EQ(j["layers"][0]["out"], 24);  // 3 gates x 8
  EXPECT_EQ(j["layers"][1]["name"], "rnn.weight_hh");
  EXPECT_EQ(j["layers"][1]["batch"], 4);
  EXPECT_EQ(j["layers"][1]["in"], 8);
}

TEST(Bench, TableIsPrintedWithoutJson) {
  auto [rc, out] = run_neuroai("bench --inputs 8 --hidden 16 --outputs 4 --batch 4 --threads 1 --backend cpu "
                               "--densities 1,0.1");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("layers.0: 8 -> 16, batch 4"), std::string::npos) << out;
  EXPECT_NE(out.find("engine hand-off"), std::string::npos) << out;
}

TEST(Bench, BadOptionsNameTheOption) {
  auto [rc, out] = run_neuroai("bench --inputs 8 --hidden 16 --outputs 4 --backend cpu --densities 0,0.5");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("--densities"), std::string::npos) << out;
  std::tie(rc, out) = run_neuroai("bench --model gru --hidden 8,8 --backend cpu");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("--model gru takes one --hidden width"), std::string::npos) << out;
  std::tie(rc, out) = run_neuroai("bench --inputs 8 --hidden 0 --outputs 4 --backend cpu");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("--hidden"), std::string::npos) << out;
}

}  // namespace
