// `neuroai export MODEL --format dense-safetensors|mtx`: a checkpoint's pruned weights in formats other
// tools read. dense-safetensors: every weight matrix dense F32 [out, in] (zeros where pruned), other
// tensors copied, masks and CSR parts dropped, metadata kept (PyTorch: safetensors.torch.load_file).
// mtx: one Matrix Market file per weight matrix (coordinate real general, 1-based, alive entries).
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "kernels/error.h"
#include "tools/checkpoint_view.h"
#include "tools/commands.h"

namespace neuroai::tools {

std::vector<float> MatrixView::dense() const {
  std::vector<float> d(size_t(rows * cols), 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int32_t k = indptr[size_t(r)]; k < indptr[size_t(r) + 1]; ++k)
      d[size_t(r * cols + indices[size_t(k)])] = values[size_t(k)];
  return d;
}

namespace {

const std::string kCrow = ".crow_indices";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const StTensor* find(const SafetensorsFile& f, const std::string& name) {
  auto it = f.tensors.find(name);
  return it == f.tensors.end() ? nullptr : &it->second;
}

MatrixView csr_matrix(const SafetensorsFile& f, const std::string& base) {
  MatrixView m;
  m.name = base;
  m.format = "csr";
  const StTensor* cols = find(f, base + ".col_indices");
  const StTensor* vals = find(f, base + ".values");
  NEUROAI_CHECK(cols && vals, "checkpoint: '{}{}' without '{}.col_indices' and '{}.values'", base, kCrow, base, base);
  auto shape = f.metadata.find(base + ".shape");
  NEUROAI_CHECK(shape != f.metadata.end(), "checkpoint: CSR matrix '{}' has no metadata '{}.shape'", base, base);
  NEUROAI_CHECK(std::sscanf(shape->second.c_str(), "%ld,%ld", &m.rows, &m.cols) == 2 && m.rows > 0 && m.cols > 0,
                "checkpoint: metadata '{}.shape' is '{}', expected 'out,in'", base, shape->second);
  m.indptr = st_to_i32(*find(f, base + kCrow), base + kCrow);
  m.indices = st_to_i32(*cols, base + ".col_indices");
  m.values = st_to_f32(*vals, base + ".values");
  m.nnz = int64_t(m.values.size());
  NEUROAI_CHECK(int64_t(m.indptr.size()) == m.rows + 1 && m.indptr.front() == 0 && m.indptr.back() == m.nnz &&
                    int64_t(m.indices.size()) == m.nnz,
                "checkpoint: CSR matrix '{}' is inconsistent ({} row pointers for {} rows, {} columns, {} values)", base,
                m.indptr.size(), m.rows, m.indices.size(), m.nnz);
  for (int64_t r = 0; r < m.rows; ++r)
    NEUROAI_CHECK(m.indptr[size_t(r)] <= m.indptr[size_t(r) + 1], "checkpoint: '{}' row pointers decrease at row {}",
                  base, r);
  for (int32_t c : m.indices)
    NEUROAI_CHECK(c >= 0 && c < m.cols, "checkpoint: '{}' has column index {} outside [0, {})", base, c, m.cols);
  return m;
}

MatrixView dense_matrix(const SafetensorsFile& f, const std::string& base, const StTensor& t) {
  MatrixView m;
  m.name = base;
  m.format = "dense";
  m.rows = t.shape[0];
  m.cols = t.shape[1];
  const auto w = st_to_f32(t, base);
  std::vector<uint8_t> mask;
  if (const StTensor* mt = find(f, base + ".mask")) mask = st_to_u8(*mt, base + ".mask");
  NEUROAI_CHECK(mask.empty() || mask.size() == w.size(), "checkpoint: '{}.mask' does not match '{}'", base, base);
  m.indptr.push_back(0);
  for (int64_t r = 0; r < m.rows; ++r) {
    for (int64_t c = 0; c < m.cols; ++c) {
      const size_t i = size_t(r * m.cols + c);
      if (!mask.empty() && !mask[i]) continue;
      m.indices.push_back(int32_t(c));
      m.values.push_back(w[i]);
    }
    m.indptr.push_back(int32_t(m.values.size()));
  }
  m.nnz = int64_t(m.values.size());
  return m;
}

struct ExportOptions {
  std::string model;
  std::string format = "dense-safetensors";
  std::string out;
};

std::string stem_of(const std::string& path) {
  std::filesystem::path p(path);
  return (p.parent_path() / p.stem()).string();
}

int run(const ExportOptions& o) {
  const SafetensorsFile f = read_safetensors(o.model);
  const auto mats = checkpoint_matrices(f);
  NEUROAI_CHECK(!mats.empty(), "{} holds no weight matrices", o.model);
  if (o.format == "dense-safetensors") {
    const std::string out = o.out.empty() ? stem_of(o.model) + ".dense.safetensors" : o.out;
    SafetensorsFile d;
    d.metadata = f.metadata;
    for (const auto& [name, t] : f.tensors)
      if (!is_matrix_part(f, name)) d.tensors[name] = t;
    for (const auto& m : mats) {
      d.tensors[m.name] = st_from_f32(m.dense(), {m.rows, m.cols});
      d.metadata.erase(m.name + ".shape");
    }
    d.metadata["exported_from"] = o.model;
    write_safetensors(out, d);
    fmt::print("wrote {} ({} dense matrices, {} other tensors)\n", out, mats.size(), d.tensors.size() - mats.size());
    return 0;
  }
  const std::string dir = o.out.empty() ? stem_of(o.model) + "_mtx" : o.out;
  std::filesystem::create_directories(dir);
  for (const auto& m : mats) {
    std::string body = fmt::format("%%MatrixMarket matrix coordinate real general\n% {} from {} ({}, density {:.6f})\n"
                                   "{} {} {}\n",
                                   m.name, o.model, m.format, m.density(), m.rows, m.cols, m.nnz);
    for (int64_t r = 0; r < m.rows; ++r)
      for (int32_t k = m.indptr[size_t(r)]; k < m.indptr[size_t(r) + 1]; ++k)
        body += fmt::format("{} {} {}\n", r + 1, m.indices[size_t(k)] + 1, m.values[size_t(k)]);
    const std::string path = (std::filesystem::path(dir) / (m.name + ".mtx")).string();
    write_file_atomic(path, body);
    fmt::print("wrote {} ({}x{}, nnz {})\n", path, m.rows, m.cols, m.nnz);
  }
  return 0;
}

}  // namespace

std::vector<MatrixView> checkpoint_matrices(const SafetensorsFile& f) {
  std::vector<MatrixView> out;
  for (const auto& [name, t] : f.tensors) {
    if (ends_with(name, kCrow)) {
      out.push_back(csr_matrix(f, name.substr(0, name.size() - kCrow.size())));
    } else if (t.dtype == "F32" && t.shape.size() == 2 && !ends_with(name, ".mask")) {
      out.push_back(dense_matrix(f, name, t));
    }
  }
  return out;
}

bool is_matrix_part(const SafetensorsFile& f, const std::string& name) {
  for (const char* s : {".crow_indices", ".col_indices", ".values"})
    if (ends_with(name, s) && find(f, name.substr(0, name.size() - std::string(s).size()) + kCrow)) return true;
  if (ends_with(name, ".mask")) return find(f, name.substr(0, name.size() - 5)) != nullptr;
  const StTensor* t = find(f, name);
  return t && t->dtype == "F32" && t->shape.size() == 2;
}

Command add_export(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand("export", "Export a checkpoint: dense safetensors (PyTorch) or Matrix Market files");
  cmd->add_option("MODEL", o->model, "Checkpoint (model.safetensors)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--format", o->format, "dense-safetensors or mtx")
      ->check(CLI::IsMember({"dense-safetensors", "mtx"}))
      ->capture_default_str();
  cmd->add_option("--out", o->out,
                  "Output file (dense-safetensors; default MODEL_STEM.dense.safetensors) or folder (mtx; default "
                  "MODEL_STEM_mtx)");
  return {cmd, [o]() { return run(*o); }};
}

}  // namespace neuroai::tools
