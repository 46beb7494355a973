// The density below which a SparseLinear trains faster in CSR than dense, measured on the running
// backend for the layer's real shapes, once per process.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "engine/sparse_linear.h"
#include "kernels/error.h"

namespace neuroai {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) from an index: patterns for every density without a sequential generator.
double unit_hash(uint64_t i, uint64_t salt) { return double(splitmix64(i * 0x2545F4914F6CDD1Dull + salt) >> 11) * 0x1.0p-53; }

std::vector<float> hash_values(int64_t n, uint64_t salt) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = float(unit_hash(uint64_t(i), salt) - 0.5);
  return v;
}

// One warm-up call, then the fastest of up to 5 timed calls, in milliseconds. The minimum, not the
// median: interference (another process, OpenBLAS threads still spinning after a GEMM) only ever
// adds time, and a hand-off decided on one slowed sample sticks for the whole run.
template <class Fn>
double time_ms(Backend& b, Fn&& fn) {
  using Clock = std::chrono::steady_clock;
  auto once = [&] {
    b.synchronize();
    const auto t0 = Clock::now();
    fn();
    b.synchronize();
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  const double warm = once();
  const int reps = warm > 50.0 ? 2 : 5;
  double best = warm;
  for (int r = 0; r < reps; ++r) best = std::min(best, once());
  return best;
}

}  // namespace

BreakEvenTable measure_break_even(Backend& b, int64_t batch, int64_t in, int64_t out, std::vector<double> densities,
                                  bool stop_early) {
  NEUROAI_CHECK(batch > 0 && in > 0 && out > 0, "measure_break_even: batch {}, in {}, out {} must all be > 0", batch,
                in, out);
  std::sort(densities.begin(), densities.end());
  densities.erase(std::unique(densities.begin(), densities.end()), densities.end());
  for (double d : densities)
    NEUROAI_CHECK(d > 0.0 && d <= 1.0, "measure_break_even: density {} outside (0, 1]", d);

  Tensor x(b, batch, in, hash_values(batch * in, 1));     // (B, in)
  Tensor dy(b, batch, out, hash_values(batch * out, 2));  // (B, out)
  Tensor y(b, batch, out);                                // (B, out)
  Tensor dx(b, batch, in);                                // (B, in)

  BreakEvenTable t;
  SparseLinear dense(b, in, out, 7, true, "break-even dense");
  dense.set_handoff({SparseFormat::Dense});
  auto time_dense = [&] {
    return time_ms(b, [&] {
      dense.forward(x.cview(), y.view());
      dense.backward(x.cview(), dy.cview(), dx.view());
    });
  };
  // Dense is timed again beside every CSR density and the fastest time kept, so both sides see the
  // same machine state.
  double dense_ms = time_dense();
  const auto values = hash_values(in * out, 3);
  // CSR time grows with the density: visiting from the top, the first density where CSR wins is the
  // answer when stopping early.
  std::vector<double> order(densities.rbegin(), densities.rend());
  std::vector<double> csr_ms(densities.size(), -1.0);
  for (size_t o = 0; o < order.size(); ++o) {
    const double d = order[o];
    std::vector<int32_t> indptr(size_t(out + 1), 0), indices;
    std::vector<float> vals;
    for (int64_t r = 0; r < out; ++r) {
      for (int64_t c = 0; c < in; ++c) {
        const uint64_t i = uint64_t(r * in + c);
        if (unit_hash(i, 4) < d) {
          indices.push_back(int32_t(c));
          vals.push_back(values[i]);
        }
      }
      indptr[size_t(r + 1)] = int32_t(indices.size());
    }
    SparseLinear csr = SparseLinear::from_csr_host(b, in, out, indptr, indices, vals, std::vector<float>(size_t(out)),
                                                   "break-even csr");
    csr_ms[order.size() - 1 - o] = time_ms(b, [&] {
      csr.forward(x.cview(), y.view());
      csr.backward(x.cview(), dy.cview(), dx.view());
    });
    dense_ms = std::min(dense_ms, time_dense());
    if (stop_early && csr_ms[order.size() - 1 - o] < dense_ms) break;
  }
  // The answer is where CSR stops winning: between the highest density at which it is faster and the
  // next one up, interpolated on the csr/dense time ratio. A table-point answer would sit exactly at
  // a pruning target (0.1 = 90 %) and leave a layer pruned to it dense.
  for (size_t i = 0; i < densities.size(); ++i) {
    if (csr_ms[i] < 0 || csr_ms[i] >= dense_ms) continue;
    double be = densities[i];
    if (i + 1 < densities.size() && csr_ms[i + 1] >= dense_ms) {
      const double r0 = csr_ms[i] / dense_ms, r1 = csr_ms[i + 1] / dense_ms;
      be += (densities[i + 1] - densities[i]) * (1.0 - r0) / (r1 - r0);
    }
    t.break_even = std::max(t.break_even, be);
  }
  for (size_t i = 0; i < densities.size(); ++i) {
    if (csr_ms[i] < 0) continue;
    t.density.push_back(densities[i]);
    t.dense_ms.push_back(dense_ms);
    t.csr_ms.push_back(csr_ms[i]);
  }
  return t;
}

