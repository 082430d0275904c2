// Module::kind(): every built-in layer reports its own kind, user modules and containers report
// custom, a subclass of a built-in layer keeps its base's kind unless it overrides kind() to opt
// out, and as<>() reaches a layer's typed options only when its kind matches.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "pare/pare.h"

namespace {

namespace nn = pare::nn;
using nn::ModuleKind;
using pare::Tensor;

std::vector<std::pair<std::shared_ptr<nn::Module>, ModuleKind>> builtin_layers() {
  return {
      {nn::Sequential(nn::Linear(2, 2)).ptr(), ModuleKind::sequential},
      {nn::Linear(3, 2).ptr(), ModuleKind::linear},
      {nn::Conv2d(nn::Conv2dOptions(1, 2, 3)).ptr(), ModuleKind::conv2d},
      {nn::LSTM(3, 4).ptr(), ModuleKind::lstm},
      {nn::LayerNorm(nn::LayerNormOptions({4})).ptr(), ModuleKind::layer_norm},
      {nn::BatchNorm2d(nn::BatchNorm2dOptions(4)).ptr(), ModuleKind::batch_norm2d},
      {nn::MaxPool2d(nn::MaxPool2dOptions(2)).ptr(), ModuleKind::max_pool2d},
      {nn::AvgPool2d(nn::AvgPool2dOptions(2)).ptr(), ModuleKind::avg_pool2d},
      {nn::AdaptiveAvgPool2d(pare::IntPair(1, 1)).ptr(), ModuleKind::adaptive_avg_pool2d},
      {nn::AdaptiveMaxPool2d(pare::IntPair(1, 1)).ptr(), ModuleKind::adaptive_max_pool2d},
      {nn::Flatten().ptr(), ModuleKind::flatten},
      {nn::Dropout(0.5).ptr(), ModuleKind::dropout},
      {nn::Identity().ptr(), ModuleKind::identity},
      {nn::PReLU(4).ptr(), ModuleKind::prelu},
  };
}

// The 20 activation modules without parameters.
std::vector<std::shared_ptr<nn::Module>> parameter_free_activations() {
  return {
      nn::ReLU().ptr(),     nn::RReLU().ptr(),       nn::Hardtanh().ptr(),   nn::ReLU6().ptr(),
      nn::Sigmoid().ptr(),  nn::Hardsigmoid().ptr(), nn::Tanh().ptr(),       nn::SiLU().ptr(),
      nn::Mish().ptr(),     nn::Hardswish().ptr(),   nn::ELU().ptr(),        nn::CELU().ptr(),
      nn::SELU().ptr(),     nn::Hardshrink().ptr(),  nn::LeakyReLU().ptr(),  nn::LogSigmoid().ptr(),
      nn::Softplus().ptr(), nn::Softsign().ptr(),    nn::Tanhshrink().ptr(), nn::GELU().ptr()};
}

struct UserBlock : nn::Module {
  UserBlock() : nn::Module("UserBlock") { fc = register_module("fc", nn::Linear(2, 2)); }
  nn::Linear fc{nullptr};
};

// Changes what a Linear computes, and says so: no consumer may compute it as a Linear.
struct ShiftedLinear : nn::LinearImpl {
  using nn::LinearImpl::LinearImpl;
  Tensor forward(const Tensor& input) override { return nn::LinearImpl::forward(input) + 1.0; }
  ModuleKind kind() const override { return ModuleKind::custom; }
};

// Still computes W x + b: it keeps the built-in kind.
struct CountingLinear : nn::LinearImpl {
  using nn::LinearImpl::LinearImpl;
  Tensor forward(const Tensor& input) override {
    ++calls;
    return nn::LinearImpl::forward(input);
  }
  int calls = 0;
};

struct QuietPReLU : nn::PReLUImpl {};

// A user activation: an ActivationModule applies one elementwise function, whatever its class.
struct Cube : nn::ActivationModule {
  Tensor forward(const Tensor& input) override { return input * input * input; }
  std::optional<pare::kernels::ActivationParams> activation() const override {
    return std::nullopt;  // no kernel computes it
  }
};

}  // namespace

