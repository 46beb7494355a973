#include "engine/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "kernels/error.h"

namespace neuroai {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; so must the host be");

using nlohmann::json;

// The Python reference refuses headers above 100 MB; so do we, before allocating.
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

template <class T>
StTensor st_from(const std::vector<T>& v, std::vector<int64_t> shape, const char* dtype) {
  int64_t numel = st_numel(shape);
  NEUROAI_CHECK(numel == int64_t(v.size()), "safetensors: {} tensor of shape [{}] needs {} values, got {}", dtype,
                fmt::join(shape, ", "), numel, v.size());
  StTensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.data.resize(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(t.data.data(), v.data(), t.data.size());
  return t;
}

template <class T>
std::vector<T> st_to(const StTensor& t, const std::string& name, const char* dtype) {
  NEUROAI_CHECK(t.dtype == dtype, "tensor '{}' has dtype {}; expected {}", name, t.dtype, dtype);
  int64_t numel = st_numel(t.shape);
  NEUROAI_CHECK(int64_t(t.data.size()) == numel * int64_t(sizeof(T)),
                "tensor '{}' of shape [{}] holds {} bytes; expected {}", name, fmt::join(t.shape, ", "),
                t.data.size(), numel * int64_t(sizeof(T)));
  std::vector<T> v(static_cast<size_t>(numel));
  if (numel) std::memcpy(v.data(), t.data.data(), t.data.size());
  return v;
}

std::string errno_text() { return std::strerror(errno); }

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= size_t(w);
  }
  return true;
}

// Makes the rename durable. Some file systems refuse fsync on a directory (EINVAL, ENOTSUP): that is
// no failure. An I/O error is: the new file is in place but may not survive a power loss.
void fsync_parent_dir(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  const bool ok = ::fsync(fd) == 0 || errno == EINVAL || errno == ENOTSUP || errno == EROFS;
  const std::string why = ok ? "" : errno_text();
  ::close(fd);
  NEUROAI_CHECK(ok, "{}: written, but syncing its folder {} failed ({}); the file may not survive a power loss", path,
                dir.string(), why);
}

// One header entry, checked: dtype known, shape of non-negative ints, offsets [begin, end] whose span
// matches the shape. Byte ranges are checked against the file by the caller.
struct Entry {
  std::string name;
  StTensor meta;  // dtype and shape only
  uint64_t begin = 0, end = 0;
};

Entry parse_entry(const std::string& path, const std::string& name, const json& v) {
  NEUROAI_CHECK(v.is_object(), "{}: header entry '{}' is {}; expected an object with dtype, shape, data_offsets",
                path, name, v.type_name());
  Entry e;
  e.name = name;
  auto dt = v.find("dtype");
  NEUROAI_CHECK(dt != v.end() && dt->is_string(), "{}: tensor '{}' has no string \"dtype\"", path, name);
  e.meta.dtype = dt->get<std::string>();
  NEUROAI_CHECK(st_dtype_size(e.meta.dtype) > 0,
                "{}: tensor '{}' has unknown dtype \"{}\"; expected one of F64 F32 F16 BF16 I64 I32 I16 I8 U64 U32 "
                "U16 U8 BOOL",
                path, name, e.meta.dtype);
  auto sh = v.find("shape");
  NEUROAI_CHECK(sh != v.end() && sh->is_array(), "{}: tensor '{}' has no \"shape\" array", path, name);
  for (const json& d : *sh) {
    NEUROAI_CHECK(d.is_number_integer() && d.get<int64_t>() >= 0,
                  "{}: tensor '{}' has shape entry {}; expected non-negative integers", path, name, d.dump());
    e.meta.shape.push_back(d.get<int64_t>());
  }
  auto off = v.find("data_offsets");
  NEUROAI_CHECK(off != v.end() && off->is_array() && off->size() == 2 && (*off)[0].is_number_unsigned() &&
                    (*off)[1].is_number_unsigned(),
                "{}: tensor '{}' has data_offsets {}; expected [begin, end] of two non-negative integers", path, name,
                off == v.end() ? std::string("(missing)") : off->dump());
  e.begin = (*off)[0].get<uint64_t>();
  e.end = (*off)[1].get<uint64_t>();
  NEUROAI_CHECK(e.begin <= e.end, "{}: tensor '{}' has data_offsets [{}, {}]; expected begin <= end", path, name,
                e.begin, e.end);
  // The running product of the dims must fit in 64 bits, as the reference implementation checks: a zero
  // dim would otherwise hide an overflowing product of the others from the byte-count check below (and
  // st_numel, which every reader of the tensor calls, would overflow).
  int64_t numel = 1, bytes = 0;
  for (int64_t d : e.meta.shape)
    NEUROAI_CHECK(!__builtin_mul_overflow(numel, d, &numel),
                  "{}: tensor '{}' has shape [{}], whose element count overflows 64 bits; expected a shape whose "
                  "running product of dims fits",
                  path, name, fmt::join(e.meta.shape, ", "));
  const bool fits = !__builtin_mul_overflow(numel, st_dtype_size(e.meta.dtype), &bytes);
  NEUROAI_CHECK(fits && uint64_t(bytes) == e.end - e.begin,
                "{}: tensor '{}' ({} of shape [{}]) spans {} bytes in data_offsets; expected {}", path, name,
                e.meta.dtype, fmt::join(e.meta.shape, ", "), e.end - e.begin,
                fits ? fmt::format("{}", bytes) : std::string("more than 2^63"));
  return e;
}

}  // namespace

