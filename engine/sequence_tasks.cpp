#include "engine/sequence_tasks.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <fmt/format.h>

#include "kernels/error.h"

namespace neuroai {

SeqTaskKind parse_seq_task(const std::string& name) {
  if (name == "seq-fashion") return SeqTaskKind::SeqFashion;
  if (name == "adding") return SeqTaskKind::Adding;
  if (name == "sines") return SeqTaskKind::Sines;
  NEUROAI_FAIL("unknown sequence task '{}' (expected seq-fashion, adding or sines)", name);
}

const char* seq_task_name(SeqTaskKind k) {
  switch (k) {
    case SeqTaskKind::SeqFashion: return "seq-fashion";
    case SeqTaskKind::Adding: return "adding";
    case SeqTaskKind::Sines: return "sines";
  }
  return "?";
}

std::string SeqTask::describe() const {
  return fmt::format("{} (T={}, {} inputs, {} {}, {} train / {} test)", seq_task_name(kind), steps, inputs, outputs,
                     readout == SeqReadout::ClassifyLast ? "classes" : "outputs", train.n, test.n);
}

namespace {

SeqSet rows_as_steps(const Dataset& d) {
  SeqSet s;
  s.n = d.n;
  s.x = d.x;  // (n, 784) = (n, 28 steps, 28 pixels) row-major already
  s.y = d.y;
  return s;
}

}  // namespace

SeqTask make_seq_fashion(const DataSplit& d) {
  for (const Dataset* s : {&d.train, &d.test})
    NEUROAI_CHECK(s->height == 28 && s->width == 28 && s->channels == 1 && s->dim == 784,
                  "seq-fashion: expected 28x28x1 images (784 features), the data set '{}' has {}x{}x{} ({} features)",
                  d.name, s->height, s->width, s->channels, s->dim);
  SeqTask t;
  t.kind = SeqTaskKind::SeqFashion;
  t.readout = SeqReadout::ClassifyLast;
  t.steps = 28;
  t.inputs = 28;
  t.outputs = std::max(d.train.classes, d.test.classes);
  t.train = rows_as_steps(d.train);
  t.test = rows_as_steps(d.test);
  return t;
}

namespace {

SeqSet adding_set(int64_t T, int64_t n, std::mt19937_64& rng) {
  SeqSet s;
  s.n = n;
  s.x.assign(size_t(n * T * 2), 0.0f);
  s.target.resize(size_t(n));
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  const int64_t half = T / 2;
  for (int64_t i = 0; i < n; ++i) {
    float* x = &s.x[size_t(i * T * 2)];
    for (int64_t t = 0; t < T; ++t) x[2 * t] = u(rng);
    int64_t a = std::uniform_int_distribution<int64_t>(0, half - 1)(rng);
    int64_t b = std::uniform_int_distribution<int64_t>(half, T - 1)(rng);
    x[2 * a + 1] = 1.0f;
    x[2 * b + 1] = 1.0f;
    s.target[size_t(i)] = x[2 * a] + x[2 * b];
  }
  return s;
}

constexpr double kSinePeriods[] = {8.0, 16.0, 32.0};

SeqSet sines_set(int64_t T, int64_t n, std::mt19937_64& rng) {
  SeqSet s;
  s.n = n;
  s.x.resize(size_t(n * T));
  s.target.resize(size_t(n * T));
  std::uniform_real_distribution<double> amp(0.5, 1.0), phase(0.0, 2.0 * M_PI);
  constexpr int K = 3;
  for (int64_t i = 0; i < n; ++i) {
    double a[K], p[K];
    for (int k = 0; k < K; ++k) {
      a[k] = amp(rng);
      p[k] = phase(rng);
    }
    auto value = [&](int64_t t) {
      double v = 0;
      for (int k = 0; k < K; ++k) v += a[k] * std::sin(2.0 * M_PI * double(t) / kSinePeriods[k] + p[k]);
      return float(v / K);
    };
    for (int64_t t = 0; t < T; ++t) {
      s.x[size_t(i * T + t)] = value(t);
      s.target[size_t(i * T + t)] = value(t + 1);
    }
  }
  return s;
}

void check_sizes(const char* task, int64_t steps, int64_t min_steps, int64_t n_train, int64_t n_test) {
  NEUROAI_CHECK(steps >= min_steps, "{}: sequence length {} is too short (expected >= {})", task, steps, min_steps);
  NEUROAI_CHECK(n_train >= 1 && n_test >= 1, "{}: need at least one train and one test sequence, got {} / {}", task,
                n_train, n_test);
}

}  // namespace

SeqTask make_adding(int64_t steps, int64_t n_train, int64_t n_test, uint64_t seed) {
  check_sizes("adding", steps, 2, n_train, n_test);
  SeqTask t;
  t.kind = SeqTaskKind::Adding;
  t.readout = SeqReadout::RegressLast;
  t.steps = steps;
  t.inputs = 2;
  t.outputs = 1;
  std::mt19937_64 rng(seed);
  t.train = adding_set(steps, n_train, rng);
  t.test = adding_set(steps, n_test, rng);
  return t;
}

SeqTask make_sines(int64_t steps, int64_t n_train, int64_t n_test, uint64_t seed) {
  check_sizes("sines", steps, 1, n_train, n_test);
  SeqTask t;
  t.kind = SeqTaskKind::Sines;
  t.readout = SeqReadout::RegressEach;
  t.steps = steps;
  t.inputs = 1;
  t.outputs = 1;
  std::mt19937_64 rng(seed);
  t.train = sines_set(steps, n_train, rng);
  t.test = sines_set(steps, n_test, rng);
  return t;
}

void gather_time_major(const SeqTask& task, const SeqSet& s, std::span<const int64_t> idx, std::vector<float>& x_tm,
                       std::vector<int32_t>& labels, std::vector<float>& targets) {
  const int64_t B = int64_t(idx.size()), T = task.steps, I = task.inputs, O = task.outputs;
  x_tm.resize(size_t(T * B * I));
  for (int64_t b = 0; b < B; ++b) {
    NEUROAI_CHECK(idx[b] >= 0 && idx[b] < s.n, "gather_time_major: sample {} out of range [0, {})", idx[b], s.n);
    const float* src = &s.x[size_t(idx[b] * T * I)];
    for (int64_t t = 0; t < T; ++t)
      std::copy(src + t * I, src + (t + 1) * I, x_tm.begin() + (t * B + b) * I);
  }
  labels.clear();
  targets.clear();
  switch (task.readout) {
    case SeqReadout::ClassifyLast:
      labels.resize(size_t(B));
      for (int64_t b = 0; b < B; ++b) labels[b] = s.y[size_t(idx[b])];
      break;
    case SeqReadout::RegressLast:
      targets.resize(size_t(B * O));
      for (int64_t b = 0; b < B; ++b)
        std::copy_n(&s.target[size_t(idx[b] * O)], O, targets.begin() + b * O);
      break;
    case SeqReadout::RegressEach:
      targets.resize(size_t(T * B * O));
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < T; ++t)
          std::copy_n(&s.target[size_t((idx[b] * T + t) * O)], O, targets.begin() + (t * B + b) * O);
      break;
  }
}

}  // namespace neuroai
