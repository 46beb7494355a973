#include "tools/optim_options.h"

#include <map>

#include "kernels/error.h"
#include "tools/commands.h"

namespace neuroai::tools {
namespace {

const std::map<std::string, LrSchedule> kSched = {
    {"cosine", LrSchedule::Cosine}, {"step", LrSchedule::Step}, {"constant", LrSchedule::Constant}};

}  // namespace

void add_optim_options(CLI::App* cmd, OptimOptions& o) {
  cmd->add_option("--optimizer", o.optimizer, "Optimizer")->check(CLI::IsMember({"adam", "sgd"}))
      ->capture_default_str();
  cmd->add_option("--lr", o.lr, "Base learning rate")->check(positive())->capture_default_str();
  cmd->add_option("--momentum", o.momentum, "SGD momentum")->capture_default_str();
  cmd->add_option("--weight-decay", o.weight_decay, "L2 weight decay")->capture_default_str();
  cmd->add_option("--lr-schedule", o.lr_schedule, "Learning-rate schedule")
      ->check(CLI::IsMember({"cosine", "step", "constant"}))
      ->capture_default_str();
  cmd->add_option("--lr-step-every", o.lr_step_every, "Step schedule: steps between decays")->capture_default_str();
  cmd->add_option("--lr-gamma", o.lr_gamma, "Step schedule: decay factor")->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "Linear warm-up, fraction of training")->capture_default_str();
}

void add_handoff_options(CLI::App* cmd, std::string& format, double& switch_density) {
  cmd->add_option("--sparse-format", format,
                  "Weight format: auto (dense, then CSR once a layer's density is below the break-even measured on "
                  "this backend or --switch-density), dense, csr (from the start)")
      ->check(CLI::IsMember({"auto", "dense", "csr"}))
      ->capture_default_str();
  cmd->add_option("--switch-density", switch_density,
                  "auto format: hand over to CSR below this density instead of the measured break-even (0 = measure)")
      ->capture_default_str();
}

void apply_optim_options(const OptimOptions& o, OptimConfig& optim, LrConfig& lr) {
  optim.kind = o.optimizer == "sgd" ? OptimKind::Sgd : OptimKind::Adam;
  optim.lr = o.lr;
  optim.momentum = o.momentum;
  optim.weight_decay = o.weight_decay;
  lr.kind = kSched.at(o.lr_schedule);
  lr.warmup_frac = o.warmup;
  lr.step_every = o.lr_step_every;
  lr.step_gamma = o.lr_gamma;
  NEUROAI_CHECK(lr.kind != LrSchedule::Step || lr.step_every > 0,
                "--lr-schedule step needs --lr-step-every N (steps between decays), got {}", lr.step_every);
}

}  // namespace neuroai::tools
