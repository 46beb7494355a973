#include "engine/pruner.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "kernels/error.h"

namespace neuroai {

namespace {

constexpr double kGlobalDensityFloor = 0.02;  // SPEC §2.4: no layer collapses under global ranking

Sheet sheet_for(Sheet s, int64_t units, const SparseLinear& l, const char* which) {
  if (s.units() == 0) return {1, int32_t(units)};
  NEUROAI_CHECK(s.rows > 0 && s.cols > 0 && s.units() == units,
                "pruner: layer '{}' {} sheet {}x{} has {} units, the layer has {}", l.name(), which, s.rows, s.cols,
                s.units(), units);
  return s;
}

int64_t dense_size(const SparseLinear& l) { return l.in() * l.out(); }

// Clears the k smallest alive entries so that round(s * n) of the layer's n weights are pruned in all;
// k = 0 when at least that many are pruned already (masks are monotone).
void prune_layer_to(SparseLinear& l, int64_t n_pruned_target, const float* score) {
  const int64_t n = dense_size(l);
  const int64_t alive = l.alive();
  const int64_t k = std::min(alive, n_pruned_target - (n - alive));
  if (k <= 0) return;
  const PruneTarget t = l.prune_target(score);
  l.backend().prune_smallest({&t, 1}, k);
}

int64_t pruned_target(double s, int64_t n) { return std::llround(std::clamp(s, 0.0, 1.0) * double(n)); }

// The unit coordinate scaled to [0, 1] (a single row or column sits at 0.5).
double scaled(int64_t v, int32_t extent) { return extent > 1 ? double(v) / double(extent - 1) : 0.5; }

}  // namespace

Buffer<float> distance_scores(const PrunableLayer& pl, double distance_weight) {
  SparseLinear& l = *pl.layer;
  const Sheet post = sheet_for(pl.out_sheet, l.out(), l, "output");
  const Sheet pre = sheet_for(pl.in_sheet, l.in(), l, "input");
  std::vector<double> px(size_t(l.out())), py(size_t(l.out())), qx(size_t(l.in())), qy(size_t(l.in()));
  for (int64_t i = 0; i < l.out(); ++i) {
    px[size_t(i)] = scaled(i % post.cols, post.cols);
    py[size_t(i)] = scaled(i / post.cols, post.rows);
  }
  for (int64_t j = 0; j < l.in(); ++j) {
    qx[size_t(j)] = scaled(j % pre.cols, pre.cols);
    qy[size_t(j)] = scaled(j / pre.cols, pre.rows);
  }
  auto score = [&](int64_t i, int64_t j, float w) {
    const double dx = px[size_t(i)] - qx[size_t(j)], dy = py[size_t(i)] - qy[size_t(j)];
    const double len = std::sqrt(dx * dx + dy * dy + 1.0);
    return float(std::fabs(double(w)) / (1.0 + distance_weight * len));
  };
  std::vector<float> s;
  if (l.format() == WeightFormat::Dense) {
    const auto w = l.weight_dense_host();
    s.resize(w.size());
    for (int64_t i = 0; i < l.out(); ++i)
      for (int64_t j = 0; j < l.in(); ++j) s[size_t(i * l.in() + j)] = score(i, j, w[size_t(i * l.in() + j)]);
  } else {
    const auto indptr = l.csr_indptr_host();
    const auto indices = l.csr_indices_host();
    const auto values = l.weight().w_host();
    s.resize(values.size());
    for (int64_t i = 0; i < l.out(); ++i)
      for (int32_t k = indptr[size_t(i)]; k < indptr[size_t(i + 1)]; ++k)
        s[size_t(k)] = score(i, indices[size_t(k)], values[size_t(k)]);
  }
  return Buffer<float>(l.backend(), s);
}

Pruner::Pruner(const PruneConfig& cfg, int64_t total_steps) : cfg_(cfg), total_steps_(total_steps) {
  NEUROAI_CHECK(cfg.sparsity >= 0.0 && cfg.sparsity < 1.0, "pruner: sparsity {} outside [0, 1)", cfg.sparsity);
  NEUROAI_CHECK(cfg.tile > 0, "pruner: tile {} must be > 0", cfg.tile);
  NEUROAI_CHECK(cfg.distance_weight >= 0.0, "pruner: distance_weight {} must be >= 0", cfg.distance_weight);
  NEUROAI_CHECK(cfg.rate > 0.0 && cfg.rate < 1.0, "pruner: iterative rate {} outside (0, 1)", cfg.rate);
  if (cfg.method == PruneMethod::Gradual || cfg.method == PruneMethod::Fraction) {
    NEUROAI_CHECK(cfg.every > 0, "pruner: every = {} steps; expected > 0", cfg.every);
  }
  if (cfg.method == PruneMethod::Gradual) {
    sched_ = GmpSchedule::from_fractions(0.0, cfg.sparsity, total_steps, cfg.start, cfg.end, cfg.every);
  }
  one_shot_step_ = std::llround(cfg.start * double(total_steps));
}

double Pruner::target_at(int64_t step) const {
  switch (cfg_.method) {
    case PruneMethod::None:
      return 0.0;
    case PruneMethod::Gradual:
      return sched_.sparsity_at(step);
    case PruneMethod::OneShot:
      return step >= one_shot_step_ ? cfg_.sparsity : 0.0;
    case PruneMethod::Iterative:
      return 1.0 - std::pow(1.0 - cfg_.rate, rounds_done_);
    case PruneMethod::Fraction:
      return step >= one_shot_step_ ? cfg_.sparsity : 0.0;  // the target; the events approach it
  }
  return 0.0;
}

int64_t Pruner::count_at(int64_t step, int64_t n_total, int64_t n_alive) const {
  const int64_t removed = n_total - n_alive;
  switch (cfg_.method) {
    case PruneMethod::None:
    case PruneMethod::Iterative:
      return 0;
    case PruneMethod::Gradual:
      return sched_.is_prune_step(step) ? std::llround(sched_.sparsity_at(step) * double(n_total)) - removed : 0;
    case PruneMethod::OneShot:
      return step == one_shot_step_ ? std::llround(cfg_.sparsity * double(n_total)) - removed : 0;
    case PruneMethod::Fraction:
      if (step < one_shot_step_ || (step - one_shot_step_) % cfg_.every != 0) return 0;
      return std::min<int64_t>(std::llround(cfg_.sparsity * double(n_total)) - removed,
                      std::max<int64_t>(1, std::llround(cfg_.rate * double(n_alive))));
  }
  return 0;
}

double Pruner::sparsity_of(std::span<const PrunableLayer> layers) {
  int64_t nnz = 0, n = 0;
  for (const auto& l : layers) {
    nnz += l.layer->nnz();
    n += dense_size(*l.layer);
  }
  return n == 0 ? 0.0 : 1.0 - double(nnz) / double(n);
}

bool Pruner::on_step(int64_t step, std::span<PrunableLayer> layers) {
  auto nnz_sum = [&] {
    int64_t s = 0;
    for (const auto& l : layers) s += l.layer->nnz();
    return s;
  };
  const int64_t before = nnz_sum();
  switch (cfg_.method) {
    case PruneMethod::None:
      return false;
    case PruneMethod::Gradual:
      if (!sched_.is_prune_step(step)) return false;
      prune_to(sched_.sparsity_at(step), layers);
      break;
    case PruneMethod::OneShot:
      if (step != one_shot_step_) return false;
      prune_to(cfg_.sparsity, layers);
      break;
    case PruneMethod::Fraction: {
      int64_t n = 0, alive = 0;
      for (const auto& l : layers) n += dense_size(*l.layer), alive += l.layer->nnz();
      const int64_t k = count_at(step, n, alive);
      if (k <= 0) return false;
      prune_to(double(n - alive + k) / double(n), layers);
      break;
    }
    case PruneMethod::Iterative:
      if (!has_snapshot() && step >= cfg_.rewind_step) snapshot(layers);
      return false;
  }
  return nnz_sum() != before;
}

void Pruner::prune_to(double sparsity, std::span<PrunableLayer> layers) {
  if (layers.empty()) return;
  std::vector<Buffer<float>> scores(layers.size());
  auto score_of = [&](size_t i) -> const float* { return scores[i].empty() ? nullptr : scores[i].data(); };
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].score)
      scores[i] = layers[i].score();
    else if (cfg_.distance_weight > 0.0)
      scores[i] = distance_scores(layers[i], cfg_.distance_weight);
  }

  switch (cfg_.allocation) {
    case PruneAllocation::Layerwise:
      for (size_t i = 0; i < layers.size(); ++i)
        prune_layer_to(*layers[i].layer, pruned_target(sparsity, dense_size(*layers[i].layer)), score_of(i));
      break;

    case PruneAllocation::Global: {
      std::vector<size_t> pool, outputs;
      for (size_t i = 0; i < layers.size(); ++i) (layers[i].is_output ? outputs : pool).push_back(i);
      if (pool.empty()) std::swap(pool, outputs);
      for (size_t i : outputs)
        prune_layer_to(*layers[i].layer, pruned_target(sparsity / 2, dense_size(*layers[i].layer)), score_of(i));
      Backend& b = layers[pool[0]].layer->backend();
      int64_t n_all = 0, pruned = 0;
      std::vector<int64_t> alive(layers.size()), floor(layers.size());
      std::vector<size_t> active;
      for (size_t i : pool) {
        const int64_t n = dense_size(*layers[i].layer);
        alive[i] = layers[i].layer->alive();
        floor[i] = int64_t(std::ceil(kGlobalDensityFloor * double(n)));
        n_all += n;
        pruned += n - alive[i];
        if (alive[i] > floor[i]) active.push_back(i);
      }
      int64_t need = pruned_target(sparsity, n_all) - pruned;
      // One ranking over the active layers; a layer the ranking would push below its floor is pinned at
      // the floor instead and the rest re-ranked (a higher threshold elsewhere only pushes it further).
      while (need > 0 && !active.empty()) {
        int64_t cap = 0;
        for (size_t i : active) cap += alive[i] - floor[i];
        std::vector<PruneTarget> targets;
        for (size_t i : active) targets.push_back(layers[i].layer->prune_target(score_of(i)));
        if (need >= cap) {
          for (size_t a = 0; a < active.size(); ++a)
            b.prune_smallest({&targets[a], 1}, alive[active[a]] - floor[active[a]]);
          break;
        }
        std::vector<Buffer<uint8_t>> backup;
        for (const auto& t : targets) {
          backup.emplace_back(b, t.n);
          if (t.n > 0) b.copy(backup.back().data(), t.alive, size_t(t.n));
        }
        b.prune_smallest(targets, need);
        std::vector<size_t> keep, pinned;
        for (size_t a = 0; a < active.size(); ++a)
          (b.count_nonzero(targets[a].alive, targets[a].n) < floor[active[a]] ? pinned : keep).push_back(a);
        if (pinned.empty()) break;
        for (size_t a = 0; a < active.size(); ++a)
          if (targets[a].n > 0) b.copy(targets[a].alive, backup[a].data(), size_t(targets[a].n));
        for (size_t a : pinned) {
          const size_t i = active[a];
          b.prune_smallest({&targets[a], 1}, alive[i] - floor[i]);
          need -= alive[i] - floor[i];
          alive[i] = floor[i];
        }
        std::vector<size_t> next;
        for (size_t a : keep) next.push_back(active[a]);
        active = std::move(next);
      }
      break;
    }

    case PruneAllocation::Tile:
      for (size_t i = 0; i < layers.size(); ++i) {
        SparseLinear& l = *layers[i].layer;
        Backend& b = l.backend();
        const Sheet sheet = sheet_for(layers[i].out_sheet, l.out(), l, "output");
        const PruneTarget whole = l.prune_target(score_of(i));
        // Entries of output unit u: W's row u, [u * in, (u + 1) * in) dense or [indptr[u], indptr[u + 1]) CSR.
        std::vector<int32_t> indptr;
        if (l.format() == WeightFormat::Csr) indptr = l.csr_indptr_host();
        auto first = [&](int64_t u) { return indptr.empty() ? u * l.in() : int64_t(indptr[size_t(u)]); };
        const int32_t t = cfg_.tile;
        for (int32_t r0 = 0; r0 < sheet.rows; r0 += t)
          for (int32_t c0 = 0; c0 < sheet.cols; c0 += t) {
            const int32_t c1 = std::min(c0 + t, sheet.cols);
            std::vector<PruneTarget> segs;
            int64_t n_tile = 0, alive_tile = 0;
            for (int32_t r = r0; r < std::min(r0 + t, sheet.rows); ++r) {
              const int64_t u0 = int64_t(r) * sheet.cols + c0, u1 = int64_t(r) * sheet.cols + c1;
              const int64_t a = first(u0), e = first(u1);
              n_tile += (u1 - u0) * l.in();
              if (e == a) continue;
              segs.push_back({whole.score + a, whole.alive + a, e - a});
              alive_tile += b.count_nonzero(whole.alive + a, e - a);
            }
            const int64_t k = std::min(alive_tile, pruned_target(sparsity, n_tile) - (n_tile - alive_tile));
            if (k > 0) b.prune_smallest(segs, k);
          }
      }
      break;

    case PruneAllocation::RowBlock:
      for (size_t i = 0; i < layers.size(); ++i) {
        SparseLinear& l = *layers[i].layer;
        Backend& b = l.backend();
        const int64_t blocks = layers[i].row_blocks, in = l.in();
        NEUROAI_CHECK(blocks >= 1 && l.out() % blocks == 0, "pruner: layer '{}' has {} rows, not {} equal blocks",
                      l.name(), l.out(), blocks);
        const int64_t rows = l.out() / blocks, n_block = rows * in;
        const PruneTarget whole = l.prune_target(score_of(i));
        std::vector<int32_t> indptr;
        if (l.format() == WeightFormat::Csr) indptr = l.csr_indptr_host();
        auto first = [&](int64_t row) { return indptr.empty() ? row * in : int64_t(indptr[size_t(row)]); };
        for (int64_t g = 0; g < blocks; ++g) {
          const int64_t a = first(g * rows), e = first((g + 1) * rows);
          const int64_t alive = e > a ? b.count_nonzero(whole.alive + a, e - a) : 0;
          const int64_t k = std::min(alive, pruned_target(sparsity, n_block) - (n_block - alive));
          if (k <= 0) continue;
          const PruneTarget seg{whole.score + a, whole.alive + a, e - a};
          b.prune_smallest({&seg, 1}, k);
        }
      }
      break;
  }
  for (auto& l : layers) l.layer->apply_pruning();
}

