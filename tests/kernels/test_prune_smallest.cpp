// prune_smallest and count_nonzero against a plain reference that fully sorts the alive entries by
// (|score|, target index, flat index), the tie-break backend.h promises on every backend.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>
#include <vector>

#include "backend_fixture.h"
#include "kernels/error.h"

namespace neuroai::testing {
namespace {

struct HostTarget {
  std::vector<float> score;
  std::vector<uint8_t> alive;
};

// The oracle: every alive entry, fully sorted, the first n_prune cleared.
std::vector<std::vector<uint8_t>> reference_prune(const std::vector<HostTarget>& targets, int64_t n_prune) {
  std::vector<std::tuple<double, size_t, size_t>> order;
  for (size_t t = 0; t < targets.size(); ++t)
    for (size_t i = 0; i < targets[t].score.size(); ++i)
      if (targets[t].alive[i]) order.emplace_back(std::fabs(double(targets[t].score[i])), t, i);
  std::sort(order.begin(), order.end());
  std::vector<std::vector<uint8_t>> alive;
  for (const auto& t : targets) alive.push_back(t.alive);
  for (int64_t k = 0; k < n_prune; ++k) alive[std::get<1>(order[k])][std::get<2>(order[k])] = 0;
  return alive;
}

int64_t alive_count(const std::vector<HostTarget>& targets) {
  int64_t c = 0;
  for (const auto& t : targets) c += std::count_if(t.alive.begin(), t.alive.end(), [](uint8_t a) { return a != 0; });
  return c;
}

class PruneSmallest : public BackendTest {
protected:
  // Runs prune_smallest on the backend and returns the alive flags of every target.
  std::vector<std::vector<uint8_t>> run(const std::vector<HostTarget>& targets, int64_t n_prune) {
    std::vector<std::unique_ptr<Buf<float>>> score;
    std::vector<std::unique_ptr<Buf<uint8_t>>> alive;
    std::vector<PruneTarget> views;
    for (const auto& t : targets) {
      score.push_back(std::make_unique<Buf<float>>(be(), t.score));
      alive.push_back(std::make_unique<Buf<uint8_t>>(be(), t.alive));
      views.push_back({score.back()->get(), alive.back()->get(), int64_t(t.score.size())});
    }
    be().prune_smallest(views, n_prune);
    std::vector<std::vector<uint8_t>> out;
    for (auto& a : alive) out.push_back(a->host());
    return out;
  }

