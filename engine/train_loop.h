// The training loop every family shares (issue #13): the run folder and everything the loop writes in it
// (config.json, metrics.jsonl, steps.jsonl, model.safetensors, state.safetensors), resume, the epoch and
// evaluation cadence, progress, the divergence guard and the structure-event log. A family (MLP, RNN/GRU,
// GNN) implements TrainFamily: its steps, its evaluation, its checkpoint and its state, and nothing about
// files or folders; the CLI around it (tools/config.cpp) only chooses the folder and resolves the config.
//
// One run, as the loop drives it:
//   always: the folder's lock (RUN_DIR/.lock, run_log.h RunDirLock: a read-only, missing or busy folder
//           is refused before anything in it changes), then `done` removed (a run that dies leaves none)
//   fresh:  config.toml; config.json; model.safetensors of the initial weights (epoch 0); family.start()
//   (state.safetensors and, at the end, config.json also record the break-even densities the automatic
//   hand-off used, so a resume hands off at the same steps: sparse_linear.h break_even_used)
//   resume: state.safetensors verified (format, configuration, checksum) and restored before any file
//           changes; metrics.jsonl and steps.jsonl cut back to its epoch
//   epoch e = start + 1 .. epochs: family.begin_epoch(e); steps s = 0 .. steps_per_epoch - 1, each one
//           family.step() guarded against a non-finite loss; on evaluation epochs (every eval_every and
//           the last) family.evaluate() gives the metrics line, which is written, then model.safetensors,
//           then state.safetensors (a kill between them resumes from the older state and rewrites the line)
//   end:    family.finish() (a final metrics line, files beside the checkpoint); `done`, with the command
//           and the last metrics line, written last: the run is complete
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace neuroai {

struct SafetensorsFile;
class TrainState;
class Progress;
class JsonlWriter;

// What the loop needs to know about a run.
struct RunSpec {
  std::string out_dir;
  std::string label = "train";  // "train mlp": the progress line, messages, and a state's command
  int epochs = 1;               // evaluation after epochs eval_every, 2 eval_every, ... and after the last
  int eval_every = 1;
  bool resume = false;  // continue from out_dir/state.safetensors when it exists
  bool quiet = false;
  std::string backend;  // the backend's description, for config.json
  // The resolved configuration, written as out_dir/config.toml by a fresh run (empty: none); a resumed
  // run keeps the one it was resolved from.
  std::string config_toml;
};

// The RunSpec of a family's training configuration (MLP, RNN/GRU, GNN: each has out_dir, label,
// config_toml, resume and quiet).
template <class TrainConfig>
RunSpec run_spec_of(const TrainConfig& c, int epochs, int eval_every, std::string backend) {
  RunSpec s;
  s.out_dir = c.out_dir;
  s.label = c.label;
  s.config_toml = c.config_toml;
  s.epochs = epochs;
  s.eval_every = eval_every;
  s.resume = c.resume;
  s.quiet = c.quiet;
  s.backend = std::move(backend);
  return s;
}

// One step as the family reports it to the loop.
struct StepResult {
  double loss = 0.0;      // the guard stops the run when this is not finite
  double grad_norm = 0.0; // checked too (0 when the family does not compute one)
  int64_t samples = 0;    // for the progress rate
  double lr = 0.0;        // steps.jsonl
};

class TrainLoop;

// The family's side of a run. Every hook may use the loop's services (TrainLoop&: step counter, progress
// messages, structure events, the last good checkpoint).
class TrainFamily {
public:
  virtual ~TrainFamily() = default;

  virtual int64_t steps_per_epoch() const = 0;
  // "format" of state.safetensors ("neuroai-mlp-state"), and the configuration a resumed run must share:
  // {"config", model JSON}, {"train_config", training JSON} (both also go into config.json).
  virtual std::string state_format() const = 0;
  virtual std::vector<std::pair<std::string, std::string>> state_config() const = 0;

  // A fresh run, after the initial checkpoint: notes, initial structure events.
  virtual void start(TrainLoop&) {}
  // Before the first step of epoch (1-based) of this process.
  virtual void begin_epoch(int /*epoch*/, TrainLoop&) {}
  // One optimizer step: step s (0-based) of the epoch. When the loss or gradient norm is not finite the
  // family returns before updating anything; the loop then stops the run.
  virtual StepResult step(int epoch, int64_t s, TrainLoop&) = 0;
  // The metrics line of an evaluation epoch (after its last step); "epoch" and "step" are the family's to
  // set. A non-finite "test_loss" in it stops the run.
  virtual nlohmann::json evaluate(int epoch, TrainLoop&) = 0;
  // The progress line printed after the files of an evaluation are written (empty: none).
  virtual std::string summary() const = 0;
  // After the last epoch (also when a resume found nothing left to do).
  virtual void finish(TrainLoop&) {}

  // What went non-finite first, in forward order ("layer 'fc1' (pre-activation x W^T + b)"), for the
  // divergence message; called right after step() reported the non-finite loss.
  virtual std::string diagnose_non_finite() = 0;

  // The model checkpoint (model.safetensors) after `epoch` and `step`: metrics = the evaluation line it
  // belongs to (null for the initial weights).
  virtual void write_checkpoint(const std::string& path, int epoch, int64_t step, const nlohmann::json& metrics) = 0;
  // state.safetensors beyond the loop's header (format, epoch, step, configuration): everything the next
  // process needs to continue bit for bit.
  virtual void save_state(SafetensorsFile& f) = 0;
  // Restores save_state()'s content; everything is read and checked before anything changes (Error
  // otherwise, naming the tensor or key).
  virtual void load_state(const TrainState& st) = 0;
};

struct LoopResult {
  int start_epoch = 0;   // > 0: resumed after this epoch
  int epochs_done = 0;
  int64_t steps = 0;
  double train_seconds = 0.0;
  std::string checkpoint;  // out_dir/model.safetensors
  nlohmann::json last_metrics;  // the last metrics line written (null when none)
};

class TrainLoop {
public:
  TrainLoop(TrainFamily& family, RunSpec spec);
  ~TrainLoop();
  TrainLoop(const TrainLoop&) = delete;
  TrainLoop& operator=(const TrainLoop&) = delete;

  LoopResult run();

  // ---- services for the family ----
  // Optimizer steps done; during TrainFamily::step, the number (1-based) of the step being taken.
  int64_t step() const { return step_; }
  const RunSpec& spec() const { return spec_; }
  std::string path(const char* file) const;  // out_dir/file
  // A line above the progress bar (printed even with --quiet: results and notes).
  void message(const std::string& line);
  // steps.jsonl: a structure event (prune, hand-off, merge, round) with the fields given, tagged with the
  // step and the epoch it belongs to (by which a resume cuts the log back).
  void structure_event(const char* event, int epoch, nlohmann::json fields);
  // An extra metrics line (the GNN's final line); the loop's lines are written by run().
  void write_metrics(const nlohmann::json& line);
  void write_checkpoint(int epoch, const nlohmann::json& metrics);
  // "The last good checkpoint (after epoch 3) is kept: RUN/model.safetensors", for messages that stop a run.
  std::string kept_message() const;

private:
  void restore();
  void write_config();
  void fail_non_finite(int epoch, const StepResult& r);

  TrainFamily& fam_;
  RunSpec spec_;
  int64_t step_ = 0;
  int start_epoch_ = 0;
  int ckpt_epoch_ = -1;  // -1: none written by this run yet
  int64_t log_every_ = 1;
  std::unique_ptr<JsonlWriter> metrics_, steps_;
  std::unique_ptr<Progress> progress_;
  nlohmann::json last_;
};

}  // namespace neuroai
