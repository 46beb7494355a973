// Graph readers (good and malformed files), generators (SBM / ER statistics, contextual-SBM features)
// and the graph-structure metrics of SPEC §10 (AUROC, modularity, Louvain, NMI / ARI, retention).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "engine/graph.h"
#include "engine/graph_metrics.h"
#include "kernels/error.h"

namespace neuroai {
namespace {

class GraphFiles : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("neuroai_test_graph_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p) << text;
    return p;
  }
  // The message of the Error thrown by f (empty when nothing was thrown).
  template <class F>
  static std::string error_of(F f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  std::filesystem::path dir_;
};

TEST_F(GraphFiles, ReadsEdgeListWithCommentsWeightsLoopsAndDuplicates) {
  const std::string p = write("g.txt",
                              "# a comment\n"
                              "0 1\n"
                              "\n"
                              "2 1 0.5   # trailing comment\n"
                              "1 2 2.5\n"  // duplicate of (1, 2): merged, largest weight kept
                              "3 3\n"      // self-loop: dropped
                              "1 0\n"      // duplicate of (0, 1)
                              "4 2\n");
  EdgeListStats st;
  const Graph g = read_edge_list(p, 0, &st);
  EXPECT_EQ(g.n, 5);
  ASSERT_EQ(g.edges.size(), 3u);
  EXPECT_EQ(g.edges[0], std::make_pair(0, 1));
  EXPECT_EQ(g.edges[1], std::make_pair(1, 2));
  EXPECT_EQ(g.edges[2], std::make_pair(2, 4));
  EXPECT_FLOAT_EQ(g.weights[1], 2.5f);
  EXPECT_EQ(st.lines, 6);
  EXPECT_EQ(st.self_loops, 1);
  EXPECT_EQ(st.duplicates, 2);
}

TEST_F(GraphFiles, MalformedEdgeListsNameFileAndLine) {
  struct Bad {
    const char* what;
    const char* text;
    const char* expect;  // in the message
  };
  const Bad cases[] = {
      {"not an integer", "0 1\n1 x\n", ":2:"},
      {"too many fields", "0 1 1 1\n", ":1:"},
      {"one field", "0 1\n\n5\n", ":3:"},
      {"negative id", "0 -1\n", "out of range"},
      {"bad weight", "0 1 nan\n", "weight"},
      {"fractional id", "0 1.5\n", "integers"},
  };
  for (const Bad& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string p = write("bad.txt", c.text);
    const std::string msg = error_of([&] { read_edge_list(p); });
    EXPECT_NE(msg.find("bad.txt"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
  }
  EXPECT_NE(error_of([&] { read_edge_list((dir_ / "missing.txt").string()); }).find("cannot open"), std::string::npos);
  // A fixed node count refuses larger ids.
  const std::string p = write("big.txt", "0 1\n1 7\n");
  EXPECT_NE(error_of([&] { read_edge_list(p, 5); }).find("big.txt:2: node id out of range [0, 5)"), std::string::npos);
}

TEST_F(GraphFiles, LabelsAndFeatures) {
  const std::string e = write("e.txt", "0 1\n1 2\n");
  const std::string l = write("l.txt", "# node label\n0 1\n2 0\n");
  const std::string f = write("f.txt", "1 2\n3 4\n5 6\n0 0\n");
  const Graph g = read_graph(e, l, f);
  EXPECT_EQ(g.n, 4);  // the features' rows
  EXPECT_EQ(g.labels, (std::vector<int32_t>{1, -1, 0, -1}));
  EXPECT_EQ(g.n_features, 2);
  EXPECT_FLOAT_EQ(g.features[5], 6.0f);
  // Without features the node count comes from edges and labels.
  const std::string l2 = write("l2.txt", "5 3\n");
  EXPECT_EQ(read_graph(e, l2, "").n, 6);
  // Bad files.
  EXPECT_NE(error_of([&] { read_labels(write("lb.txt", "0 1\n1\n"), 3); }).find("lb.txt:2"), std::string::npos);
  EXPECT_NE(error_of([&] { read_labels(write("lr.txt", "9 1\n"), 3); }).find("out of range"), std::string::npos);
  EXPECT_NE(error_of([&] { read_labels(write("lt.txt", "0 1\n0 2\n"), 3); }).find("two labels"), std::string::npos);
  int64_t r = 0, c = 0;
  EXPECT_NE(error_of([&] { read_features(write("fr.txt", "1 2\n3\n"), &r, &c); }).find("fr.txt:2"), std::string::npos);
  EXPECT_NE(error_of([&] { read_features(write("fn.txt", "1 x\n"), &r, &c); }).find("fn.txt:1"), std::string::npos);
  // An edge outside the features' rows.
  const std::string e2 = write("e2.txt", "0 1\n1 9\n");
  EXPECT_NE(error_of([&] { read_graph(e2, "", f); }).find("e2.txt:2"), std::string::npos);
}

// Found by tests/fuzz/fuzz_edge_list (corpus/fuzz_edge_list/regress-label-id-bomb): a 12-byte label or
// edge line naming node 2147483646 made read_graph allocate 8 GiB of per-node labels.
TEST_F(GraphFiles, NodeIdsPastTheLimitAreRefusedBeforeAllocating) {
  const std::string e = write("e.txt", "0 1\n");
  const std::string far = std::to_string(kMaxGraphNodes);
  const std::string l = write("l.txt", far + " 0\n");
  const std::string msg = error_of([&] { read_graph(e, l, ""); });
  EXPECT_NE(msg.find("l.txt:1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("out of range [0, " + far + ")"), std::string::npos) << msg;
  const std::string e2 = write("e2.txt", "0 2147483646\n");
  const std::string msg2 = error_of([&] { read_graph(e2, write("l2.txt", "0 0\n"), ""); });
  EXPECT_NE(msg2.find("e2.txt:1"), std::string::npos) << msg2;
  EXPECT_NE(msg2.find("out of range"), std::string::npos) << msg2;
  // The largest id allowed still reads, with every node up to it.
  EXPECT_EQ(read_graph(write("e3.txt", "0 " + std::to_string(kMaxGraphNodes - 1) + "\n"), "", "").n, kMaxGraphNodes);
}

TEST_F(GraphFiles, WriteAndReadBack) {
  Graph g;
  g.n = 3;
  g.edges = {{0, 1}, {1, 2}};
  g.weights = {0.25f, 1.0f};
  const std::string p = (dir_ / "out.txt").string();
  write_edge_list(p, g, "test");
  const Graph h = read_edge_list(p, 3);
  EXPECT_EQ(h.edges, g.edges);
  EXPECT_FLOAT_EQ(h.weights[0], 0.25f);
}

// Mean degree and the block densities p_in = c_in / N, p_out = c_out / N within sampling tolerance.
TEST(Sbm, DegreeAndBlockDensities) {
  SbmConfig c;
  c.n = 400;
  c.k = 4;
  c.mean_degree = 16;
  c.ratio = 0.25;
  c.seed = 3;
  const Graph g = make_sbm(c);
  EXPECT_EQ(g.num_classes(), 4);
  EXPECT_NEAR(g.mean_degree(), 16.0, 1.0);
  const double c_in = c.k * c.mean_degree / (1 + (c.k - 1) * c.ratio), c_out = c.ratio * c_in;
  const double in_pairs = c.k * (100.0 * 99 / 2), out_pairs = 400.0 * 399 / 2 - in_pairs;
  const double p_in = double(g.num_intra_edges()) / in_pairs;
  const double p_out = double(g.num_edges() - g.num_intra_edges()) / out_pairs;
  EXPECT_NEAR(p_in, c_in / c.n, 0.1 * c_in / c.n);
  EXPECT_NEAR(p_out, c_out / c.n, 0.15 * c_out / c.n);
  for (auto [u, v] : g.edges) ASSERT_LT(u, v);
  EXPECT_TRUE(sbm_detectable(c));
  // Seeded: the same config gives the same graph.
  EXPECT_EQ(make_sbm(c).edges, g.edges);
}

TEST(Er, MeanDegreeAndNoStructure) {
  const Graph g = make_er(400, 10.0, 4, 5);
  EXPECT_NEAR(g.mean_degree(), 10.0, 0.8);
  // About a quarter of the edges fall inside the (arbitrary) blocks.
  EXPECT_NEAR(double(g.num_intra_edges()) / double(g.num_edges()), 99.0 / 399.0, 0.04);
}

TEST(Csbm, ClassMeansAreSignalTimesUnitVectors) {
  std::vector<int32_t> y(2000);
  for (size_t i = 0; i < y.size(); ++i) y[i] = int32_t(i % 2);
  const int64_t f = 8;
  const auto x = csbm_features(y, 2, f, 2.0, 9);
  for (int32_t c = 0; c < 2; ++c) {
    std::vector<double> mean(size_t(f), 0.0);
    for (size_t i = c; i < y.size(); i += 2)
      for (int64_t d = 0; d < f; ++d) mean[d] += x[i * f + d] / 1000.0;
    double norm = 0;
    for (double m : mean) norm += m * m;
    EXPECT_NEAR(std::sqrt(norm), 2.0, 0.15);
  }
}

TEST(GraphMetrics, AurocWithTies) {
  EXPECT_DOUBLE_EQ(auroc({0.1f, 0.2f, 0.8f, 0.9f}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(auroc({0.9f, 0.8f, 0.2f, 0.1f}, {0, 0, 1, 1}), 0.0);
  EXPECT_DOUBLE_EQ(auroc({0.5f, 0.5f}, {0, 1}), 0.5);
  EXPECT_DOUBLE_EQ(auroc({0.1f, 0.5f, 0.5f, 0.9f}, {0, 1, 0, 1}), 0.875);
  EXPECT_DOUBLE_EQ(auroc({0.3f}, {1}), 0.5);
}

// Two 5-cliques joined by one edge: Louvain finds them, modularity by hand, NMI / ARI.
TEST(GraphMetrics, TwoCliques) {
  EdgeList e;
  for (int32_t b = 0; b < 2; ++b)
    for (int32_t i = 0; i < 5; ++i)
      for (int32_t j = i + 1; j < 5; ++j) e.emplace_back(5 * b + i, 5 * b + j);
  e.emplace_back(4, 5);
  const std::vector<int32_t> planted = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
  // m = 21; each block: 10 internal edges, degree sum 21 -> Q = 2 (10/21 - (21/42)^2).
  EXPECT_NEAR(modularity(10, e, {}, planted), 2 * (10.0 / 21 - 0.25), 1e-12);
  const auto comm = louvain(10, e, {}, 1);
  EXPECT_DOUBLE_EQ(partition_nmi(comm, planted), 1.0);
  EXPECT_DOUBLE_EQ(partition_ari(comm, planted), 1.0);
  const std::vector<int32_t> relabelled = {7, 7, 7, 7, 7, 3, 3, 3, 3, 3};
  EXPECT_NEAR(partition_nmi(relabelled, planted), 1.0, 1e-12);
  const std::vector<int32_t> one = std::vector<int32_t>(10, 0);
  EXPECT_NEAR(partition_nmi(one, planted), 0.0, 1e-12);
  EXPECT_NEAR(partition_ari(one, planted), 0.0, 1e-12);
  const ComponentStats cs = component_stats(12, e);
  EXPECT_EQ(cs.components, 3);  // the cliques and two isolated nodes
  EXPECT_EQ(cs.isolated, 2);
}

TEST(GraphMetrics, Retention) {
  const std::vector<int32_t> labels = {0, 0, 1, 1};
  const EdgeList orig = {{0, 1}, {2, 3}, {0, 2}, {1, 3}};  // 2 intra, 2 inter
  const EdgeList kept = {{0, 1}, {2, 3}, {1, 3}};
  const RetentionMetrics r = graph_retention(4, orig, kept, {0.9f, 0.8f, 0.1f}, labels, 0);
  EXPECT_DOUBLE_EQ(r.r_in, 1.0);
  EXPECT_DOUBLE_EQ(r.r_out, 0.5);
  EXPECT_DOUBLE_EQ(r.selectivity, 2.0);
  EXPECT_DOUBLE_EQ(r.score_auroc, 1.0);
  EXPECT_DOUBLE_EQ(r.edge_density, 0.75);
  EXPECT_EQ(r.isolated, 0);
}

}  // namespace
}  // namespace neuroai
