#include "engine/train_state.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

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

void save_moments(SafetensorsFile& f, const std::string& name, const Param& p) {
  if (p.m()) f.tensors[name + ".moment_m"] = st_from_f32(download_f32(p, p.m()), {p.size()});
  if (p.v()) f.tensors[name + ".moment_v"] = st_from_f32(download_f32(p, p.v()), {p.size()});
}

void load_moments(const SafetensorsFile& f, const std::string& name, Param& p) {
  auto m = f.tensors.find(name + ".moment_m"), v = f.tensors.find(name + ".moment_v");
  p.alloc_moments(m != f.tensors.end(), v != f.tensors.end());
  for (auto [it, ptr, what] : {std::tuple{m, p.m(), ".moment_m"}, std::tuple{v, p.v(), ".moment_v"}}) {
    if (it == f.tensors.end()) continue;
    const auto h = state_f32(f, name + what, p.size());
    if (!h.empty()) p.backend().upload(ptr, h.data(), h.size() * sizeof(float));
  }
}

std::vector<float> state_f32(const SafetensorsFile& f, const std::string& name, int64_t n) {
  auto it = f.tensors.find(name);
  NEUROAI_CHECK(it != f.tensors.end(), "state: tensor '{}' is missing", name);
  auto h = st_to_f32(it->second, name);
  NEUROAI_CHECK(int64_t(h.size()) == n, "state: '{}' has {} values, expected {}", name, h.size(), n);
  return h;
}

std::string rng_state(const std::mt19937_64& rng) {
  std::ostringstream ss;
  ss << rng;
  return ss.str();
}

void set_rng_state(std::mt19937_64& rng, const std::string& text, const std::string& what) {
  std::istringstream ss(text);
  std::mt19937_64 r;
  ss >> r;
  NEUROAI_CHECK(!ss.fail(), "state: '{}' is not a random generator state", what);
  rng = r;
}

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

TrainState::TrainState(std::string path, const std::string& command, const std::string& format,
                       const std::vector<std::pair<std::string, std::string>>& expected)
    : path_(std::move(path)), command_(command), f_(read_state_file(path_)) {
  NEUROAI_CHECK(meta("format") == format, "{} is not a training state of neuroai {} (it is a '{}')", path_, command_,
                meta("format"));
  for (const auto& [k, v] : expected)
    NEUROAI_CHECK(meta(k) == v,
                  "{} was saved under another configuration ('{}' differs from this run's config.toml); resume with "
                  "the run's own configuration",
                  path_, k);
}

const std::string& TrainState::meta(const std::string& k) const {
  auto it = f_.metadata.find(k);
  NEUROAI_CHECK(it != f_.metadata.end(), "{} is not a training state of neuroai {} (no '{}')", path_, command_, k);
  return it->second;
}

int64_t TrainState::meta_int(const std::string& k) const {
  const std::string& s = meta(k);
  size_t used = 0;
  int64_t v = 0;
  try {
    v = std::stoll(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  NEUROAI_CHECK(used > 0 && used == s.size(), "{}: metadata '{}' = '{}' is not an integer", path_, k, s);
  return v;
}

nlohmann::json TrainState::meta_json(const std::string& k) const {
  auto j = nlohmann::json::parse(meta(k), nullptr, false);
  NEUROAI_CHECK(!j.is_discarded(), "{}: metadata '{}' is not valid JSON", path_, k);
  return j;
}

int TrainState::epoch(int max_epoch) const {
  const int64_t e = meta_int("epoch");
  NEUROAI_CHECK(e >= 1 && e <= max_epoch, "{}: epoch {} is outside this run's 1..{}", path_, e, max_epoch);
  return int(e);
}

nlohmann::json optim_json(const OptimConfig& o, const LrConfig& lr) {
  return {{"kind", o.kind == OptimKind::Adam ? "adam" : "sgd"},
          {"lr", o.lr},
          {"momentum", o.momentum},
          {"nesterov", o.nesterov},
          {"beta1", o.beta1},
          {"beta2", o.beta2},
          {"eps", o.eps},
          {"weight_decay", o.weight_decay},
          {"decoupled_wd", o.decoupled_wd},
          {"lr_schedule", int(lr.kind)},
          {"lr_step_every", lr.step_every},
          {"lr_gamma", lr.step_gamma},
          {"warmup", lr.warmup_frac}};
}

void set_state_header(SafetensorsFile& f, const std::string& format, int epoch, int64_t step,
                      const std::vector<std::pair<std::string, std::string>>& config) {
  f.metadata["format"] = format;
  f.metadata["epoch"] = std::to_string(epoch);
  f.metadata["step"] = std::to_string(step);
  for (const auto& [k, v] : config) f.metadata[k] = v;
}

void truncate_jsonl(const std::string& path, const std::function<bool(const nlohmann::json&)>& keep) {
  if (!std::filesystem::exists(path)) return;
  std::ifstream in(path);
  std::string line, kept;
  for (int64_t ln = 1; std::getline(in, line); ++ln) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;  // cut short by a kill
    // A line that parses but is no metrics object was not cut: the file was edited or is another file.
    // Refused before anything is rewritten, with the line's place, instead of a json exception from keep().
    NEUROAI_CHECK(j.is_object(), "{}:{}: a metrics line is a JSON {}; expected an object such as {{\"epoch\": 1, ...}}",
                  path, ln, j.type_name());
    bool k = false;
    try {
      k = keep(j);
    } catch (const nlohmann::json::exception& e) {
      NEUROAI_FAIL("{}:{}: a metrics line has a field of the wrong type ({}); expected the fields neuroai writes", path,
                   ln, e.what());
    }
    if (k) kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

}  // namespace neuroai
