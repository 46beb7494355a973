// CIFAR-10 binary batches (records of 1 label byte + 3072 pixel bytes). The input is data_batch_1.bin
// and test_batch.bin; data_batch_2..5.bin hold one valid record each. A loaded split must be
// consistent: n * 3072 pixels in [0, 1], n labels in 0..9.
#include <cstdint>
#include <string>

#include "engine/dataset.h"
#include "fuzz_util.h"
#include "kernels/error.h"

namespace {

void check(const neuroai::Dataset& d) {
  NEUROAI_FUZZ_ASSERT(d.n >= 1 && d.dim == 3072 && d.classes == 10);
  NEUROAI_FUZZ_ASSERT(d.x.size() == size_t(d.n) * 3072 && d.y.size() == size_t(d.n));
  for (int32_t y : d.y) NEUROAI_FUZZ_ASSERT(y >= 0 && y < 10);
  for (float v : d.x) NEUROAI_FUZZ_ASSERT(v >= 0.0f && v <= 1.0f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool fixed_batches = [] {
    std::string record(3073, '\x80');
    record[0] = 3;
    for (int i = 2; i <= 5; ++i) neuroai::fuzz::write_file("cifar/data_batch_" + std::to_string(i) + ".bin", record);
    return true;
  }();
  (void)fixed_batches;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  neuroai::fuzz::write_file("cifar/data_batch_1.bin", bytes);
  neuroai::fuzz::write_file("cifar/test_batch.bin", bytes);
  try {
    const neuroai::DataSplit s = neuroai::load_dataset((neuroai::fuzz::scratch_dir() / "cifar").string());
    check(s.train);
    check(s.test);
  } catch (const neuroai::Error&) {
  }
  return 0;
}
