// Training-state checkpoints for --resume (issue #6): everything a run needs to continue bit for bit,
// in one safetensors file written atomically (PATH.tmp, fsync, rename) after every epoch. A layer's
// state is its checkpoint (weights in their current dense or CSR form, mask, bias; SparseLinear::save)
// plus the optimizer moments and the bias mask. The file carries a CRC-32 of its tensors and metadata,
// so a corrupt file is refused instead of silently resuming from garbage.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "engine/sparse_linear.h"

namespace neuroai {

// prefix + SparseLinear::save tensors, prefix + "weight.moment_m" / "weight.moment_v" / "bias.moment_m" /
// "bias.moment_v" (F32, when allocated) and prefix + "bias.mask" (U8, when the bias has a mask).
void save_layer_state(SafetensorsFile& f, const std::string& prefix, const SparseLinear& l);
// The layer saved under prefix with its moments and bias mask restored; Error naming the tensor when a
// size does not fit.
SparseLinear load_layer_state(Backend& b, const SafetensorsFile& f, const std::string& prefix, std::string name);

// Adds metadata "checksum" and writes atomically.
void write_state_file(const std::string& path, SafetensorsFile f);
// Reads and verifies; Error "<path> is corrupt or truncated: ..." otherwise.
SafetensorsFile read_state_file(const std::string& path);

// Rewrites a JSON-lines file (atomically) keeping the lines for which keep() is true; lines that do not
// parse (cut short by a kill) are dropped. No-op when the file does not exist.
void truncate_jsonl(const std::string& path, const std::function<bool(const nlohmann::json&)>& keep);

}  // namespace neuroai
