// The one exception type of neuroai and the always-on check macro.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

#ifndef __CUDACC__
#include <fmt/format.h>
#endif

namespace neuroai {

// Every error neuroai raises: bad input at a public boundary, a failed CUDA/cuBLAS/cuSPARSE call,
// a corrupt file. The message names the thing that was wrong and what was expected; where() says
// which source line raised it.
class Error : public std::runtime_error {
public:
  Error(const std::string& msg, const char* file, int line)
      : std::runtime_error(msg), file_(file), line_(line) {}
  const char* file() const { return file_; }
  int line() const { return line_; }
  std::string where() const { return std::string(file_) + ":" + std::to_string(line_); }

private:
  const char* file_;
  int line_;
};

namespace detail {
// Concatenates its arguments with operator<<: the message builder for .cu files, where fmt is
// not included (nvcc's C++20 front end rejects fmt's compile-time format checks).
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream s;
  (s << ... << args);
  return s.str();
}
}  // namespace detail

}  // namespace neuroai

// NEUROAI_FAIL_CAT("piece ", value, " piece"): throws neuroai::Error; usable everywhere, .cu included.
#define NEUROAI_FAIL_CAT(...) throw ::neuroai::Error(::neuroai::detail::cat(__VA_ARGS__), __FILE__, __LINE__)

#ifndef __CUDACC__
// NEUROAI_CHECK(cond, "fmt {}", args...): always on; throws neuroai::Error with the formatted message.
#define NEUROAI_CHECK(cond, ...)                                                      \
  do {                                                                                \
    if (!(cond)) throw ::neuroai::Error(::fmt::format(__VA_ARGS__), __FILE__, __LINE__); \
  } while (0)

#define NEUROAI_FAIL(...) throw ::neuroai::Error(::fmt::format(__VA_ARGS__), __FILE__, __LINE__)
#endif  // __CUDACC__
