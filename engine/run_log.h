// Run logging: metrics.jsonl (one JSON object per line, flushed so a crash loses nothing written), the
// run folder's lock and the training progress display.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace neuroai {

class JsonlWriter {
public:
  // Truncates PATH unless append; Error names the path when it cannot be opened.
  explicit JsonlWriter(const std::string& path, bool append = false);
  ~JsonlWriter();
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;
  // One line, handed to the kernel in one write (a kill loses at most this line). Invalid UTF-8 in
  // strings is replaced, not fatal; NaN/inf become null. When the write fails (disk full, I/O error)
  // the file is cut back to its previous length, so no half line is left, and Error names the file.
  void write(const nlohmann::json& j);
  const std::string& path() const { return path_; }

private:
  std::string path_;
  int fd_ = -1;
  int64_t size_ = 0;  // bytes in the file after the last complete line
};

// The advisory lock of a run folder: flock(LOCK_EX | LOCK_NB) on RUN_DIR/.lock, held until destruction
// or the end of the process (a kill -9 included), so a second process on the same folder is refused
// instead of writing beside the first. The lock file stays behind: removing it would let two processes
// lock two different files of the same name. With create, a missing folder is made first. Error, before
// anything in the folder changes, naming the folder when it is missing, not writable (read-only mount,
// permissions) or locked by another process.
class RunDirLock {
public:
  RunDirLock(const std::string& dir, bool create);
  ~RunDirLock();
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;

private:
  int fd_ = -1;
};

// On a terminal (isatty(stderr)): one line redrawn with \r: label, epoch, step/total, a bar, loss,
// samples/s, ETA. Otherwise plain lines, at most one per ~5% of the steps. quiet: no progress output
// at all; message() lines still print (they carry results).
class Progress {
public:
  Progress(int64_t total_steps, std::string label, bool quiet = false);
  // For tests and redirection: writes to out, treating it as a terminal when terminal is true.
  Progress(int64_t total_steps, std::string label, bool quiet, std::FILE* out, bool terminal);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // step = number of steps done so far (1..total).
  void update(int64_t step, int epoch, double loss, double samples_per_s);
  // Prints a full line without garbling the bar (the bar is redrawn after it).
  void message(const std::string& line);
  // Ends the bar's line; idempotent (the destructor calls it).
  void finish();

private:
  std::string status_line(int64_t step, int epoch, double loss, double samples_per_s) const;

  using Clock = std::chrono::steady_clock;
  int64_t total_;
  std::string label_;
  bool quiet_;
  std::FILE* out_;
  bool terminal_;
  Clock::time_point start_;
  Clock::time_point last_draw_{};
  int64_t first_step_ = -1;  // step of the first update, for the rate behind the ETA
  int64_t next_report_ = 0;  // plain mode: next step (in units of total/20) that prints
  std::string last_line_;    // terminal mode: the bar as last drawn
  bool finished_ = false;
};

}  // namespace neuroai
