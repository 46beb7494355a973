// Image classification data sets on the host: IDX (MNIST, Fashion-MNIST) and CIFAR-10 binary readers,
// standardization and the per-epoch shuffle. Every bad file raises neuroai::Error naming the file and
// what was expected.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace neuroai {

// n samples of dim features, row-major.
struct Dataset {
  std::vector<float> x;    // (n, dim)
  std::vector<int32_t> y;  // (n)
  int64_t n = 0;
  int64_t dim = 0;
  int32_t classes = 0;
  int32_t height = 0, width = 0, channels = 0;  // image geometry (28x28x1, 32x32x3)
};

struct DataSplit {
  Dataset train, test;
  std::string name;  // "fashion-mnist", "mnist", "cifar10"
};

constexpr const char* kDefaultFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// IDX (MNIST format) files train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
// t10k-labels-idx1-ubyte, each gzipped (.gz) or raw. Pixels scaled to [0,1]. The name is
// "fashion-mnist" when the directory's path mentions "fashion", else "mnist". classes = 1 + the
// largest label of either split.
DataSplit load_idx_dir(const std::string& dir);

// CIFAR-10 binary: data_batch_1..5.bin, test_batch.bin (each record 1 label byte + 3072 pixel bytes),
// flattened to 3072 inputs in the file's channel-major order (1024 R, 1024 G, 1024 B), scaled to [0,1].
DataSplit load_cifar10_dir(const std::string& dir);

// Detects the format from the files present (IDX, CIFAR-10 in dir or in dir/cifar-10-batches-bin);
// for the default Fashion-MNIST dir the "missing" message says to install the Debian package
// dataset-fashion-mnist (./quickstart.sh installs it).
DataSplit load_dataset(const std::string& dir);

// Keeps the first n_train / n_test samples (for tests and quick runs); 0 = all.
void truncate(DataSplit& d, int64_t n_train, int64_t n_test);

// Standardizes train and test in place with the training set's scalar mean and std (over all pixels);
// returns them. A constant training set (std < 1e-12) is only centered (std returned as 1).
std::pair<float, float> standardize(DataSplit& d);
void apply_standardization(Dataset& d, float mean, float std);

// A seeded permutation of [0, n) per epoch: deterministic from (seed, epoch) on every platform
// (own generator and Fisher-Yates, not std::shuffle, whose output is implementation-defined).
std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed, int64_t epoch);

}  // namespace neuroai
