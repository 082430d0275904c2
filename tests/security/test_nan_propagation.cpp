// NaN in, NaN out, as in PyTorch: every activation maps NaN to NaN (PyTorch's clamps and
// comparisons propagate it), so a model whose weights hold a NaN must not produce finite outputs.
// oneDNN 2.6's relu (alpha 0) and clip kernels compute max(x, lower), which returns `lower` for
// NaN: before the fix relu(NaN) was 0, relu6(NaN) 0 and hardtanh(NaN) min_val, eagerly, in the
// interpreter and through the compiled inference path's fused conv/linear + activation.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "pare/ir/tracer.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

using pare::Tensor;
using pare::testing::fill_parameters;
using pare::testing::random_tensor;

const float kNaN = std::numeric_limits<float>::quiet_NaN();

int count_nan(const Tensor& tensor) {
  const Tensor values = tensor.contiguous();
  int count = 0;
  for (int64_t i = 0; i < values.numel(); ++i) count += std::isnan(values.data_ptr<float>()[i]);
  return count;
}

// The 21 activations (hardtanh and gelu twice), by their functional forms.
using NamedActivation = std::pair<std::string, std::function<Tensor(const Tensor&)>>;
std::vector<NamedActivation> all_activations() {
  return {
      {"relu", [](const Tensor& x) { return pare::relu(x); }},
      {"rrelu", [](const Tensor& x) { return pare::rrelu(x); }},
      {"hardtanh", [](const Tensor& x) { return pare::hardtanh(x); }},
      {"hardtanh(-2, 3)", [](const Tensor& x) { return pare::hardtanh(x, -2.0, 3.0); }},
      {"relu6", [](const Tensor& x) { return pare::relu6(x); }},
      {"sigmoid", [](const Tensor& x) { return pare::sigmoid(x); }},
      {"hardsigmoid", [](const Tensor& x) { return pare::hardsigmoid(x); }},
      {"tanh", [](const Tensor& x) { return pare::tanh(x); }},
      {"silu", [](const Tensor& x) { return pare::silu(x); }},
      {"mish", [](const Tensor& x) { return pare::mish(x); }},
      {"hardswish", [](const Tensor& x) { return pare::hardswish(x); }},
      {"elu", [](const Tensor& x) { return pare::elu(x); }},
      {"celu", [](const Tensor& x) { return pare::celu(x); }},
      {"selu", [](const Tensor& x) { return pare::selu(x); }},
      {"hardshrink", [](const Tensor& x) { return pare::hardshrink(x); }},
      {"leaky_relu", [](const Tensor& x) { return pare::leaky_relu(x); }},
      {"logsigmoid", [](const Tensor& x) { return pare::logsigmoid(x); }},
      {"softplus", [](const Tensor& x) { return pare::softplus(x); }},
      {"prelu", [](const Tensor& x) { return pare::prelu(x, pare::full({1}, 0.25)); }},
      {"softsign", [](const Tensor& x) { return pare::softsign(x); }},
      {"tanhshrink", [](const Tensor& x) { return pare::tanhshrink(x); }},
      {"gelu", [](const Tensor& x) { return pare::gelu(x); }},
      {"gelu tanh", [](const Tensor& x) { return pare::gelu(x, "tanh"); }},
  };
}

}  // namespace

TEST_CASE("nan: every activation maps NaN to NaN and leaves the other elements finite") {
  const std::vector<NamedActivation> activations = all_activations();
  // Large enough for the kernels' multi-threaded paths as well.
  for (const int64_t count : {int64_t{6}, int64_t{1} << 16}) {
    Tensor x = random_tensor({count}, 7);
    x.data_ptr<float>()[count - 2] = kNaN;
    for (const auto& [name, activation] : activations) {
      CAPTURE(name);
      CAPTURE(count);
      const Tensor y = activation(x);
      CHECK(std::isnan(y.data_ptr<float>()[count - 2]));
      CHECK(count_nan(y) == 1);
    }
  }
}

