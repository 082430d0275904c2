// Every built-in layer's definition (pare/ir/layer_definition.h) against the layer itself, on
// modules built with non-default attributes: the factory rebuilds the module from its config(),
// the parameter layout is the module's state_dict, the shape rule is what forward returns, and
// the MAC rule of Linear, Conv2d and LSTM is the brute-force count.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "brute_force_macs.h"
#include "pare/ir/layer_definition.h"
#include "pare/ir/model_stats.h"
#include "pare/ir/module_registry.h"
#include "pare/pare.h"
#include "test_util.h"

using pare::Shape;
using pare::Tensor;
using pare::ir::LayerDefinition;
using pare::ir::LayerTensor;
using pare::ir::Symbol;
namespace nn = pare::nn;

namespace {

// A built layer and an input its forward accepts.
struct LayerCase {
  std::shared_ptr<nn::Module> module;
  Shape input;
};

// Every case, several for the layers whose attributes change their tensors.
std::vector<LayerCase> layer_cases() {
  std::vector<LayerCase> cases;
  auto add = [&](std::shared_ptr<nn::Module> module, Shape input) {
    cases.push_back({std::move(module), std::move(input)});
  };
  add(std::make_shared<nn::LinearImpl>(nn::LinearOptions(5, 3).bias(false)), {2, 4, 5});
  add(std::make_shared<nn::LinearImpl>(nn::LinearOptions(6, 2)), {3, 6});
  add(std::make_shared<nn::Conv2dImpl>(nn::Conv2dOptions(4, 6, pare::IntPair(3, 2))
                                           .stride(pare::IntPair(2, 1))
                                           .padding(pare::IntPair(1, 0))
                                           .dilation(pare::IntPair(1, 2))
                                           .groups(2)
                                           .bias(false)),
      {2, 4, 9, 8});
  add(std::make_shared<nn::Conv2dImpl>(nn::Conv2dOptions(3, 5, 3).padding(2)), {3, 7, 6});
  add(std::make_shared<nn::LSTMImpl>(
          nn::LSTMOptions(5, 3).num_layers(2).batch_first(true).bias(false)),
      {2, 4, 5});
  add(std::make_shared<nn::LSTMImpl>(nn::LSTMOptions(4, 6).num_layers(3)), {5, 2, 4});
  add(std::make_shared<nn::LayerNormImpl>(nn::LayerNormOptions({3, 4}).eps(1e-3)), {2, 3, 4});
  add(std::make_shared<nn::LayerNormImpl>(nn::LayerNormOptions({4}).elementwise_affine(false)),
      {2, 4});
  add(std::make_shared<nn::BatchNorm2dImpl>(
          nn::BatchNorm2dOptions(4).eps(1e-3).momentum(0.2).affine(false)),
      {2, 4, 3, 3});
  add(std::make_shared<nn::BatchNorm2dImpl>(nn::BatchNorm2dOptions(3).track_running_stats(false)),
      {2, 3, 2, 5});
  add(std::make_shared<nn::MaxPool2dImpl>(nn::MaxPool2dOptions(pare::IntPair(3, 2))
                                              .stride(pare::IntPair(2, 1))
                                              .padding(pare::IntPair(1, 0))
                                              .dilation(pare::IntPair(1, 2))
                                              .ceil_mode(true)),
      {2, 3, 9, 8});
  add(std::make_shared<nn::AvgPool2dImpl>(nn::AvgPool2dOptions(pare::IntPair(3, 2))
                                              .stride(pare::IntPair(2, 1))
                                              .padding(1)
                                              .ceil_mode(true)
                                              .count_include_pad(false)),
      {2, 3, 8, 7});
  add(std::make_shared<nn::AdaptiveAvgPool2dImpl>(pare::IntPair(3, 2)), {2, 3, 7, 5});
  add(std::make_shared<nn::AdaptiveMaxPool2dImpl>(pare::IntPair(2, 3)), {3, 6, 7});
  add(std::make_shared<nn::FlattenImpl>(0, 1), {2, 3, 4});
  add(std::make_shared<nn::DropoutImpl>(0.3), {2, 5});
  add(std::make_shared<nn::IdentityImpl>(), {3, 2});
  add(std::make_shared<nn::ReLUImpl>(), {2, 3});
  add(std::make_shared<nn::ReLU6Impl>(), {2, 3});
  add(std::make_shared<nn::SigmoidImpl>(), {2, 3});
  add(std::make_shared<nn::HardsigmoidImpl>(), {2, 3});
  add(std::make_shared<nn::TanhImpl>(), {2, 3});
  add(std::make_shared<nn::SiLUImpl>(), {2, 3});
  add(std::make_shared<nn::MishImpl>(), {2, 3});
  add(std::make_shared<nn::HardswishImpl>(), {2, 3});
  add(std::make_shared<nn::SELUImpl>(), {2, 3});
  add(std::make_shared<nn::LogSigmoidImpl>(), {2, 3});
  add(std::make_shared<nn::SoftsignImpl>(), {2, 3});
  add(std::make_shared<nn::TanhshrinkImpl>(), {2, 3});
  add(std::make_shared<nn::RReLUImpl>(0.1, 0.4), {2, 3});
  add(std::make_shared<nn::HardtanhImpl>(-2.0, 3.0), {2, 3});
  add(std::make_shared<nn::ELUImpl>(0.5), {2, 3});
  add(std::make_shared<nn::CELUImpl>(0.7), {2, 3});
  add(std::make_shared<nn::HardshrinkImpl>(0.3), {2, 3});
  add(std::make_shared<nn::SoftshrinkImpl>(0.2), {2, 3});
  add(std::make_shared<nn::LeakyReLUImpl>(0.2), {2, 3});
  add(std::make_shared<nn::SoftplusImpl>(2.0, 10.0), {2, 3});
  add(std::make_shared<nn::GELUImpl>("tanh"), {2, 3});
  add(std::make_shared<nn::PReLUImpl>(4), {2, 4, 3});
  add(nn::Sequential(nn::Linear(5, 4), nn::ReLU(), nn::Linear(4, 2)).ptr(), {3, 5});
  return cases;
}

std::vector<LayerCase> cases_of(const LayerDefinition& definition) {
  std::vector<LayerCase> matching;
  for (LayerCase& layer : layer_cases())
    if (layer.module->type_name() == definition.type_name) matching.push_back(std::move(layer));
  return matching;
}

std::vector<Shape> state_dict_shapes(const nn::Module& module) {
  std::vector<Shape> shapes;
  for (const auto& [name, tensor] : module.state_dict()) shapes.push_back(tensor.sizes());
  return shapes;
}

// What one call of the module returns, as a Symbol: (output, (h_n, c_n)) for an LSTM.
Symbol forward_symbol(nn::Module& module, const Tensor& input) {
  if (auto* lstm = nn::as<nn::LSTMImpl>(&module)) {
    auto [output, state] = (*lstm)(input);
    return Symbol::tuple({Symbol::of(output.sizes(), output.dtype()),
                          Symbol::tuple({Symbol::of(std::get<0>(state).sizes()),
                                         Symbol::of(std::get<1>(state).sizes())})});
  }
  const Tensor output = module.call(input);
  return Symbol::of(output.sizes(), output.dtype());
}

}  // namespace

