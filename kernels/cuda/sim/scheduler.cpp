// cuda-sim: runs a grid. Blocks run one after another; inside a block every thread is a cooperative
// context (Boost.Context's fcontext, one pooled stack per thread slot). A thread runs until it
// reaches __syncthreads, a warp operation, or its end. When no thread of the block can run, the
// scheduler completes each warp operation whose mask's lanes have all arrived at it, else the
// barrier, if every live thread waits at that same barrier. Anything else would hang or be
// undefined on a GPU, and is reported here as an error naming the kernel, the block, the thread and
// the source line.
#include <sys/mman.h>
#include <unistd.h>

#include <boost/context/detail/fcontext.hpp>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "kernels/cuda/sim/launch.h"
#include "kernels/error.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define NSIM_ASAN 1
#endif

// The linker's bounds of the section that every static __shared__ variable lives in; the anchor
// makes sure the section exists in every program that links the simulator.
extern "C" char __start_nsim_shared[];
extern "C" char __stop_nsim_shared[];
__attribute__((section("nsim_shared"), used)) static char nsim_shared_anchor[16];

namespace neuroai::cudasim {

uint3 threadIdx;
uint3 blockIdx;
dim3 blockDim;
dim3 gridDim;

namespace ctx = boost::context::detail;

namespace {

constexpr unsigned char kSharedPoison = 0xff;  // a float NaN, an int -1: reads before writes show
#if defined(NSIM_ASAN)
constexpr size_t kStackBytes = size_t(512) << 10;
#else
constexpr size_t kStackBytes = size_t(128) << 10;
#endif
constexpr int kMaxThreads = 1024;

enum class State { Ready, Barrier, Warp, Done };

struct Thread {
  ctx::fcontext_t fc = nullptr;
  uint3 tid;
  int rank = 0;
  State st = State::Ready;
  WarpOp op = WarpOp::SyncWarp;
  unsigned mask = 0;
  uint64_t value = 0;
  int arg = 0;
  int width = 32;
  std::source_location loc;
  uint64_t result = 0;
  void* fake_stack = nullptr;  // AddressSanitizer's bookkeeping across switches
};

// Stacks for the thread slots, made once per OS thread and reused by every block: each has a
// PROT_NONE guard page below it, so a stack overflow faults instead of corrupting a neighbour.
struct StackPool {
  std::vector<unsigned char*> bottoms;
  size_t page = size_t(sysconf(_SC_PAGESIZE));
  unsigned char* bottom(int i) {
    while (int(bottoms.size()) <= i) {
      void* p =
          mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED) NEUROAI_FAIL_CAT("cuda-sim: cannot map a ", kStackBytes, "-byte thread stack");
      mprotect(p, page, PROT_NONE);
      bottoms.push_back(static_cast<unsigned char*>(p) + page);
    }
    return bottoms[size_t(i)];
  }
};

struct Run {
  const LaunchSite* site = nullptr;
  dim3 grid, block;
  void (*body)(void*) = nullptr;
  void* body_ctx = nullptr;
  uint3 bid;
  std::vector<Thread> threads;
  ctx::fcontext_t sched = nullptr;
  Thread* current = nullptr;
  std::exception_ptr error;
  std::vector<unsigned char> dynamic_smem;
  const void* sched_stack_bottom = nullptr;  // for AddressSanitizer's fiber switches
  size_t sched_stack_size = 0;
  void* sched_fake_stack = nullptr;
};

thread_local Run* g_run = nullptr;
thread_local StackPool g_stacks;

std::string where(const std::source_location& loc) {
  return std::string(loc.file_name()) + ":" + std::to_string(loc.line());
}

std::string dim(uint3 d) {
  return "(" + std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.z) + ")";
}

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::Shfl:
      return "__shfl_sync";
    case WarpOp::ShflXor:
      return "__shfl_xor_sync";
    case WarpOp::ShflDown:
      return "__shfl_down_sync";
    case WarpOp::ShflUp:
      return "__shfl_up_sync";
    case WarpOp::Ballot:
      return "__ballot_sync";
    case WarpOp::Any:
      return "__any_sync";
    case WarpOp::All:
      return "__all_sync";
    case WarpOp::ReduceAdd:
      return "__reduce_add_sync";
    case WarpOp::SyncWarp:
      return "__syncwarp";
  }
  return "?";
}

