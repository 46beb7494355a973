// TOML configs and --set overrides, through the neuroai program's real command line. Input: one byte
// choosing the subcommand, the config file, kSplit, then one --set KEY=VALUE per line. A config that is
// accepted must resolve to a config.toml (what a run folder keeps) that is valid TOML and is accepted
// again; sweep's check of a config file is run on the same file.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include "fuzz_util.h"
#include "kernels/error.h"
#include "tools/commands.h"
#include "tools/config.h"

namespace {

const std::vector<std::vector<std::string>> kCommands = {{"train", "mlp"}, {"train", "gru"}, {"train", "rnn"},
                                                         {"train", "gnn"}, {"eval"},         {"bench"}};

// Parses argv with the config machinery; the resolved config of the selected command, or "" when the
// command line was refused.
std::string parse(const std::vector<std::string>& words) {
  CLI::App app{"neuroai"};
  const auto commands = neuroai::tools::add_commands(app);
  std::vector<char*> argv;
  for (const auto& w : words) argv.push_back(const_cast<char*>(w.c_str()));
  try {
    neuroai::tools::parse_with_config(app, int(argv.size()), argv.data());
  } catch (const CLI::ParseError&) {
    return "";
  }
  CLI::App* leaf = neuroai::tools::selected_leaf(app);
  NEUROAI_FUZZ_ASSERT(leaf != nullptr);
  return neuroai::tools::resolved_config_toml(leaf);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto& cmd = kCommands[data[0] % kCommands.size()];
  const auto parts = neuroai::fuzz::split(data + 1, size - 1, 2);
  const std::string path = neuroai::fuzz::write_file("config.toml", parts[0]);
  std::vector<std::string> words = {"neuroai"};
  words.insert(words.end(), cmd.begin(), cmd.end());
  words.insert(words.end(), {"--config", path});
  std::istringstream sets{std::string(parts[1])};
  for (std::string line; std::getline(sets, line);)
    if (!line.empty()) words.insert(words.end(), {"--set", line});

  {
    CLI::App app{"neuroai"};
    const auto commands = neuroai::tools::add_commands(app);
    try {
      (void)neuroai::tools::check_config_file(app, path);
    } catch (const CLI::ParseError&) {
    } catch (const neuroai::Error&) {
    }
  }
  const std::string resolved = parse(words);
  if (resolved.empty()) return 0;
  try {
    (void)toml::parse(resolved);
  } catch (const toml::parse_error& e) {
    std::fprintf(stderr, "resolved config is not TOML: %s\n%s\n", std::string(e.description()).c_str(),
                 resolved.c_str());
    NEUROAI_FUZZ_ASSERT(!"the resolved config.toml parses as TOML");
  }
  const std::string again = neuroai::fuzz::write_file("resolved.toml", resolved);
  std::vector<std::string> words2 = {"neuroai"};
  words2.insert(words2.end(), cmd.begin(), cmd.end());
  words2.insert(words2.end(), {"--config", again});
  const std::string resolved2 = parse(words2);
  if (resolved2 != resolved) {
    std::fprintf(stderr, "first:\n%s\nsecond:\n%s\n", resolved.c_str(), resolved2.c_str());
    NEUROAI_FUZZ_ASSERT(!"a resolved config.toml resolves to itself");
  }
  return 0;
}