TEST_CASE("every built-in module type has a layer definition of the kind it builds") {
  for (const std::string& type_name : pare::ir::registered_module_types()) {
    CAPTURE(type_name);
    const LayerDefinition* definition = pare::ir::find_layer_definition(type_name);
    REQUIRE(definition != nullptr);
    CHECK(static_cast<bool>(definition->factory));
    CHECK(pare::ir::registered_module_kind(type_name) == definition->kind);
  }
  // And every definition with a factory is registered (Sequential, without one, is not).
  for (const LayerDefinition* definition : pare::ir::layer_definitions()) {
    CAPTURE(definition->type_name);
    CHECK(pare::ir::is_registered_module_type(definition->type_name) ==
          (definition->factory != nullptr));
  }
}

TEST_CASE("each layer definition against its layer: factory, parameter layout, shape rule") {
  uint32_t seed = 1;
  for (const LayerDefinition* definition : pare::ir::layer_definitions()) {
    CAPTURE(definition->type_name);
    const std::vector<LayerCase> cases = cases_of(*definition);
    REQUIRE_FALSE(cases.empty());
    for (const LayerCase& layer : cases) {
      nn::Module& module = *layer.module;
      CHECK(module.kind() == definition->kind);
      if (definition->factory != nullptr) {
        // The factory round trip, through the registry as the .pare reader calls it.
        const auto rebuilt =
            pare::ir::create_module(definition->type_name, module.config(), "layer");
        CHECK(rebuilt->type_name() == definition->type_name);
        CHECK(rebuilt->config() == module.config());
        CHECK(state_dict_shapes(*rebuilt) == state_dict_shapes(module));
        // The layout is the state_dict: names, shapes and dtypes, in order.
        const std::vector<LayerTensor> layout =
            pare::ir::parameter_layout(*definition, module.config(), "layer");
        const auto state = module.state_dict();
        REQUIRE(layout.size() == state.size());
        size_t index = 0;
        for (const auto& [name, tensor] : state) {
          CHECK(layout[index].local_name == name);
          CHECK(layout[index].shape == tensor.sizes());
          CHECK(layout[index].dtype == tensor.dtype());
          CHECK_FALSE(layout[index].because.empty());
          ++index;
        }
      }
      // The shape rule, in training and in evaluation, against forward on a random input.
      for (bool training : {true, false}) {
        CAPTURE(training);
        module.train(training);
        const Tensor input = pare::testing::random_tensor(layer.input, seed++);
        const Symbol inferred = definition->infer(module, {Symbol::of(layer.input)});
        CHECK(inferred.describe() == forward_symbol(module, input).describe());
        CHECK(inferred.flatten() == forward_symbol(module, input).flatten());
      }
    }
  }
}

