#include "models/train_state.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <zlib.h>

#include "kernels/error.h"

namespace neuroai {

namespace {

std::vector<float> download_f32(const Param& p, const float* ptr) {
  std::vector<float> h(static_cast<size_t>(p.size()));
  if (!h.empty()) p.backend().download(h.data(), ptr, h.size() * sizeof(float));
  return h;
}

void save_moments(SafetensorsFile& f, const std::string& name, const Param& p) {
  if (p.m()) f.tensors[name + ".moment_m"] = st_from_f32(download_f32(p, p.m()), {p.size()});
  if (p.v()) f.tensors[name + ".moment_v"] = st_from_f32(download_f32(p, p.v()), {p.size()});
}

void load_moments(const SafetensorsFile& f, const std::string& name, Param& p) {
  auto m = f.tensors.find(name + ".moment_m"), v = f.tensors.find(name + ".moment_v");
  p.alloc_moments(m != f.tensors.end(), v != f.tensors.end());
  for (auto [it, ptr, what] : {std::tuple{m, p.m(), ".moment_m"}, std::tuple{v, p.v(), ".moment_v"}}) {
    if (it == f.tensors.end()) continue;
    const auto h = st_to_f32(it->second, name + what);
    NEUROAI_CHECK(int64_t(h.size()) == p.size(), "state: '{}{}' has {} values, the parameter {}", name, what, h.size(),
                  p.size());
    if (!h.empty()) p.backend().upload(ptr, h.data(), h.size() * sizeof(float));
  }
}

uint32_t checksum(const SafetensorsFile& f) {
  uLong crc = crc32(0L, Z_NULL, 0);
  auto add = [&](const std::string& s) {
    const uint64_t n = s.size();
    crc = crc32(crc, reinterpret_cast<const Bytef*>(&n), sizeof n);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(s.data()), uInt(s.size()));
  };
  for (const auto& [name, t] : f.tensors) {
    add(name);
    add(t.dtype);
    for (int64_t d : t.shape) add(std::to_string(d));
    crc = crc32(crc, t.data.data(), uInt(t.data.size()));
  }
  for (const auto& [k, v] : f.metadata)
    if (k != "checksum") add(k + "=" + v);
  return uint32_t(crc);
}

}  // namespace

void save_layer_state(SafetensorsFile& f, const std::string& prefix, const SparseLinear& l) {
  l.save(f, prefix);
  auto& lm = const_cast<SparseLinear&>(l);  // read-only use of the Param accessors
  save_moments(f, prefix + "weight", lm.weight());
  if (l.has_bias()) {
    save_moments(f, prefix + "bias", lm.bias());
    if (const uint8_t* mask = lm.bias().mask()) {
      std::vector<uint8_t> h(static_cast<size_t>(l.out()));
      l.backend().download(h.data(), mask, h.size());
      f.tensors[prefix + "bias.mask"] = st_from_u8(h, {l.out()});
    }
  }
}

SparseLinear load_layer_state(Backend& b, const SafetensorsFile& f, const std::string& prefix, std::string name) {
  SparseLinear l = SparseLinear::load(b, f, prefix, std::move(name));
  load_moments(f, prefix + "weight", l.weight());
  if (l.has_bias()) {
    load_moments(f, prefix + "bias", l.bias());
    auto it = f.tensors.find(prefix + "bias.mask");
    if (it != f.tensors.end()) {
      const auto h = st_to_u8(it->second, prefix + "bias.mask");
      NEUROAI_CHECK(int64_t(h.size()) == l.out(), "state: '{}bias.mask' has {} entries, the layer {} outputs", prefix,
                    h.size(), l.out());
      l.bias().enable_mask();
      b.upload(l.bias().mask(), h.data(), h.size());
    }
  }
  return l;
}

void write_state_file(const std::string& path, SafetensorsFile f) {
  f.metadata["checksum"] = fmt::format("{:08x}", checksum(f));
  write_safetensors(path, f);
}

SafetensorsFile read_state_file(const std::string& path) {
  SafetensorsFile f;
  try {
    f = read_safetensors(path);
  } catch (const Error& e) {
    NEUROAI_FAIL("{} is corrupt or truncated: {}", path, e.what());
  }
  auto it = f.metadata.find("checksum");
  NEUROAI_CHECK(it != f.metadata.end(), "{} is corrupt or not a training state: it has no checksum", path);
  const std::string want = fmt::format("{:08x}", checksum(f));
  NEUROAI_CHECK(it->second == want, "{} is corrupt: its contents do not match its checksum ({} stored, {} computed)",
                path, it->second, want);
  return f;
}

void truncate_jsonl(const std::string& path, const std::function<bool(const nlohmann::json&)>& keep) {
  if (!std::filesystem::exists(path)) return;
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && keep(j)) kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

}  // namespace neuroai
