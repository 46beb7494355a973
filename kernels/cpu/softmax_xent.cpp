#include <cmath>

#include "kernels/argmax_math.h"
#include "kernels/cpu/cpu_backend.h"

namespace neuroai::cpu {

void CpuBackend::softmax_xent_impl(ConstDenseView logits, const int32_t* labels, float* loss, DenseView dlogits) {
  const int64_t batch = logits.rows, classes = logits.cols;
  const float inv_b = 1.0f / float(batch);
  double total = 0.0;
#pragma omp parallel for reduction(+ : total) if (logits.size() > (1 << 15))
  for (int64_t b = 0; b < batch; ++b) {
    const float* z = logits.data + b * classes;
    float mx = z[0];
    for (int64_t c = 1; c < classes; ++c) mx = std::fmax(mx, z[c]);
    float sum = 0.0f;
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(z[c] - mx);
    const float lse = mx + std::log(sum);
    const int32_t label = labels[b];
    total += double(lse - z[label]);
    if (dlogits.data) {
      float* g = dlogits.data + b * classes;
      const float inv_sum = 1.0f / sum;
      for (int64_t c = 0; c < classes; ++c) g[c] = std::exp(z[c] - mx) * inv_sum * inv_b;
      g[label] -= inv_b;
    }
  }
  loss[0] = float(total / double(batch));
}

void CpuBackend::argmax_rows_impl(ConstDenseView logits, int32_t* out) {
  const int64_t batch = logits.rows, classes = logits.cols;
#pragma omp parallel for if (logits.size() > (1 << 15))
  for (int64_t b = 0; b < batch; ++b) {
    const float* z = logits.data + b * classes;
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (argmax_beats(z[c], c, z[best], best)) best = c;
    out[b] = int32_t(best);
  }
}

}  // namespace neuroai::cpu
