// The shared training loop (engine/train_loop.h) driven by a toy family: one scalar parameter moved by a
// fixed rule, so that every file the loop writes can be predicted exactly.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/run_log.h"
#include "engine/safetensors.h"
#include "engine/sparse_linear.h"
#include "engine/train_loop.h"
#include "engine/train_state.h"
#include "kernels/error.h"
#include "kernels/registry.h"

namespace neuroai {
namespace {

namespace fs = std::filesystem;

std::vector<nlohmann::json> read_lines(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::ifstream in(p);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(nlohmann::json::parse(l));
  return out;
}

// w <- w + 1 each step; the loss of step k (1-based) is 1 / k, or NaN at step `nan_at`.
class Toy final : public TrainFamily {
public:
  explicit Toy(int64_t per_epoch, int64_t nan_at = -1) : per_epoch_(per_epoch), nan_at_(nan_at) {}

  int64_t steps_per_epoch() const override { return per_epoch_; }
  std::string state_format() const override { return "neuroai-toy-state"; }
  std::vector<std::pair<std::string, std::string>> state_config() const override {
    return {{"config", R"({"toy":1})"}, {"train_config", nlohmann::json({{"per_epoch", per_epoch_}}).dump()}};
  }
  void start(TrainLoop& loop) override {
    ++starts;
    loop.structure_event("start", 0, {{"w", w}});
  }
  void begin_epoch(int epoch, TrainLoop&) override { begun.push_back(epoch); }
  StepResult step(int, int64_t, TrainLoop& loop) override {
    const int64_t k = loop.step();
    if (k == nan_at_) return {std::numeric_limits<double>::quiet_NaN(), 0.0, 4, 0.1};
    w += 1.0;
    if (probe) seen_break_even = break_even_density(*probe, 7, 13, 11);  // as a layer's hand-off asks
    return {1.0 / double(k), 0.0, 4, 0.1};
  }
  nlohmann::json evaluate(int epoch, TrainLoop& loop) override {
    return {{"epoch", epoch}, {"step", loop.step()}, {"w", w}, {"test_loss", test_loss}};
  }
  std::string summary() const override { return ""; }
  void finish(TrainLoop&) override { ++finishes; }
  std::string diagnose_non_finite() override { return "layer 'toy' (w)"; }
  void write_checkpoint(const std::string& path, int epoch, int64_t step, const nlohmann::json& m) override {
    SafetensorsFile f;
    f.tensors["w"] = st_from_f32({float(w)}, {1});
    f.metadata["epoch"] = std::to_string(epoch);
    f.metadata["step"] = std::to_string(step);
    f.metadata["metrics"] = m.dump();
    write_safetensors(path, f);
  }
  void save_state(SafetensorsFile& f) override { f.metadata["w"] = std::to_string(w); }
  void load_state(const TrainState& st) override { w = std::stod(st.meta("w")); }

  double w = 0.0, test_loss = 1.0;
  Backend* probe = nullptr;
  double seen_break_even = -1.0;
  int starts = 0, finishes = 0;
  std::vector<int> begun;

private:
  int64_t per_epoch_, nan_at_;
};

RunSpec spec_for(const std::string& name, int epochs, int eval_every = 1) {
  RunSpec s;
  s.out_dir = (fs::path(::testing::TempDir()) / ("train_loop_" + name)).string();
  fs::remove_all(s.out_dir);
  s.label = "train toy";
  s.epochs = epochs;
  s.eval_every = eval_every;
  s.quiet = true;
  s.backend = "toy backend";
  return s;
}

TEST(TrainLoop, WritesEveryFileAtTheEvaluationCadence) {
  Toy toy(3);
  const RunSpec spec = spec_for("cadence", 5, 2);
  const LoopResult r = TrainLoop(toy, spec).run();
  EXPECT_EQ(r.steps, 15);
  EXPECT_EQ(r.start_epoch, 0);
  EXPECT_EQ(toy.starts, 1);
  EXPECT_EQ(toy.finishes, 1);
  EXPECT_EQ(toy.begun, (std::vector<int>{1, 2, 3, 4, 5}));
  const fs::path d = spec.out_dir;
  // Evaluations after epochs 2 and 4 (every 2) and after the last, 5.
  const auto m = read_lines(d / "metrics.jsonl");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0]["epoch"], 2);
  EXPECT_EQ(m[1]["epoch"], 4);
  EXPECT_EQ(m[2]["epoch"], 5);
  EXPECT_EQ(m[2]["w"], 15.0);
  EXPECT_EQ(r.last_metrics, m[2]);
  // config.json: the family's configuration and the backend.
  const auto cfg = nlohmann::json::parse(std::ifstream(d / "config.json"));
  EXPECT_EQ(cfg["model"]["toy"], 1);
  EXPECT_EQ(cfg["train"]["per_epoch"], 3);
  EXPECT_EQ(cfg["backend"], "toy backend");
  // The checkpoint and the state belong to the last evaluation.
  const SafetensorsFile ck = read_safetensors((d / "model.safetensors").string());
  EXPECT_EQ(ck.metadata.at("epoch"), "5");
  EXPECT_EQ(ck.metadata.at("step"), "15");
  const SafetensorsFile st = read_state_file((d / "state.safetensors").string());
  EXPECT_EQ(st.metadata.at("epoch"), "5");
  EXPECT_EQ(st.metadata.at("format"), "neuroai-toy-state");
  // steps.jsonl: the start event, then a loss line every step (15 steps < 200).
  const auto s = read_lines(d / "steps.jsonl");
  ASSERT_EQ(s.size(), 16u);
  EXPECT_EQ(s[0]["event"], "start");
  EXPECT_EQ(s[1]["step"], 1);
  EXPECT_DOUBLE_EQ(s[2]["train_loss"].get<double>(), 0.5);
}

