// Bad values, not only bad bytes (issue #15): NaN passes through the activations as in PyTorch (ReLU
// once turned it into 0 and hid a diverging layer), a model whose weights hold a NaN gives NaN logits,
// and a safetensors file with NaN or Inf in any floating-point tensor is refused naming the tensor
// and the first index.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backend_fixture.h"
#include "engine/safetensors.h"
#include "kernels/activation_math.h"
#include "kernels/inhibition_math.h"
#include "models/mlp.h"

namespace neuroai {
namespace {

using testing::BackendTest;
using testing::Buf;

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// PyTorch: relu(nan) = nan, relu(-inf) = 0, relu(inf) = inf; tanh / sigmoid of nan = nan.
class NonFinite : public BackendTest {};

TEST_P(NonFinite, ActivationsPassNaNThroughAsPyTorch) {
  const std::vector<float> x = {kNan, -1.0f, 0.0f, 2.0f, kInf, -kInf};
  Buf<float> in(be(), x), out(be(), x.size());
  be().activation_forward(Activation::Relu, in.get(), int64_t(x.size()), out.get());
  auto y = out.host();
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 0.0f);
  EXPECT_EQ(y[3], 2.0f);
  EXPECT_EQ(y[4], kInf);
  EXPECT_EQ(y[5], 0.0f);
  for (Activation a : {Activation::Tanh, Activation::Sigmoid}) {
    be().activation_forward(a, in.get(), int64_t(x.size()), out.get());
    y = out.host();
    EXPECT_TRUE(std::isnan(y[0])) << int(a);
    for (size_t i = 1; i < y.size(); ++i) EXPECT_TRUE(std::isfinite(y[i])) << int(a) << " at " << i;
  }
}

// threshold_backward: the gradient passes where y > 0; a NaN output passes none, a NaN gradient passes.
TEST_P(NonFinite, ReluBackwardGatesAsPyTorch) {
  const std::vector<float> y = {kNan, 0.0f, 3.0f, 3.0f}, dy = {1.0f, kNan, kNan, 2.0f};
  Buf<float> yb(be(), y), dyb(be(), dy), dx(be(), y.size());
  be().activation_backward(Activation::Relu, yb.get(), dyb.get(), int64_t(y.size()), dx.get());
  const auto g = dx.host();
  EXPECT_EQ(g[0], 0.0f);
  EXPECT_EQ(g[1], 0.0f);
  EXPECT_TRUE(std::isnan(g[2]));
  EXPECT_EQ(g[3], 2.0f);
}

// The difference-of-Gaussians inhibition ends in a ReLU too.
TEST_P(NonFinite, DogInhibitionPassesNaNThrough) {
  const Sheet sheet{2, 2};
  std::vector<float> h = {1.0f, 0.5f, kNan, 0.25f};  // (1, 4)
  Buf<float> hb(be(), h), yb(be(), h.size());
  DogParams p;
  be().dog_forward(ConstDenseView{hb.get(), 1, 4}, sheet, p, DenseView{yb.get(), 1, 4});
  EXPECT_TRUE(std::isnan(yb.host()[2]));
}

// The hole: a NaN in one weight of the first layer reached eval as the original accuracy,
// because ReLU zeroed it. Now the logits are NaN.
TEST_P(NonFinite, NaNWeightReachesTheLogits) {
  MlpConfig mc;
  mc.inputs = 4;
  mc.hidden = {4};
  mc.classes = 2;
  mc.resolve();
  Mlp m(be(), mc, 3);
  std::vector<float> w(size_t(m.layer(0).weight().size()));
  be().download(w.data(), m.layer(0).weight().w(), w.size() * sizeof(float));
  w[1] = kNan;
  be().upload(m.layer(0).weight().w(), w.data(), w.size() * sizeof(float));
  Buf<float> x(be(), std::vector<float>{1.0f, -1.0f, 0.5f, 2.0f});
  const ConstDenseView logits = m.forward(ConstDenseView{x.get(), 1, 4});
  std::vector<float> l(2);
  be().download(l.data(), logits.data, l.size() * sizeof(float));
  EXPECT_TRUE(std::isnan(l[0]) && std::isnan(l[1])) << l[0] << " " << l[1];
}

NEUROAI_INSTANTIATE_BACKENDS(NonFinite);

TEST(ActivationMath, ReluOfNaNIsNaNAndOfMinusZeroIsZero) {
  EXPECT_TRUE(std::isnan(activation_fwd<Activation::Relu>(kNan)));
  EXPECT_EQ(std::signbit(activation_fwd<Activation::Relu>(-0.0f)), false);
  EXPECT_TRUE(std::isnan(dog_output(kNan, 0.0f, DogParams{})));
  EXPECT_TRUE(std::isnan(dog_output(1.0f, kNan, DogParams{})));
}

std::string temp_file(const std::string& name) {
  const auto d = std::filesystem::temp_directory_path() / "neuroai_test_non_finite";
  std::filesystem::create_directories(d);
  return (d / name).string();
}

std::string refusal(const SafetensorsFile& f, const std::string& name) {
  const std::string path = temp_file(name);
  write_safetensors(path, f);
  try {
    read_safetensors(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(CheckpointValues, NaNOrInfInAnyFloatTensorIsRefusedNamingTensorAndIndex) {
  SafetensorsFile f;
  f.tensors["a.ok"] = st_from_f32({1.0f, 2.0f}, {2});
  f.tensors["b.mask"] = st_from_u8({255, 0}, {2});  // not floating point: 0xff is no NaN
  std::vector<float> w(6, 0.5f);
  w[5] = kNan;
  f.tensors["layers.0.weight"] = st_from_f32(w, {2, 3});
  const std::string path = temp_file("nan.safetensors");
  std::string msg = refusal(f, "nan.safetensors");
  EXPECT_NE(msg.find(path + ": tensor 'layers.0.weight' holds NaN at index [1, 2] (flat 5 of 6)"), std::string::npos)
      << msg;

  w[5] = 0.5f;
  w[0] = -kInf;
  f.tensors["layers.0.weight"] = st_from_f32(w, {2, 3});
  msg = refusal(f, "inf.safetensors");
  EXPECT_NE(msg.find("tensor 'layers.0.weight' holds Inf at index [0, 0]"), std::string::npos) << msg;

  // Half precision and doubles: Inf in F16 (0x7c00), NaN in BF16 (0x7fc0), NaN in F64.
  w[0] = 0.5f;
  f.tensors["layers.0.weight"] = st_from_f32(w, {2, 3});
  StTensor h;
  h.dtype = "F16";
  h.shape = {3};
  h.data = {0x00, 0x3c, 0x00, 0x7c, 0x00, 0x00};  // 1.0, inf, 0
  f.tensors["z.half"] = h;
  msg = refusal(f, "f16.safetensors");
  EXPECT_NE(msg.find("tensor 'z.half' holds Inf at index [1]"), std::string::npos) << msg;
  h.dtype = "BF16";
  h.data = {0x80, 0x3f, 0x00, 0x00, 0xc0, 0x7f};  // 1.0, 0, nan
  f.tensors["z.half"] = h;
  msg = refusal(f, "bf16.safetensors");
  EXPECT_NE(msg.find("tensor 'z.half' holds NaN at index [2]"), std::string::npos) << msg;
  f.tensors.erase("z.half");
  StTensor d;
  d.dtype = "F64";
  d.shape = {};
  d.data.resize(8);
  const double dn = std::numeric_limits<double>::quiet_NaN();
  std::memcpy(d.data.data(), &dn, 8);
  f.tensors["scalar"] = d;
  msg = refusal(f, "f64.safetensors");
  EXPECT_NE(msg.find("tensor 'scalar' holds NaN at index [] (flat 0 of 1)"), std::string::npos) << msg;

  // Finite everywhere: read back as written.
  const double one = 1.0;
  std::memcpy(f.tensors["scalar"].data.data(), &one, 8);
  EXPECT_EQ(refusal(f, "ok.safetensors"), "");
}

}  // namespace
}  // namespace neuroai
