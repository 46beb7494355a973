// metrics.jsonl writer and the progress display (terminal and plain modes, written to a temp file).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/run_log.h"
#include "kernels/error.h"

namespace neuroai {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  for (int c; (c = std::fgetc(f)) != EOF;) s.push_back(char(c));
  return s;
}

size_t count(const std::string& s, const std::string& piece) {
  size_t n = 0;
  for (size_t at = s.find(piece); at != std::string::npos; at = s.find(piece, at + 1)) ++n;
  return n;
}

std::string temp_path(const std::string& name) { return (fs::path(::testing::TempDir()) / name).string(); }

TEST(JsonlWriter, OneFlushedLinePerRecord) {
  const std::string path = temp_path("neuroai_metrics_test.jsonl");
  {
    JsonlWriter w(path);
    w.write({{"step", 1}, {"loss", 2.5}});
    // Flushed: visible before the writer closes.
    ASSERT_EQ(lines_of(path).size(), 1u);
    w.write({{"step", 2}, {"loss", NAN}, {"note", "a\nb"}});
  }
  auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 2u);
  auto a = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(a["step"], 1);
  EXPECT_EQ(a["loss"], 2.5);
  auto b = nlohmann::json::parse(lines[1]);
  EXPECT_TRUE(b["loss"].is_null());  // NaN is not JSON
  EXPECT_EQ(b["note"], "a\nb");      // escaped, still one line
  {
    JsonlWriter again(path, true);
    again.write({{"step", 3}});
  }
  EXPECT_EQ(lines_of(path).size(), 3u);
  {
    JsonlWriter fresh(path);
    fresh.write({{"step", 1}});
  }
  EXPECT_EQ(lines_of(path).size(), 1u);
  fs::remove(path);
}

TEST(JsonlWriter, UnwritablePathNamed) {
  try {
    JsonlWriter w("/nonexistent/dir/metrics.jsonl");
    FAIL() << "expected neuroai::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/metrics.jsonl"), std::string::npos);
  }
}

TEST(Progress, PlainModePrintsAboutEveryFivePercent) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p(1000, "mlp", false, f, false);
    for (int64_t s = 1; s <= 1000; ++s) p.update(s, int(s / 500), 0.5, 12345.0);
    p.message("epoch 1: test acc 0.87");
  }
  std::string out = contents(f);
  std::fclose(f);
  EXPECT_EQ(out.find('\r'), std::string::npos) << "no carriage returns when not a terminal";
  size_t progress_lines = count(out, "mlp: epoch");
  EXPECT_GE(progress_lines, 20u);
  EXPECT_LE(progress_lines, 21u);
  EXPECT_NE(out.find("step 1000/1000 (100%)"), std::string::npos);
  EXPECT_NE(out.find("12.3k samples/s"), std::string::npos);
  EXPECT_NE(out.find("loss 0.5000"), std::string::npos);
  EXPECT_NE(out.find("epoch 1: test acc 0.87\n"), std::string::npos);
}

TEST(Progress, TerminalModeRedrawsOneLine) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p(10, "gru", false, f, true);
    p.update(1, 0, 1.25, 100.0);
    p.message("checkpoint saved");
    for (int64_t s = 2; s <= 10; ++s) p.update(s, 0, 1.0, 100.0);
    p.finish();
    p.finish();
  }
  std::string out = contents(f);
  std::fclose(f);
  EXPECT_NE(out.find("\rgru | epoch 0 | step 1/10"), std::string::npos);
  EXPECT_NE(out.find("loss 1.2500"), std::string::npos);
  EXPECT_NE(out.find("\r\x1b[Kcheckpoint saved\n"), std::string::npos) << "the message clears the bar";
  EXPECT_NE(out.find("step 10/10 [####################] 100%"), std::string::npos) << "the last step always draws";
  EXPECT_NE(out.find("ETA"), std::string::npos);
  EXPECT_EQ(out.back(), '\n') << "finish ends the bar's line";
  EXPECT_EQ(count(out, "\n"), 2u);  // the message and finish, nothing else
}

TEST(Progress, QuietPrintsOnlyMessages) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p(10, "q", true, f, true);
    for (int64_t s = 1; s <= 10; ++s) p.update(s, 0, 1.0, 1.0);
    p.message("done");
  }
  EXPECT_EQ(contents(f), "done\n");
  std::fclose(f);
}

}  // namespace
}  // namespace neuroai