TEST_CASE("the MAC rules of Linear, Conv2d and LSTM against brute force") {
  using pare::testing::brute_force_conv2d;
  using pare::testing::brute_force_linear;
  using pare::testing::brute_force_lstm;
  const auto macs = [](const nn::Module& module, const Shape& input) {
    const LayerDefinition* definition = pare::ir::find_layer_definition(module.type_name());
    REQUIRE(definition != nullptr);
    REQUIRE(static_cast<bool>(definition->macs));
    return definition->macs(module, {input, pare::kFloat32});
  };
  for (const LayerCase& layer : layer_cases()) {
    const nn::Module& module = *layer.module;
    if (auto* linear = nn::as<nn::LinearImpl>(&module)) {
      const auto& options = linear->options();
      CHECK(macs(module, layer.input) ==
            brute_force_linear({layer.input, options.out_features(), options.bias()}));
    } else if (auto* conv = nn::as<nn::Conv2dImpl>(&module)) {
      const auto& options = conv->options();
      CHECK(macs(module, layer.input) ==
            brute_force_conv2d({layer.input, options.out_channels(), options.kernel_size(),
                                options.stride(), options.padding(), options.dilation(),
                                options.groups()}));
    } else if (auto* lstm = nn::as<nn::LSTMImpl>(&module)) {
      const auto& options = lstm->options();
      CHECK(macs(module, layer.input) ==
            brute_force_lstm({layer.input, options.hidden_size(), options.num_layers(),
                              options.batch_first(), options.bias()}));
    }
  }
  // A layer without multiplies counts none; a Sequential counts its children's.
  CHECK(pare::ir::module_macs(nn::ReLUImpl(), {{2, 3}, pare::kFloat32}) == 0);
  const auto sequential = nn::Sequential(nn::Linear(5, 4), nn::ReLU(), nn::Linear(4, 2)).ptr();
  CHECK(macs(*sequential, {3, 5}) ==
        brute_force_linear({{3, 5}, 4, true}) + brute_force_linear({{3, 4}, 2, true}));
}
