// __host__ __device__ for per-element arithmetic shared by the CPU and CUDA backends.
#pragma once

#if defined(__CUDACC__)
#define NEUROAI_HD __host__ __device__ inline
#else
#define NEUROAI_HD inline
#endif
