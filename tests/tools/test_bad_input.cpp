// A table of bad input (issue #15): every command of the neuroai program (train, eval, sweep, report,
// inspect, export, bench) given broken files, impossible options and mismatched data. Each case asserts
// the exit status (1 runtime, 2 usage), the one line that names the thing and what was expected, and that
// no file of the existing run folders (nor any input file) changed. A refused `train` into a new folder
// leaves nothing trained there (no metrics, model or state).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/safetensors.h"
#include "run_util.h"

namespace neuroai::test {
namespace {

fs::path root() { return fs::path(NEUROAI_BINARY_DIR) / "test_bad_input_tmp"; }

// Every regular file under the folder, recursively: relative path -> bytes.
std::map<std::string, std::string> tree(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = slurp(e.path());
  return out;
}

void idx_files(const fs::path& dir, int64_t n_images, const std::vector<uint8_t>& labels, int64_t n_test,
               const std::vector<uint8_t>& test_labels) {
  fs::create_directories(dir);
  write_idx(dir, "train", n_images, 8, labels, std::vector<uint8_t>(size_t(n_images * 64), 7));
  write_idx(dir, "t10k", n_test, 8, test_labels, std::vector<uint8_t>(size_t(n_test * 64), 9));
}

std::vector<uint8_t> cycle(int64_t n, int classes) {
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = uint8_t(i % classes);
  return v;
}

// One tensor value of a safetensors file replaced (the file rewritten as it was otherwise).
// The first F32 tensor of 2+ values gets `value` at index 1; a state keeps its stored checksum (the
// finite-value check comes first).
void poison(const fs::path& from, const fs::path& to, float value) {
  SafetensorsFile f = read_safetensors(from.string());
  for (auto& [name, t] : f.tensors)
    if (t.dtype == "F32" && t.data.size() >= 8) {
      std::memcpy(t.data.data() + 4, &value, 4);
      break;
    }
  write_safetensors(to.string(), f);
}

class BadInput : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    fs::remove_all(root());
    fs::create_directories(root());
    const fs::path d = root();
    make_tiny_images(d / "images");
    const std::string common = " --threads 1 --backend cpu --quiet";
    ASSERT_EQ(run_neuroai("train mlp --data " + (d / "images").string() + " --hidden 8 --epochs 2 --batch 32 --out " +
                              (d / "mlp").string() + common,
                          {}, d / "o.txt")
                  .rc,
              0)
        << slurp(d / "o.txt");
    ASSERT_EQ(run_neuroai("train gnn --graph sbm:n=60,k=2,deg=4 --epochs 4 --eval-every 2 --hidden 8 "
                          "--null-replicates 0 --out " + (d / "gnn").string() + common,
                          {}, d / "o.txt")
                  .rc,
              0)
        << slurp(d / "o.txt");
    ASSERT_EQ(run_neuroai("train gru --task sines --seq-len 8 --hidden 8 --groups 2 --epochs 1 --batch 16 "
                          "--train-limit 64 --test-limit 16 --out " + (d / "gru").string() + common,
                          {}, d / "o.txt")
                  .rc,
              0)
        << slurp(d / "o.txt");
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    poison(d / "mlp" / "model.safetensors", d / "nan.safetensors", nan);
    poison(d / "gnn" / "model.safetensors", d / "gnn_inf.safetensors", inf);
    // A run folder whose state holds an Inf (interrupted: no `done`), for --resume.
    fs::create_directories(d / "mlp_inf");
    for (const char* f : {".lock", "config.toml", "config.json", "metrics.jsonl", "steps.jsonl", "model.safetensors"})
      fs::copy_file(d / "mlp" / f, d / "mlp_inf" / f);
    poison(d / "mlp" / "state.safetensors", d / "mlp_inf" / "state.safetensors", inf);
    const std::string model = slurp(d / "mlp" / "model.safetensors");
    spit(d / "trunc.safetensors", model.substr(0, model.size() / 2));
    spit(d / "text.safetensors", "hello, not a checkpoint\n");
    idx_files(d / "count_mismatch", 64, cycle(60, 4), 16, cycle(16, 4));
    idx_files(d / "test_count_mismatch", 64, cycle(64, 4), 16, cycle(20, 4));
    idx_files(d / "eval_labels", 64, cycle(64, 4), 16, std::vector<uint8_t>(16, 7));
    idx_files(d / "other_size", 64, cycle(64, 4), 16, cycle(16, 4));
    write_idx(d / "other_size", "t10k", 16, 4, cycle(16, 4), std::vector<uint8_t>(16 * 16, 1));
    fs::create_directories(d / "cifar");
    for (int i = 1; i <= 5; ++i) spit(d / "cifar" / ("data_batch_" + std::to_string(i) + ".bin"), std::string(1, char(i)) + std::string(3072, '\0'));
    spit(d / "cifar" / "test_batch.bin", std::string(1, char(12)) + std::string(3072, '\0'));
    fs::create_directories(d / "cifar_cut");
    for (int i = 1; i <= 5; ++i) spit(d / "cifar_cut" / ("data_batch_" + std::to_string(i) + ".bin"), std::string(3000, '\0'));
    spit(d / "cifar_cut" / "test_batch.bin", std::string(3073, '\0'));
    fs::create_directories(d / "empty");
    std::string edges, labels_neg, labels_big, feat_nan, feat_ragged;
    for (int i = 0; i < 20; ++i) {
      edges += std::to_string(i) + " " + std::to_string((i + 1) % 20) + "\n";
      labels_neg += std::to_string(i) + " " + (i == 3 ? "-1" : std::to_string(i % 2)) + "\n";
      labels_big += std::to_string(i) + " " + (i == 3 ? "1000000" : std::to_string(i % 2)) + "\n";
      feat_nan += i == 5 ? "0.5 nan\n" : "0.5 0.5\n";
      feat_ragged += i == 4 ? "0.5\n" : "0.5 0.5\n";
    }
    spit(d / "edges.txt", edges);
    spit(d / "edges_bad.txt", "0 1\n1 x\n");
    spit(d / "labels_neg.txt", labels_neg);
    spit(d / "labels_big.txt", labels_big);
    spit(d / "feat_nan.txt", feat_nan);
    spit(d / "feat_ragged.txt", feat_ragged);
    spit(d / "bad_type.toml", "command = \"train mlp\"\nepochs = \"three\"\n");
    spit(d / "gnn.toml", "command = \"train gnn\"\ngraph = \"sbm:n=60,k=2,deg=4\"\nepochs = 2\nquiet = true\n");
    spit(d / "unknown.toml", "command = \"train gnn\"\nepochz = 2\n");
    spit(d / "broken.toml", "command = \"train gnn\"\nepochs = [\n");
  }
};