  void expect_matches_reference(const std::vector<HostTarget>& targets, int64_t n_prune) {
    const auto want = reference_prune(targets, n_prune);
    const auto got = run(targets, n_prune);
    ASSERT_EQ(got.size(), want.size());
    for (size_t t = 0; t < want.size(); ++t) EXPECT_EQ(got[t], want[t]) << "target " << t << ", n_prune " << n_prune;
    // Exactly n_prune entries went, none of them already dead.
    int64_t cleared = 0;
    for (size_t t = 0; t < want.size(); ++t)
      for (size_t i = 0; i < want[t].size(); ++i) {
        EXPECT_FALSE(!targets[t].alive[i] && got[t][i]) << "dead entry revived";
        cleared += targets[t].alive[i] && !got[t][i];
      }
    EXPECT_EQ(cleared, n_prune);
  }
};

HostTarget make_target(size_t n, uint64_t seed, bool integer_scores, double density) {
  HostTarget t;
  t.score = integer_scores ? random_ints(n, seed, -4, 4) : random_floats(n, seed);
  t.alive = random_mask(n, density, seed + 1000);
  return t;
}

// Negative scores rank by |score|; a hand-checked example.
TEST_P(PruneSmallest, NegativeScoresRankByMagnitude) {
  std::vector<HostTarget> t{{{-5.f, 1.f, -2.f, 3.f, 0.5f, -0.25f}, {1, 1, 1, 1, 1, 0}}};
  const auto got = run(t, 2);
  EXPECT_EQ(got[0], (std::vector<uint8_t>{1, 0, 1, 1, 0, 0}));
}

// Equal |score| (including +-x and +-0) go in flat-index order.
TEST_P(PruneSmallest, TiesBrokenByIndex) {
  std::vector<HostTarget> t{{{2.f, -1.f, 1.f, -0.f, 0.f, -1.f, 1.f}, {1, 1, 1, 1, 1, 1, 1}}};
  EXPECT_EQ(run(t, 3)[0], (std::vector<uint8_t>{1, 0, 1, 0, 0, 1, 1}));
  EXPECT_EQ(run(t, 5)[0], (std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 1}));
}

TEST_P(PruneSmallest, RandomFloatsOneTarget) {
  std::vector<HostTarget> t{make_target(1000, 1, false, 0.8)};
  for (int64_t n : {1, 300, 799}) expect_matches_reference(t, std::min(n, alive_count(t)));
}

// Integer-valued scores in [-4, 4]: ties everywhere, the threshold falls inside a run of ties.
TEST_P(PruneSmallest, IntegerScoresManyTies) {
  std::vector<HostTarget> t{make_target(5000, 2, true, 0.9)};
  const int64_t alive = alive_count(t);
  for (int64_t n : {int64_t(1), int64_t(17), int64_t(777), int64_t(2500), alive - 1})
    expect_matches_reference(t, n);
}

// One global ranking over three targets of different sizes (1, not a multiple of anything, and
// large enough for several GPU chunks) with ties crossing target boundaries.
TEST_P(PruneSmallest, GlobalAcrossThreeTargets) {
  std::vector<HostTarget> t{make_target(1, 3, true, 1.0), make_target(37, 4, true, 0.7),
                            make_target(12345, 5, true, 0.6)};
  const int64_t alive = alive_count(t);
  for (int64_t n : {int64_t(1), int64_t(100), alive / 2, alive - 3}) expect_matches_reference(t, n);
}

// Several GPU chunks and histogram blocks; float scores with a few exact duplicates.
TEST_P(PruneSmallest, LargeMixed) {
  HostTarget a = make_target(100003, 6, false, 0.75);
  for (size_t i = 0; i < a.score.size(); i += 7) a.score[i] = std::round(a.score[i] * 8) / 8;
  std::vector<HostTarget> t{a, make_target(70001, 7, true, 0.5)};
  const int64_t alive = alive_count(t);
  for (int64_t n : {alive / 3, alive - 1}) expect_matches_reference(t, n);
}

// Dead entries (smallest scores here) are neither pruned again nor counted toward n_prune.
TEST_P(PruneSmallest, DeadEntriesUntouched) {
  HostTarget t;
  t.score = {0.f, 0.f, 5.f, 1.f, 0.f, 2.f, 3.f, 4.f};
  t.alive = {0, 0, 1, 1, 0, 1, 1, 1};
  EXPECT_EQ(run({t}, 2)[0], (std::vector<uint8_t>{0, 0, 1, 0, 0, 0, 1, 1}));
  expect_matches_reference({t}, 3);
}

TEST_P(PruneSmallest, NothingAndEverything) {
  std::vector<HostTarget> t{make_target(333, 8, true, 0.5), make_target(64, 9, false, 1.0)};
  const auto none = run(t, 0);
  EXPECT_EQ(none[0], t[0].alive);
  EXPECT_EQ(none[1], t[1].alive);
  const auto all = run(t, alive_count(t));
  for (const auto& a : all) EXPECT_FALSE(any_nonzero(a));
}

TEST_P(PruneSmallest, EmptyTargetsAreSkipped) {
  std::vector<HostTarget> t{{}, make_target(50, 10, true, 1.0), {}};
  expect_matches_reference(t, 20);
}

TEST_P(PruneSmallest, BadArgumentsRaise) {
  std::vector<HostTarget> t{make_target(100, 11, true, 0.5)};
  EXPECT_THROW(run(t, alive_count(t) + 1), Error);
  EXPECT_THROW(run(t, -1), Error);
  PruneTarget null_alive{nullptr, nullptr, 10};
  EXPECT_THROW(be().prune_smallest(std::span<const PruneTarget>(&null_alive, 1), 0), Error);
  EXPECT_NO_THROW(be().prune_smallest({}, 0));
  EXPECT_THROW(be().prune_smallest({}, 1), Error);
}

class CountNonzero : public BackendTest {};

TEST_P(CountNonzero, CountsEveryNonzeroByte) {
  for (size_t n : {size_t(1), size_t(7), size_t(4096), size_t(100001)}) {
    auto v = random_mask(n, 0.3, n);
    for (size_t i = 0; i < n; i += 5) v[i] = v[i] ? 255 : 0;  // any nonzero byte counts
    const int64_t want = std::count_if(v.begin(), v.end(), [](uint8_t x) { return x != 0; });
    Buf<uint8_t> d(be(), v);
    EXPECT_EQ(be().count_nonzero(d.get(), int64_t(n)), want) << "n = " << n;
  }
  EXPECT_EQ(be().count_nonzero(nullptr, 0), 0);
  EXPECT_THROW(be().count_nonzero(nullptr, 3), Error);
}

NEUROAI_INSTANTIATE_BACKENDS(PruneSmallest);
NEUROAI_INSTANTIATE_BACKENDS(CountNonzero);

}  // namespace
}  // namespace neuroai::testing