int64_t st_dtype_size(const std::string& dtype) {
  static const std::map<std::string, int64_t> sizes = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
                                                       {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U64", 8},  {"U32", 4},
                                                       {"U16", 2}, {"U8", 1},  {"BOOL", 1}};
  auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

int64_t st_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

StTensor st_from_f32(const std::vector<float>& v, std::vector<int64_t> shape) { return st_from(v, std::move(shape), "F32"); }
StTensor st_from_i32(const std::vector<int32_t>& v, std::vector<int64_t> shape) { return st_from(v, std::move(shape), "I32"); }
StTensor st_from_u8(const std::vector<uint8_t>& v, std::vector<int64_t> shape) { return st_from(v, std::move(shape), "U8"); }

std::vector<float> st_to_f32(const StTensor& t, const std::string& name) { return st_to<float>(t, name, "F32"); }
std::vector<int32_t> st_to_i32(const StTensor& t, const std::string& name) { return st_to<int32_t>(t, name, "I32"); }
std::vector<uint8_t> st_to_u8(const StTensor& t, const std::string& name) { return st_to<uint8_t>(t, name, "U8"); }

void write_file_atomic(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  NEUROAI_CHECK(fd >= 0, "{}: cannot create the temporary file {} ({}); the old file, if any, is untouched", path,
                tmp, errno_text());
  bool ok = write_all(fd, contents.data(), contents.size());
  std::string why = ok ? "" : "write: " + errno_text();
  if (ok && ::fsync(fd) != 0) {
    ok = false;
    why = "fsync: " + errno_text();
  }
  if (::close(fd) != 0 && ok) {
    ok = false;
    why = "close: " + errno_text();
  }
  if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    why = "rename: " + errno_text();
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    NEUROAI_FAIL("{}: writing {} bytes failed ({}); the old file, if any, is untouched", path, contents.size(), why);
  }
  fsync_parent_dir(path);
}

void st_check_finite(const SafetensorsFile& f, const std::string& path) {
  for (const auto& [name, t] : f.tensors) {
    const int64_t es = st_dtype_size(t.dtype);
    const bool is_float = t.dtype == "F64" || t.dtype == "F32" || t.dtype == "F16" || t.dtype == "BF16";
    if (!is_float || es <= 0) continue;
    const int64_t n = int64_t(t.data.size()) / es;
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t* p = t.data.data() + i * es;
      bool bad = false, nan = false;
      if (t.dtype == "F64") {
        double v;
        std::memcpy(&v, p, 8);
        bad = !std::isfinite(v);
        nan = std::isnan(v);
      } else if (t.dtype == "F32") {
        float v;
        std::memcpy(&v, p, 4);
        bad = !std::isfinite(v);
        nan = std::isnan(v);
      } else {  // F16: exponent 0x7c00, BF16: 0x7f80; all ones is Inf (fraction 0) or NaN
        uint16_t v;
        std::memcpy(&v, p, 2);
        const uint16_t exp = t.dtype == "F16" ? 0x7c00 : 0x7f80;
        bad = (v & exp) == exp;
        nan = bad && (v & uint16_t(~exp & 0x7fff)) != 0;
      }
      if (!bad) continue;
      std::vector<int64_t> at(t.shape.size());
      int64_t rest = i;
      for (size_t d = t.shape.size(); d-- > 0;) {
        at[d] = t.shape[d] > 0 ? rest % t.shape[d] : 0;
        rest = t.shape[d] > 0 ? rest / t.shape[d] : 0;
      }
      NEUROAI_FAIL("{}: tensor '{}' holds {} at index [{}] (flat {} of {}); expected finite values (a checkpoint "
                   "of a diverged run, or a damaged file)",
                   path, name, nan ? "NaN" : "Inf", fmt::join(at, ", "), i, n);
    }
  }
}