struct Case {
  const char* purpose;
  std::string args;  // {D} is the fixture folder
  int rc;
  std::string message;  // a part of the one line, {D} replaced
};

std::string expand(std::string s) {
  const std::string d = root().string();
  for (size_t p; (p = s.find("{D}")) != std::string::npos;) s.replace(p, 3, d);
  return s;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      // ---- train: data sets, every family and reader ----
      {"IDX: fewer labels than images", "train mlp --data {D}/count_mismatch --out {D}/new", 1,
       "{D}/count_mismatch/train-labels-idx1-ubyte: 60 labels; expected 64, the number of images in"},
      {"IDX: the test split's counts disagree", "train mlp --data {D}/test_count_mismatch --out {D}/new", 1,
       "{D}/test_count_mismatch/t10k-labels-idx1-ubyte: 20 labels; expected 16"},
      {"IDX: test images of another size", "train mlp --data {D}/other_size --out {D}/new", 1, "t10k-images-idx3-ubyte"},
      {"IDX for the GRU's sequence task: count mismatch", "train gru --task seq-fashion --data {D}/count_mismatch --out {D}/new",
       1, "60 labels; expected 64"},
      {"CIFAR-10: a label beyond 9", "train mlp --data {D}/cifar --out {D}/new", 1,
       "{D}/cifar/test_batch.bin: record 0 has label 12; expected 0..9"},
      {"CIFAR-10: a batch that is not whole records", "train mlp --data {D}/cifar_cut --out {D}/new", 1,
       "{D}/cifar_cut/data_batch_1.bin"},
      {"no data set in the folder", "train mlp --data {D}/empty --out {D}/new", 1, "{D}/empty: no data set found"},
      {"a data error, into a completed run folder", "train mlp --data {D}/empty --out {D}/mlp", 1,
       "{D}/empty: no data set found"},
      {"GNN labels: a negative label", "train gnn --graph {D}/edges.txt --labels {D}/labels_neg.txt --out {D}/new", 1,
       "{D}/labels_neg.txt:4: label -1 must be >= 0"},
      {"GNN labels: a label beyond the node count", "train gnn --graph {D}/edges.txt --labels {D}/labels_big.txt --out {D}/new",
       1, "{D}/labels_big.txt: node 3 has label 1000000; expected a class below the node count 20"},
      {"GNN features: NaN", "train gnn --graph {D}/edges.txt --features {D}/feat_nan.txt --out {D}/new", 1,
       "{D}/feat_nan.txt:6: 'nan' is not a finite number"},
      {"GNN features: a short row", "train gnn --graph {D}/edges.txt --features {D}/feat_ragged.txt --out {D}/new", 1,
       "{D}/feat_ragged.txt:5: row has 1 values, earlier rows have 2"},
      {"GNN edge list: not a number", "train gnn --graph {D}/edges_bad.txt --out {D}/new", 1, "{D}/edges_bad.txt:2"},
      {"GNN edge list: missing file", "train gnn --graph {D}/no_edges.txt --out {D}/new", 1, "{D}/no_edges.txt"},
      {"--graph spec: not a whole number", "train gnn --graph sbm:n=abc --out {D}/new", 1, "--graph 'sbm:n=abc'"},
      // ---- train: options ----
      {"--epochs 0", "train mlp --epochs 0 --out {D}/new", 1, "--epochs must be >= 1, got 0"},
      {"--lr negative", "train mlp --lr -1 --out {D}/new", 2, "--lr: expected a number > 0, got -1"},
      {"--sparsity 1", "train mlp --sparsity 1 --data {D}/images --out {D}/new", 1, "--sparsity must be in [0, 1), got 1"},
      {"--task unknown", "train gru --task nosuch --out {D}/new", 2, "--task: nosuch not in {seq-fashion,adding,sines}"},
      {"--kappa above 1", "train gru --kappa 2 --out {D}/new", 2, "--kappa: expected a number in [0, 1], got 2"},
      {"--layers 9", "train gnn --layers 9 --out {D}/new", 2, "--layers: expected a number in [1, 8], got 9"},
      {"unknown option", "train mlp --no-such-option --out {D}/new", 2, "--no-such-option"},
      {"--set of an unknown key", "train mlp --set nosuch=1 --out {D}/new", 2, "--set: unknown key 'nosuch'"},
      {"--config with a wrong type", "train mlp --config {D}/bad_type.toml --out {D}/new", 2,
       "key 'epochs' must be an integer"},
      {"--config for another command", "train mlp --config {D}/gnn.toml --out {D}/new", 2, "is for `neuroai train gnn`"},
      {"--config that does not parse", "train gnn --config {D}/broken.toml --out {D}/new", 2, "{D}/broken.toml"},
      // ---- train --resume: run folders ----
      {"resume: a state holding Inf", "train mlp --resume {D}/mlp_inf", 1,
       "{D}/mlp_inf/state.safetensors is corrupt or truncated: {D}/mlp_inf/state.safetensors: tensor"},
      {"resume: another family's folder", "train gnn --resume {D}/mlp", 2, "{D}/mlp/config.toml: unknown key"},
      {"resume: not a run folder", "train gnn --resume {D}/empty", 2, "--resume {D}/empty: no config.toml there"},
      {"resume: a missing folder", "train gru --resume {D}/missing", 2, "{D}/missing"},
      // ---- eval ----
      {"eval: NaN in a checkpoint", "eval {D}/nan.safetensors --data {D}/images", 1,
       "{D}/nan.safetensors: tensor 'layers.0.bias' holds NaN at index [1] (flat 1 of 8); expected finite values"},
      {"eval: Inf in a GNN checkpoint", "eval {D}/gnn_inf.safetensors", 1, "{D}/gnn_inf.safetensors: tensor '"},
      {"eval: a truncated checkpoint", "eval {D}/trunc.safetensors --data {D}/images", 1,
       "{D}/trunc.safetensors: tensor"},
      {"eval: a text file", "eval {D}/text.safetensors --data {D}/images", 1, "{D}/text.safetensors: header length"},
      {"eval: labels beyond the model's classes", "eval {D}/mlp/model.safetensors --data {D}/eval_labels", 1,
       "label 7 outside [0, 4)"},
      {"eval: a missing checkpoint", "eval {D}/missing.safetensors", 2, "{D}/missing.safetensors"},
      // ---- inspect ----
      {"inspect: NaN in a checkpoint", "inspect {D}/nan.safetensors", 1,
       "{D}/nan.safetensors: tensor 'layers.0.bias' holds NaN at index [1]"},
      {"inspect: a text file", "inspect {D}/text.safetensors", 1, "{D}/text.safetensors: header length"},
      {"inspect: a missing checkpoint", "inspect {D}/missing.safetensors", 2, "{D}/missing.safetensors"},
      // ---- export ----
      {"export: NaN in a checkpoint", "export {D}/nan.safetensors --out {D}/x.safetensors", 1,
       "{D}/nan.safetensors: tensor 'layers.0.bias' holds NaN"},
      {"export: a truncated checkpoint", "export {D}/trunc.safetensors --out {D}/x.safetensors", 1,
       "{D}/trunc.safetensors"},
      {"export: an unknown format", "export {D}/mlp/model.safetensors --format png", 2, "--format: png not in"},
      // ---- report ----
      {"report: neither a run nor a sweep folder", "report {D}/empty", 1,
       "report: {D}/empty is neither a run folder (metrics.jsonl) nor a sweep folder (summary.csv)"},
      {"report: a file, not a folder", "report {D}/nan.safetensors", 1, "report: {D}/nan.safetensors is not a folder"},
      // ---- sweep ----
      {"sweep: a config with a wrong type", "sweep {D}/bad_type.toml --grid lr=0.1 --out {D}/sw", 2,
       "{D}/bad_type.toml: key 'epochs' must be an integer"},
      {"sweep: a grid key the command lacks", "sweep {D}/gnn.toml --grid nosuchkey=1,2 --out {D}/sw", 2,
       "unknown key 'nosuchkey'"},
      {"sweep: a grid without values", "sweep {D}/gnn.toml --grid epochs= --out {D}/sw", 2,
       "--grid epochs=: expected KEY=V1,V2,..."},
      {"sweep: --jobs 0", "sweep {D}/gnn.toml --jobs 0 --out {D}/sw", 2, "--jobs: expected a number > 0, got 0"},
      {"sweep: a config with an unknown key", "sweep {D}/unknown.toml --out {D}/sw", 2, "unknown key 'epochz'"},
      // ---- bench ----
      {"bench: a density above 1", "bench --densities 2", 1, "--densities: 2 is outside (0, 1]"},
      {"bench: a width of 0", "bench --hidden 0", 1, "--hidden: widths must be > 0, got 0"},
      {"bench: a negative batch", "bench --batch -1", 1, "--batch -1"},
      {"bench: an unknown model", "bench --model rnn", 2, "--model: rnn not in {mlp,gru}"},
  };
  return c;
}

