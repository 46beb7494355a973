// An LD_PRELOAD library for the run-folder fault tests (issue #15, tests/tools/test_run_faults.cpp and
// test_bad_input.cpp). It counts the operations that change files under one folder, and at the Nth one
// SIGKILLs the process (after writing half of a write's bytes, so a torn file is left behind) or fails it
// with an errno, as a full disk or a failing device would. It also makes the folder read-only to a
// process that runs as root (for whom permission bits are no barrier).
//
// Each call below is one operation when its path (or its descriptor's path) lies under
// NEUROAI_FAULT_DIR: write, writev, pwrite, fsync, fdatasync, rename, open / fopen for writing, unlink,
// remove, mkdir. A kill between two of them leaves the folder exactly as a kill anywhere in the
// computation between them would, so killing at each operation covers every state a kill can leave.
//
// Environment:
//   NEUROAI_FAULT_DIR     folder whose files count (required; nothing is intercepted without it)
//   NEUROAI_FAULT_MODE    count | kill | stop | enospc | eio | erofs
//   NEUROAI_FAULT_AT      1-based operation index at which kill / stop / enospc / eio strike
//   NEUROAI_FAULT_MATCH   only operations on paths containing this text count (e.g. "state.safetensors")
//   NEUROAI_FAULT_LOG     file that receives, at exit, the number of operations counted and one line
//                         per operation ("<index> <op> <path>")
// enospc persists: once struck, every later write under the folder fails too (the disk stays full).
// eio fails the one operation. erofs fails every operation under the folder with EROFS. stop SIGSTOPs the
// process before the operation (the lock test holds a run there while a second one is tried).
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>

namespace {

enum class Mode { Off, Count, Kill, Stop, Enospc, Eio, Erofs };

struct Config {
  Mode mode = Mode::Off;
  std::string dir, match, log;
  long at = 0;
};

// Never destroyed: the exit-time log needs it after the library's static destructors have run.
const Config& config() {
  static const Config& c = *[] {
    Config* p = new Config;
    Config& c = *p;
    const char* d = getenv("NEUROAI_FAULT_DIR");
    const char* m = getenv("NEUROAI_FAULT_MODE");
    if (!d || !*d || !m) return p;
    char resolved[PATH_MAX];
    c.dir = realpath(d, resolved) ? resolved : d;
    const std::string mode = m;
    c.mode = mode == "count"    ? Mode::Count
             : mode == "kill"   ? Mode::Kill
             : mode == "stop"   ? Mode::Stop
             : mode == "enospc" ? Mode::Enospc
             : mode == "eio"    ? Mode::Eio
             : mode == "erofs"  ? Mode::Erofs
                                : Mode::Off;
    if (const char* a = getenv("NEUROAI_FAULT_AT")) c.at = atol(a);
    if (const char* x = getenv("NEUROAI_FAULT_MATCH")) c.match = x;
    if (const char* l = getenv("NEUROAI_FAULT_LOG")) c.log = l;
    return p;
  }();
  return c;
}

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

std::mutex g_mu;
long g_count = 0;
bool g_full = false;                       // enospc struck
std::string& g_ops = *new std::string;     // the log, written at exit (never destroyed, as config())

// The absolute form of a path that may not exist yet: its folder resolved, the last component kept.
std::string absolute(const char* path) {
  if (!path) return {};
  std::string p = path;
  if (p.empty()) return p;
  if (p[0] != '/') {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd)) p = std::string(cwd) + "/" + p;
  }
  const size_t slash = p.rfind('/');
  const std::string dir = slash == 0 ? "/" : p.substr(0, slash), base = p.substr(slash + 1);
  char resolved[PATH_MAX];
  if (realpath(dir.c_str(), resolved)) return std::string(resolved) + (std::string(resolved) == "/" ? "" : "/") + base;
  return p;
}