std::string hex(unsigned v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

// What thread t is doing, for messages.
std::string doing(const Thread& t) {
  switch (t.st) {
    case State::Done:
      return "has exited";
    case State::Barrier:
      return "waits at __syncthreads at " + where(t.loc);
    case State::Warp:
      return "waits at " + std::string(op_name(t.op)) + " (mask " + hex(t.mask) + ") at " + where(t.loc);
    case State::Ready:
      return "is running";
  }
  return "";
}

[[noreturn]] void report(const Run& r, const Thread& t, const std::string& what) {
  NEUROAI_FAIL_CAT("cuda-sim: kernel ", r.site->kernel, " (launched at ", r.site->file, ":", r.site->line, "), block ",
                   dim(r.bid), ", thread ", dim(t.tid), ": ", what);
}

bool same_place(const std::source_location& a, const std::source_location& b) {
  return a.line() == b.line() && a.column() == b.column() && std::strcmp(a.file_name(), b.file_name()) == 0;
}

void set_builtins(const Run& r, const Thread& t) {
  threadIdx = t.tid;
  blockIdx = r.bid;
  blockDim = r.block;
  gridDim = r.grid;
}

// ---- switching -------------------------------------------------------------------------------

void thread_entry(ctx::transfer_t from) {
  Run* r = g_run;
  r->sched = from.fctx;
  auto* self = static_cast<Thread*>(from.data);
#if defined(NSIM_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, &r->sched_stack_bottom, &r->sched_stack_size);
#endif
  try {
    r->body(r->body_ctx);
  } catch (...) {
    if (!r->error) r->error = std::current_exception();
  }
  self->st = State::Done;
#if defined(NSIM_ASAN)
  __sanitizer_start_switch_fiber(nullptr, r->sched_stack_bottom, r->sched_stack_size);
#endif
  ctx::jump_fcontext(r->sched, nullptr);
  __builtin_unreachable();
}

// From a kernel thread back to the scheduler; returns when the scheduler resumes this thread.
void suspend(Run* r, Thread* self) {
#if defined(NSIM_ASAN)
  __sanitizer_start_switch_fiber(&self->fake_stack, r->sched_stack_bottom, r->sched_stack_size);
#endif
  ctx::transfer_t back = ctx::jump_fcontext(r->sched, self);
#if defined(NSIM_ASAN)
  __sanitizer_finish_switch_fiber(self->fake_stack, nullptr, nullptr);
#endif
  r->sched = back.fctx;
}

// From the scheduler into thread t until it suspends or ends.
void resume(Run* r, Thread* t) {
  set_builtins(*r, *t);
  r->current = t;
  unsigned char* bottom = g_stacks.bottom(t->rank);
  if (t->fc == nullptr) t->fc = ctx::make_fcontext(bottom + kStackBytes, kStackBytes, thread_entry);
#if defined(NSIM_ASAN)
  __sanitizer_start_switch_fiber(&r->sched_fake_stack, bottom, kStackBytes);
#endif
  ctx::transfer_t got = ctx::jump_fcontext(t->fc, t);
#if defined(NSIM_ASAN)
  __sanitizer_finish_switch_fiber(r->sched_fake_stack, nullptr, nullptr);
#endif
  t->fc = got.fctx;
  r->current = nullptr;
}

Run* running(const char* what) {
  Run* r = g_run;
  if (r == nullptr || r->current == nullptr) NEUROAI_FAIL_CAT("cuda-sim: ", what, " called outside a kernel");
  return r;
}

// ---- completing warp operations and barriers -------------------------------------------------

// The lane a shuffle of lane `lane` reads, or -1 when it keeps its own value.
int shuffle_source(const Thread& t, int lane) {
  const int w = t.width;
  const int base = lane & ~(w - 1);
  switch (t.op) {
    case WarpOp::Shfl:
      return base + (t.arg & (w - 1));
    case WarpOp::ShflXor: {
      const int s = lane ^ t.arg;
      return (s & ~(w - 1)) == base ? s : -1;
    }
    case WarpOp::ShflDown: {
      const int s = lane + t.arg;
      return s < base + w ? s : -1;
    }
    case WarpOp::ShflUp: {
      const int s = lane - t.arg;
      return s >= base ? s : -1;
    }
    default:
      return -1;
  }
}

// Completes every warp operation whose participants have all arrived; throws on one that cannot
// complete. Returns whether any completed.
bool complete_warp_ops(Run& r) {
  bool any = false;
  const int n = int(r.threads.size());
  for (int w0 = 0; w0 < n; w0 += 32) {
    for (int lane = 0; lane < 32 && w0 + lane < n; ++lane) {
      Thread& a = r.threads[size_t(w0 + lane)];
      if (a.st != State::Warp) continue;
      const unsigned mask = a.mask;
      if (!((mask >> lane) & 1u))
        report(r, a,
               std::string(op_name(a.op)) + " at " + where(a.loc) + ": its mask " + hex(mask) +
                   " does not name the calling lane " + std::to_string(lane));
      if (a.width < 1 || a.width > 32 || (a.width & (a.width - 1)))
        report(r, a,
               std::string(op_name(a.op)) + " at " + where(a.loc) + ": width " + std::to_string(a.width) +
                   " is not a power of 2 up to 32");
      for (int j = 0; j < 32; ++j) {
        if (!((mask >> j) & 1u)) continue;
        auto head = [&] {
          return std::string(op_name(a.op)) + " at " + where(a.loc) + " with mask " + hex(mask) + " names lane " +
                 std::to_string(j);
        };
        if (w0 + j >= n)
          report(r, a, head() + ", which does not exist (the block has " + std::to_string(n) + " threads)");
        const Thread& b = r.threads[size_t(w0 + j)];
        if (b.st != State::Warp || b.op != a.op || b.mask != a.mask || b.width != a.width || !same_place(a.loc, b.loc))
          report(r, a, head() + ", which " + doing(b));
      }
      // Every participant is here: compute each lane's result.
      uint64_t ballot = 0, sum = 0;
      for (int j = 0; j < 32; ++j) {
        if (!((mask >> j) & 1u)) continue;
        const Thread& b = r.threads[size_t(w0 + j)];
        if (b.value) ballot |= uint64_t(1) << j;
        sum += uint32_t(b.value);
      }
      for (int j = 0; j < 32; ++j) {
        if (!((mask >> j) & 1u)) continue;
        Thread& b = r.threads[size_t(w0 + j)];
        switch (a.op) {
          case WarpOp::Shfl:
          case WarpOp::ShflXor:
          case WarpOp::ShflDown:
          case WarpOp::ShflUp: {
            const int src = shuffle_source(b, j);
            if (src < 0) {
              b.result = b.value;
            } else if (!((mask >> src) & 1u)) {
              report(r, b,
                     std::string(op_name(a.op)) + " at " + where(a.loc) + " reads lane " + std::to_string(src) +
                         ", which its mask " + hex(mask) + " leaves out (an undefined value on the GPU)");
            } else {
              b.result = r.threads[size_t(w0 + src)].value;
            }
            break;
          }
          case WarpOp::Ballot:
            b.result = ballot;
            break;
          case WarpOp::Any:
            b.result = ballot != 0;
            break;
          case WarpOp::All:
            b.result = ballot == mask;
            break;
          case WarpOp::ReduceAdd:
            b.result = uint32_t(sum);
            break;
          case WarpOp::SyncWarp:
            b.result = 0;
            break;
        }
      }
      for (int j = 0; j < 32; ++j)
        if ((mask >> j) & 1u) r.threads[size_t(w0 + j)].st = State::Ready;
      any = true;
    }
  }
  return any;
}

// Releases the block's barrier when every live thread waits at it; throws when they wait at
// different barriers.
bool release_barrier(Run& r) {
  const Thread* first = nullptr;
  for (const Thread& t : r.threads) {
    if (t.st == State::Done) continue;
    if (t.st != State::Barrier) return false;
    if (first == nullptr) {
      first = &t;
    } else if (!same_place(first->loc, t.loc)) {
      report(
          r, *first,
          "__syncthreads at " + where(first->loc) + " is not reached by thread " + dim(t.tid) + ", which " + doing(t));
    }
  }
  if (first == nullptr) return false;
  for (Thread& t : r.threads)
    if (t.st == State::Barrier) t.st = State::Ready;
  return true;
}

void poison_shared(Run& r) {
  std::memset(__start_nsim_shared, kSharedPoison, size_t(__stop_nsim_shared - __start_nsim_shared));
  if (!r.dynamic_smem.empty()) std::memset(r.dynamic_smem.data(), kSharedPoison, r.dynamic_smem.size());
}

void run_block(Run& r) {
  const unsigned bx = r.block.x, by = r.block.y, bz = r.block.z;
  r.threads.assign(size_t(bx) * by * bz, Thread{});
  int rank = 0;
  for (unsigned z = 0; z < bz; ++z)
    for (unsigned y = 0; y < by; ++y)
      for (unsigned x = 0; x < bx; ++x, ++rank) {
        Thread& t = r.threads[size_t(rank)];
        t.tid = {x, y, z};
        t.rank = rank;
      }
  poison_shared(r);
  for (;;) {
    bool live = false;
    for (Thread& t : r.threads) {
      while (t.st == State::Ready) resume(&r, &t);
      if (r.error) std::rethrow_exception(r.error);
      live = live || t.st != State::Done;
    }
    if (!live) return;
    if (complete_warp_ops(r)) continue;
    if (release_barrier(r)) continue;
    for (const Thread& t : r.threads)  // not reached: the two calls above complete or throw
      if (t.st != State::Done) report(r, t, "deadlock: " + doing(t));
  }
}

std::string check_config(dim3 grid, dim3 block, size_t smem, const void* kernel) {
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  if (block.x == 0 || block.y == 0 || block.z == 0) return "a block dimension is 0";
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) return "a grid dimension is 0";
  if (block.x > 1024 || block.y > 1024 || block.z > 64)
    return "block " + dim(block) + " exceeds sm_90's (1024, 1024, 64)";
  if (threads > kMaxThreads) return std::to_string(threads) + " threads a block exceeds sm_90's 1024";
  if (grid.x > 0x7fffffffu) return "grid.x " + std::to_string(grid.x) + " exceeds 2^31 - 1";
  if (grid.y > 65535 || grid.z > 65535) return "grid " + dim(grid) + ": y and z are at most 65535 on sm_90";
  const size_t limit = size_t(max_dynamic_shared(kernel));
  if (smem > limit)
    return std::to_string(smem) + " bytes of dynamic shared memory exceed the kernel's " + std::to_string(limit) +
           (limit == 48 * 1024 ? " (48 KiB without cudaFuncSetAttribute opt-in)" : "");
  return "";
}

}  // namespace