namespace {

// conv (NaN in one weight) -> relu -> flatten -> fc -> relu6 -> fc2 -> hardtanh: the compiled
// inference path fuses each activation into the layer before it.
struct NanNet : pare::nn::Module {
  NanNet() {
    conv = register_module("conv", pare::nn::Conv2d(pare::nn::Conv2dOptions(1, 2, 3)));
    fc = register_module("fc", pare::nn::Linear(8, 4));
    fc2 = register_module("fc2", pare::nn::Linear(4, 3));
    fill_parameters(*this, 11);
  }
  Tensor forward(const Tensor& x) {
    Tensor h = pare::flatten(pare::relu(conv(x)), 1);
    return pare::hardtanh(fc2(pare::relu6(fc(h))));
  }
  pare::nn::Conv2d conv{nullptr};
  pare::nn::Linear fc{nullptr}, fc2{nullptr};
};

}  // namespace

TEST_CASE("nan: a NaN weight makes every output NaN, eagerly, interpreted and compiled") {
  auto net = std::make_shared<NanNet>();
  net->eval();
  const Tensor x = random_tensor({2, 1, 4, 4}, 3);
  pare::ir::GraphModule traced = pare::ir::trace(net, {x});
  {
    pare::NoGradGuard no_grad;
    net->conv->weight().data_ptr<float>()[0] = kNaN;
  }
  pare::NoGradGuard no_grad;
  CHECK(count_nan(net->forward(x)) == 6);
  CHECK(count_nan(traced.interpret({x}).tensor()) == 6);
  traced.eval();
  CHECK(count_nan(traced.forward({x})) == 6);
}

TEST_CASE("nan: a NaN input element reaches the outputs it feeds, also through fused layers") {
  auto net = std::make_shared<NanNet>();
  net->eval();
  pare::ir::GraphModule traced = pare::ir::trace(net, {random_tensor({2, 1, 4, 4}, 3)});
  traced.eval();
  pare::NoGradGuard no_grad;
  Tensor x = random_tensor({2, 1, 4, 4}, 4);
  x.data_ptr<float>()[0] = kNaN;  // the first sample only
  for (const Tensor& y :
       std::vector<Tensor>{net->forward(x), traced.interpret({x}).tensor(), traced.forward({x})}) {
    const float* values = y.data_ptr<float>();
    for (int64_t j = 0; j < 3; ++j) {
      CHECK(std::isnan(values[j]));
      CHECK_FALSE(std::isnan(values[3 + j]));
    }
  }
}

namespace {

// fc (one NaN weight in row 0) -> `activation`, which the compiled path fuses into fc when it can.
struct LinearThen : pare::nn::Module {
  explicit LinearThen(std::function<Tensor(const Tensor&)> activation_in)
      : activation(std::move(activation_in)) {
    fc = register_module("fc", pare::nn::Linear(4, 3));
    fill_parameters(*this, 13);
  }
  Tensor forward(const Tensor& x) { return activation(fc(x)); }
  std::function<Tensor(const Tensor&)> activation;
  pare::nn::Linear fc{nullptr};
};

}  // namespace

TEST_CASE("nan: the compiled path keeps NaN through every activation, fused or not") {
  const std::vector<NamedActivation> activations = all_activations();
  const Tensor x = random_tensor({2, 4}, 21);
  for (const auto& [name, activation] : activations) {
    CAPTURE(name);
    auto net = std::make_shared<LinearThen>(activation);
    net->eval();
    pare::ir::GraphModule traced = pare::ir::trace(net, {x});
    traced.eval();
    pare::NoGradGuard no_grad;
    net->fc->weight().data_ptr<float>()[0] = kNaN;  // row 0: output column 0 of every sample
    const Tensor y = traced.forward({x});
    CHECK(count_nan(y) == 2);
    CHECK(std::isnan(y.data_ptr<float>()[0]));
    CHECK(std::isnan(y.data_ptr<float>()[3]));
  }
}
