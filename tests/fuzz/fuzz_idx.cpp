// IDX data sets (MNIST, Fashion-MNIST), raw and gzipped. Input: one mode byte (bit 0: the files are
// gzip streams named *.gz), then the images file, kSplit, the labels file; both splits (train, t10k)
// get the same two files. A loaded split must be consistent: n * dim pixels, n labels.
#include <cstdint>
#include <filesystem>
#include <string>

#include "engine/dataset.h"
#include "fuzz_util.h"
#include "kernels/error.h"

namespace {

void check(const neuroai::Dataset& d) {
  NEUROAI_FUZZ_ASSERT(d.n >= 0 && d.dim == int64_t(d.height) * d.width && d.channels == 1);
  NEUROAI_FUZZ_ASSERT(d.x.size() == size_t(d.n) * size_t(d.dim));
  NEUROAI_FUZZ_ASSERT(d.y.size() == size_t(d.n));
  for (int32_t y : d.y) NEUROAI_FUZZ_ASSERT(y >= 0 && y < d.classes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool gz = data[0] & 1;
  const auto parts = neuroai::fuzz::split(data + 1, size - 1, 2);
  const std::string ext = gz ? ".gz" : "";
  const std::filesystem::path dir = neuroai::fuzz::scratch_dir() / (gz ? "idx-gz" : "idx-raw");
  std::filesystem::remove_all(dir);
  for (const char* split : {"train", "t10k"}) {
    neuroai::fuzz::write_file((gz ? "idx-gz/" : "idx-raw/") + std::string(split) + "-images-idx3-ubyte" + ext, parts[0]);
    neuroai::fuzz::write_file((gz ? "idx-gz/" : "idx-raw/") + std::string(split) + "-labels-idx1-ubyte" + ext, parts[1]);
  }
  try {
    const neuroai::DataSplit s = neuroai::load_dataset(dir.string());
    check(s.train);
    check(s.test);
  } catch (const neuroai::Error&) {
  }
  return 0;
}