// ---- the device-side entry points ------------------------------------------------------------

uint64_t warp_op(WarpOp op, unsigned mask, uint64_t value, int arg, int width, const std::source_location& loc) {
  Run* r = running(op_name(op));
  Thread* self = r->current;
  self->st = State::Warp;
  self->op = op;
  self->mask = mask;
  self->value = value;
  self->arg = arg;
  self->width = width;
  self->loc = loc;
  suspend(r, self);
  return self->result;
}

void sync_block(const std::source_location& loc) {
  Run* r = running("__syncthreads");
  Thread* self = r->current;
  self->st = State::Barrier;
  self->loc = loc;
  suspend(r, self);
}

unsigned live_lanes() {
  Run* r = running("__activemask");
  const int w0 = r->current->rank / 32 * 32;
  unsigned m = 0;
  for (int j = 0; j < 32 && w0 + j < int(r->threads.size()); ++j)
    if (r->threads[size_t(w0 + j)].st != State::Done) m |= 1u << j;
  return m;
}

void* dynamic_shared() { return running("dynamic shared memory")->dynamic_smem.data(); }

void check_pointer_argument(const LaunchSite& site, int index, const void* p) {
  if (p == nullptr || find_device_allocation(p).base != nullptr || is_pinned_host(p)) return;
  NEUROAI_FAIL_CAT("cuda-sim: kernel ", site.kernel, " (launched at ", site.file, ":", site.line, "): argument ",
                   index + 1, " is a host pointer (", p, "), not device memory; the GPU would fault on it");
}

