#include "engine/run_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <fmt/format.h>

#include "kernels/error.h"

namespace neuroai {
namespace {

// Plain (non-terminal) progress prints when the step crosses the next 1/kPlainReports of the run.
constexpr int64_t kPlainReports = 20;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
constexpr int kBarWidth = 20;

std::string human_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  int64_t s = std::llround(seconds);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

std::string human_rate(double r) {
  if (!std::isfinite(r) || r <= 0) return "--";
  if (r >= 1e6) return fmt::format("{:.2f}M", r / 1e6);
  if (r >= 1e3) return fmt::format("{:.1f}k", r / 1e3);
  return fmt::format("{:.0f}", r);
}

}  // namespace

JsonlWriter::JsonlWriter(const std::string& path, bool append) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
  NEUROAI_CHECK(fd_ >= 0, "{}: cannot open the metrics log for writing ({}); expected a writable path", path,
                std::strerror(errno));
  const off_t end = ::lseek(fd_, 0, SEEK_END);
  size_ = end > 0 ? int64_t(end) : 0;
}

JsonlWriter::~JsonlWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void JsonlWriter::write(const nlohmann::json& j) {
  const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  size_t done = 0;
  int err = 0;
  while (done < line.size()) {
    const ssize_t w = ::write(fd_, line.data() + done, line.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      err = w < 0 ? errno : EIO;
      break;
    }
    done += size_t(w);
  }
  if (err != 0) {
    // A partial line would be read back as a torn one; cut the file back to the last complete line.
    const bool cut = ::ftruncate(fd_, off_t(size_)) == 0;
    NEUROAI_FAIL("{}: writing a metrics line failed ({}); {}", path_, std::strerror(err),
                 cut ? "the lines before it are kept" : "the last line may be incomplete");
  }
  size_ += int64_t(line.size());
}

RunDirLock::RunDirLock(const std::string& dir, bool create) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (create && !fs::is_directory(dir, ec)) {
    fs::create_directories(dir, ec);
    NEUROAI_CHECK(!ec, "{}: cannot create the run folder ({}); expected a path this process can write", dir,
                  ec.message());
  }
  NEUROAI_CHECK(fs::is_directory(dir, ec), "{}: the run folder does not exist; expected a folder written by neuroai",
                dir);
  NEUROAI_CHECK(::access(dir.c_str(), W_OK | X_OK) == 0,
                "{}: the run folder is not writable ({}); expected a folder this process can write, nothing was run",
                dir, std::strerror(errno));
  const std::string path = (fs::path(dir) / ".lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  NEUROAI_CHECK(fd_ >= 0, "{}: the run folder is not writable: cannot open its lock {} ({}); expected a folder this "
                "process can write, nothing was run", dir, path, std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    NEUROAI_CHECK(err != EWOULDBLOCK, "{}: another neuroai process is using this run folder (it holds {}); wait for "
                  "it to end or use another folder", dir, path);
    NEUROAI_FAIL("{}: cannot lock the run folder ({}: {})", dir, path, std::strerror(err));
  }
}

RunDirLock::~RunDirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

Progress::Progress(int64_t total_steps, std::string label, bool quiet)
    : Progress(total_steps, std::move(label), quiet, stderr, ::isatty(::fileno(stderr)) != 0) {}

Progress::Progress(int64_t total_steps, std::string label, bool quiet, std::FILE* out, bool terminal)
    : total_(total_steps), label_(std::move(label)), quiet_(quiet), out_(out), terminal_(terminal),
      start_(Clock::now()) {
  NEUROAI_CHECK(total_steps >= 0, "Progress: total_steps = {}; expected >= 0", total_steps);
  NEUROAI_CHECK(out != nullptr, "Progress: output stream is null");
}

Progress::~Progress() { finish(); }

std::string Progress::status_line(int64_t step, int epoch, double loss, double samples_per_s) const {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const int64_t done = step - first_step_;
  const double eta = (done > 0 && elapsed > 0 && total_ > 0) ? elapsed / double(done) * double(total_ - step) : NAN;
  const double frac = total_ > 0 ? std::clamp(double(step) / double(total_), 0.0, 1.0) : 0.0;
  std::string progress = total_ > 0 ? fmt::format("{}/{}", step, total_) : fmt::format("{}", step);
  if (terminal_) {
    int filled = int(frac * kBarWidth);
    std::string bar = std::string(size_t(filled), '#') + std::string(size_t(kBarWidth - filled), '.');
    return fmt::format("{} | epoch {} | step {} [{}] {:3.0f}% | loss {:.4f} | {} samples/s | ETA {}", label_, epoch,
                       progress, bar, 100 * frac, loss, human_rate(samples_per_s), human_duration(eta));
  }
  return fmt::format("{}: epoch {} step {} ({:.0f}%) loss {:.4f} {} samples/s elapsed {} ETA {}", label_, epoch,
                     progress, 100 * frac, loss, human_rate(samples_per_s), human_duration(elapsed),
                     human_duration(eta));
}

void Progress::update(int64_t step, int epoch, double loss, double samples_per_s) {
  if (quiet_ || finished_) return;
  const auto now = Clock::now();
  if (first_step_ < 0) {
    // The rate behind the ETA starts at the first update, not at construction (which may precede data loading).
    first_step_ = step;
    start_ = now;
  }
  const bool last = total_ > 0 && step >= total_;
  if (terminal_) {
    if (!last && !last_line_.empty() && now - last_draw_ < kRedrawInterval) return;
    last_draw_ = now;
    last_line_ = status_line(step, epoch, loss, samples_per_s);
    std::fprintf(out_, "\r%s\x1b[K", last_line_.c_str());
    std::fflush(out_);
    return;
  }
  const int64_t bucket = total_ > 0 ? step * kPlainReports / total_ : 0;
  if (bucket < next_report_ || (total_ == 0)) return;
  next_report_ = bucket + 1;
  std::fprintf(out_, "%s\n", status_line(step, epoch, loss, samples_per_s).c_str());
  std::fflush(out_);
}

void Progress::message(const std::string& line) {
  if (terminal_ && !last_line_.empty() && !finished_) {
    std::fprintf(out_, "\r\x1b[K%s\n%s", line.c_str(), last_line_.c_str());
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (terminal_ && !last_line_.empty()) {
    std::fprintf(out_, "\n");
    std::fflush(out_);
  }
}

}  // namespace neuroai
