// Data readers: IDX (raw and gzipped) and CIFAR-10 binary files, good and bad; standardization; the
// seeded shuffle; the real Fashion-MNIST when installed.
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "backend_fixture.h"

#include "engine/dataset.h"
#include "kernels/error.h"

namespace neuroai {
namespace {

using testing::expect_error_naming;


namespace fs = std::filesystem;

// A fresh directory under the test temp dir, removed at the end.
class TempDir {
public:
  explicit TempDir(const std::string& tag = "data") {
    std::string templ = (fs::path(::testing::TempDir()) / ("neuroai_" + tag + "_XXXXXX")).string();
    char* p = ::mkdtemp(templ.data());
    EXPECT_NE(p, nullptr);
    path_ = templ;
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (fs::path(path_) / name).string(); }
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

void put_be32(std::vector<uint8_t>& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}

std::vector<uint8_t> idx_images(uint32_t n, uint32_t rows, uint32_t cols, uint32_t magic = 2051) {
  std::vector<uint8_t> b;
  put_be32(b, magic);
  put_be32(b, n);
  put_be32(b, rows);
  put_be32(b, cols);
  for (uint32_t i = 0; i < n * rows * cols; ++i) b.push_back(uint8_t((i * 37 + 11) % 256));
  return b;
}

std::vector<uint8_t> idx_labels(uint32_t n, uint32_t magic = 2049) {
  std::vector<uint8_t> b;
  put_be32(b, magic);
  put_be32(b, n);
  for (uint32_t i = 0; i < n; ++i) b.push_back(uint8_t(i % 10));
  return b;
}

void write_raw(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

void write_gz(const std::string& path, const std::vector<uint8_t>& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, b.data(), unsigned(b.size())), int(b.size()));
  gzclose(f);
}

// A complete small IDX set: 5 training and 3 test images of rows x cols.
void write_idx_set(const TempDir& d, bool gz, uint32_t rows = 4, uint32_t cols = 3) {
  auto put = [&](const std::string& name, const std::vector<uint8_t>& b) {
    if (gz) {
      write_gz(d.file(name + ".gz"), b);
    } else {
      write_raw(d.file(name), b);
    }
  };
  put("train-images-idx3-ubyte", idx_images(5, rows, cols));
  put("train-labels-idx1-ubyte", idx_labels(5));
  put("t10k-images-idx3-ubyte", idx_images(3, rows, cols));
  put("t10k-labels-idx1-ubyte", idx_labels(3));
}


void expect_idx_values(const DataSplit& s) {
  ASSERT_EQ(s.train.n, 5);
  ASSERT_EQ(s.test.n, 3);
  EXPECT_EQ(s.train.dim, 12);
  EXPECT_EQ(s.train.height, 4);
  EXPECT_EQ(s.train.width, 3);
  EXPECT_EQ(s.train.channels, 1);
  EXPECT_EQ(s.train.classes, 5);  // labels 0..4 in train, 0..2 in test
  EXPECT_EQ(s.test.classes, 5);
  ASSERT_EQ(s.train.x.size(), 60u);
  for (uint32_t i = 0; i < 60; ++i) EXPECT_FLOAT_EQ(s.train.x[i], float((i * 37 + 11) % 256) / 255.0f);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.train.y[size_t(i)], i);
  EXPECT_EQ(s.test.y, (std::vector<int32_t>{0, 1, 2}));
}

TEST(IdxReader, RawFilesLoad) {
  TempDir d;
  write_idx_set(d, false);
  DataSplit s = load_idx_dir(d.path());
  expect_idx_values(s);
  EXPECT_EQ(s.name, "mnist");
}

TEST(IdxReader, GzippedFilesLoadTheSame) {
  TempDir d("fashion");
  write_idx_set(d, true);
  DataSplit s = load_dataset(d.path());
  expect_idx_values(s);
  EXPECT_EQ(s.name, "fashion-mnist");  // the directory's path mentions "fashion"
}

TEST(IdxReader, MissingFileNamed) {
  TempDir d;
  write_idx_set(d, false);
  fs::remove(d.file("t10k-labels-idx1-ubyte"));
  expect_error_naming([&] { load_idx_dir(d.path()); }, {d.file("t10k-labels-idx1-ubyte"), "missing"});
}

TEST(IdxReader, WrongImageMagicNamesExpected2051) {
  TempDir d;
  write_idx_set(d, false);
  write_raw(d.file("train-images-idx3-ubyte"), idx_images(5, 4, 3, 2049));
  expect_error_naming([&] { load_idx_dir(d.path()); }, {d.file("train-images-idx3-ubyte"), "2051", "magic"});
}

TEST(IdxReader, WrongLabelMagicNamesExpected2049) {
  TempDir d;
  write_idx_set(d, true);
  write_gz(d.file("t10k-labels-idx1-ubyte.gz"), idx_labels(3, 2051));
  expect_error_naming([&] { load_idx_dir(d.path()); }, {d.file("t10k-labels-idx1-ubyte.gz"), "2049", "magic"});
}

TEST(IdxReader, TruncatedImagesSayExpectedAndFound) {
  TempDir d;
  write_idx_set(d, false);
  auto b = idx_images(5, 4, 3);
  b.resize(b.size() - 7);  // 16 + 60 = 76 expected, 69 found
  write_raw(d.file("train-images-idx3-ubyte"), b);
  expect_error_naming([&] { load_idx_dir(d.path()); }, {d.file("train-images-idx3-ubyte"), "expected 76 bytes", "found 69"});
}

// Found by tests/fuzz/fuzz_idx (corpus/fuzz_idx/regress-rows-2-31): 0 images of 2^31 x 1 passed the
// size check and became a negative int32 height. And 4 images of 2^31 x 2^31 claimed 2^64 + 16 bytes,
// which wrapped to the 16 bytes of the header alone.
TEST(IdxReader, ImageSidesOutsideInt32GeometryAreRefused) {
  for (auto [n, rows, cols] : {std::tuple{0u, 1u << 31, 1u}, std::tuple{4u, 1u << 31, 1u << 31}}) {
    TempDir d;
    write_idx_set(d, false);
    std::vector<uint8_t> b;
    for (uint32_t v : {2051u, n, rows, cols}) put_be32(b, v);
    write_raw(d.file("train-images-idx3-ubyte"), b);
    expect_error_naming([&] { load_idx_dir(d.path()); },
                        {d.file("train-images-idx3-ubyte"), fmt::format("image size {}x{}", rows, cols), "1..32768"});
  }
}

TEST(IdxReader, TruncatedLabelsSayExpectedAndFound) {
  TempDir d;
  write_idx_set(d, true);
  auto b = idx_labels(5);
  b.resize(b.size() - 2);
  write_gz(d.file("train-labels-idx1-ubyte.gz"), b);
  expect_error_naming([&] { load_idx_dir(d.path()); }, {d.file("train-labels-idx1-ubyte.gz"), "expected 13 bytes", "found 11"});
}

TEST(IdxReader, TooShortForHeader) {
  TempDir d;
  write_idx_set(d, false);
  write_raw(d.file("t10k-images-idx3-ubyte"), {0, 0, 8});
  expect_error_naming([&] { load_idx_dir(d.path()); }, {d.file("t10k-images-idx3-ubyte"), "16 header bytes", "found 3"});
}

TEST(IdxReader, CorruptGzipStreamNamed) {
  TempDir d;
  write_idx_set(d, true);
  // Cut the compressed stream in half: zlib reports an unexpected end of file.
  std::ifstream in(d.file("train-images-idx3-ubyte.gz"), std::ios::binary);
  std::vector<uint8_t> gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  gz.resize(gz.size() / 2);
  write_raw(d.file("train-images-idx3-ubyte.gz"), gz);
  expect_error_naming([&] { load_idx_dir(d.path()); }, {d.file("train-images-idx3-ubyte.gz")});
}

TEST(IdxReader, LabelCountMismatchNamed) {
  TempDir d;
  write_idx_set(d, false);
  write_raw(d.file("train-labels-idx1-ubyte"), idx_labels(4));
  expect_error_naming([&] { load_idx_dir(d.path()); },
               {d.file("train-labels-idx1-ubyte"), "4 labels", "expected 5", d.file("train-images-idx3-ubyte")});
}

TEST(IdxReader, TestImageSizeMustMatchTrain) {
  TempDir d;
  write_idx_set(d, false);
  write_raw(d.file("t10k-images-idx3-ubyte"), idx_images(3, 5, 5));
  expect_error_naming([&] { load_idx_dir(d.path()); }, {d.file("t10k-images-idx3-ubyte"), "5x5", "expected 4x3"});
}

// CIFAR record r of a file: label r % 10, pixel p = (r + p) % 256.
std::vector<uint8_t> cifar_records(int records, int label_offset = 0) {
  std::vector<uint8_t> b;
  for (int r = 0; r < records; ++r) {
    b.push_back(uint8_t((r + label_offset) % 10));
    for (int p = 0; p < 3072; ++p) b.push_back(uint8_t((r + p) % 256));
  }
  return b;
}

void write_cifar_set(const std::string& dir) {
  for (int i = 1; i <= 5; ++i)
    write_raw((fs::path(dir) / ("data_batch_" + std::to_string(i) + ".bin")).string(), cifar_records(2, i));
  write_raw((fs::path(dir) / "test_batch.bin").string(), cifar_records(3));
}

TEST(CifarReader, SmallFilesLoad) {
  TempDir d;
  write_cifar_set(d.path());
  DataSplit s = load_dataset(d.path());
  EXPECT_EQ(s.name, "cifar10");
  ASSERT_EQ(s.train.n, 10);
  ASSERT_EQ(s.test.n, 3);
  EXPECT_EQ(s.train.dim, 3072);
  EXPECT_EQ(s.train.classes, 10);
  EXPECT_EQ(s.train.height, 32);
  EXPECT_EQ(s.train.width, 32);
  EXPECT_EQ(s.train.channels, 3);
  // Batch 2's second record is training sample 3: label (1 + 2) % 10, pixel p = (1 + p) % 256.
  EXPECT_EQ(s.train.y[3], 3);
  EXPECT_FLOAT_EQ(s.train.x[3 * 3072 + 0], 1.0f / 255.0f);
  EXPECT_FLOAT_EQ(s.train.x[3 * 3072 + 3071], float((1 + 3071) % 256) / 255.0f);
  EXPECT_EQ(s.test.y, (std::vector<int32_t>{0, 1, 2}));
}

TEST(CifarReader, NestedBatchesDirDetected) {
  TempDir d;
  fs::create_directory(d.file("cifar-10-batches-bin"));
  write_cifar_set(d.file("cifar-10-batches-bin"));
  EXPECT_EQ(load_dataset(d.path()).train.n, 10);
}

TEST(CifarReader, SizeNotMultipleOfRecordNamed) {
  TempDir d;
  write_cifar_set(d.path());
  auto b = cifar_records(2);
  b.resize(b.size() + 5);
  write_raw(d.file("data_batch_4.bin"), b);
  expect_error_naming([&] { load_cifar10_dir(d.path()); }, {d.file("data_batch_4.bin"), "6151", "3073"});
}

TEST(CifarReader, BadLabelNamed) {
  TempDir d;
  write_cifar_set(d.path());
  auto b = cifar_records(2);
  b[3073] = 10;
  write_raw(d.file("test_batch.bin"), b);
  expect_error_naming([&] { load_cifar10_dir(d.path()); }, {d.file("test_batch.bin"), "record 1", "label 10"});
}

TEST(CifarReader, MissingBatchNamed) {
  TempDir d;
  write_cifar_set(d.path());
  fs::remove(d.file("data_batch_3.bin"));
  expect_error_naming([&] { load_cifar10_dir(d.path()); }, {d.file("data_batch_3.bin"), "missing"});
}

TEST(LoadDataset, EmptyDirSaysWhatIsExpected) {
  TempDir d;
  expect_error_naming([&] { load_dataset(d.path()); }, {d.path(), "train-images-idx3-ubyte", "data_batch_1.bin"});
}

TEST(Standardize, TrainHasMeanZeroStdOne) {
  TempDir d;
  write_idx_set(d, false, 6, 5);
  DataSplit s = load_idx_dir(d.path());
  std::vector<float> test_before = s.test.x;
  auto [mean, sd] = standardize(s);
  double m = 0, sq = 0;
  for (float v : s.train.x) m += v;
  m /= double(s.train.x.size());
  for (float v : s.train.x) sq += (v - m) * (v - m);
  EXPECT_NEAR(m, 0.0, 1e-6);
  EXPECT_NEAR(std::sqrt(sq / double(s.train.x.size())), 1.0, 1e-5);
  EXPECT_GT(sd, 0.0f);
  // The test split uses the training statistics.
  for (size_t i = 0; i < test_before.size(); ++i) EXPECT_NEAR(s.test.x[i], (test_before[i] - mean) / sd, 1e-5);
}

TEST(Standardize, ConstantDataOnlyCentered) {
  DataSplit s;
  s.train.x.assign(12, 0.5f);
  s.train.n = 3;
  s.train.dim = 4;
  auto [mean, sd] = standardize(s);
  EXPECT_FLOAT_EQ(mean, 0.5f);
  EXPECT_FLOAT_EQ(sd, 1.0f);
  for (float v : s.train.x) EXPECT_EQ(v, 0.0f);
}

TEST(Truncate, KeepsTheFirstSamples) {
  TempDir d;
  write_idx_set(d, false);
  DataSplit s = load_idx_dir(d.path());
  std::vector<float> first2(s.train.x.begin(), s.train.x.begin() + 24);
  truncate(s, 2, 0);
  EXPECT_EQ(s.train.n, 2);
  EXPECT_EQ(s.train.x, first2);
  EXPECT_EQ(s.train.y.size(), 2u);
  EXPECT_EQ(s.test.n, 3);  // 0 = all
  truncate(s, 100, 1);     // more than there are: all
  EXPECT_EQ(s.train.n, 2);
  EXPECT_EQ(s.test.n, 1);
}

TEST(Shuffle, SeededPermutationPerEpoch) {
  auto a = shuffled_indices(1000, 42, 0);
  std::set<int64_t> seen(a.begin(), a.end());
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(*seen.begin(), 0);
  EXPECT_EQ(*seen.rbegin(), 999);
  EXPECT_EQ(a, shuffled_indices(1000, 42, 0));  // deterministic
  EXPECT_NE(a, shuffled_indices(1000, 42, 1));  // new order each epoch
  EXPECT_NE(a, shuffled_indices(1000, 43, 0));  // and per seed
  int fixed = 0;
  for (int64_t i = 0; i < 1000; ++i) fixed += a[size_t(i)] == i;
  EXPECT_LT(fixed, 10);  // a shuffle, not the identity (expected ~1 fixed point)
  EXPECT_TRUE(shuffled_indices(0, 1, 0).empty());
  EXPECT_EQ(shuffled_indices(1, 1, 0), (std::vector<int64_t>{0}));
}

TEST(FashionMnist, RealDataWhenInstalled) {
  if (!fs::exists(fs::path(kDefaultFashionMnistDir) / "train-images-idx3-ubyte.gz") &&
      !fs::exists(fs::path(kDefaultFashionMnistDir) / "train-images-idx3-ubyte"))
    GTEST_SKIP() << kDefaultFashionMnistDir << " not installed (Debian package dataset-fashion-mnist)";
  DataSplit s = load_dataset(kDefaultFashionMnistDir);
  EXPECT_EQ(s.name, "fashion-mnist");
  EXPECT_EQ(s.train.n, 60000);
  EXPECT_EQ(s.test.n, 10000);
  EXPECT_EQ(s.train.dim, 784);
  EXPECT_EQ(s.train.height, 28);
  EXPECT_EQ(s.train.width, 28);
  EXPECT_EQ(s.train.classes, 10);
  // Fashion-MNIST is balanced: 6000 training and 1000 test images per class.
  std::vector<int> train_count(10, 0), test_count(10, 0);
  for (int32_t y : s.train.y) ++train_count[size_t(y)];
  for (int32_t y : s.test.y) ++test_count[size_t(y)];
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(train_count[size_t(c)], 6000);
    EXPECT_EQ(test_count[size_t(c)], 1000);
  }
  float lo = 1, hi = 0;
  for (float v : s.train.x) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
}

}  // namespace
}  // namespace neuroai