void Pruner::prune_round(std::span<PrunableLayer> layers) {
  ++rounds_done_;
  std::vector<Buffer<float>> scores(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    SparseLinear& l = *layers[i].layer;
    const double rate = layers[i].is_output ? cfg_.rate / 2 : cfg_.rate;
    const double s = 1.0 - std::pow(1.0 - rate, rounds_done_);
    if (cfg_.distance_weight > 0.0) scores[i] = distance_scores(layers[i], cfg_.distance_weight);
    prune_layer_to(l, pruned_target(s, dense_size(l)), scores[i].empty() ? nullptr : scores[i].data());
  }
  for (auto& l : layers) l.layer->apply_pruning();
}

void Pruner::snapshot(std::span<PrunableLayer> layers) {
  snap_layers_.clear();
  snap_w_.clear();
  snap_b_.clear();
  for (const auto& l : layers) {
    snap_layers_.push_back(l.layer);
    snap_w_.push_back(l.layer->weight_dense_host());
    snap_b_.push_back(l.layer->bias_host());
  }
}

void Pruner::rewind(std::span<PrunableLayer> layers) {
  NEUROAI_CHECK(has_snapshot(), "pruner: rewind() before any snapshot()");
  NEUROAI_CHECK(layers.size() == snap_layers_.size(), "pruner: rewind() got {} layers, the snapshot has {}",
                layers.size(), snap_layers_.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    SparseLinear& l = *layers[i].layer;
    NEUROAI_CHECK(&l == snap_layers_[i], "pruner: rewind() layer {} ('{}') is not the layer snapshotted there", i,
                  l.name());
    l.set_weight_values_host(snap_w_[i]);
    if (l.has_bias()) l.set_bias_host(snap_b_[i]);
    l.reset_optimizer_state();
    l.zero_grad();
  }
}

