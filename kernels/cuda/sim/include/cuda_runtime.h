// cuda-sim's stand-in for the CUDA runtime header: the .cu files compiled by the host compiler find
// this one first (kernels/cuda/sim/include is on their include path, the CUDA toolkit's is not).
#pragma once

#include "kernels/cuda/sim/device.h"
#include "kernels/cuda/sim/launch.h"
#include "kernels/cuda/sim/runtime.h"

using namespace neuroai::cudasim;  // NOLINT: the runtime's names are global in real CUDA code