namespace {
double g_break_even_override = -1.0;
}  // namespace

void set_break_even_override(double density) { g_break_even_override = density; }

namespace {

std::mutex g_mu;
std::map<std::string, double> g_cache;  // every entry known: file, seeded, measured
std::map<std::string, double> g_used;   // those this process returned

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  return "unknown CPU";
}

std::map<std::string, double> read_cache_file(const std::string& path) {
  std::map<std::string, double> m;
  std::ifstream in(path);
  if (!in) return m;
  std::stringstream ss;
  ss << in.rdbuf();
  const auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (!j.is_object()) return m;
  for (const auto& [k, v] : j.items())
    if (v.is_number() && v.get<double>() >= 0.0 && v.get<double>() <= 1.0) m[k] = v.get<double>();
  return m;
}

}  // namespace

std::string break_even_cache_path() {
  namespace fs = std::filesystem;
  const char* dir = std::getenv("NEUROAI_CACHE_DIR");
  if (dir && std::string(dir) == "off") return "";
  fs::path d;
  if (dir && *dir) d = dir;
  else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) d = fs::path(x) / "neuroai";
  else if (const char* h = std::getenv("HOME"); h && *h) d = fs::path(h) / ".cache" / "neuroai";
  else return "";
  return (d / "break_even.json").string();
}

double break_even_density(Backend& b, int64_t batch, int64_t in, int64_t out) {
  if (g_break_even_override >= 0.0) return g_break_even_override;
  // The simulator's times say nothing about any GPU, so cuda-sim is never timed: it hands off at
  // half density, early enough that short runs on it exercise the CSR paths.
  if (b.name() == "cuda-sim") return kSimBreakEven;
  static const std::string cpu = cpu_model();
  const std::string key = fmt::format("{} | {} | threads={} | batch={} in={} out={}", b.description(), cpu,
                                      omp_get_max_threads(), batch, in, out);
  const std::string path = break_even_cache_path();
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_cache.find(key);
    if (it == g_cache.end() && !path.empty()) {
      for (const auto& [k, v] : read_cache_file(path)) g_cache.emplace(k, v);  // seeded entries win
      it = g_cache.find(key);
    }
    if (it != g_cache.end()) return g_used[key] = it->second;
  }
  const double be = measure_break_even(b, batch, in, out, {0.5, 0.4, 0.3, 0.2, 0.1, 0.05}, true).break_even;
  std::lock_guard<std::mutex> lock(g_mu);
  g_cache[key] = be;
  g_used[key] = be;
  if (!path.empty()) {
    // Merged with what other processes wrote meanwhile; a failure to write only loses the cache.
    try {
      auto all = read_cache_file(path);
      all[key] = be;
      std::filesystem::create_directories(std::filesystem::path(path).parent_path());
      write_file_atomic(path, nlohmann::json(all).dump(1) + "\n");
    } catch (const std::exception&) {
    }
  }
  return be;
}

nlohmann::json break_even_used() {
  std::lock_guard<std::mutex> lock(g_mu);
  return nlohmann::json(g_used);
}

void seed_break_even(const nlohmann::json& entries) {
  NEUROAI_CHECK(entries.is_object(), "break-even entries must be a JSON object, got {}", entries.dump());
  std::lock_guard<std::mutex> lock(g_mu);
  for (const auto& [k, v] : entries.items()) {
    NEUROAI_CHECK(v.is_number() && v.get<double>() >= 0.0 && v.get<double>() <= 1.0,
                  "break-even entry '{}' is {} (expected a density in [0, 1])", k, v.dump());
    g_cache[k] = v.get<double>();
  }
}

}  // namespace neuroai
