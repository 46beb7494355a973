// exp, tanh and the logistic sigmoid for the per-element headers (rnn_math.h, gnn_math.h,
// activation_math.h). On the GPU they are the CUDA math library's expf / tanhf. On the CPU, glibc's
// scalar expf / tanhf calls keep loops over units from vectorizing (a GRU step spent ~35 ns per unit
// in them), so the host uses Cephes' single-precision polynomials, written without calls or branches:
// relative error of exp within 2 ulp on [-87, 88]; tanh within 3e-7 relative for |x| < 0.625 and
// 2e-7 absolute beyond; sigmoid within 2e-7 absolute. NaN propagates (a diverging run still stops).
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/hd.h"

namespace neuroai::fast {

#if defined(__CUDA_ARCH__)
__device__ inline float exp(float x) { return expf(x); }
__device__ inline float tanh(float x) { return tanhf(x); }
__device__ inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
#else
// e^x for x in [-87, 88] (callers clamp): e^x = 2^n e^r, n = round(x / ln 2), |r| <= ln 2 / 2.
inline float exp_in_range(float x) {
  const float t = x * 1.44269504088896341f;
  const float n = (t + 12582912.0f) - 12582912.0f;  // round to nearest: 1.5 * 2^23 drops the fraction
  float r = x - n * 0.693359375f;                   // ln 2 in two parts (Cody-Waite)
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (int32_t(n) + 127) << 23;  // 2^n, n in [-126, 127]
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// Outside [-87, 88] e^x is not a normal float: x is clamped there (e^-87 ~ 1.6e-38, e^88 ~ 1.7e38).
inline float exp(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  return exp_in_range(x);
}

// GCC computes both arms of each select and blends them; an arm built from a constant near FLT_MIN
// (sigmoid(-88) ~ 6e-39) makes every later multiply by it a denormal microcode assist (~100 cycles
// per vector). sigmoid and tanh therefore stop their arguments where the result is already 0 or 1
// (to within 1e-13 for sigmoid, exactly for tanh) and call the exp without its own clamps.
inline float tanh(float x) {
  const float a = x < 0.0f ? -x : x;
  const float z = x * x;
  float p = -5.70498872745e-3f;  // |x| < 0.625: x + x^3 P(x^2)
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  // Beyond: 1 - 2 / (e^2|x| + 1) with x's sign; from |x| = 10 on that is exactly 1.
  const float big = 1.0f - 2.0f / (exp_in_range(2.0f * (a > 10.0f ? 10.0f : a)) + 1.0f);
  return a < 0.625f ? small : (x < 0.0f ? -big : big);
}

inline float sigmoid(float x) {
  x = x < -30.0f ? -30.0f : x;
  x = x > 30.0f ? 30.0f : x;
  return 1.0f / (1.0f + exp_in_range(-x));
}
#endif

}  // namespace neuroai::fast
