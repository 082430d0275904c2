// Model statistics: per-module parameters, tensors and MACs, functional MACs and totals, all
// against hand-computed values for a small CNN, LSTM models, functional layers, a Sequential and
// shared modules; and the printable node lines.
#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "pare/ir/graph_module.h"
#include "pare/ir/model_stats.h"
#include "pare/pare.h"
#include "test_util.h"

using pare::Shape;
using pare::Tensor;
using pare::ir::Argument;
using pare::ir::Graph;
using pare::ir::GraphModule;
using pare::ir::ModelStats;
using pare::ir::ModuleStats;
using pare::ir::Node;
using pare::ir::TensorMeta;
namespace nn = pare::nn;

namespace {

using pare::testing::random_tensor;

struct Builder {
  std::shared_ptr<nn::Module> root = std::make_shared<nn::Module>("Root");
  std::shared_ptr<Graph> graph = std::make_shared<Graph>();

  template <typename Holder>
  Node* layer(const std::string& name, Holder holder, std::vector<Argument> args) {
    root->register_module(name, holder);
    return graph->call_module(name, std::move(args));
  }
  GraphModule finish(Argument output) {
    graph->output(std::move(output));
    GraphModule graph_module(root, graph);
    graph_module.eval();
    return graph_module;
  }
};

const ModuleStats& find_module(const ModelStats& stats, const std::string& name) {
  for (const ModuleStats& module : stats.modules)
    if (module.name == name) return module;
  FAIL("no module " << name);
  return stats.modules.front();
}

// conv1 -> bn -> relu -> pool -> conv2 (stride 2, groups 2) -> flatten -> fc -> head -> head ->
// linear(., proj_weight).
GraphModule small_cnn() {
  Builder b;
  Node* x = b.graph->placeholder("x");
  Node* h = b.layer("conv1", nn::Conv2d(nn::Conv2dOptions(3, 8, 3).padding(1)), {x});
  h = b.layer("bn", nn::BatchNorm2d(8), {h});
  h = b.layer("relu", nn::ReLU(), {h});
  h = b.layer("pool", nn::MaxPool2d(2), {h});
  h = b.layer("conv2", nn::Conv2d(nn::Conv2dOptions(8, 16, 3).stride(2).padding(1).groups(2)), {h});
  h = b.graph->call_function("flatten", {h}, {{"start_dim", 1}});
  h = b.layer("fc", nn::Linear(64, 10), {h});
  h = b.layer("head", nn::Linear(10, 10), {h});
  h = b.graph->call_module("head", {h});
  b.root->register_parameter("proj_weight", random_tensor({5, 10}, 1));
  h = b.graph->call_function("linear", {h, b.graph->get_attr("proj_weight")});
  return b.finish(h);
}

}  // namespace

TEST_CASE("a small CNN: parameters, tensors and MACs per module, totals") {
  GraphModule gm = small_cnn();
  const ModelStats stats = pare::ir::model_stats(gm, {{{2, 3, 8, 8}, pare::kFloat32}});

  REQUIRE(stats.inputs.size() == 1);
  CHECK(stats.inputs[0].name == "x");
  CHECK(stats.inputs[0].meta.shape == Shape{2, 3, 8, 8});

  std::vector<std::string> names;
  for (const ModuleStats& module : stats.modules) names.push_back(module.name);
  CHECK(names == std::vector<std::string>{"conv1", "bn", "relu", "pool", "conv2", "fc", "head"});

  // conv1: [2, 3, 8, 8] -> [2, 8, 8, 8], 27 taps per output.
  const ModuleStats& conv1 = find_module(stats, "conv1");
  CHECK(conv1.type == "Conv2d");
  CHECK(conv1.params == 8 * 3 * 3 * 3 + 8);
  CHECK(conv1.macs == 2 * 8 * 8 * 8 * 27);
  CHECK(conv1.tensors == std::vector<std::pair<std::string, Shape>>{{"conv1.weight", {8, 3, 3, 3}},
                                                                    {"conv1.bias", {8}}});
  const ModuleStats& bn = find_module(stats, "bn");
  CHECK(bn.type == "BatchNorm2d");
  CHECK(bn.params == 16);
  CHECK(bn.macs == 0);
  CHECK(bn.tensors == std::vector<std::pair<std::string, Shape>>{{"bn.weight", {8}},
                                                                 {"bn.bias", {8}},
                                                                 {"bn.running_mean", {8}},
                                                                 {"bn.running_var", {8}},
                                                                 {"bn.num_batches_tracked", {}}});
  CHECK(find_module(stats, "relu").macs == 0);
  CHECK(find_module(stats, "relu").tensors.empty());
  CHECK(find_module(stats, "pool").params == 0);
  // conv2: [2, 8, 4, 4] -> [2, 16, 2, 2], each output sees 8 / 2 channels of 3x3.
  const ModuleStats& conv2 = find_module(stats, "conv2");
  CHECK(conv2.params == 16 * 4 * 3 * 3 + 16);
  CHECK(conv2.macs == 2 * 2 * 2 * 16 * 4 * 9);
  const ModuleStats& fc = find_module(stats, "fc");
  CHECK(fc.params == 650);
  CHECK(fc.macs == 2 * 64 * 10);
  // head is called twice: its MACs count twice, its parameters once.
  const ModuleStats& head = find_module(stats, "head");
  CHECK(head.calls == 2);
  CHECK(head.params == 110);
  CHECK(head.macs == 2 * (2 * 10 * 10));

  REQUIRE(stats.functions.size() == 1);
  CHECK(stats.functions[0].target == "linear");
  CHECK(stats.functions[0].macs == 2 * 10 * 5);

  CHECK(stats.params == 224 + 16 + 592 + 650 + 110 + 50);
  CHECK(stats.macs == 27648 + 4608 + 1280 + 400 + 100);

  // Another batch scales every count; the overload without inputs reads the placeholders' meta.
  const ModelStats batch_five = pare::ir::model_stats(gm, {{{5, 3, 8, 8}, pare::kFloat32}});
  CHECK(batch_five.macs == stats.macs / 2 * 5);
  CHECK(batch_five.params == stats.params);
  gm.record_meta({random_tensor({2, 3, 8, 8}, 2)});
  CHECK(pare::ir::model_stats(gm).macs == stats.macs);
}