std::string fd_path(int fd) {
  char link[64], target[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return {};
  target[n] = '\0';
  return target;
}

bool under_dir(const std::string& p) {
  const Config& c = config();
  if (c.mode == Mode::Off || p.empty()) return false;
  if (p.compare(0, c.dir.size(), c.dir) != 0) return false;
  if (p.size() > c.dir.size() && p[c.dir.size()] != '/') return false;
  return c.match.empty() || p.find(c.match) != std::string::npos;
}

// What to do with one operation on `path`.
enum class Verdict { Go, Fail, Kill };

Verdict decide(const char* op, const std::string& path, bool is_write, int* err) {
  if (!under_dir(path)) return Verdict::Go;
  const Config& c = config();
  std::lock_guard<std::mutex> lock(g_mu);
  const long i = ++g_count;
  if (!c.log.empty()) g_ops += std::to_string(i) + " " + op + " " + path + "\n";
  switch (c.mode) {
    case Mode::Erofs: *err = EROFS; return Verdict::Fail;
    case Mode::Kill: return i == c.at ? Verdict::Kill : Verdict::Go;
    case Mode::Stop:
      if (i == c.at) raise(SIGSTOP);  // the test inspects the folder, then SIGCONTs; the operation goes on
      return Verdict::Go;
    case Mode::Eio:
      *err = EIO;
      return i == c.at ? Verdict::Fail : Verdict::Go;
    case Mode::Enospc:
      if (i == c.at) g_full = true;
      *err = ENOSPC;
      return g_full && (is_write || i == c.at) ? Verdict::Fail : Verdict::Go;
    default: return Verdict::Go;
  }
}

[[noreturn]] void die() {
  raise(SIGKILL);
  _exit(137);
}

bool opens_for_writing(int flags) { return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)) != 0; }

bool mode_writes(const char* mode) { return mode && (strchr(mode, 'w') || strchr(mode, 'a') || strchr(mode, '+')); }

__attribute__((destructor)) void write_log() {
  const Config& c = config();
  if (c.mode == Mode::Off || c.log.empty()) return;
  static auto real_open = real<int (*)(const char*, int, ...)>("open");
  static auto real_write = real<ssize_t (*)(int, const void*, size_t)>("write");
  const int fd = real_open(c.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const std::string text = "count " + std::to_string(g_count) + "\n" + g_ops;
  (void)!real_write(fd, text.data(), text.size());
  close(fd);
}

}  // namespace

extern "C" {

ssize_t write(int fd, const void* buf, size_t n) {
  static auto f = real<ssize_t (*)(int, const void*, size_t)>("write");
  int err = 0;
  switch (decide("write", fd_path(fd), true, &err)) {
    case Verdict::Fail: errno = err; return -1;
    case Verdict::Kill: f(fd, buf, n / 2); die();
    default: return f(fd, buf, n);
  }
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  static auto f = real<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  int err = 0;
  switch (decide("pwrite", fd_path(fd), true, &err)) {
    case Verdict::Fail: errno = err; return -1;
    case Verdict::Kill: f(fd, buf, n / 2, off); die();
    default: return f(fd, buf, n, off);
  }
}

ssize_t writev(int fd, const struct iovec* iov, int cnt) {
  static auto f = real<ssize_t (*)(int, const struct iovec*, int)>("writev");
  int err = 0;
  switch (decide("writev", fd_path(fd), true, &err)) {
    case Verdict::Fail: errno = err; return -1;
    case Verdict::Kill:
      if (cnt > 0) f(fd, iov, 1);  // the first buffer only: a torn write
      die();
    default: return f(fd, iov, cnt);
  }
}

int fsync(int fd) {
  static auto f = real<int (*)(int)>("fsync");
  int err = 0;
  switch (decide("fsync", fd_path(fd), false, &err)) {
    case Verdict::Fail: errno = err; return -1;
    case Verdict::Kill: die();
    default: return f(fd);
  }
}

int fdatasync(int fd) {
  static auto f = real<int (*)(int)>("fdatasync");
  int err = 0;
  switch (decide("fdatasync", fd_path(fd), false, &err)) {
    case Verdict::Fail: errno = err; return -1;
    case Verdict::Kill: die();
    default: return f(fd);
  }
}

int rename(const char* from, const char* to) {
  static auto f = real<int (*)(const char*, const char*)>("rename");
  int err = 0;
  const std::string t = absolute(to);
  switch (decide("rename", under_dir(t) ? t : absolute(from), false, &err)) {
    case Verdict::Fail: errno = err; return -1;
    case Verdict::Kill: die();
    default: return f(from, to);
  }
}

int renameat(int fromfd, const char* from, int tofd, const char* to) {
  static auto f = real<int (*)(int, const char*, int, const char*)>("renameat");
  int err = 0;
  const std::string t = absolute(to);
  switch (decide("rename", under_dir(t) ? t : absolute(from), false, &err)) {
    case Verdict::Fail: errno = err; return -1;
    case Verdict::Kill: die();
    default: return f(fromfd, from, tofd, to);
  }
}

int open(const char* path, int flags, ...) {
  static auto f = real<int (*)(const char*, int, ...)>("open");
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = mode_t(va_arg(ap, int));
    va_end(ap);
  }
  int err = 0;
  if (opens_for_writing(flags)) {
    switch (decide("open", absolute(path), false, &err)) {
      case Verdict::Fail: errno = err; return -1;
      case Verdict::Kill: die();
      default: break;
    }
  }
  return f(path, flags, mode);
}

