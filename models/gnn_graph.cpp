// The device graph of the GCN: construction on the host, compaction on the backend.
#include "models/gnn_graph.h"

#include <algorithm>

#include "kernels/error.h"

namespace neuroai {

DeviceGraph::DeviceGraph(Backend& b, int32_t n, const EdgeList& pairs_in, const std::vector<int32_t>& ids)
    : b_(&b), n_(n) {
  NEUROAI_CHECK(ids.empty() || ids.size() == pairs_in.size(), "DeviceGraph: {} ids for {} pairs", ids.size(),
                pairs_in.size());
  NEUROAI_CHECK(n >= 1, "DeviceGraph: need at least one node (got {})", n);
  EdgeList pairs = pairs_in;
  std::vector<int32_t> order(pairs.size());
  for (size_t p = 0; p < pairs.size(); ++p) order[p] = int32_t(p);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t c) { return pairs[a] < pairs[c]; });
  EdgeList sorted(pairs.size());
  for (size_t p = 0; p < pairs.size(); ++p) sorted[p] = pairs[order[p]];
  for (size_t p = 0; p < sorted.size(); ++p) {
    const auto [u, v] = sorted[p];
    NEUROAI_CHECK(u >= 0 && u < v && v < n, "DeviceGraph: pair {} is ({}, {}); expected 0 <= u < v < {}", p, u, v, n);
    NEUROAI_CHECK(p == 0 || sorted[p - 1] != sorted[p], "DeviceGraph: pair ({}, {}) is listed twice", u, v);
  }
  n_pairs_ = int64_t(sorted.size());
  n_entries_ = 2 * n_pairs_ + n;
  // Rows in CSR order: for each node its neighbours (both directions) and itself, columns ascending.
  std::vector<std::vector<std::pair<int32_t, int32_t>>> rows(static_cast<size_t>(n));  // (col, pair)
  for (int32_t i = 0; i < n; ++i) rows[i].emplace_back(i, -1);
  for (int64_t p = 0; p < n_pairs_; ++p) {
    rows[sorted[p].first].emplace_back(sorted[p].second, int32_t(p));
    rows[sorted[p].second].emplace_back(sorted[p].first, int32_t(p));
  }
  std::vector<int32_t> indptr(size_t(n) + 1, 0), indices, entry_pair, mirror(static_cast<size_t>(n_entries_));
  std::vector<int32_t> pu(static_cast<size_t>(n_pairs_)), pv(pu), e1(pu), e2(pu);
  indices.reserve(size_t(n_entries_));
  entry_pair.reserve(size_t(n_entries_));
  for (int32_t i = 0; i < n; ++i) {
    std::sort(rows[i].begin(), rows[i].end());
    for (auto [j, p] : rows[i]) {
      const int32_t k = int32_t(indices.size());
      indices.push_back(j);
      entry_pair.push_back(p);
      if (p < 0)
        mirror[k] = k;
      else if (i < j)
        e1[p] = k;
      else
        e2[p] = k;
    }
    indptr[i + 1] = int32_t(indices.size());
  }
  for (int64_t p = 0; p < n_pairs_; ++p) {
    pu[p] = sorted[p].first;
    pv[p] = sorted[p].second;
    mirror[e1[p]] = e2[p];
    mirror[e2[p]] = e1[p];
  }
  indptr_ = Buffer<int32_t>(b, indptr);
  indices_ = Buffer<int32_t>(b, indices);
  entry_pair_ = Buffer<int32_t>(b, entry_pair);
  mirror_ = Buffer<int32_t>(b, mirror);
  pair_u_ = Buffer<int32_t>(b, pu);
  pair_v_ = Buffer<int32_t>(b, pv);
  pair_e1_ = Buffer<int32_t>(b, e1);
  pair_e2_ = Buffer<int32_t>(b, e2);
  if (!ids.empty())
    for (auto& o : order) o = ids[o];
  pair_id_ = Buffer<int32_t>(b, order);
}

ConstCsrView DeviceGraph::csr(const float* values) const {
  return {indptr_.data(), indices_.data(), values, n_, n_, n_entries_};
}

int64_t DeviceGraph::compact(const uint8_t* alive, Buffer<int32_t>& pos) {
  Backend& b = *b_;
  pos = Buffer<int32_t>(b, n_pairs_ + 1);
  const int64_t new_pairs = b.scan_flags(alive, n_pairs_, pos.data());
  Buffer<uint8_t> keep_e(b, n_entries_);  // (E)
  b.gather_flags(alive, entry_pair_.data(), n_entries_, keep_e.data());
  Buffer<int32_t> pos_e(b, n_entries_ + 1);
  const int64_t new_entries = b.scan_flags(keep_e.data(), n_entries_, pos_e.data());
  NEUROAI_CHECK(new_entries == 2 * new_pairs + n_, "DeviceGraph::compact: {} entries kept for {} pairs and {} nodes",
                new_entries, new_pairs, n_);

  Buffer<int32_t> indptr(b, int64_t(n_) + 1);
  b.csr_compact_indptr(indptr_.data(), n_, pos_e.data(), indptr.data());
  Buffer<int32_t> tmp(b, std::max(new_entries, new_pairs));
  // Per-entry arrays: compact, then renumber what they point to.
  auto squeeze_entries = [&](Buffer<int32_t>& arr, const int32_t* renumber) {
    Buffer<int32_t> out(b, new_entries);
    if (renumber) {
      b.compact_i32(arr.data(), keep_e.data(), pos_e.data(), n_entries_, tmp.data());
      b.remap_indices(tmp.data(), new_entries, renumber, out.data());
    } else {
      b.compact_i32(arr.data(), keep_e.data(), pos_e.data(), n_entries_, out.data());
    }
    arr = std::move(out);
  };
  squeeze_entries(indices_, nullptr);
  squeeze_entries(entry_pair_, pos.data());
  squeeze_entries(mirror_, pos_e.data());
  auto squeeze_pairs = [&](Buffer<int32_t>& arr, const int32_t* renumber) {
    Buffer<int32_t> out(b, new_pairs);
    if (new_pairs > 0) {
      if (renumber) {
        b.compact_i32(arr.data(), alive, pos.data(), n_pairs_, tmp.data());
        b.remap_indices(tmp.data(), new_pairs, renumber, out.data());
      } else {
        b.compact_i32(arr.data(), alive, pos.data(), n_pairs_, out.data());
      }
    }
    arr = std::move(out);
  };
  squeeze_pairs(pair_u_, nullptr);
  squeeze_pairs(pair_v_, nullptr);
  squeeze_pairs(pair_id_, nullptr);
  squeeze_pairs(pair_e1_, pos_e.data());
  squeeze_pairs(pair_e2_, pos_e.data());
  indptr_ = std::move(indptr);
  n_pairs_ = new_pairs;
  n_entries_ = new_entries;
  return new_pairs;
}

EdgeList DeviceGraph::pairs_host() const {
  const auto u = pair_u_.to_host(), v = pair_v_.to_host();
  EdgeList e(u.size());
  for (size_t p = 0; p < u.size(); ++p) e[p] = {u[p], v[p]};
  return e;
}

}  // namespace neuroai