TEST_CASE("every built-in layer reports its kind, named as its type") {
  for (const auto& [module, kind] : builtin_layers()) {
    CAPTURE(module->type_name());
    CHECK(module->kind() == kind);
    CHECK(nn::module_kind_name(kind) == module->type_name());
  }
  for (const auto& activation : parameter_free_activations()) {
    CAPTURE(activation->type_name());
    CHECK(activation->kind() == ModuleKind::activation);
  }
  std::ostringstream text;
  text << nn::Conv2d(nn::Conv2dOptions(1, 2, 3))->kind() << " " << ModuleKind::activation << " "
       << ModuleKind::custom;
  CHECK(text.str() == "Conv2d activation custom");
}

TEST_CASE("user modules, plain containers and parametrization lists are custom") {
  CHECK(std::make_shared<nn::Module>("Root")->kind() == ModuleKind::custom);
  auto block = std::make_shared<UserBlock>();
  CHECK(block->kind() == ModuleKind::custom);
  CHECK(block->fc->kind() == ModuleKind::linear);
  nn::register_parametrization(
      block->fc.ptr(), "weight",
      nn::make_parametrization("Twice", [](const Tensor& x) { return x * 2.0; }));
  for (const auto& [name, module] : block->named_modules()) {
    CAPTURE(name);
    CHECK(module->kind() == (name == "fc" ? ModuleKind::linear : ModuleKind::custom));
  }
}

TEST_CASE("a subclass of a built-in layer keeps its kind unless it opts out") {
  auto counting = std::make_shared<CountingLinear>(3, 2);
  CHECK(counting->type_name() == "CountingLinear");  // what patterns and files see
  CHECK(counting->kind() == ModuleKind::linear);
  CHECK(std::make_shared<QuietPReLU>()->kind() == ModuleKind::prelu);
  CHECK(std::make_shared<Cube>()->kind() == ModuleKind::activation);
  auto shifted = std::make_shared<ShiftedLinear>(3, 2);
  CHECK(shifted->kind() == ModuleKind::custom);
  // Opting out changes nothing else: it is still a leaf layer, traced as one call_module node.
  CHECK(shifted->is_leaf_layer());
}

TEST_CASE("as<>() gives the typed layer when the kind matches, else nullptr") {
  std::shared_ptr<nn::Module> linear = nn::Linear(3, 2).ptr();
  std::shared_ptr<nn::Module> conv = nn::Conv2d(nn::Conv2dOptions(1, 2, 3)).ptr();
  REQUIRE(nn::as<nn::LinearImpl>(linear.get()) != nullptr);
  CHECK(nn::as<nn::LinearImpl>(linear.get())->options().out_features() == 2);
  CHECK(nn::as<nn::Conv2dImpl>(linear.get()) == nullptr);
  CHECK(nn::as<nn::LinearImpl>(conv.get()) == nullptr);
  const nn::Module* constant = conv.get();
  CHECK(nn::as<nn::Conv2dImpl>(constant) == static_cast<const nn::Conv2dImpl*>(constant));
  std::shared_ptr<nn::Conv2dImpl> shared = nn::as<nn::Conv2dImpl>(conv);
  CHECK(shared.get() == conv.get());
  CHECK(shared.use_count() == conv.use_count());
  CHECK(nn::as<nn::LinearImpl>(static_cast<nn::Module*>(nullptr)) == nullptr);
  CHECK(nn::as<nn::LinearImpl>(std::shared_ptr<nn::Module>()) == nullptr);

  std::shared_ptr<nn::Module> shifted = std::make_shared<ShiftedLinear>(3, 2);
  CHECK(nn::as<nn::LinearImpl>(shifted) == nullptr);
  auto counting = std::make_shared<CountingLinear>(3, 2);
  nn::LinearImpl* typed = nn::as<nn::LinearImpl>(static_cast<nn::Module*>(counting.get()));
  REQUIRE(typed != nullptr);
  (*typed)(pare::zeros({1, 3}));
  CHECK(counting->calls == 1);
}
