#include "engine/dataset.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "kernels/error.h"

namespace neuroai {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kIdxImagesMagic = 2051;  // 0x00000803: unsigned bytes, 3 dims
constexpr uint32_t kIdxLabelsMagic = 2049;  // 0x00000801: unsigned bytes, 1 dim
constexpr int64_t kCifarPixels = 3072;      // 32 x 32 x 3
constexpr int64_t kCifarRecord = 1 + kCifarPixels;
constexpr int kCifarClasses = 10;
constexpr int64_t kMaxIdxSide = 1 << 15;  // rows, cols: 32768^2 pixels is one 1 GiB image; MNIST is 28

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The whole file, decompressed when its name ends in .gz.
std::vector<uint8_t> read_bytes(const std::string& path) {
  std::vector<uint8_t> out;
  if (ends_with(path, ".gz")) {
    gzFile f = gzopen(path.c_str(), "rb");
    NEUROAI_CHECK(f != nullptr, "{}: cannot open gzip file for reading", path);
    gzbuffer(f, 1 << 17);
    constexpr size_t kChunk = 1 << 20;
    size_t used = 0;
    for (;;) {
      out.resize(used + kChunk);
      int got = gzread(f, out.data() + used, unsigned(kChunk));
      if (got > 0) {
        used += size_t(got);
        continue;
      }
      int code = Z_OK;
      const char* msg = gzerror(f, &code);
      std::string why = (got < 0 || code != Z_OK) ? std::string(msg ? msg : "unknown zlib error") : "";
      gzclose(f);
      NEUROAI_CHECK(why.empty(), "{}: corrupt or truncated gzip data ({}); expected a complete gzip stream", path, why);
      break;
    }
    out.resize(used);
    return out;
  }
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  NEUROAI_CHECK(in.good(), "{}: cannot open file for reading", path);
  auto size = in.tellg();
  out.resize(size_t(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(out.data()), size);
  NEUROAI_CHECK(in.good() || size == 0, "{}: read failed after {} of {} bytes", path, in.gcount(), int64_t(size));
  return out;
}

uint32_t read_be32(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) | (uint32_t(b[at + 2]) << 8) | uint32_t(b[at + 3]);
}

// dir/base, or dir/base.gz when only that exists; empty when neither does.
std::string find_idx_file(const std::string& dir, const std::string& base) {
  fs::path raw = fs::path(dir) / base;
  if (fs::is_regular_file(raw)) return raw.string();
  fs::path gz = fs::path(dir) / (base + ".gz");
  if (fs::is_regular_file(gz)) return gz.string();
  return {};
}

bool is_default_fashion_dir(const std::string& dir) {
  return fs::path(dir).lexically_normal() == fs::path(kDefaultFashionMnistDir).lexically_normal();
}

constexpr const char* kInstallHint =
    "Install the Debian package dataset-fashion-mnist (./quickstart.sh installs it)";

std::string require_idx_file(const std::string& dir, const std::string& base) {
  std::string p = find_idx_file(dir, base);
  NEUROAI_CHECK(!p.empty(), "{}: missing IDX file; expected {} or {}.gz{}", (fs::path(dir) / base).string(), base,
                base, is_default_fashion_dir(dir) ? std::string(". ") + kInstallHint : std::string());
  return p;
}

struct IdxImages {
  std::vector<uint8_t> pixels;  // (n, rows * cols)
  int64_t n = 0, rows = 0, cols = 0;
};

IdxImages read_idx_images(const std::string& path) {
  std::vector<uint8_t> b = read_bytes(path);
  NEUROAI_CHECK(b.size() >= 16, "{}: truncated IDX image file: expected at least 16 header bytes, found {}", path,
                b.size());
  uint32_t magic = read_be32(b, 0);
  NEUROAI_CHECK(magic == kIdxImagesMagic,
                "{}: wrong magic number {}; expected {} (IDX images: unsigned bytes, 3 dimensions)", path, magic,
                kIdxImagesMagic);
  IdxImages im;
  im.n = read_be32(b, 4);
  im.rows = read_be32(b, 8);
  im.cols = read_be32(b, 12);
  // Rows and columns become int32 image geometry, and bounding them keeps the byte count below from
  // wrapping (4 images of 2^31 x 2^31 would claim 2^64 + 16 = 16 bytes, and be accepted).
  NEUROAI_CHECK(im.rows > 0 && im.cols > 0 && im.rows <= kMaxIdxSide && im.cols <= kMaxIdxSide,
                "{}: image size {}x{}; expected rows and columns in 1..{}", path, im.rows, im.cols, kMaxIdxSide);
  uint64_t expected = 16 + uint64_t(im.n) * uint64_t(im.rows) * uint64_t(im.cols);
  NEUROAI_CHECK(b.size() == expected, "{}: {} IDX image file: expected {} bytes ({} images of {}x{}), found {}",
                path, b.size() < expected ? "truncated" : "oversized", expected, im.n, im.rows, im.cols, b.size());
  im.pixels.assign(b.begin() + 16, b.end());
  return im;
}

std::vector<int32_t> read_idx_labels(const std::string& path) {
  std::vector<uint8_t> b = read_bytes(path);
  NEUROAI_CHECK(b.size() >= 8, "{}: truncated IDX label file: expected at least 8 header bytes, found {}", path,
                b.size());
  uint32_t magic = read_be32(b, 0);
  NEUROAI_CHECK(magic == kIdxLabelsMagic,
                "{}: wrong magic number {}; expected {} (IDX labels: unsigned bytes, 1 dimension)", path, magic,
                kIdxLabelsMagic);
  uint64_t n = read_be32(b, 4);
  NEUROAI_CHECK(b.size() == 8 + n, "{}: {} IDX label file: expected {} bytes ({} labels), found {}", path,
                b.size() < 8 + n ? "truncated" : "oversized", 8 + n, n, b.size());
  return std::vector<int32_t>(b.begin() + 8, b.end());
}

Dataset load_idx_split(const std::string& dir, const std::string& prefix) {
  std::string images_path = require_idx_file(dir, prefix + "-images-idx3-ubyte");
  std::string labels_path = require_idx_file(dir, prefix + "-labels-idx1-ubyte");
  IdxImages im = read_idx_images(images_path);
  std::vector<int32_t> labels = read_idx_labels(labels_path);
  NEUROAI_CHECK(int64_t(labels.size()) == im.n, "{}: {} labels; expected {}, the number of images in {}",
                labels_path, labels.size(), im.n, images_path);
  Dataset d;
  d.n = im.n;
  d.dim = im.rows * im.cols;
  d.height = int32_t(im.rows);
  d.width = int32_t(im.cols);
  d.channels = 1;
  d.x.resize(im.pixels.size());
  for (size_t i = 0; i < im.pixels.size(); ++i) d.x[i] = float(im.pixels[i]) / 255.0f;
  d.y = std::move(labels);
  return d;
}

int32_t max_label_plus_one(const Dataset& a, const Dataset& b) {
  int32_t m = -1;
  for (int32_t v : a.y) m = std::max(m, v);
  for (int32_t v : b.y) m = std::max(m, v);
  return m + 1;
}

// One CIFAR-10 binary batch file appended to d.
void read_cifar_file(const std::string& path, Dataset& d) {
  NEUROAI_CHECK(fs::is_regular_file(path), "{}: missing CIFAR-10 batch file; expected data_batch_1.bin .. "
                "data_batch_5.bin and test_batch.bin (the CIFAR-10 binary version)", path);
  std::vector<uint8_t> b = read_bytes(path);
  NEUROAI_CHECK(!b.empty() && b.size() % kCifarRecord == 0,
                "{}: size {} bytes is not a positive multiple of {} (1 label byte + 3072 pixel bytes per record)",
                path, b.size(), kCifarRecord);
  int64_t records = int64_t(b.size()) / kCifarRecord;
  size_t base = d.x.size();
  d.x.resize(base + size_t(records * kCifarPixels));
  d.y.reserve(d.y.size() + size_t(records));
  for (int64_t r = 0; r < records; ++r) {
    const uint8_t* rec = b.data() + r * kCifarRecord;
    NEUROAI_CHECK(rec[0] < kCifarClasses, "{}: record {} has label {}; expected 0..{}", path, r, int(rec[0]),
                  kCifarClasses - 1);
    d.y.push_back(rec[0]);
    float* dst = d.x.data() + base + size_t(r * kCifarPixels);
    for (int64_t p = 0; p < kCifarPixels; ++p) dst[p] = float(rec[1 + p]) / 255.0f;
  }
  d.n += records;
}

Dataset cifar_dataset() {
  Dataset d;
  d.dim = kCifarPixels;
  d.classes = kCifarClasses;
  d.height = 32;
  d.width = 32;
  d.channels = 3;
  return d;
}

bool has_cifar(const std::string& dir) { return fs::is_regular_file(fs::path(dir) / "data_batch_1.bin"); }

// splitmix64: a tiny, well-mixed generator whose output is the same on every platform.
uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [0, bound) without modulo bias (rejection of the short last interval).
uint64_t bounded(uint64_t& s, uint64_t bound) {
  uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  for (;;) {
    uint64_t r = splitmix64(s);
    if (r < limit) return r % bound;
  }
}

}  // namespace

