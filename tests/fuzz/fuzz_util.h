// Helpers shared by the fuzz targets: a private scratch folder per process, fuzz bytes written to files
// for readers that take a path, and the split of one input into several files.
//
// What counts as a finding: a reader may refuse its input only with neuroai::Error (or, for the CLI,
// CLI::ParseError); any other exception escapes the target and libFuzzer reports it, as it does for
// every ASan / UBSan report, an allocation over -rss_limit_mb and a run over -timeout.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace neuroai::fuzz {

// A folder under $TMPDIR (default /tmp) that lives as long as the process and is removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/neuroai-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl.data())) std::abort();
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return std::filesystem::path(tmpl);
  }();
  return dir;
}

// Writes the bytes to scratch_dir()/name and returns the path.
inline std::string write_file(const std::string& name, std::string_view bytes) {
  const std::filesystem::path p = scratch_dir() / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  out.close();
  if (!out) std::abort();
  return p.string();
}

// Parts of an input separated by kSplit (in the dictionaries): the first n - 1 separators split, the
// last part keeps the rest; missing parts are empty.
inline constexpr std::string_view kSplit = "@@@@";
inline std::vector<std::string_view> split(const uint8_t* data, size_t size, size_t n) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < n) {
    const size_t at = s.find(kSplit);
    if (at == std::string_view::npos) break;
    parts.push_back(s.substr(0, at));
    s.remove_prefix(at + kSplit.size());
  }
  parts.push_back(s);
  parts.resize(n);
  return parts;
}

// A broken invariant of a reader's result: reported as a crash.
[[noreturn]] inline void invariant_failed(const char* what) {
  std::fprintf(stderr, "fuzz: invariant broken: %s\n", what);
  std::abort();
}
#define NEUROAI_FUZZ_ASSERT(cond) \
  do {                            \
    if (!(cond)) ::neuroai::fuzz::invariant_failed(#cond); \
  } while (0)

}  // namespace neuroai::fuzz
