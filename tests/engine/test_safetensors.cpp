// safetensors: round trips, a file written by the Python reference, atomic writes, and corrupt files
// refused with messages that name the file and the problem.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backend_fixture.h"

#include "engine/safetensors.h"
#include "kernels/error.h"

namespace neuroai {
namespace {

using testing::expect_error_naming;


namespace fs = std::filesystem;

class TempDir {
public:
  TempDir() {
    std::string templ = (fs::path(::testing::TempDir()) / "neuroai_st_XXXXXX").string();
    EXPECT_NE(::mkdtemp(templ.data()), nullptr);
    path_ = templ;
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (fs::path(path_) / name).string(); }

private:
  std::string path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

// A safetensors file from a header text and a data section.
std::string st_bytes(const std::string& header, const std::string& data) {
  std::string out;
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(char((n >> (8 * i)) & 0xff));
  return out + header + data;
}


SafetensorsFile sample() {
  SafetensorsFile f;
  f.tensors["layer0.weight"] = st_from_f32({0.5f, -1.f, 2.f, 3.25f, 0.f, 1e-3f}, {2, 3});
  f.tensors["layer0.mask"] = st_from_u8({1, 0, 1, 1, 0, 1}, {2, 3});
  f.tensors["step"] = st_from_i32({1234}, {});  // a scalar
  f.tensors["empty"] = st_from_f32({}, {0, 3});
  StTensor d;
  d.dtype = "F64";
  d.shape = {2};
  double vals[2] = {1.0 / 3.0, -2e300};
  d.data.resize(16);
  std::memcpy(d.data.data(), vals, 16);
  f.tensors["double"] = d;
  f.metadata = {{"format", "neuroai"}, {"config", "{\"hidden\": [256, 256]}"}};
  return f;
}

TEST(Safetensors, RoundTrip) {
  TempDir t;
  SafetensorsFile f = sample();
  write_safetensors(t.file("a.safetensors"), f);
  SafetensorsFile g = read_safetensors(t.file("a.safetensors"));
  EXPECT_EQ(g.metadata, f.metadata);
  ASSERT_EQ(g.tensors.size(), f.tensors.size());
  for (const auto& [name, tensor] : f.tensors) {
    ASSERT_TRUE(g.tensors.count(name)) << name;
    EXPECT_EQ(g.tensors[name].dtype, tensor.dtype) << name;
    EXPECT_EQ(g.tensors[name].shape, tensor.shape) << name;
    EXPECT_EQ(g.tensors[name].data, tensor.data) << name;
  }
  EXPECT_EQ(st_to_f32(g.tensors["layer0.weight"], "layer0.weight"),
            (std::vector<float>{0.5f, -1.f, 2.f, 3.25f, 0.f, 1e-3f}));
  EXPECT_EQ(st_to_i32(g.tensors["step"], "step"), (std::vector<int32_t>{1234}));
  EXPECT_EQ(st_to_u8(g.tensors["layer0.mask"], "layer0.mask"), (std::vector<uint8_t>{1, 0, 1, 1, 0, 1}));
  EXPECT_TRUE(st_to_f32(g.tensors["empty"], "empty").empty());
  EXPECT_FALSE(fs::exists(t.file("a.safetensors.tmp")));
}

TEST(Safetensors, LayoutFollowsTheFormat) {
  TempDir t;
  write_safetensors(t.file("a.safetensors"), sample());
  std::string b = slurp(t.file("a.safetensors"));
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(uint8_t(b[size_t(i)])) << (8 * i);
  EXPECT_EQ(n % 8, 0u) << "header is padded so the data starts 8-byte aligned";
  EXPECT_EQ(b[8], '{');
  // Data: 24 (F32) + 6 (U8) + 4 (I32) + 0 + 16 (F64) bytes after the header.
  EXPECT_EQ(b.size(), 8 + n + 50);
}

TEST(Safetensors, NoMetadataAndNoTensors) {
  TempDir t;
  write_safetensors(t.file("e.safetensors"), {});
  SafetensorsFile g = read_safetensors(t.file("e.safetensors"));
  EXPECT_TRUE(g.tensors.empty());
  EXPECT_TRUE(g.metadata.empty());
}

// Written by the Python reference (safetensors 0.8.0, safetensors.numpy.save_file), header verbatim.
TEST(Safetensors, ReadsAFileWrittenByThePythonReference) {
  const std::string header =
      R"({"__metadata__":{"step":"12","format":"np"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
      R"("idx":{"dtype":"I32","shape":[4],"data_offsets":[24,40]},"m":{"dtype":"U8","shape":[2,2],"data_offsets":[40,44]}}   )";
  const unsigned char data[] = {0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x80, 0xbf, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x50,
                                0x40, 0x00, 0x00, 0x00, 0x00, 0x6f, 0x12, 0x83, 0x3a, 0x01, 0x00, 0x00, 0x00, 0xfe, 0xff,
                                0xff, 0xff, 0x03, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x01, 0xff, 0x07};
  ASSERT_EQ(header.size(), 216u);
  TempDir t;
  spit(t.file("py.safetensors"), st_bytes(header, std::string(reinterpret_cast<const char*>(data), sizeof(data))));
  SafetensorsFile g = read_safetensors(t.file("py.safetensors"));
  EXPECT_EQ(g.metadata.at("step"), "12");
  EXPECT_EQ(g.metadata.at("format"), "np");
  EXPECT_EQ(g.tensors.at("w").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(st_to_f32(g.tensors.at("w"), "w"), (std::vector<float>{0.5f, -1.f, 2.f, 3.25f, 0.f, 1e-3f}));
  EXPECT_EQ(st_to_i32(g.tensors.at("idx"), "idx"), (std::vector<int32_t>{1, -2, 3, 2147483647}));
  EXPECT_EQ(st_to_u8(g.tensors.at("m"), "m"), (std::vector<uint8_t>{0, 1, 255, 7}));
}

// For tests/tools/check_safetensors.py: a file the Python reference can load.
TEST(Safetensors, WritesSampleForThePythonCheck) {
  std::string path = std::string(NEUROAI_BINARY_DIR) + "/safetensors_sample.safetensors";
  write_safetensors(path, sample());
  EXPECT_EQ(read_safetensors(path).tensors.size(), 5u);
}

TEST(Safetensors, AtomicWriteLeavesOldFileOnFailure) {
  TempDir t;
  const std::string path = t.file("ckpt.safetensors");
  write_safetensors(path, sample());
  const std::string before = slurp(path);
  // PATH.tmp is a directory: the temporary file cannot be created (works as root too, unlike chmod).
  fs::create_directory(path + ".tmp");
  SafetensorsFile other;
  other.tensors["x"] = st_from_f32({1.f}, {1});
  expect_error_naming([&] { write_safetensors(path, other); }, {path, ".tmp", "untouched"});
  EXPECT_EQ(slurp(path), before);
  EXPECT_TRUE(fs::is_directory(path + ".tmp")) << "a directory that is not ours is left alone";
}

TEST(Safetensors, UnwritableDirectoryNamed) {
  TempDir t;
  const std::string path = t.file("no/such/dir/ckpt.safetensors");
  expect_error_naming([&] { write_safetensors(path, sample()); }, {path});
}

TEST(Safetensors, InvalidTensorNotWrittenAndOldFileKept) {
  TempDir t;
  const std::string path = t.file("ckpt.safetensors");
  write_safetensors(path, sample());
  const std::string before = slurp(path);
  SafetensorsFile bad;
  bad.tensors["w"] = StTensor{"F32", {2, 2}, std::vector<uint8_t>(12)};
  expect_error_naming([&] { write_safetensors(path, bad); }, {path, "'w'", "12 bytes", "expected 16"});
  bad.tensors["w"] = StTensor{"Q4", {1}, std::vector<uint8_t>(1)};
  expect_error_naming([&] { write_safetensors(path, bad); }, {path, "unknown dtype", "Q4"});
  EXPECT_EQ(slurp(path), before);
}

TEST(Safetensors, WriteFileAtomicReplacesContents) {
  TempDir t;
  write_file_atomic(t.file("x.json"), "old");
  write_file_atomic(t.file("x.json"), "new contents");
  EXPECT_EQ(slurp(t.file("x.json")), "new contents");
  EXPECT_FALSE(fs::exists(t.file("x.json.tmp")));
}

TEST(Safetensors, TruncatedFileRefused) {
  TempDir t;
  const std::string path = t.file("a.safetensors");
  write_safetensors(path, sample());
  std::string b = slurp(path);
  spit(path, b.substr(0, b.size() - 3));
  expect_error_naming([&] { read_safetensors(path); }, {path, "truncated"});
  spit(path, b.substr(0, 40));  // cut inside the header
  expect_error_naming([&] { read_safetensors(path); }, {path, "header length", "exceeds"});
  spit(path, b.substr(0, 5));
  expect_error_naming([&] { read_safetensors(path); }, {path, "at least 8"});
}

TEST(Safetensors, MissingFileNamed) {
  expect_error_naming([] { read_safetensors("/nonexistent/neuroai.safetensors"); },
               {"/nonexistent/neuroai.safetensors", "cannot open"});
}

struct CorruptCase {
  const char* what;  // what the case is for
  std::string header;
  size_t data_bytes;
  std::vector<std::string> pieces;  // the message must contain these
};

TEST(Safetensors, CorruptHeadersRefused) {
  const std::vector<CorruptCase> cases = {
      {"not JSON", R"({"w": {"dtype": "F32",)", 4, {"not valid JSON"}},
      {"JSON but not an object", R"([1, 2])", 0, {"expected a JSON object"}},
      {"unknown dtype", R"({"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", 4, {"'w'", "unknown dtype", "F33"}},
      {"shape does not match the byte range", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4,
       {"'w'", "spans 4 bytes", "expected 8"}},
      {"negative dim", R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4, {"'w'", "non-negative"}},
      {"offsets reversed", R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})", 4, {"'w'", "begin <= end"}},
      {"missing data_offsets", R"({"w":{"dtype":"U8","shape":[4]}})", 4, {"'w'", "data_offsets"}},
      {"overlapping tensors",
       R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})", 6,
       {"'b'", "starts at data offset 2", "expected 4"}},
      {"a hole before a tensor", R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", 4,
       {"'a'", "expected 0"}},
      {"tensor past the end of the file", R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})", 4,
       {"'a'", "ends at data offset 8", "holds 4 bytes"}},
      {"bytes after the last tensor", R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 4,
       {"cover 2 bytes", "4 byte data section"}},
      {"metadata value not a string", R"({"__metadata__":{"epoch":3}})", 0, {"__metadata__", "'epoch'", "string"}},
  };
  TempDir t;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string path = t.file("bad.safetensors");
    spit(path, st_bytes(c.header, std::string(c.data_bytes, '\0')));
    auto pieces = c.pieces;
    pieces.push_back(path);
    expect_error_naming([&] { read_safetensors(path); }, pieces);
  }
}