DataSplit load_idx_dir(const std::string& dir) {
  DataSplit s;
  s.train = load_idx_split(dir, "train");
  s.test = load_idx_split(dir, "t10k");
  NEUROAI_CHECK(s.test.height == s.train.height && s.test.width == s.train.width,
                "{}: test images are {}x{}; expected {}x{} like the training images in {}",
                require_idx_file(dir, "t10k-images-idx3-ubyte"), s.test.height, s.test.width, s.train.height,
                s.train.width, require_idx_file(dir, "train-images-idx3-ubyte"));
  int32_t classes = max_label_plus_one(s.train, s.test);
  s.train.classes = s.test.classes = classes;
  std::string lower = fs::absolute(dir).string();
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  s.name = lower.find("fashion") != std::string::npos ? "fashion-mnist" : "mnist";
  return s;
}

DataSplit load_cifar10_dir(const std::string& dir) {
  DataSplit s;
  s.name = "cifar10";
  s.train = cifar_dataset();
  s.test = cifar_dataset();
  for (int i = 1; i <= 5; ++i) read_cifar_file((fs::path(dir) / ("data_batch_" + std::to_string(i) + ".bin")).string(), s.train);
  read_cifar_file((fs::path(dir) / "test_batch.bin").string(), s.test);
  return s;
}

