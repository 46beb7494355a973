// `neuroai sweep CONFIG --grid KEY=V1,V2 ... --set KEY=V --dry-run`: the config file, kSplit, then one
// argument per line ("set KEY=V" is a --set, any other line a --grid). Runs the real sweep command up
// to its dry-run listing (no run is started).
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "fuzz_util.h"
#include "kernels/error.h"
#include "tools/commands.h"
#include "tools/config.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The dry run lists its runs on stdout.
  if (!std::freopen("/dev/null", "w", stdout)) return 1;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = neuroai::fuzz::split(data, size, 2);
  const std::string config = neuroai::fuzz::write_file("sweep/config.toml", parts[0]);
  std::vector<std::string> words = {"neuroai", "sweep", config, "--dry-run", "--seeds", "2", "--out",
                                    (neuroai::fuzz::scratch_dir() / "sweep" / "out").string()};
  std::istringstream lines{std::string(parts[1])};
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    if (line.rfind("set ", 0) == 0)
      words.insert(words.end(), {"--set", line.substr(4)});
    else
      words.insert(words.end(), {"--grid", line});
  }
  CLI::App app{"neuroai"};
  const auto commands = neuroai::tools::add_commands(app);
  std::vector<char*> argv;
  for (const auto& w : words) argv.push_back(const_cast<char*>(w.c_str()));
  try {
    neuroai::tools::parse_with_config(app, int(argv.size()), argv.data());
    for (const auto& c : commands)
      if (c.sub->parsed()) (void)c.run();
  } catch (const CLI::ParseError&) {
  } catch (const neuroai::Error&) {
  }
  return 0;
}
