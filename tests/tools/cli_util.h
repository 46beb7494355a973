// Helpers of the tests that drive the neuroai program: run a shell command and keep its exit status
// and output, read and write files, a scratch folder per test, and whether Debian's Fashion-MNIST
// (the data of the small training runs) is installed.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/dataset.h"

namespace neuroai::test {

namespace fs = std::filesystem;

inline const std::string kExe = std::string(NEUROAI_BINARY_DIR) + "/neuroai";

struct Result {
  int rc = -1;
  std::string out;  // stdout and stderr
};

// Runs cmd with /bin/sh, stderr folded into stdout.
inline Result sh(const std::string& cmd) {
  Result r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int ws = pclose(p);
  r.rc = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
  return r;
}

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary);
  out << s;
}

// BINARY_DIR/<suite>_tmp/<name>, emptied first.
inline fs::path scratch_dir(const std::string& suite, const std::string& name) {
  const fs::path d = fs::path(NEUROAI_BINARY_DIR) / (suite + "_tmp") / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline bool have_data() { return fs::exists(kDefaultFashionMnistDir); }

}  // namespace neuroai::test