DataSplit load_dataset(const std::string& dir) {
  if (!find_idx_file(dir, "train-images-idx3-ubyte").empty()) return load_idx_dir(dir);
  if (has_cifar(dir)) return load_cifar10_dir(dir);
  std::string nested = (fs::path(dir) / "cifar-10-batches-bin").string();
  if (has_cifar(nested)) return load_cifar10_dir(nested);
  NEUROAI_CHECK(!is_default_fashion_dir(dir),
                "{}: Fashion-MNIST not found; expected train-images-idx3-ubyte.gz and the other IDX files there. {}",
                dir, kInstallHint);
  NEUROAI_FAIL("{}: no data set found; expected IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
               "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]) or CIFAR-10 binary files "
               "(data_batch_1.bin .. data_batch_5.bin, test_batch.bin)",
               dir);
}

void truncate(DataSplit& d, int64_t n_train, int64_t n_test) {
  auto cut = [](Dataset& s, int64_t keep, const char* which) {
    NEUROAI_CHECK(keep >= 0, "truncate: {} sample count {}; expected >= 0 (0 = all)", which, keep);
    if (keep == 0 || keep >= s.n) return;
    s.n = keep;
    s.x.resize(size_t(keep * s.dim));
    s.y.resize(size_t(keep));
  };
  cut(d.train, n_train, "training");
  cut(d.test, n_test, "test");
}

std::pair<float, float> standardize(DataSplit& d) {
  double sum = 0.0, sq = 0.0;
  const std::vector<float>& x = d.train.x;
  NEUROAI_CHECK(!x.empty(), "standardize: the training set of {} is empty; expected at least one sample", d.name);
#pragma omp parallel for reduction(+ : sum, sq)
  for (int64_t i = 0; i < int64_t(x.size()); ++i) {
    sum += x[size_t(i)];
    sq += double(x[size_t(i)]) * x[size_t(i)];
  }
  double count = double(x.size());
  double mean = sum / count;
  double var = std::max(0.0, sq / count - mean * mean);
  double sd = std::sqrt(var);
  if (sd < 1e-12) sd = 1.0;
  apply_standardization(d.train, float(mean), float(sd));
  apply_standardization(d.test, float(mean), float(sd));
  return {float(mean), float(sd)};
}

void apply_standardization(Dataset& d, float mean, float std) {
  NEUROAI_CHECK(std > 0.0f && std::isfinite(std) && std::isfinite(mean),
                "apply_standardization: mean {} and std {}; expected finite values and std > 0", mean, std);
  const float inv = 1.0f / std;
#pragma omp parallel for
  for (int64_t i = 0; i < int64_t(d.x.size()); ++i) d.x[size_t(i)] = (d.x[size_t(i)] - mean) * inv;
}

std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed, int64_t epoch) {
  NEUROAI_CHECK(n >= 0, "shuffled_indices: n = {}; expected >= 0", n);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[size_t(i)] = i;
  // Mix seed and epoch through two rounds so nearby (seed, epoch) pairs give unrelated streams.
  uint64_t s = seed;
  uint64_t state = splitmix64(s) ^ uint64_t(epoch);
  state = splitmix64(state);
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = int64_t(bounded(state, uint64_t(i) + 1));
    std::swap(idx[size_t(i)], idx[size_t(j)]);
  }
  return idx;
}

}  // namespace neuroai