TEST_CASE("LSTM models: batch_first with two layers, unbatched, time-major without bias") {
  Builder b;
  Node* x = b.graph->placeholder("x");
  Node* lstm =
      b.layer("lstm", nn::LSTM(nn::LSTMOptions(6, 4).num_layers(2).batch_first(true)), {x});
  Node* fc = b.layer("fc", nn::Linear(4, 2), {b.graph->call_function("getitem", {lstm, 0})});
  GraphModule gm = b.finish(fc);

  // N = 3, T = 5, H = 4: layer 0 sees 6 inputs, layer 1 sees 4.
  ModelStats stats = pare::ir::model_stats(gm, {{{3, 5, 6}, pare::kFloat32}});
  const ModuleStats& module = find_module(stats, "lstm");
  CHECK(module.type == "LSTM");
  CHECK(module.macs == 5 * 3 * 16 * (6 + 4) + 5 * 3 * 16 * (4 + 4));
  CHECK(module.params == (16 * 6 + 16 * 4 + 16 + 16) + (16 * 4 + 16 * 4 + 16 + 16));
  CHECK(module.tensors.size() == 8);
  CHECK(module.tensors[0] == std::pair<std::string, Shape>{"lstm.weight_ih_l0", {16, 6}});
  CHECK(find_module(stats, "fc").macs == 15 * 4 * 2);
  CHECK(stats.macs == 4320 + 120);
  CHECK(stats.params == 352 + 10);

  // Unbatched [T, I]: N = 1.
  stats = pare::ir::model_stats(gm, {{{5, 6}, pare::kFloat32}});
  CHECK(find_module(stats, "lstm").macs == 5 * 16 * 10 + 5 * 16 * 8);
  CHECK(stats.macs == 1440 + 5 * 4 * 2);

  Builder c;
  Node* y = c.graph->placeholder("y");
  Node* plain = c.layer("lstm", nn::LSTM(nn::LSTMOptions(6, 4).bias(false)), {y});
  GraphModule gm2 = c.finish(c.graph->call_function("getitem", {plain, 0}));
  stats = pare::ir::model_stats(gm2, {{{5, 3, 6}, pare::kFloat32}});
  CHECK(stats.macs == 5 * 3 * 16 * (6 + 4));
  CHECK(stats.params == 16 * 6 + 16 * 4);
}

