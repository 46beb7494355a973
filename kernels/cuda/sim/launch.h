// cuda-sim: running a kernel launch. NEUROAI_LAUNCH (kernels/cuda/launch.cuh) expands to
// launcher(kernel, ...)(args...) here and to kernel<<<...>>>(args...) under nvcc.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "kernels/cuda/sim/device.h"

namespace neuroai::cudasim {

struct LaunchSite {
  const char* kernel;  // the kernel expression as written at the launch
  const char* file;
  int line;
};

// Checks the configuration as sm_90 would (an invalid one sets the last error, as a failed <<<>>>
// launch does, and runs nothing), then runs every block in order, each block's threads as
// cooperative contexts. body(ctx) runs one thread's kernel invocation. Errors in a kernel's use of
// barriers and warp operations throw neuroai::Error.
void run_grid(const LaunchSite& site, dim3 grid, dim3 block, size_t smem, cudaStream_t stream, const void* kernel,
              void (*body)(void*), void* ctx);
// Checks a kernel's pointer argument: null, device memory or pinned host memory.
void check_pointer_argument(const LaunchSite& site, int index, const void* p);

template <class... P>
class Launcher {
 public:
  Launcher(void (*kernel)(P...), LaunchSite site, dim3 grid, dim3 block, size_t smem, cudaStream_t stream)
      : kernel_(kernel), site_(site), grid_(grid), block_(block), smem_(smem), stream_(stream) {}

  // The arguments convert to the kernel's parameter types once, as <<<>>> does; every thread then
  // gets its own copy of each, as every GPU thread has its own parameter registers.
  template <class... A>
  void operator()(A&&... args) {
    static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong number of arguments");
    std::tuple<std::decay_t<P>...> params(std::forward<A>(args)...);
    check_pointers(params, std::index_sequence_for<P...>{});
    struct Ctx {
      void (*k)(P...);
      std::tuple<std::decay_t<P>...>* params;
    } ctx{kernel_, &params};
    run_grid(
        site_, grid_, block_, smem_, stream_, reinterpret_cast<const void*>(kernel_),
        [](void* c) {
          auto* x = static_cast<Ctx*>(c);
          std::tuple<std::decay_t<P>...> mine = *x->params;
          std::apply(x->k, mine);
        },
        &ctx);
  }

 private:
  template <class Tuple, size_t... I>
  void check_pointers(const Tuple& t, std::index_sequence<I...>) {
    (check_one(int(I), std::get<I>(t)), ...);
  }
  template <class T>
  void check_one(int index, const T& v) {
    if constexpr (std::is_pointer_v<T>) check_pointer_argument(site_, index, static_cast<const void*>(v));
  }

  void (*kernel_)(P...);
  LaunchSite site_;
  dim3 grid_, block_;
  size_t smem_;
  cudaStream_t stream_;
};

template <class... P>
Launcher<P...> launcher(void (*kernel)(P...), LaunchSite site, dim3 grid, dim3 block, size_t smem,
                        cudaStream_t stream) {
  return Launcher<P...>(kernel, site, grid, block, smem, stream);
}

}  // namespace neuroai::cudasim
