// `neuroai bench`: dense against CSR forward + backward time for the prunable layer shapes of a model on
// this machine, across densities, and the break-even density the engine's dense -> CSR hand-off uses
// here (issue #7). Each distinct (batch, in, out) is measured once with engine/break_even.cpp's timer.
#include <omp.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/sparse_linear.h"
#include "kernels/registry.h"
#include "tools/commands.h"

namespace neuroai::tools {

namespace {

struct BenchOptions {
  std::string model = "mlp";
  std::vector<int64_t> hidden = {1024, 1024};
  int64_t inputs = 784;
  int64_t outputs = 10;
  int64_t batch = 128;
  int64_t steps = 28;
  int threads = 0;
  std::string backend = "auto";
  std::vector<double> densities = {1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.01};
  bool json = false;
};

struct LayerShape {
  std::string name;
  int64_t batch = 0, in = 0, out = 0;  // the layer sees x (batch, in) -> y (batch, out)
};

// The layers pruning can hand over to CSR, with the batch each one sees in a training step.
std::vector<LayerShape> layer_shapes(const BenchOptions& o) {
  std::vector<LayerShape> ls;
  if (o.model == "mlp") {
    int64_t in = o.inputs;
    for (size_t i = 0; i < o.hidden.size(); ++i) {
      ls.push_back({fmt::format("layers.{}", i), o.batch, in, o.hidden[i]});
      in = o.hidden[i];
    }
    ls.push_back({fmt::format("layers.{}", o.hidden.size()), o.batch, in, o.outputs});
  } else {
    // GRU: W_ih sees the whole sequence at once (T * B rows), W_hh one step (B rows); the readout is
    // never pruned.
    NEUROAI_CHECK(o.hidden.size() == 1, "--model gru takes one --hidden width, got {}", o.hidden.size());
    const int64_t h = o.hidden[0];
    ls.push_back({"rnn.weight_ih", o.steps * o.batch, o.inputs, 3 * h});
    ls.push_back({"rnn.weight_hh", o.batch, h, 3 * h});
  }
  return ls;
}

std::string model_line(const BenchOptions& o) {
  if (o.model == "gru") return fmt::format("gru {} -> {} -> {}, {} steps", o.inputs, o.hidden[0], o.outputs, o.steps);
  return fmt::format("mlp {}-{}-{}", o.inputs, fmt::join(o.hidden, "-"), o.outputs);
}

int run(const BenchOptions& o) {
  for (int64_t h : o.hidden) NEUROAI_CHECK(h > 0, "--hidden: widths must be > 0, got {}", h);
  NEUROAI_CHECK(o.inputs > 0 && o.outputs > 0 && o.batch > 0 && o.steps > 0,
                "--inputs {}, --outputs {}, --batch {} and --steps {} must all be > 0", o.inputs, o.outputs, o.batch,
                o.steps);
  for (double d : o.densities) NEUROAI_CHECK(d > 0.0 && d <= 1.0, "--densities: {} is outside (0, 1]", d);
  const std::vector<LayerShape> shapes = layer_shapes(o);

  BackendOptions bo;
  bo.threads = o.threads;
  auto be = make_backend(o.backend, bo);
  if (!o.json) {
    fmt::print("neuroai bench: {}, batch {}, on {}\n", model_line(o), o.batch, be->description());
    std::fflush(stdout);
  }

  nlohmann::json layers = nlohmann::json::array();
  std::vector<LayerShape> done;
  for (const auto& s : shapes) {
    bool repeat = false;
    for (const auto& d : done) repeat |= d.batch == s.batch && d.in == s.in && d.out == s.out;
    if (repeat) continue;  // same shape, same answer
    done.push_back(s);
    const BreakEvenTable t = measure_break_even(*be, s.batch, s.in, s.out, o.densities, false);
    const double handoff = break_even_density(*be, s.batch, s.in, s.out);
    nlohmann::json j = {{"name", s.name},       {"batch", s.batch},          {"in", s.in},
                        {"out", s.out},         {"density", t.density},      {"dense_ms", t.dense_ms},
                        {"csr_ms", t.csr_ms},   {"break_even", t.break_even}, {"handoff_density", handoff}};
    layers.push_back(j);
    if (o.json) continue;
    fmt::print("\n{}: {} -> {}, batch {} (forward + backward)\n", s.name, s.in, s.out, s.batch);
    fmt::print("  {:>8}  {:>10}  {:>10}  {:>8}\n", "density", "dense ms", "csr ms", "csr/dense");
    for (size_t i = 0; i < t.density.size(); ++i)
      fmt::print("  {:>8.2f}  {:>10.3f}  {:>10.3f}  {:>8.2f}{}\n", t.density[i], t.dense_ms[i], t.csr_ms[i],
                 t.csr_ms[i] / t.dense_ms[i], t.csr_ms[i] < t.dense_ms[i] ? "  csr faster" : "");
    fmt::print("  break-even of this table: {:.2f}\n", t.break_even);
    if (handoff > 0)
      fmt::print("  engine hand-off: to CSR once density < {:.2f} (break_even_density, sparsity > {:.0f}%)\n", handoff,
                 100.0 * (1.0 - handoff));
    else
      fmt::print("  engine hand-off: never (CSR was not faster at any density the engine tries)\n");
    std::fflush(stdout);
  }
  if (o.json) {
    nlohmann::json out = {{"model", model_line(o)},
                          {"batch", o.batch},
                          {"backend", be->name()},
                          {"device", be->description()},
                          {"threads", omp_get_max_threads()},
                          {"layers", layers}};
    fmt::print("{}\n", out.dump(2));
  }
  return 0;
}

}  // namespace

Command add_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  auto* cmd = app.add_subcommand("bench", "Dense vs CSR layer timings and the dense -> CSR break-even density here");
  cmd->add_option("--model", o->model, "Model whose layer shapes are measured")
      ->check(CLI::IsMember({"mlp", "gru"}))
      ->capture_default_str();
  auto* hidden = cmd->add_option("--hidden", o->hidden, "Hidden widths, comma separated (gru: one width; default 128)")
                     ->delimiter(',')
                     ->capture_default_str();
  auto* inputs = cmd->add_option("--inputs", o->inputs, "Input features (gru: per step; default 28)")->capture_default_str();
  cmd->add_option("--outputs", o->outputs, "Outputs (classes)")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Minibatch size")->capture_default_str();
  cmd->add_option("--steps", o->steps, "gru: sequence length")->capture_default_str();
  cmd->add_option("--threads", o->threads, "CPU threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--backend", o->backend, "Compute backend (auto = cuda when usable, else cpu)")
      ->check(CLI::IsMember(backend_choices()))
      ->check(CLI::Validator(
          [](std::string& v) {
            return v == "cuda-sim" ? std::string("cuda-sim runs kernels thread by thread on the CPU, so its times say "
                                                 "nothing about a GPU; bench on cpu or cuda")
                                   : std::string();
          },
          ""))
      ->capture_default_str();
  cmd->add_option("--densities", o->densities, "Densities measured, comma separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print one JSON document instead of the tables");
  return {cmd, [o, hidden, inputs]() {
            if (o->model == "gru") {
              if (hidden->count() == 0) o->hidden = {128};
              if (inputs->count() == 0) o->inputs = 28;
            }
            return run(*o);
          }};
}

}  // namespace neuroai::tools
