// Training-state checkpoints for --resume (issue #6): everything a run needs to continue bit for bit,
// in one safetensors file written atomically (PATH.tmp, fsync, rename) after every epoch. A layer's
// state is its checkpoint (weights in their current dense or CSR form, mask, bias; SparseLinear::save)
// plus the optimizer moments and the bias mask. The file carries a CRC-32 of its tensors and metadata,
// so a corrupt file is refused instead of silently resuming from garbage. Used by every trainer
// (train mlp, gru, rnn, gnn): each writes its own "format" and configuration strings into the metadata
// and refuses a state written under another one.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/optimizer.h"
#include "engine/safetensors.h"
#include "engine/sparse_linear.h"

namespace neuroai {

// prefix + SparseLinear::save tensors, prefix + "weight.moment_m" / "weight.moment_v" / "bias.moment_m" /
// "bias.moment_v" (F32, when allocated) and prefix + "bias.mask" (U8, when the bias has a mask).
void save_layer_state(SafetensorsFile& f, const std::string& prefix, const SparseLinear& l);
// The layer saved under prefix with its moments and bias mask restored; Error naming the tensor when a
// size does not fit.
SparseLinear load_layer_state(Backend& b, const SafetensorsFile& f, const std::string& prefix, std::string name);

// name + ".moment_m" / ".moment_v" of a parameter (when allocated), and their restoration (moments the
// file lacks stay unallocated).
void save_moments(SafetensorsFile& f, const std::string& name, const Param& p);
void load_moments(const SafetensorsFile& f, const std::string& name, Param& p);

// An F32 tensor of the state that must hold exactly n values; Error naming it otherwise.
std::vector<float> state_f32(const SafetensorsFile& f, const std::string& name, int64_t n);

// A generator's full state as text (the standard's stream format) and back; Error naming `what` when the
// text does not parse.
std::string rng_state(const std::mt19937_64& rng);
void set_rng_state(std::mt19937_64& rng, const std::string& text, const std::string& what);

// Adds metadata "checksum" and writes atomically.
void write_state_file(const std::string& path, SafetensorsFile f);
// Reads and verifies; Error "<path> is corrupt or truncated: ..." otherwise.
SafetensorsFile read_state_file(const std::string& path);

// A verified state of one command: read_state_file, then metadata "format" must be `format` and every
// (key, value) of `expected` must match (the model and training configuration), else Error naming the
// file. Nothing is changed by reading.
class TrainState {
public:
  TrainState(std::string path, const std::string& command, const std::string& format,
             const std::vector<std::pair<std::string, std::string>>& expected);
  const SafetensorsFile& file() const { return f_; }
  const std::string& path() const { return path_; }
  // Metadata k; Error "<path> is not a training state of neuroai <command> (no 'k')" when missing.
  const std::string& meta(const std::string& k) const;
  int64_t meta_int(const std::string& k) const;
  nlohmann::json meta_json(const std::string& k) const;
  // Metadata "epoch", checked to lie in [1, max_epoch].
  int epoch(int max_epoch) const;

private:
  std::string path_, command_;
  SafetensorsFile f_;
};

// Every field of the optimizer and LR schedule, for the configuration strings of a state.
nlohmann::json optim_json(const OptimConfig& o, const LrConfig& lr);

// Metadata "format", "epoch", "step" and the configuration strings of a state to be written.
void set_state_header(SafetensorsFile& f, const std::string& format, int epoch, int64_t step,
                      const std::vector<std::pair<std::string, std::string>>& config);

// Rewrites a JSON-lines file (atomically) keeping the lines for which keep() is true; lines that do not
// parse (cut short by a kill) are dropped. No-op when the file does not exist. Error naming the file and
// line, with nothing rewritten, when a line parses but is not a JSON object or keep() finds a field of the
// wrong type.
void truncate_jsonl(const std::string& path, const std::function<bool(const nlohmann::json&)>& keep);

}  // namespace neuroai
