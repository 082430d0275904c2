// What the compiler reads from op definitions about call_function nodes: a view (Lowering::alias)
// costs nothing, dropout only when its literals say it is not training; an activation with
// literal arguments runs as kernels' activation, rrelu in training and prelu on the interpreter.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "pare/inference/inference.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

using pare::Tensor;
using pare::inference::CompiledGraph;
using pare::ir::Argument;
using pare::ir::GraphModule;
using pare::ir::Kwargs;

// x [5, 6] -> fc -> `middle`(fc, middle_args...) -> leaky_relu(0.3) -> output, in eval mode.
GraphModule linear_then(const std::string& middle, const std::vector<Argument>& middle_args,
                        Kwargs middle_kwargs = {}) {
  auto root = std::make_shared<pare::nn::Module>("Root");
  root->register_module("fc", pare::nn::Linear(6, 4).ptr());
  auto graph = std::make_shared<pare::ir::Graph>();
  pare::ir::Node* x = graph->placeholder("x");
  pare::ir::Node* fc = graph->call_module("fc", {x});
  std::vector<Argument> args = {fc};
  args.insert(args.end(), middle_args.begin(), middle_args.end());
  pare::ir::Node* between = graph->call_function(middle, args, middle_kwargs);
  graph->output(graph->call_function("leaky_relu", {between, 0.3}));
  GraphModule graph_module(root, graph);
  graph_module.eval();
  return graph_module;
}

// A call between the linear and the activation.
struct Middle {
  std::string target;
  std::vector<Argument> args;
  Kwargs kwargs;
};

}  // namespace

TEST_CASE("dropout is a view outside training and runs interpreted in training") {
  pare::NoGradGuard no_grad;
  const Tensor x = pare::testing::random_tensor({5, 6}, 7, -2, 2);
  const std::vector<Middle> views = {{"dropout", {0.5, false}, {}},
                                     {"dropout", {}, {{"training", false}}},
                                     {"dropout", {0.0}, {{"training", false}}},
                                     {"flatten", {}, {}},
                                     {"reshape", {Argument(std::vector<int64_t>{4, 5})}, {}}};
  for (const Middle& view : views) {
    CAPTURE(view.target);
    GraphModule model = linear_then(view.target, view.args, view.kwargs);
    CompiledGraph compiled(model, {{{5, 6}, pare::kFloat32}});
    CAPTURE(compiled.describe());
    CHECK(compiled.stats().interpreted_nodes == 0);
    CHECK(pare::testing::contains(compiled.describe(), "leaky_relu"));
    const Tensor expected = model.interpret({x}).tensor();
    const Tensor actual = compiled.run({x}).tensor();
    CHECK(actual.sizes() == expected.sizes());
    CHECK(pare::testing::max_abs_diff(actual.reshape(expected.sizes()), expected) <= 1e-5);
  }
  const std::vector<Middle> training = {
      {"dropout", {}, {}}, {"dropout", {0.5, true}, {}}, {"dropout", {}, {{"training", true}}}};
  for (const Middle& dropout : training) {
    GraphModule graph_module = linear_then(dropout.target, dropout.args, dropout.kwargs);
    CompiledGraph compiled(graph_module, {{{5, 6}, pare::kFloat32}});
    CAPTURE(compiled.describe());
    CHECK(compiled.stats().interpreted_nodes == 1);
  }
}

TEST_CASE("an activation call runs on kernels' activation unless it is no one function") {
  pare::NoGradGuard no_grad;
  const Tensor x = pare::testing::random_tensor({5, 6}, 8, -2, 2);
  {
    GraphModule graph_module = linear_then("elu", {}, {{"alpha", 0.4}});
    CompiledGraph compiled(graph_module, {{{5, 6}, pare::kFloat32}});
    CAPTURE(compiled.describe());
    CHECK(compiled.stats().interpreted_nodes == 0);
    CHECK(pare::testing::max_abs_diff(compiled.run({x}).tensor(),
                                      graph_module.interpret({x}).tensor()) <= 1e-5);
  }
  {
    GraphModule graph_module = linear_then("rrelu", {0.1, 0.3, true});
    CompiledGraph compiled(graph_module, {{{5, 6}, pare::kFloat32}});
    CAPTURE(compiled.describe());
    CHECK(compiled.stats().interpreted_nodes == 1);
  }
}
