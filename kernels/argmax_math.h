// The one argmax rule of both backends, PyTorch's: NaN ranks above every number (a row holding a
// NaN points at its first NaN), and ties go to the lowest index.
#pragma once

#include <cstdint>

#include "kernels/hd.h"

namespace neuroai {

// True when value a at index ia wins over value b at index ib.
NEUROAI_HD bool argmax_beats(float a, int64_t ia, float b, int64_t ib) {
  const bool a_nan = a != a, b_nan = b != b;
  if (a_nan || b_nan) return a_nan && (!b_nan || ia < ib);
  return a > b || (a == b && ia < ib);
}

}  // namespace neuroai
