// How the inference compiler learns shapes: from shape inference, so that compiling runs nothing
// of the model (no op, no module, no hook); a module type shape inference has no rule for runs
// once on zeros instead; an interpreted node that returns other shapes than inferred (a forward
// hook may replace an output) is an error at run time, not a write past a buffer.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "inference_test_models.h"
#include "pare/inference/inference.h"

namespace {

using pare::Tensor;
using pare::inference::CompiledGraph;
using pare::ir::GraphModule;
using pare::testing::contains;
using pare::testing::error_of;

std::vector<pare::ir::TensorMeta> metas(const std::vector<Tensor>& inputs) {
  std::vector<pare::ir::TensorMeta> result;
  for (const Tensor& input : inputs) result.push_back({input.sizes(), input.dtype()});
  return result;
}

// Records every op and leaf module that reports to the tracer's hook while installed, but for
// contiguous(): the compiler copies weights with it, which is no run of the model.
struct CallCounter : pare::OpObserver {
  std::vector<std::string> calls;
  void on_function(const std::string& name, const std::vector<Tensor>&, const pare::Attrs&,
                   const std::vector<Tensor>&) override {
    if (name != "contiguous") calls.push_back(name);
  }
  void on_module(const pare::nn::Module& module, const std::vector<Tensor>&,
                 const std::vector<Tensor>&) override {
    calls.push_back(module.type_name());
  }
};

// Doubles its input; a leaf layer of a type shape inference has no rule for.
struct Twice : pare::nn::UnaryModule {
  Twice() : pare::nn::UnaryModule("Twice") {}
  Tensor forward(const Tensor& input) override { return input * 2.0; }
  bool is_leaf_layer() const override { return true; }
};

// A Linear whose forward adds one, which says so by opting out of the Linear kind.
struct ShiftedLinear : pare::nn::LinearImpl {
  using pare::nn::LinearImpl::LinearImpl;
  Tensor forward(const Tensor& input) override {
    return pare::nn::LinearImpl::forward(input) + 1.0;
  }
  pare::nn::ModuleKind kind() const override { return pare::nn::ModuleKind::custom; }
};

GraphModule linear_twice_relu(std::shared_ptr<pare::nn::Module> middle) {
  auto root = std::make_shared<pare::nn::Module>("Root");
  root->register_module("fc", pare::nn::Linear(6, 4).ptr());
  root->register_module("middle", middle);
  auto graph = std::make_shared<pare::ir::Graph>();
  pare::ir::Node* x = graph->placeholder("x");
  pare::ir::Node* fc = graph->call_module("fc", {x});
  pare::ir::Node* doubled = graph->call_module("middle", {fc});
  graph->output(graph->call_function("relu", {doubled}));
  GraphModule graph_module(root, graph);
  graph_module.eval();
  return graph_module;
}

TEST_CASE("compiling runs no op and no module of any test model, at batch 1 and 3") {
  pare::NoGradGuard no_grad;
  for (const pare::testing::InferenceCase& model : pare::testing::inference_cases()) {
    GraphModule graph_module = model.make();
    for (int64_t batch : {1, 3}) {
      CAPTURE(model.name);
      CAPTURE(batch);
      const std::vector<Tensor> inputs = model.inputs(batch);
      CallCounter counter;
      std::unique_ptr<CompiledGraph> compiled;
      {
        pare::ObserverGuard guard(&counter);
        compiled = std::make_unique<CompiledGraph>(graph_module, metas(inputs));
      }
      CHECK(counter.calls.empty());
      // The observer sees the interpreter's runs, so it would see one while compiling.
      {
        pare::ObserverGuard guard(&counter);
        graph_module.interpret(inputs);
      }
      CHECK(!counter.calls.empty());
    }
  }
}

TEST_CASE("a hooked module runs interpreted: its hook is called per run, never when compiling") {
  pare::NoGradGuard no_grad;
  auto relu = pare::nn::ReLU().ptr();
  GraphModule graph_module = linear_twice_relu(relu);
  int hook_calls = 0;
  relu->register_forward_hook(
      [&](pare::nn::Module&, const std::vector<Tensor>&, std::vector<Tensor>&) { ++hook_calls; });
  const Tensor x = pare::testing::random_tensor({5, 6}, 3, -2, 2);
  const pare::ir::Value expected = graph_module.interpret({x});
  hook_calls = 0;
  CompiledGraph compiled(graph_module, {{{5, 6}, pare::kFloat32}});
  CHECK(hook_calls == 0);
  CHECK(compiled.stats().interpreted_nodes == 1);
  CHECK(pare::testing::max_abs_diff(compiled.run({x}).tensor(), expected.tensor()) <= 1e-5);
  CHECK(hook_calls == 1);
}

TEST_CASE("a module type with no shape rule is typed by one run on zeros, then interpreted") {
  pare::NoGradGuard no_grad;
  GraphModule graph_module = linear_twice_relu(std::make_shared<Twice>());
  const Tensor x = pare::testing::random_tensor({5, 6}, 4, -2, 2);
  CompiledGraph compiled(graph_module, {{{5, 6}, pare::kFloat32}});
  CHECK(compiled.stats().prepared_linears == 1);
  CHECK(compiled.stats().interpreted_nodes == 1);
  CHECK(contains(compiled.describe(), "relu relu"));  // typed [5, 4]: the relu after it lowers
  CHECK(pare::testing::max_abs_diff(compiled.run({x}).tensor(),
                                    graph_module.interpret({x}).tensor()) <= 1e-5);
  // Inputs the model refuses fail as the interpreter fails on them.
  const std::string compile_error = error_of([&] {
    CompiledGraph wrong(graph_module, {{{5, 7}, pare::kFloat32}});
  });
  const std::string interpret_error = error_of([&] {
    graph_module.interpret({pare::zeros({5, 7})});
  });
  CHECK(!compile_error.empty());
  CHECK(compile_error == interpret_error);
}

TEST_CASE("a Linear subclass of kind custom runs interpreted, not as a Linear") {
  pare::NoGradGuard no_grad;
  GraphModule graph_module = linear_twice_relu(std::make_shared<ShiftedLinear>(4, 4));
  const Tensor x = pare::testing::random_tensor({5, 6}, 6, -2, 2);
  CompiledGraph compiled(graph_module, {{{5, 6}, pare::kFloat32}});
  CHECK(compiled.stats().prepared_linears == 1);
  CHECK(compiled.stats().interpreted_nodes == 1);
  CHECK(pare::testing::max_abs_diff(compiled.run({x}).tensor(),
                                    graph_module.interpret({x}).tensor()) <= 1e-5);
}

TEST_CASE("an interpreted node returning other shapes than inferred fails the run, naming it") {
  pare::NoGradGuard no_grad;
  auto relu = pare::nn::ReLU().ptr();
  GraphModule graph_module = linear_twice_relu(relu);
  relu->register_forward_hook(
      [](pare::nn::Module&, const std::vector<Tensor>&, std::vector<Tensor>& outputs) {
        outputs[0] = pare::zeros({5, 3});
      });
  CompiledGraph compiled(graph_module, {{{5, 6}, pare::kFloat32}});
  const std::string message = error_of([&] {
    compiled.run({pare::testing::random_tensor({5, 6}, 5, -2, 2)});
  });
  CHECK(contains(message, "node middle (call_module middle) returned [5, 3] float32"));
  CHECK(contains(message, "says [5, 4] float32"));
}

}  // namespace