void run_grid(const LaunchSite& site, dim3 grid, dim3 block, size_t smem, cudaStream_t, const void* kernel,
              void (*body)(void*), void* body_ctx) {
  if (std::string bad = check_config(grid, block, smem, kernel); !bad.empty()) {
    fail(cudaErrorInvalidConfiguration, std::string("kernel ") + site.kernel + " launched at " + site.file + ":" +
                                            std::to_string(site.line) + ": " + bad);
    return;
  }
  if (g_run != nullptr) NEUROAI_FAIL_CAT("cuda-sim: kernel ", site.kernel, " launched from inside a kernel");
  count_launch();
  DeviceScope device;  // kernels read and write device memory
  Run r;
  r.site = &site;
  r.grid = grid;
  r.block = block;
  r.body = body;
  r.body_ctx = body_ctx;
  r.dynamic_smem.resize(smem);
  g_run = &r;
  try {
    for (unsigned z = 0; z < grid.z; ++z)
      for (unsigned y = 0; y < grid.y; ++y)
        for (unsigned x = 0; x < grid.x; ++x) {
          r.bid = {x, y, z};
          run_block(r);
        }
  } catch (...) {
    // The block's other threads stay suspended and are dropped; their stacks are reused clean.
#if defined(NSIM_ASAN)
    for (const Thread& t : r.threads) ASAN_UNPOISON_MEMORY_REGION(g_stacks.bottom(t.rank), kStackBytes);
#endif
    g_run = nullptr;
    throw;
  }
  g_run = nullptr;
}

}  // namespace neuroai::cudasim