int open64(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = mode_t(va_arg(ap, int));
    va_end(ap);
  }
  return open(path, flags, mode);
}

int openat(int dirfd, const char* path, int flags, ...) {
  static auto f = real<int (*)(int, const char*, int, ...)>("openat");
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = mode_t(va_arg(ap, int));
    va_end(ap);
  }
  int err = 0;
  if (opens_for_writing(flags) && (dirfd == AT_FDCWD || path[0] == '/')) {
    switch (decide("open", absolute(path), false, &err)) {
      case Verdict::Fail: errno = err; return -1;
      case Verdict::Kill: die();
      default: break;
    }
  }
  return f(dirfd, path, flags, mode);
}

FILE* fopen(const char* path, const char* mode) {
  static auto f = real<FILE* (*)(const char*, const char*)>("fopen");
  int err = 0;
  if (mode_writes(mode)) {
    switch (decide("open", absolute(path), false, &err)) {
      case Verdict::Fail: errno = err; return nullptr;
      case Verdict::Kill: die();
      default: break;
    }
  }
  return f(path, mode);
}

FILE* fopen64(const char* path, const char* mode) {
  static auto f = real<FILE* (*)(const char*, const char*)>("fopen64");
  int err = 0;
  if (mode_writes(mode)) {
    switch (decide("open", absolute(path), false, &err)) {
      case Verdict::Fail: errno = err; return nullptr;
      case Verdict::Kill: die();
      default: break;
    }
  }
  return f(path, mode);
}

int unlink(const char* path) {
  static auto f = real<int (*)(const char*)>("unlink");
  int err = 0;
  switch (decide("unlink", absolute(path), false, &err)) {
    case Verdict::Fail: errno = err; return -1;
    case Verdict::Kill: die();
    default: return f(path);
  }
}

int remove(const char* path) {
  static auto f = real<int (*)(const char*)>("remove");
  int err = 0;
  switch (decide("remove", absolute(path), false, &err)) {
    case Verdict::Fail: errno = err; return -1;
    case Verdict::Kill: die();
    default: return f(path);
  }
}

// Not an operation (nothing changes), but a read-only file system answers a writability probe too.
int access(const char* path, int how) {
  static auto f = real<int (*)(const char*, int)>("access");
  if (config().mode == Mode::Erofs && (how & W_OK) && under_dir(absolute(path))) {
    errno = EROFS;
    return -1;
  }
  return f(path, how);
}

int mkdir(const char* path, mode_t mode) {
  static auto f = real<int (*)(const char*, mode_t)>("mkdir");
  int err = 0;
  switch (decide("mkdir", absolute(path), false, &err)) {
    case Verdict::Fail: errno = err; return -1;
    case Verdict::Kill: die();
    default: return f(path, mode);
  }
}

}  // extern "C"