TEST_F(BadInput, EveryCaseExitsWithItsStatusAndOneLineAndChangesNothing) {
  const fs::path d = root();
  std::set<std::string> commands;
  int nan_cases = 0;
  for (const Case& c : cases()) {
    const std::string args = expand(c.args), message = expand(c.message);
    commands.insert(args.substr(0, args.find(' ')));
    nan_cases += c.message.find("holds NaN") != std::string::npos;
    const auto before = tree(d);
    const Child r = run_neuroai(args, {}, d.parent_path() / "test_bad_input_out.txt");
    EXPECT_EQ(r.rc, c.rc) << c.purpose << ": " << args << "\n" << r.out;
    // The line that names the problem: runtime errors print exactly one "neuroai: error:" line; usage
    // errors print the message (CLI11 adds "Run with --help").
    std::vector<std::string> lines;
    for (size_t p = 0, q; p < r.out.size(); p = q + 1) {
      q = r.out.find('\n', p);
      if (q == std::string::npos) q = r.out.size();
      if (q > p) lines.push_back(r.out.substr(p, q - p));
    }
    const auto hit = std::count_if(lines.begin(), lines.end(),
                                   [&](const std::string& l) { return l.find(message) != std::string::npos; });
    EXPECT_EQ(hit, 1) << c.purpose << ": expected one line with \"" << message << "\"\n" << r.out;
    if (c.rc == 1) {
      const auto errors = std::count_if(lines.begin(), lines.end(),
                                        [](const std::string& l) { return l.starts_with("neuroai: error: "); });
      EXPECT_EQ(errors, 1) << c.purpose << "\n" << r.out;
    }
    // Nothing that existed changed; a refused train left nothing trained in its new folder, and a
    // train refused by its own checks (data, options) never made the folder: the training loop alone
    // writes in a run folder, once the command is under way.
    auto after = tree(d);
    if (c.args.starts_with("train ") && c.args.find("--resume") == std::string::npos) {
      EXPECT_FALSE(fs::exists(d / "new")) << c.purpose << ": made the run folder";
    }
    for (auto it = after.begin(); it != after.end();) {
      const bool fresh = it->first.starts_with("new/") || it->first.starts_with("sw/");
      if (fresh) {
        EXPECT_FALSE(it->first.ends_with("metrics.jsonl") || it->first.ends_with(".safetensors") ||
                     it->first.ends_with("done"))
            << c.purpose << ": wrote " << it->first;
        it = after.erase(it);
      } else {
        ++it;
      }
    }
    std::vector<std::string> changed;
    for (const auto& [name, bytes] : before)
      if (!after.count(name) || after.at(name) != bytes) changed.push_back(name);
    for (const auto& [name, bytes] : after)
      if (!before.count(name)) changed.push_back(name);
    EXPECT_TRUE(changed.empty()) << c.purpose << ": changed " << ::testing::PrintToString(changed);
    fs::remove_all(d / "new");
    fs::remove_all(d / "sw");
  }
  std::printf("bad input: %zu cases over %zu commands, %d of them a NaN checkpoint\n", cases().size(), commands.size(),
              nan_cases);
  EXPECT_GE(cases().size(), 40u);
  EXPECT_EQ(commands, (std::set<std::string>{"train", "eval", "sweep", "report", "inspect", "export", "bench"}));
  EXPECT_GE(nan_cases, 1);
}

}  // namespace
}  // namespace neuroai::test