TEST(Safetensors, ConversionsCheckDtypeAndSize) {
  StTensor i = st_from_i32({1, 2}, {2});
  expect_error_naming([&] { st_to_f32(i, "layer1.weight"); }, {"layer1.weight", "I32", "expected F32"});
  StTensor f = st_from_f32({1.f, 2.f}, {2});
  f.shape = {3};
  expect_error_naming([&] { st_to_f32(f, "b"); }, {"'b'", "8 bytes", "expected 12"});
  expect_error_naming([] { st_from_f32({1.f, 2.f, 3.f}, {2, 2}); }, {"needs 4 values", "got 3"});
}

// Found by tests/fuzz/fuzz_safetensors (corpus/fuzz_safetensors/regress-shape-overflow): a zero dim hid
// an element count of 2^64 from the byte check, and st_numel then overflowed (UBSan) in every reader.
// Found by fuzz_safetensors in its campaign (corpus/fuzz_safetensors/regress-number-overflow): a number
// too large for a double in the header escaped as json::out_of_range instead of an Error.
TEST(Safetensors, HeaderNumberTooLargeForADoubleIsInvalidJson) {
  TempDir t;
  const std::string path = t.file("big.safetensors");
  spit(path, st_bytes(R"({"a":{"dtype":"F32","shape":[4E29496],"data_offsets":[0,0]}})", ""));
  expect_error_naming([&] { read_safetensors(path); }, {path, "not valid JSON", "number overflow"});
}

TEST(Safetensors, ShapeWhoseElementCountOverflowsIsRefused) {
  TempDir t;
  const std::string path = t.file("overflow.safetensors");
  spit(path, st_bytes(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})", ""));
  expect_error_naming([&] { read_safetensors(path); }, {path, "'a'", "overflows 64 bits"});
  // The same dims with the zero first multiply to 0 at every step, as st_numel computes them: accepted.
  spit(path, st_bytes(R"({"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})", ""));
  const SafetensorsFile f = read_safetensors(path);
  EXPECT_EQ(st_numel(f.tensors.at("a").shape), 0);
  EXPECT_TRUE(st_to_f32(f.tensors.at("a"), "a").empty());
}

}  // namespace
}  // namespace neuroai
