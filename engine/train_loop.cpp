#include "engine/train_loop.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "engine/run_log.h"
#include "engine/safetensors.h"
#include "engine/sparse_linear.h"
#include "engine/train_state.h"
#include "kernels/error.h"

namespace neuroai {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The last line of a JSONL file as an object (null when there is none).
nlohmann::json last_jsonl_object(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  nlohmann::json j = nlohmann::json::parse(last, nullptr, false);
  return j.is_object() ? j : nlohmann::json();
}
}  // namespace

TrainLoop::TrainLoop(TrainFamily& family, RunSpec spec) : fam_(family), spec_(std::move(spec)) {
  NEUROAI_CHECK(!spec_.out_dir.empty(), "{}: the run directory is empty", spec_.label);
  NEUROAI_CHECK(spec_.epochs >= 1 && spec_.eval_every >= 1, "{}: {} epochs, evaluation every {} (expected >= 1)",
                spec_.label, spec_.epochs, spec_.eval_every);
}

TrainLoop::~TrainLoop() = default;

std::string TrainLoop::path(const char* file) const { return (fs::path(spec_.out_dir) / file).string(); }

void TrainLoop::message(const std::string& line) { progress_->message(line); }

void TrainLoop::structure_event(const char* event, int epoch, nlohmann::json fields) {
  nlohmann::json j = {{"step", step_}, {"epoch", epoch}, {"event", event}};
  j.update(fields);
  steps_->write(j);
}

void TrainLoop::write_metrics(const nlohmann::json& line) {
  metrics_->write(line);
  last_ = line;
}

void TrainLoop::write_checkpoint(int epoch, const nlohmann::json& metrics) {
  fam_.write_checkpoint(path("model.safetensors"), epoch, step_, metrics);
  ckpt_epoch_ = epoch;
}

std::string TrainLoop::kept_message() const {
  if (ckpt_epoch_ < 0) return "Nothing was written yet.";
  return fmt::format("The last good checkpoint ({}) is kept: {}",
                     ckpt_epoch_ == 0 ? "the initial weights" : fmt::format("after epoch {}", ckpt_epoch_),
                     path("model.safetensors"));
}

// Resume: the state is verified and restored before any file of the run folder changes; then the logs
// are cut back to its epoch (the GNN's final line goes too: it is written again at the end).
void TrainLoop::restore() {
  const TrainState st(path("state.safetensors"), spec_.label, fam_.state_format(), fam_.state_config());
  const int epoch = st.epoch(spec_.epochs);
  const int64_t step = st.meta_int("step");
  // The break-evens the first process measured: this one hands off at the same steps.
  const auto be = st.file().metadata.find("break_even");
  if (be != st.file().metadata.end()) seed_break_even(st.meta_json("break_even"));
  fam_.load_state(st);
  start_epoch_ = epoch;
  step_ = step;
  ckpt_epoch_ = epoch;
  auto keep = [&](const nlohmann::json& j) { return j.value("epoch", 0) <= epoch && !j.value("final", false); };
  truncate_jsonl(path("metrics.jsonl"), keep);
  truncate_jsonl(path("steps.jsonl"), keep);
}

void TrainLoop::fail_non_finite(int epoch, const StepResult& r) {
  progress_->finish();
  const std::string what = std::isfinite(r.loss) ? fmt::format("the gradient norm is {}", r.grad_norm)
                                                 : fmt::format("the loss is {}", r.loss);
  NEUROAI_FAIL("training diverged at epoch {}, step {}: {}; first non-finite: {} (try a lower --lr). {}", epoch, step_,
               what, fam_.diagnose_non_finite(), kept_message());
}

// config.json: the resolved model and training configuration, the backend, and the break-even densities
// the automatic hand-off used (measured, from the machine's cache, or from the resumed state).
void TrainLoop::write_config() {
  nlohmann::json cfg = {{"backend", spec_.backend}};
  for (const auto& [k, v] : fam_.state_config())
    cfg[k == "config" ? "model" : k == "train_config" ? "train" : k] = nlohmann::json::parse(v);
  if (const auto be = break_even_used(); !be.empty()) cfg["break_even"] = be;
  write_file_atomic(path("config.json"), cfg.dump(2) + "\n");
}

