// Resuming a run whose metrics.jsonl was cut anywhere (a kill mid-line) or edited: truncate_jsonl with
// the trainers' predicate (keep the epochs up to the state's), and the last line `done` and --json
// report. What is kept must be whole lines of the input, in order, each one JSON object.
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "kernels/error.h"
#include "engine/train_state.h"
#include "tools/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string path = neuroai::fuzz::write_file("run/metrics.jsonl", input);
  (void)neuroai::tools::last_metrics_line((neuroai::fuzz::scratch_dir() / "run").string());
  const int start_epoch = 3;
  try {
    neuroai::truncate_jsonl(path, [&](const nlohmann::json& j) { return j.value("epoch", 0) <= start_epoch; });
  } catch (const neuroai::Error&) {
    return 0;
  }
  std::ifstream in(path);
  std::stringstream kept;
  kept << in.rdbuf();
  std::istringstream lines(kept.str());
  size_t from = 0;
  for (std::string line; std::getline(lines, line);) {
    NEUROAI_FUZZ_ASSERT(nlohmann::json::parse(line, nullptr, false).is_object());
    const size_t at = input.find(line, from);
    NEUROAI_FUZZ_ASSERT(at != std::string::npos);
    from = at + line.size();
  }
  return 0;
}