void write_safetensors(const std::string& path, const SafetensorsFile& f) {
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& [name, t] : f.tensors) {
    NEUROAI_CHECK(!name.empty() && name != "__metadata__", "{}: tensor name '{}' is reserved or empty", path, name);
    int64_t es = st_dtype_size(t.dtype);
    NEUROAI_CHECK(es > 0, "{}: tensor '{}' has unknown dtype \"{}\"", path, name, t.dtype);
    for (int64_t d : t.shape) NEUROAI_CHECK(d >= 0, "{}: tensor '{}' has negative dim {}", path, name, d);
    NEUROAI_CHECK(int64_t(t.data.size()) == st_numel(t.shape) * es,
                  "{}: tensor '{}' ({} of shape [{}]) holds {} bytes; expected {}", path, name, t.dtype,
                  fmt::join(t.shape, ", "), t.data.size(), st_numel(t.shape) * es);
    header[name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  if (!f.metadata.empty()) header["__metadata__"] = f.metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  std::string out;
  out.reserve(8 + text.size() + offset);
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(char((n >> (8 * i)) & 0xff));
  out += text;
  for (const auto& [name, t] : f.tensors) out.append(reinterpret_cast<const char*>(t.data.data()), t.data.size());
  write_file_atomic(path, out);
}

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  NEUROAI_CHECK(in.good(), "{}: cannot open safetensors file for reading", path);
  const uint64_t size = uint64_t(in.tellg());
  in.seekg(0);
  NEUROAI_CHECK(size >= 8, "{}: not a safetensors file: {} bytes; expected at least 8 (the header length)", path,
                size);
  uint8_t lenbuf[8];
  in.read(reinterpret_cast<char*>(lenbuf), 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(lenbuf[i]) << (8 * i);
  NEUROAI_CHECK(n <= size - 8, "{}: header length {} exceeds the {} bytes after the length field (truncated or not "
                "a safetensors file)", path, n, size - 8);
  NEUROAI_CHECK(n <= kMaxHeaderBytes, "{}: header length {} exceeds the {} byte limit", path, n, kMaxHeaderBytes);
  std::string text(n, '\0');
  in.read(text.data(), std::streamsize(n));
  NEUROAI_CHECK(in.good(), "{}: read of the {} byte header failed", path, n);
  NEUROAI_CHECK(!text.empty() && text[0] == '{', "{}: header does not start with '{{'; expected a JSON object", path);

  json header;
  try {
    header = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number such as 4E29496
    NEUROAI_FAIL("{}: header is not valid JSON ({})", path, e.what());
  }
  NEUROAI_CHECK(header.is_object(), "{}: header is a JSON {}; expected an object", path, header.type_name());

  SafetensorsFile f;
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      NEUROAI_CHECK(it->is_object(), "{}: __metadata__ is {}; expected an object of strings", path, it->type_name());
      for (auto m = it->begin(); m != it->end(); ++m) {
        NEUROAI_CHECK(m->is_string(), "{}: __metadata__ value of '{}' is {}; expected a string", path, m.key(),
                      m->type_name());
        f.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, it.key(), *it));
  }

  // The byte buffer must be exactly the tensors, back to back (what the reference implementation enforces).
  const uint64_t data_size = size - 8 - n;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected_begin = 0;
  for (const Entry& e : entries) {
    NEUROAI_CHECK(e.begin == expected_begin,
                  "{}: tensor '{}' starts at data offset {}; expected {} (tensors must be contiguous, not overlapping)",
                  path, e.name, e.begin, expected_begin);
    NEUROAI_CHECK(e.end <= data_size, "{}: tensor '{}' ends at data offset {} but the data section holds {} bytes "
                  "(truncated file)", path, e.name, e.end, data_size);
    expected_begin = e.end;
  }
  NEUROAI_CHECK(expected_begin == data_size, "{}: tensors cover {} bytes of a {} byte data section; expected all of it",
                path, expected_begin, data_size);

  std::vector<uint8_t> data(data_size);
  in.read(reinterpret_cast<char*>(data.data()), std::streamsize(data_size));
  NEUROAI_CHECK(in.good() || data_size == 0, "{}: read of the {} byte data section failed", path, data_size);
  for (Entry& e : entries) {
    e.meta.data.assign(data.begin() + std::ptrdiff_t(e.begin), data.begin() + std::ptrdiff_t(e.end));
    f.tensors[e.name] = std::move(e.meta);
  }
  st_check_finite(f, path);
  return f;
}

}  // namespace neuroai
