// The MAC counts of linear, conv2d and lstm against brute force: for each case, the inner-loop
// iterations of a naive loop nest on the case's shapes, compared with the op definition's `macs`,
// with model_stats' count for the call_function node, and with module_macs of the matching module
// (Linear, Conv2d, LSTM), which shares the rule.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "brute_force_macs.h"
#include "pare/error.h"
#include "pare/ir/graph_module.h"
#include "pare/ir/model_stats.h"
#include "pare/ir/op_definition.h"
#include "pare/pare.h"

using pare::IntPair;
using pare::Shape;
using pare::ir::Argument;
using pare::ir::Graph;
using pare::ir::GraphModule;
using pare::ir::Kwargs;
using pare::ir::Node;
using pare::ir::OpCall;
using pare::ir::OpDefinition;
using pare::ir::Symbol;
using pare::ir::TensorMeta;
using pare::testing::brute_force_conv2d;
using pare::testing::brute_force_linear;
using pare::testing::brute_force_lstm;
using pare::testing::ConvCase;
using pare::testing::LinearCase;
using pare::testing::LstmCase;
namespace nn = pare::nn;

namespace {

// One call_function node whose tensor arguments are placeholders of the given shapes (nullopt:
// a None argument).
struct FunctionCall {
  std::string target;
  std::vector<std::optional<Shape>> tensors;
  Kwargs kwargs;
};

Node* add_call(Graph& graph, const FunctionCall& call) {
  std::vector<Argument> args;
  for (size_t i = 0; i < call.tensors.size(); ++i) {
    if (call.tensors[i]) {
      args.emplace_back(graph.placeholder(pare::str_cat("tensor", i)));
    } else {
      args.emplace_back();
    }
  }
  return graph.call_function(call.target, std::move(args), call.kwargs);
}

int64_t definition_macs(const FunctionCall& call) {
  const OpDefinition& definition = pare::ir::op_definition(call.target);
  REQUIRE(static_cast<bool>(definition.macs));
  Graph graph;
  const Node* node = add_call(graph, call);
  std::vector<Symbol> symbols;
  for (const std::optional<Shape>& shape : call.tensors)
    symbols.push_back(shape ? Symbol::of(*shape) : Symbol());
  const OpCall op_call(definition, *node, &symbols);
  return definition.macs(op_call, definition.infer(op_call));
}

int64_t model_stats_macs(const FunctionCall& call) {
  auto graph = std::make_shared<Graph>();
  graph->output(add_call(*graph, call));
  GraphModule graph_module(std::make_shared<nn::Module>("Root"), graph);
  std::vector<TensorMeta> inputs;
  for (const std::optional<Shape>& shape : call.tensors)
    if (shape) inputs.push_back({*shape, pare::kFloat32});
  const pare::ir::ModelStats stats = pare::ir::model_stats(graph_module, inputs);
  REQUIRE(stats.functions.size() == 1);
  return stats.functions[0].macs;
}

// Checks the definition, model_stats and the module against the brute-force count.
void check_macs(const FunctionCall& call, const nn::Module& module, const Shape& input,
                int64_t brute_force) {
  CHECK(definition_macs(call) == brute_force);
  CHECK(model_stats_macs(call) == brute_force);
  CHECK(pare::ir::module_macs(module, {input, pare::kFloat32}) == brute_force);
}

}  // namespace

TEST_CASE("linear: MACs of the definition, model_stats and Linear against brute force") {
  const std::vector<LinearCase> cases = {
      {{5, 7}, 3, true}, {{2, 3, 4, 6}, 5, false}, {{6}, 4, true}, {{1, 1}, 1, false}};
  for (const LinearCase& c : cases) {
    CAPTURE(c.input);
    CAPTURE(c.out_features);
    const int64_t in_features = c.input.back();
    FunctionCall call{"linear", {c.input, Shape{c.out_features, in_features}}, {}};
    if (c.bias) call.tensors.push_back(Shape{c.out_features});
    const auto module = nn::Linear(nn::LinearOptions(in_features, c.out_features).bias(c.bias));
    check_macs(call, *module, c.input, brute_force_linear(c));
  }
}

TEST_CASE("conv2d: MACs over strides, paddings, dilations and groups against brute force") {
  const std::vector<ConvCase> cases = {
      {{1, 3, 8, 8}, 4, 3, 1, 0, 1, 1},
      {{2, 4, 9, 7}, 6, {3, 2}, {2, 1}, {1, 0}, 1, 2},
      {{1, 6, 10, 10}, 6, 3, 2, 2, 2, 6},  // depthwise
      {{4, 5, 5}, 8, 1, 1, 0, 1, 4},       // unbatched, pointwise
      {{2, 8, 11, 13}, 4, {5, 3}, {3, 2}, {2, 1}, {1, 2}, 4},
      {{1, 2, 3, 3}, 2, 5, 1, 2, 1, 1},  // the kernel larger than the input, reached by padding
  };
  for (const ConvCase& c : cases) {
    CAPTURE(c.input);
    CAPTURE(c.groups);
    const size_t rank = c.input.size();
    const int64_t in_channels = c.input[rank - 3];
    const Shape weight = {c.out_channels, in_channels / c.groups, c.kernel.first, c.kernel.second};
    const FunctionCall call{"conv2d",
                            {c.input, weight, Shape{c.out_channels}},
                            {{"stride", c.stride.vec()},
                             {"padding", c.padding.vec()},
                             {"dilation", c.dilation.vec()},
                             {"groups", c.groups}}};
    const auto module = nn::Conv2d(nn::Conv2dOptions(in_channels, c.out_channels, c.kernel)
                                       .stride(c.stride)
                                       .padding(c.padding)
                                       .dilation(c.dilation)
                                       .groups(c.groups));
    check_macs(call, *module, c.input, brute_force_conv2d(c));
  }
}

TEST_CASE("lstm: MACs over layers, batch_first and biases against brute force") {
  const std::vector<LstmCase> cases = {
      {{5, 2, 3}, 2, 1, false, true},  {{3, 7, 6}, 4, 2, true, true},
      {{4, 1, 5}, 3, 2, false, false}, {{6, 4}, 5, 1, false, false},
      {{2, 3, 2}, 3, 2, true, false},  {{6, 4}, 2, 2, true, true},
  };
  for (const LstmCase& c : cases) {
    CAPTURE(c.input);
    CAPTURE(c.num_layers);
    CAPTURE(c.batch_first);
    CAPTURE(c.bias);
    FunctionCall call{
        "lstm",
        {c.input, std::nullopt, std::nullopt},
        {{"num_layers", c.num_layers}, {"has_biases", c.bias}, {"batch_first", c.batch_first}}};
    for (int64_t layer = 0; layer < c.num_layers; ++layer) {
      const int64_t layer_input = layer == 0 ? c.input.back() : c.hidden;
      call.tensors.push_back(Shape{4 * c.hidden, layer_input});
      call.tensors.push_back(Shape{4 * c.hidden, c.hidden});
      if (c.bias) {
        call.tensors.push_back(Shape{4 * c.hidden});
        call.tensors.push_back(Shape{4 * c.hidden});
      }
    }
    const auto module = nn::LSTM(nn::LSTMOptions(c.input.back(), c.hidden)
                                     .num_layers(c.num_layers)
                                     .bias(c.bias)
                                     .batch_first(c.batch_first));
    check_macs(call, *module, c.input, brute_force_lstm(c));
  }
}
