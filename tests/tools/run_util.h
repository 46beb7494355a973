// Helpers of the tests that drive the neuroai program under faults (issue #15): a child run with extra
// environment (the fault shim of tests/tools/fault_shim.cpp preloaded), its exit status or signal and
// output, folder snapshots, metrics without timing, and a tiny IDX data set written by the test.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_util.h"

namespace neuroai::test {

namespace fs = std::filesystem;


inline std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

struct Child {
  int rc = -1;      // exit status, or -1 when a signal ended it
  int signal = 0;   // the signal that ended (or, with stopped, stopped) it
  bool stopped = false;
  pid_t pid = -1;   // a stopped child, to SIGCONT and finish()
  std::string out;  // stdout and stderr
  fs::path out_file;

  // The last non-empty line of the output.
  std::string last_line() const {
    std::string s = out;
    while (!s.empty() && s.back() == '\n') s.pop_back();
    const size_t nl = s.rfind('\n');
    return nl == std::string::npos ? s : s.substr(nl + 1);
  }
};

inline void collect(Child& r, int ws) {
  r.stopped = WIFSTOPPED(ws);
  if (WIFEXITED(ws)) r.rc = WEXITSTATUS(ws);
  if (WIFSIGNALED(ws)) r.signal = WTERMSIG(ws);
  if (r.stopped) r.signal = WSTOPSIG(ws);
  r.out = slurp(r.out_file);
}

// `neuroai ARGS` (words split on blanks) with env added; output to out_file. Returns when it ends, or
// (until_stop) when it stops itself.
inline Child run_neuroai(const std::string& args, const std::vector<std::pair<std::string, std::string>>& env,
                       const fs::path& out_file, bool until_stop = false) {
  std::vector<std::string> argv = split_words(args);
  argv.insert(argv.begin(), kExe);
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  Child r;
  r.out_file = out_file;
  const pid_t pid = fork();
  if (pid < 0) return r;
  if (pid == 0) {
    const int fd = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    execv(kExe.c_str(), cargv.data());
    _exit(127);
  }
  int ws = 0;
  waitpid(pid, &ws, until_stop ? WUNTRACED : 0);
  collect(r, ws);
  if (r.stopped) r.pid = pid;
  return r;
}

// Continues a stopped child and waits for its end.
inline void finish(Child& r) {
  if (r.pid <= 0) return;
  kill(r.pid, SIGCONT);
  int ws = 0;
  waitpid(r.pid, &ws, 0);
  r.pid = -1;
  collect(r, ws);
}

// The shim's environment: mode and operation index under dir (see tests/tools/fault_shim.cpp).
inline std::vector<std::pair<std::string, std::string>> shim_env(const fs::path& dir, const std::string& mode,
                                                                 long at = 0, const fs::path& log = {},
                                                                 const std::string& match = {}) {
  std::vector<std::pair<std::string, std::string>> e = {
      {"LD_PRELOAD", NEUROAI_FAULT_SHIM},
      {"ASAN_OPTIONS", "verify_asan_link_order=0"},  // a sanitizer build tolerates the preload
      {"NEUROAI_FAULT_DIR", dir.string()},
      {"NEUROAI_FAULT_MODE", mode},
      {"NEUROAI_FAULT_AT", std::to_string(at)}};
  if (!log.empty()) e.emplace_back("NEUROAI_FAULT_LOG", log.string());
  if (!match.empty()) e.emplace_back("NEUROAI_FAULT_MATCH", match);
  return e;
}

// One counted operation of a run: index (1-based), kind and path.
struct Op {
  long index = 0;
  std::string kind, path;
};

inline std::vector<Op> read_ops(const fs::path& log) {
  std::vector<Op> ops;
  std::ifstream in(log);
  std::string line;
  std::getline(in, line);  // "count N"
  for (Op op; in >> op.index >> op.kind >> op.path;) ops.push_back(op);
  return ops;
}

// All regular files of a folder (not recursing), name -> bytes.
inline std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) out[e.path().filename().string()] = slurp(e.path());
  return out;
}

// Timings differ between any two runs; everything else must match exactly.
inline std::vector<std::string> comparable_lines(const fs::path& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      out.push_back("TORN: " + line);
      continue;
    }
    for (const char* k : {"samples_per_s", "step_time_ms", "epoch_seconds"}) j.erase(k);
    out.push_back(j.dump());
  }
  return out;
}

// NEUROAI_BINARY_DIR/dir/name, emptied.
inline fs::path scratch(const std::string& dir, const std::string& name) {
  const fs::path d = fs::path(NEUROAI_BINARY_DIR) / dir / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// IDX files (uncompressed) of a tiny image data set: n_train / n_test images of side x side pixels,
// labels 0..classes-1, each class a bright square at its own place plus noise (learnable in an epoch).
inline void write_idx(const fs::path& dir, const std::string& split, int64_t n, int side,
                      const std::vector<uint8_t>& labels, const std::vector<uint8_t>& pixels) {
  auto be32 = [](std::string& s, uint32_t v) {
    for (int i = 3; i >= 0; --i) s.push_back(char((v >> (8 * i)) & 0xff));
  };
  std::string im, lb;
  be32(im, 0x803);
  be32(im, uint32_t(n));
  be32(im, uint32_t(side));
  be32(im, uint32_t(side));
  im.append(reinterpret_cast<const char*>(pixels.data()), pixels.size());
  be32(lb, 0x801);
  be32(lb, uint32_t(labels.size()));
  lb.append(reinterpret_cast<const char*>(labels.data()), labels.size());
  spit(dir / (split + "-images-idx3-ubyte"), im);
  spit(dir / (split + "-labels-idx1-ubyte"), lb);
}

inline void make_tiny_images(const fs::path& dir, int64_t n_train = 256, int64_t n_test = 64, int side = 8,
                             int classes = 4, uint32_t seed = 15) {
  fs::create_directories(dir);
  std::mt19937 rng(seed);
  for (const auto& [split, n] : {std::pair<std::string, int64_t>{"train", n_train}, {"t10k", n_test}}) {
    std::vector<uint8_t> labels(static_cast<size_t>(n)), pixels(static_cast<size_t>(n * side * side));
    for (int64_t i = 0; i < n; ++i) {
      const int c = int(rng() % uint32_t(classes));
      labels[size_t(i)] = uint8_t(c);
      for (int p = 0; p < side * side; ++p) {
        const int r = p / side, col = p % side;
        const bool lit = (r / (side / 2)) * 2 + col / (side / 2) == c % 4;
        pixels[size_t(i * side * side + p)] = uint8_t((lit ? 160 : 0) + rng() % 64);
      }
    }
    write_idx(dir, split, n, side, labels, pixels);
  }
}

}  // namespace neuroai::test
