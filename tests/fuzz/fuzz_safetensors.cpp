// Model checkpoints: the safetensors container (header length, header JSON, dtypes, shapes, offsets,
// __metadata__), every tensor as the engine reads it, the CSR triplets of a sparse layer, and the three
// model loaders with their metadata JSON (MLP "config", RNN "config" and "family", GNN "gnn.config").
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "engine/safetensors.h"
#include "engine/sparse_linear.h"
#include "fuzz_util.h"
#include "kernels/error.h"
#include "kernels/registry.h"
#include "models/gnn.h"
#include "models/mlp.h"
#include "models/rnn.h"

namespace {

neuroai::Backend& cpu() {
  static std::unique_ptr<neuroai::Backend> b = neuroai::make_backend("cpu", {.threads = 1});
  return *b;
}

template <class F>
void refused_or_ok(F&& f) {
  try {
    f();
  } catch (const neuroai::Error&) {
  }
}

// Layer prefixes ("layers.0.", "head.") of the tensors whose names end in a SparseLinear key.
std::set<std::string> layer_prefixes(const neuroai::SafetensorsFile& f) {
  std::set<std::string> out;
  for (const auto& [name, t] : f.tensors)
    for (const char* key : {"weight", "weight.crow_indices", "weight.values"}) {
      const std::string k = key;
      if (name.size() >= k.size() && name.compare(name.size() - k.size(), k.size(), k) == 0)
        out.insert(name.substr(0, name.size() - k.size()));
    }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      neuroai::fuzz::write_file("model.safetensors", {reinterpret_cast<const char*>(data), size});
  neuroai::SafetensorsFile f;
  try {
    f = neuroai::read_safetensors(path);
  } catch (const neuroai::Error&) {
    return 0;
  }
  size_t total = 0;
  for (const auto& nt : f.tensors) {
    const std::string& name = nt.first;
    const neuroai::StTensor& t = nt.second;
    total += t.data.size();
    refused_or_ok([&] { (void)neuroai::st_to_f32(t, name); });
    refused_or_ok([&] { (void)neuroai::st_to_i32(t, name); });
    refused_or_ok([&] { (void)neuroai::st_to_u8(t, name); });
  }
  NEUROAI_FUZZ_ASSERT(total <= size);  // a header never makes the reader hold more than the file
  for (const std::string& prefix : layer_prefixes(f))
    refused_or_ok([&] { (void)neuroai::SparseLinear::load(cpu(), f, prefix, "fuzz"); });
  refused_or_ok([&] { (void)neuroai::Mlp::load(cpu(), path); });
  refused_or_ok([&] { (void)neuroai::RnnModel::load(cpu(), path); });
  refused_or_ok([&] { (void)neuroai::GnnModel::load(cpu(), f); });
  return 0;
}
