// The optimizer and learning-rate options that `train mlp` and `train gru|rnn` share: one struct, one
// registration (so both commands spell and document them alike, and their config keys match), one
// conversion into the engine's OptimConfig / LrConfig.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "engine/optimizer.h"

namespace neuroai::tools {

struct OptimOptions {
  std::string optimizer = "adam";
  float lr = 1e-3f, momentum = 0.9f, weight_decay = 0.0f;
  std::string lr_schedule = "cosine";
  int64_t lr_step_every = 0;
  float lr_gamma = 0.1f, warmup = 0.0f;
};

// --optimizer, --lr, --momentum, --weight-decay, --lr-schedule, --lr-step-every, --lr-gamma, --warmup.
void add_optim_options(CLI::App* cmd, OptimOptions& o);

// --sparse-format auto|dense|csr and --switch-density: the hand-off policy (engine HandoffPolicy) of every
// pruned layer, spelled alike by every command. `format` is parsed by parse_sparse_format.
void add_handoff_options(CLI::App* cmd, std::string& format, double& switch_density);

// Fills optim and lr from o; Error naming the option when the step schedule has no --lr-step-every
// (it would silently train at a constant rate).
void apply_optim_options(const OptimOptions& o, OptimConfig& optim, LrConfig& lr);

}  // namespace neuroai::tools