TEST_CASE("functional conv2d and lstm count MACs; other functions do not") {
  Builder b;
  Node* img = b.graph->placeholder("img");
  Node* seq = b.graph->placeholder("seq");
  auto parameter = [&](const std::string& name, const Shape& shape) {
    b.root->register_parameter(name, random_tensor(shape, 3));
    return b.graph->get_attr(name);
  };
  Node* conv = b.graph->call_function(
      "conv2d",
      {b.graph->call_function("relu", {img}), parameter("w", {4, 2, 3, 3}), parameter("b", {4})});
  Node* lstm = b.graph->call_function(
      "lstm",
      {seq, Argument(), Argument(), parameter("w_ih0", {8, 3}), parameter("w_hh0", {8, 2}),
       parameter("w_ih1", {8, 2}), parameter("w_hh1", {8, 2})},
      {{"num_layers", 2}, {"has_biases", false}, {"batch_first", false}});
  GraphModule gm = b.finish(Argument::List{conv, lstm});
  const ModelStats stats =
      pare::ir::model_stats(gm, {{{1, 2, 5, 5}, pare::kFloat32}, {{7, 2, 3}, pare::kFloat32}});
  CHECK(stats.modules.empty());
  REQUIRE(stats.functions.size() == 2);
  CHECK(stats.functions[0].target == "conv2d");
  CHECK(stats.functions[0].macs == 4 * 3 * 3 * 2 * 3 * 3);  // [1, 4, 3, 3] outputs, 18 taps
  CHECK(stats.functions[1].target == "lstm");
  CHECK(stats.functions[1].macs == 7 * 2 * (8 * 3 + 8 * 2) + 7 * 2 * (8 * 2 + 8 * 2));
  CHECK(stats.macs == 648 + 1008);
  CHECK(stats.params == 72 + 4 + 24 + 16 + 16 + 16);
}

TEST_CASE("a Sequential called as one module, and one module shared under two names") {
  Builder b;
  Node* x = b.graph->placeholder("x");
  Node* h = b.layer("block", nn::Sequential(nn::Linear(4, 6), nn::GELU(), nn::Linear(6, 4)), {x});
  nn::Linear shared(4, 4);
  h = b.layer("encoder", shared, {h});
  h = b.layer("decoder", shared, {h});
  GraphModule gm = b.finish(h);
  const ModelStats stats = pare::ir::model_stats(gm, {{{2, 3, 4}, pare::kFloat32}});
  const ModuleStats& block = find_module(stats, "block");
  CHECK(block.type == "Sequential");
  CHECK(block.params == (24 + 6) + (24 + 4));
  CHECK(block.macs == 6 * 4 * 6 + 6 * 6 * 4);
  CHECK(block.tensors.front() == std::pair<std::string, Shape>{"block.0.weight", {6, 4}});
  CHECK(find_module(stats, "encoder").params == 20);
  CHECK(find_module(stats, "decoder").params == 20);
  CHECK(stats.macs == 288 + 2 * (6 * 4 * 4));
  CHECK(stats.params == 58 + 20);  // the shared weights count once

  CHECK(pare::ir::module_macs(*nn::ReLU().ptr(), {{2, 3}, pare::kFloat32}) == 0);
  CHECK(pare::ir::module_macs(*nn::Conv2d(nn::Conv2dOptions(2, 6, 3).groups(2)).ptr(),
                              {{2, 5, 5}, pare::kFloat32}) == 6 * 3 * 3 * (1 * 3 * 3));
}

TEST_CASE("node lines: name, op, target and output meta") {
  GraphModule gm = small_cnn();
  CHECK(pare::ir::node_lines(gm.graph()).at(1).output.empty());  // before inference
  pare::ir::model_stats(gm, {{{2, 3, 8, 8}, pare::kFloat32}});
  const std::vector<pare::ir::NodeLine> lines = pare::ir::node_lines(gm.graph());
  REQUIRE(lines.size() == gm.graph().size());
  CHECK(lines[0].name == "x");
  CHECK(lines[0].op == "placeholder");
  CHECK(lines[0].output == "[2, 3, 8, 8] float32");
  CHECK(lines[1].name == "conv1");
  CHECK(lines[1].op == "call_module");
  CHECK(lines[1].target == "conv1");
  CHECK(lines[1].output == "[2, 8, 8, 8] float32");
  CHECK(lines[6].target == "flatten");
  CHECK(lines[6].output == "[2, 64] float32");
  CHECK(lines.back().op == "output");
  CHECK(lines.back().output == "[2, 5] float32");
}

TEST_CASE("errors from shape inference reach model_stats") {
  GraphModule gm = small_cnn();
  CHECK_THROWS_WITH_AS(pare::ir::model_stats(gm), doctest::Contains("placeholder 'x'"),
                       pare::Error);  // no recorded input shape
  CHECK_THROWS_WITH_AS(pare::ir::model_stats(gm, {{{2, 4, 8, 8}, pare::kFloat32}}),
                       doctest::Contains("node 'conv1'"), pare::Error);
}
