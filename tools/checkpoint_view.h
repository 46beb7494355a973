// A checkpoint's weight matrices read straight from its safetensors file, whatever the model family:
// dense `<base>` (F32 [out, in], optional `<base>.mask` U8) or CSR `<base>.crow_indices`,
// `.col_indices`, `.values` with metadata `<base>.shape` = "out,in" (engine/sparse_linear.h). Used by
// `neuroai inspect` and `neuroai export`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/safetensors.h"

namespace neuroai::tools {

struct MatrixView {
  std::string name;  // the base tensor name, e.g. "layers.0.weight"
  std::string format;  // "dense" or "csr"
  int64_t rows = 0, cols = 0, nnz = 0;  // nnz: alive entries
  std::vector<int32_t> indptr, indices;  // CSR of the alive entries (both formats), column order ascending
  std::vector<float> values;
  double density() const { return rows > 0 && cols > 0 ? double(nnz) / double(rows * cols) : 0.0; }
  std::vector<float> dense() const;  // (rows, cols), zeros where pruned
};

// Every weight matrix of f in name order; Error naming the tensor when a CSR triple is inconsistent.
std::vector<MatrixView> checkpoint_matrices(const SafetensorsFile& f);
// True when `name` belongs to a matrix (its dense tensor, mask or CSR part).
bool is_matrix_part(const SafetensorsFile& f, const std::string& name);

}  // namespace neuroai::tools
