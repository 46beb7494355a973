// Sequence tasks for the recurrent models (issue #4): row-sequential Fashion-MNIST (28 steps of 28
// pixels, classify after the last step), the adding problem (Hochreiter & Schmidhuber 1997) and
// multi-frequency sine prediction. Samples live on the host, sample-major; batches are gathered
// time-major, the layout the recurrent layers consume.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/dataset.h"

namespace neuroai {

enum class SeqTaskKind { SeqFashion, Adding, Sines };
// What the model reads out: class logits after the last step, one value after the last step, or one
// value after every step.
enum class SeqReadout { ClassifyLast, RegressLast, RegressEach };

// Parses "seq-fashion" | "adding" | "sines"; Error lists the choices otherwise.
SeqTaskKind parse_seq_task(const std::string& name);
const char* seq_task_name(SeqTaskKind k);

// n sequences of T steps with `inputs` features each.
struct SeqSet {
  int64_t n = 0;
  std::vector<float> x;      // (n, T, inputs)
  std::vector<int32_t> y;    // (n) class labels (ClassifyLast)
  std::vector<float> target;  // (n, outputs) (RegressLast) or (n, T, outputs) (RegressEach)
};

struct SeqTask {
  SeqTaskKind kind = SeqTaskKind::Adding;
  SeqReadout readout = SeqReadout::RegressLast;
  int64_t steps = 0;    // T
  int64_t inputs = 0;   // features per step
  int64_t outputs = 0;  // classes (ClassifyLast) or values per readout
  SeqSet train, test;
  // The input standardization applied to every value (x - mean) / std; identity for the synthetic
  // tasks. A checkpoint records it so that eval and other frameworks feed the model what it saw.
  bool standardized = false;
  float input_mean = 0.0f;
  float input_std = 1.0f;
  std::string describe() const;  // "adding (T=100, 2 inputs, 1 output, 10000 train / 2000 test)"
};

// Row-sequential Fashion-MNIST from an image data set of 28 x 28 single-channel images (already
// standardized or not): step t reads image row t. Error when the images are not 28 x 28 x 1.
SeqTask make_seq_fashion(const DataSplit& d);
// Adding problem of length T >= 2: each step is (value ~ U[0, 1], marker); exactly one marker in the
// first half and one in the second; target = sum of the two marked values (MSE).
SeqTask make_adding(int64_t steps, int64_t n_train, int64_t n_test, uint64_t seed);
// Sine prediction: x(t) = sum_k a_k sin(2 pi t / P_k + phi_k) / K with periods P_k in {8, 16, 32},
// amplitudes ~ U[0.5, 1] and phases ~ U[0, 2 pi) per sequence; predict x(t + 1) after every step (MSE).
SeqTask make_sines(int64_t steps, int64_t n_train, int64_t n_test, uint64_t seed);

// Gathers the samples idx of s into time-major buffers: x_tm (T * B, inputs) with row t * B + b =
// step t of sample idx[b]; labels (B) or targets (B, outputs) / (T * B, outputs) time-major likewise.
void gather_time_major(const SeqTask& task, const SeqSet& s, std::span<const int64_t> idx, std::vector<float>& x_tm,
                       std::vector<int32_t>& labels, std::vector<float>& targets);

}  // namespace neuroai