TEST(TrainLoop, ResumeContinuesFromTheStateAndCutsTheLogsBack) {
  const RunSpec first = spec_for("resume", 2);
  {
    Toy toy(2);
    TrainLoop(toy, first).run();
  }
  // A longer run over the same folder continues after epoch 2; an extra metrics line written after the
  // state (a kill between the line and the state) is cut away.
  {
    JsonlWriter extra((fs::path(first.out_dir) / "metrics.jsonl").string(), true);
    extra.write({{"epoch", 3}, {"w", -1}});
  }
  RunSpec again = first;
  again.epochs = 4;
  again.resume = true;
  Toy toy(2);
  // The state's configuration must match: per_epoch is part of it. (epochs is not, so 4 is allowed.)
  const LoopResult r = TrainLoop(toy, again).run();
  EXPECT_EQ(r.start_epoch, 2);
  EXPECT_EQ(r.steps, 8);
  EXPECT_EQ(toy.starts, 0);  // a resume does not start again
  EXPECT_EQ(toy.begun, (std::vector<int>{3, 4}));
  EXPECT_EQ(toy.w, 8.0);
  const auto m = read_lines(fs::path(first.out_dir) / "metrics.jsonl");
  ASSERT_EQ(m.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(m[size_t(i)]["epoch"], i + 1);
  EXPECT_EQ(m[2]["w"], 6.0);

  // Another configuration is refused, naming the state, before anything changes.
  Toy other(3);
  const std::string before = read_lines(fs::path(first.out_dir) / "metrics.jsonl").back().dump();
  EXPECT_THROW(TrainLoop(other, again).run(), Error);
  EXPECT_EQ(read_lines(fs::path(first.out_dir) / "metrics.jsonl").back().dump(), before);
}

// The automatic hand-off's break-even is part of the run: the state and config.json record the one used,
// and a resume hands off with it, whatever this process would measure.
TEST(TrainLoop, ResumeUsesTheBreakEvenRecordedInTheState) {
  setenv("NEUROAI_CACHE_DIR", "off", 1);
  const auto cpu = make_backend("cpu");
  const RunSpec first = spec_for("break_even", 1);
  Toy toy(2);
  toy.probe = cpu.get();
  TrainLoop(toy, first).run();
  const fs::path d = first.out_dir;
  const double measured = toy.seen_break_even;
  ASSERT_GE(measured, 0.0);
  SafetensorsFile st = read_state_file((d / "state.safetensors").string());
  const auto rec = nlohmann::json::parse(st.metadata.at("break_even"));
  ASSERT_EQ(rec.size(), 1u);
  const std::string key = rec.begin().key();
  EXPECT_NE(key.find("batch=7 in=13 out=11"), std::string::npos) << key;
  EXPECT_EQ(rec.begin().value().get<double>(), measured);
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(d / "config.json"))["break_even"], rec);

  // As if the first process had measured 0.625 on its machine: the resume must use that value.
  st.metadata["break_even"] = nlohmann::json{{key, 0.625}}.dump();
  write_state_file((d / "state.safetensors").string(), std::move(st));
  RunSpec again = first;
  again.epochs = 2;
  again.resume = true;
  Toy resumed(2);
  resumed.probe = cpu.get();
  TrainLoop(resumed, again).run();
  EXPECT_EQ(resumed.seen_break_even, 0.625);
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(d / "config.json"))["break_even"][key], 0.625);
  seed_break_even({{key, measured}});  // leave the process as it was
}

TEST(TrainLoop, DivergenceNamesEpochStepAndLayerAndKeepsTheCheckpoint) {
  Toy toy(3, /*nan_at=*/5);
  const RunSpec spec = spec_for("nan", 3);
  try {
    TrainLoop(toy, spec).run();
    FAIL() << "a NaN loss did not stop the run";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("training diverged at epoch 2, step 5: the loss is nan"), std::string::npos) << msg;
    EXPECT_NE(msg.find("layer 'toy'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(after epoch 1) is kept"), std::string::npos) << msg;
  }
  EXPECT_EQ(toy.w, 4.0);  // the diverging step changed nothing
  EXPECT_EQ(read_lines(fs::path(spec.out_dir) / "metrics.jsonl").size(), 1u);
  EXPECT_EQ(read_safetensors(spec.out_dir + "/model.safetensors").metadata.at("epoch"), "1");

  Toy bad_test(2);
  bad_test.test_loss = std::numeric_limits<double>::infinity();
  const RunSpec s2 = spec_for("inf_test", 2);
  try {
    TrainLoop(bad_test, s2).run();
    FAIL() << "an infinite test loss did not stop the run";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("training stopped after epoch 1 (step 2): the test loss is inf"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("the initial weights"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace neuroai
