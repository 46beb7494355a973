// The MLP with spatial cortical structure: every hidden layer is an Hg x Wg sheet of units (SPEC §0,
// §5). Per hidden layer: a = x W^T + b, h = ReLU(a), y = inhibition(h) (SPEC §4; y = h when off);
// y feeds the next layer. The output layer gives logits. Weights live in SparseLinear layers that
// are pruned and hand over to CSR during training.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/sparse_linear.h"
#include "engine/tensor.h"
#include "kernels/backend.h"

namespace neuroai {

enum class InhibitionKind { None, Divisive, Dog, Kwta };
const char* inhibition_name(InhibitionKind k);  // "none", "divisive", "dog", "kwta"
InhibitionKind parse_inhibition(const std::string& s);

// SPEC §0: Hg = the largest divisor of n that is <= sqrt(n), Wg = n / Hg.
Sheet default_grid(int64_t n);
// "32x32,16x64" -> sheets; Error naming the piece that is not RxC with R, C >= 1.
std::vector<Sheet> parse_grids(const std::string& s);

struct MlpConfig {
  int64_t inputs = 784;
  std::vector<int64_t> hidden = {1024, 1024};
  std::vector<Sheet> grids;  // one per hidden layer; empty = default_grid of each width
  int64_t classes = 10;
  Sheet input_sheet{28, 28};  // geometry of the input (for distance-weighted pruning scores)
  InhibitionKind inhibition = InhibitionKind::None;
  DivisiveParams divisive;
  DogParams dog;
  KwtaParams kwta;  // SPEC §4.3: tile 4 x 4, k = 25 % of the tile
  // The data the model expects: inputs are standardized as (x - input_mean) / input_std.
  std::string dataset;
  float input_mean = 0.0f, input_std = 1.0f;

  // Fills grids from the widths when empty; Error when a grid does not match its width or a size is
  // not positive.
  void resolve();
  nlohmann::json to_json() const;
  static MlpConfig from_json(const nlohmann::json& j);
};

class Mlp {
public:
  // Layers seeded from seed (layer i uses seed + i). Calls cfg.resolve().
  Mlp(Backend& b, MlpConfig cfg, uint64_t seed);
  Mlp(Mlp&&) noexcept = default;

  const MlpConfig& config() const { return cfg_; }
  Backend& backend() const { return *b_; }
  int num_hidden() const { return int(cfg_.hidden.size()); }
  int num_layers() const { return int(layers_.size()); }
  SparseLinear& layer(int i) { return layers_[size_t(i)]; }
  const SparseLinear& layer(int i) const { return layers_[size_t(i)]; }
  Sheet sheet(int hidden_layer) const { return cfg_.grids[size_t(hidden_layer)]; }

  // logits (B, classes) for x (B, inputs); the returned view is valid until the next forward().
  // Keeps what backward() needs.
  ConstDenseView forward(ConstDenseView x);
  // Gradient of the task loss w.r.t. the logits -> parameter gradients (accumulated; call
  // zero_grad() first). add_reg(l, y, dy) may add regularizer gradients to dy = dL/dy of hidden layer
  // l before it is propagated down.
  using RegHook = std::function<void(int, ConstDenseView, DenseView)>;
  void backward(ConstDenseView x, ConstDenseView dlogits, const RegHook& add_reg = {});
  void zero_grad();
  void step(const OptimConfig& cfg, float lr, int64_t t);

  // Activations of the last forward(): y of hidden layer l (B, N_l), its pre-activation a and
  // h = ReLU(a) (the same as y without inhibition).
  ConstDenseView hidden_output(int l) const;
  ConstDenseView hidden_pre(int l) const;
  ConstDenseView hidden_relu(int l) const;
  ConstDenseView logits() const;

  // Checkpoint: each layer under "layers.{i}." (SparseLinear::save) and metadata "config" = the
  // configuration as JSON, plus `extra` metadata. Written atomically.
  void save(const std::string& path, const std::map<std::string, std::string>& extra = {}) const;
  static Mlp load(Backend& b, const std::string& path, std::map<std::string, std::string>* metadata = nullptr);

private:
  Mlp(Backend& b, MlpConfig cfg, std::vector<SparseLinear> layers);
  void ensure_batch(int64_t batch);

  Backend* b_;
  MlpConfig cfg_;
  std::vector<SparseLinear> layers_;  // hidden..., output
  int64_t cap_ = 0;                   // batch capacity of the buffers
  int64_t batch_ = 0;                 // batch of the last forward
  // Per hidden layer, (cap, N): pre-activation, ReLU output, inhibition output (unused when off),
  // divisive denominators, and the gradient buffers.
  std::vector<Tensor> a_, h_, y_, d_, dy_, dh_;
  std::vector<Buffer<uint8_t>> winners_;  // kwta: (cap * N)
  Tensor logits_;                         // (cap, classes)
};

}  // namespace neuroai