void Pruner::save_state(SafetensorsFile& f, const std::string& prefix) const {
  f.metadata[prefix + "rounds_done"] = std::to_string(rounds_done_);
  for (size_t i = 0; i < snap_w_.size(); ++i) {
    f.tensors[fmt::format("{}snapshot.{}.weight", prefix, i)] = st_from_f32(snap_w_[i], {int64_t(snap_w_[i].size())});
    f.tensors[fmt::format("{}snapshot.{}.bias", prefix, i)] = st_from_f32(snap_b_[i], {int64_t(snap_b_[i].size())});
  }
}

void Pruner::load_state(const SafetensorsFile& f, const std::string& prefix, std::span<PrunableLayer> layers) {
  auto it = f.metadata.find(prefix + "rounds_done");
  NEUROAI_CHECK(it != f.metadata.end(), "pruner state: metadata '{}rounds_done' is missing", prefix);
  const int rounds = std::stoi(it->second);
  NEUROAI_CHECK(rounds >= 0, "pruner state: {} rounds done", rounds);
  std::vector<const SparseLinear*> snap_layers;
  std::vector<std::vector<float>> snap_w, snap_b;
  if (f.tensors.count(prefix + "snapshot.0.weight")) {
    for (size_t i = 0; i < layers.size(); ++i) {
      const SparseLinear& l = *layers[i].layer;
      const std::string w = fmt::format("{}snapshot.{}.weight", prefix, i);
      const std::string b = fmt::format("{}snapshot.{}.bias", prefix, i);
      NEUROAI_CHECK(f.tensors.count(w) && f.tensors.count(b), "pruner state: '{}' or '{}' is missing", w, b);
      snap_w.push_back(st_to_f32(f.tensors.at(w), w));
      snap_b.push_back(st_to_f32(f.tensors.at(b), b));
      const int64_t n_bias = l.has_bias() ? l.out() : 0;
      NEUROAI_CHECK(int64_t(snap_w.back().size()) == dense_size(l) && int64_t(snap_b.back().size()) == n_bias,
                    "pruner state: the snapshot of layer {} ('{}') has {} weights and {} biases, the layer {} and {}",
                    i, l.name(), snap_w.back().size(), snap_b.back().size(), dense_size(l), n_bias);
      snap_layers.push_back(&l);
    }
  }
  rounds_done_ = rounds;
  snap_layers_ = std::move(snap_layers);
  snap_w_ = std::move(snap_w);
  snap_b_ = std::move(snap_b);
}

}  // namespace neuroai
