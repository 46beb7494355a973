// truncate_jsonl: what --resume does to a metrics.jsonl cut by a kill, or edited.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "backend_fixture.h"
#include "engine/train_state.h"

namespace neuroai {
namespace {

class TruncateJsonl : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("neuroai_truncate_jsonl_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& text) {
    const std::string p = (dir_ / "metrics.jsonl").string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  static std::string read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static bool keep_to_epoch_2(const nlohmann::json& j) { return j.value("epoch", 0) <= 2; }
  std::filesystem::path dir_;
};

TEST_F(TruncateJsonl, KeepsWholeLinesUpToTheEpochAndDropsTheCutOne) {
  const std::string p = write("{\"epoch\":1}\n{\"epoch\":2}\n{\"epoch\":3}\n{\"epoch\":4,\"lo");
  truncate_jsonl(p, keep_to_epoch_2);
  EXPECT_EQ(read(p), "{\"epoch\":1}\n{\"epoch\":2}\n");
}

// Found by tests/fuzz/fuzz_metrics_resume (corpus/fuzz_metrics_resume/regress-*): a line that parses
// but is no object ("5"), or an epoch of the wrong type, escaped from keep() as a json exception.
TEST_F(TruncateJsonl, ALineThatIsNoMetricsObjectIsRefusedAndNothingIsRewritten) {
  for (const auto& [text, says] : {std::pair<std::string, std::string>{"{\"epoch\":1}\n5\n", "a JSON number"},
                                   {"{\"epoch\":1}\n[1]\n", "a JSON array"},
                                   {"{\"epoch\":\"1\"}\n", "wrong type"}}) {
    const std::string p = write(text);
    const int line = text.find('\n') + 1 < text.size() ? 2 : 1;
    testing::expect_error_naming([&] { truncate_jsonl(p, keep_to_epoch_2); },
                                 {p + ":" + std::to_string(line), says});
    EXPECT_EQ(read(p), text);
  }
}

}  // namespace
}  // namespace neuroai
