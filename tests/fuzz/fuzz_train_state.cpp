// Training states (--resume): read_state_file's checksum and the TrainState accessors the trainers use
// (format, epoch, integers, JSON, the generator state), and every layer's state (SparseLinear, Adam
// moments, bias mask). A file that parses as safetensors is also re-written with a valid checksum, so
// the accessors behind the checksum are reached too, and the round trip must give the same file back.
#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <string>

#include "engine/safetensors.h"
#include "fuzz_util.h"
#include "kernels/error.h"
#include "kernels/registry.h"
#include "engine/train_state.h"

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

void exercise(const neuroai::TrainState& st) {
  refused_or_ok([&] { (void)st.epoch(1000); });
  for (const auto& kv : st.file().metadata) {
    const std::string &k = kv.first, &v = kv.second;
    refused_or_ok([&] { (void)st.meta_int(k); });
    refused_or_ok([&] { (void)st.meta_json(k); });
    refused_or_ok([&] {
      std::mt19937_64 rng;
      neuroai::set_rng_state(rng, v, k);
    });
  }
  std::set<std::string> prefixes;
  for (const auto& [name, t] : st.file().tensors) {
    const auto dot = name.rfind("weight");
    if (dot != std::string::npos) prefixes.insert(name.substr(0, dot));
  }
  for (const auto& p : prefixes)
    refused_or_ok([&] { (void)neuroai::load_layer_state(cpu(), st.file(), p, "fuzz"); });
  for (const auto& nt : st.file().tensors)
    refused_or_ok([&] { (void)neuroai::state_f32(st.file(), nt.first, neuroai::st_numel(nt.second.shape)); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = neuroai::fuzz::write_file("state.safetensors", {reinterpret_cast<const char*>(data), size});
  const auto fmt = [](const neuroai::SafetensorsFile& f) {
    auto it = f.metadata.find("format");
    return it == f.metadata.end() ? std::string("mlp") : it->second;
  };
  try {
    const neuroai::SafetensorsFile f = neuroai::read_state_file(path);
    exercise(neuroai::TrainState(path, "train", fmt(f), {}));
  } catch (const neuroai::Error&) {
  }
  neuroai::SafetensorsFile f;
  try {
    f = neuroai::read_safetensors(path);
  } catch (const neuroai::Error&) {
    return 0;
  }
  const std::string fixed = (neuroai::fuzz::scratch_dir() / "fixed.safetensors").string();
  try {
    neuroai::write_state_file(fixed, f);
  } catch (const neuroai::Error&) {
    return 0;  // names the writer refuses (empty, "__metadata__")
  }
  const neuroai::SafetensorsFile g = neuroai::read_state_file(fixed);
  NEUROAI_FUZZ_ASSERT(g.tensors.size() == f.tensors.size());
  for (const auto& [name, t] : f.tensors) {
    const auto it = g.tensors.find(name);
    NEUROAI_FUZZ_ASSERT(it != g.tensors.end() && it->second.dtype == t.dtype && it->second.shape == t.shape &&
                        it->second.data == t.data);
  }
  try {
    exercise(neuroai::TrainState(fixed, "train", fmt(g), {}));
  } catch (const neuroai::Error&) {
  }
  return 0;
}
