// safetensors checkpoints (the Hugging Face format: 8-byte little-endian header length N, N bytes of
// JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}, then the
// tensors' bytes, offsets relative to the end of the header) and atomic file writes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace neuroai {

// One tensor, its bytes little-endian and row-major.
struct StTensor {
  std::string dtype;  // "F32", "I32", "U8", "I64", "F64" (also read: F16, BF16, I8, I16, U16, U32, U64, BOOL)
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

StTensor st_from_f32(const std::vector<float>& v, std::vector<int64_t> shape);
StTensor st_from_i32(const std::vector<int32_t>& v, std::vector<int64_t> shape);
StTensor st_from_u8(const std::vector<uint8_t>& v, std::vector<int64_t> shape);
// The tensor's values; Error (naming name_for_errors) when the dtype differs or the bytes do not fit
// the shape.
std::vector<float> st_to_f32(const StTensor& t, const std::string& name_for_errors);
std::vector<int32_t> st_to_i32(const StTensor& t, const std::string& name_for_errors);
std::vector<uint8_t> st_to_u8(const StTensor& t, const std::string& name_for_errors);

// Bytes per element of a safetensors dtype; 0 when the dtype is unknown.
int64_t st_dtype_size(const std::string& dtype);
// Product of the dims (1 for a scalar, shape {}).
int64_t st_numel(const std::vector<int64_t>& shape);

struct SafetensorsFile {
  std::map<std::string, StTensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Atomic: writes PATH.tmp, fsyncs, renames over PATH; a failure leaves the old file untouched.
// Tensors are laid out in name order; the header is space-padded to a multiple of 8 bytes.
void write_safetensors(const std::string& path, const SafetensorsFile& f);

// Validates everything (header length vs file size, JSON, dtypes, shapes vs byte ranges, offsets in
// order, contiguous and inside the file, finite floating-point values); Error names the file and the
// problem.
SafetensorsFile read_safetensors(const std::string& path);

// Error naming the file, the tensor, the value and the first index (flat, and per dimension) where a
// floating-point tensor (F64, F32, F16, BF16) holds NaN or Inf. read_safetensors calls it on every file:
// neuroai only writes finite checkpoints and states (the divergence guard stops a run before a NaN is
// saved), so a non-finite value is damage or an edit, and evaluating it would hide where it came from.
void st_check_finite(const SafetensorsFile& f, const std::string& path);

// Writes PATH.tmp, fsyncs it, renames it over PATH and fsyncs the directory.
void write_file_atomic(const std::string& path, const std::string& contents);

}  // namespace neuroai