LoopResult TrainLoop::run() {
  const RunDirLock lock(spec_.out_dir, !spec_.resume);  // held until `done` is written
  const bool resuming = spec_.resume && fs::exists(path("state.safetensors"));
  if (resuming) restore();
  fs::remove(path("done"));
  if (!spec_.resume && !spec_.config_toml.empty()) write_file_atomic(path("config.toml"), spec_.config_toml);
  // config.json: the resolved model and training configuration. A resume keeps the run's; one killed
  // before writing it gets it now.
  if (!resuming || !fs::exists(path("config.json"))) write_config();
  metrics_ = std::make_unique<JsonlWriter>(path("metrics.jsonl"), resuming);
  steps_ = std::make_unique<JsonlWriter>(path("steps.jsonl"), resuming);
  const int64_t per_epoch = fam_.steps_per_epoch();
  const int64_t total = per_epoch * spec_.epochs;
  log_every_ = std::max<int64_t>(1, total / 200);
  progress_ = std::make_unique<Progress>(total, spec_.label, spec_.quiet);
  if (resuming) {
    message(fmt::format("resuming after epoch {} (step {}) from {}", start_epoch_, step_, path("state.safetensors")));
  } else {
    write_checkpoint(0, nullptr);  // the initial weights are the first "last good checkpoint"
    fam_.start(*this);
  }

  LoopResult res;
  res.start_epoch = start_epoch_;
  const auto t_start = Clock::now();
  for (int epoch = start_epoch_ + 1; epoch <= spec_.epochs; ++epoch) {
    fam_.begin_epoch(epoch, *this);
    const auto t_epoch = Clock::now();
    int64_t seen = 0;
    for (int64_t s = 0; s < per_epoch; ++s) {
      ++step_;  // during step(): the number of the step being taken
      const StepResult r = fam_.step(epoch, s, *this);
      if (!std::isfinite(r.loss) || !std::isfinite(r.grad_norm)) fail_non_finite(epoch, r);
      seen += r.samples;
      if (step_ % log_every_ == 0)
        steps_->write({{"step", step_}, {"epoch", epoch}, {"train_loss", r.loss}, {"lr", r.lr}});
      const double secs = seconds_since(t_epoch);
      progress_->update(step_, epoch, r.loss, secs > 0 ? double(seen) / secs : 0.0);
    }
    if (epoch % spec_.eval_every != 0 && epoch != spec_.epochs) continue;
    const nlohmann::json line = fam_.evaluate(epoch, *this);
    if (line.contains("test_loss") && line["test_loss"].is_number() && !std::isfinite(line["test_loss"].get<double>()))
      NEUROAI_FAIL("training stopped after epoch {} (step {}): the test loss is {}; {}", epoch, step_,
                   line["test_loss"].get<double>(), kept_message());
    write_metrics(line);
    write_checkpoint(epoch, line);
    SafetensorsFile f;
    fam_.save_state(f);
    f.metadata["break_even"] = break_even_used().dump();
    set_state_header(f, fam_.state_format(), epoch, step_, fam_.state_config());
    write_state_file(path("state.safetensors"), std::move(f));
    if (const std::string s = fam_.summary(); !s.empty()) message(s);
  }
  progress_->finish();
  fam_.finish(*this);
  if (!break_even_used().empty()) write_config();  // now with the measured thresholds
  nlohmann::json done = {{"command", spec_.label}};
  if (last_.is_null()) last_ = last_jsonl_object(path("metrics.jsonl"));  // a resume with nothing left to do
  if (!last_.is_null()) done["final"] = last_;
  write_file_atomic(path("done"), done.dump() + "\n");
  res.epochs_done = spec_.epochs;
  res.steps = step_;
  res.train_seconds = seconds_since(t_start);
  res.checkpoint = path("model.safetensors");
  res.last_metrics = last_;
  return res;
}

}  // namespace neuroai
