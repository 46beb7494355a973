// `neuroai inspect MODEL`: what a checkpoint holds, read from the file alone (no backend): each weight
// matrix's shape, format, nnz and density, the other tensors, and the metadata (config, epoch, ...).
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tools/checkpoint_view.h"
#include "tools/commands.h"

namespace neuroai::tools {

namespace {

struct InspectOptions {
  std::string model;
  bool json = false;
};

int run(const InspectOptions& o) {
  const SafetensorsFile f = read_safetensors(o.model);
  const auto mats = checkpoint_matrices(f);
  int64_t nnz = 0, total = 0;
  for (const auto& m : mats) {
    nnz += m.nnz;
    total += m.rows * m.cols;
  }
  if (o.json) {
    nlohmann::json j = {{"model", o.model}, {"nnz", nnz}, {"weights", total}, {"metadata", f.metadata}};
    j["density"] = total ? double(nnz) / double(total) : 0.0;
    for (const auto& m : mats)
      j["matrices"].push_back({{"name", m.name}, {"shape", {m.rows, m.cols}}, {"format", m.format}, {"nnz", m.nnz},
                               {"density", m.density()}});
    for (const auto& [name, t] : f.tensors)
      if (!is_matrix_part(f, name)) j["tensors"].push_back({{"name", name}, {"dtype", t.dtype}, {"shape", t.shape}});
    for (const auto& key : {"config", "gnn.config"})
      if (f.metadata.count(key)) j["config"] = nlohmann::json::parse(f.metadata.at(key), nullptr, false);
    fmt::print("{}\n", j.dump());
    return 0;
  }
  fmt::print("{}: {} tensors\n", o.model, f.tensors.size());
  fmt::print("{:<28} {:>13} {:>6} {:>10} {:>8}\n", "matrix", "out x in", "format", "nnz", "density");
  for (const auto& m : mats)
    fmt::print("{:<28} {:>13} {:>6} {:>10} {:>8.4f}\n", m.name, fmt::format("{}x{}", m.rows, m.cols), m.format, m.nnz,
               m.density());
  fmt::print("{:<28} {:>13} {:>6} {:>10} {:>8.4f}\n", "total", total, "", nnz, total ? double(nnz) / double(total) : 0.0);
  bool header = false;
  for (const auto& [name, t] : f.tensors) {
    if (is_matrix_part(f, name)) continue;
    if (!header) fmt::print("other tensors:\n");
    header = true;
    fmt::print("  {:<26} {:>4} [{}]\n", name, t.dtype, fmt::join(t.shape, ", "));
  }
  fmt::print("metadata:\n");
  for (const auto& [k, v] : f.metadata) {
    if (k == "config" || k == "gnn.config") {
      const auto j = nlohmann::json::parse(v, nullptr, false);
      fmt::print("  {}: {}\n", k, j.is_discarded() ? v : j.dump(2));
    } else {
      fmt::print("  {}: {}\n", k, v);
    }
  }
  return 0;
}

}  // namespace

Command add_inspect(CLI::App& app) {
  auto o = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand("inspect", "Show a checkpoint's layers: shapes, format, nnz, density, config");
  cmd->add_option("MODEL", o->model, "Checkpoint (model.safetensors of any family)")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--json", o->json, "One JSON object instead of the tables");
  return {cmd, [o]() { return run(*o); }};
}

}  // namespace neuroai::tools
