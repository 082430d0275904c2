// The tracer: runs a model written with pare's C++ API once on example inputs and records what it
// does as a Graph. Built-in layers become one call_module node each (named by qualified name);
// functional ops become call_function nodes; parameters used directly become get_attr nodes;
// LSTM results are reached through getitem nodes. The trace is then re-run and compared with the
// eager output; a mismatch or an untraceable construct is a pare::Error.
//
//   auto net = std::make_shared<Net>();
//   pare::ir::GraphModule gm = pare::ir::trace(net, {pare::randn({1, 1, 28, 28})});
//   std::cout << gm.graph();
//
// forward may take one Tensor per example input (up to 4), or a std::vector<Tensor>, and may
// return a Tensor, a std::vector<Tensor>, a std::tuple of those, or an LSTM-style
// std::tuple<Tensor, std::tuple<Tensor, Tensor>>.
//
// How it works and what it cannot see: forward runs once in the model's current train/eval mode,
// with grad mode on and the float example inputs (aliases of them) requiring a gradient; buffers
// (BatchNorm statistics) and the random stream are restored afterwards, parameters are never
// written. What reaches the observer (pare/observer.h) becomes a node: functional ops,
// arithmetic, reductions, cat/stack/index_select, matmul, Tensor's view methods (reshape/view,
// flatten, transpose, t, permute, select, slice, narrow, squeeze, unsqueeze, contiguous) and
// built-in layers. A tensor read by a node but produced by an op that does not report itself
// (expand, clone, to, the loss helper gather_rows) is an error naming that op
// when it depends on an input; one that does not is a constant (root gets a buffer
// "_tensor_constant<N>"). In-place updates and raw data access are not recorded: an in-place
// update of a tensor that depends on an input fails while tracing; others show up in the check
// (re-running the graph on the example inputs) as a mismatch. Control flow is frozen at the path
// the example inputs took.
#pragma once

#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <vector>

#include "pare/ir/graph_module.h"

namespace pare::ir {

// Converts what a forward returns into a Value.
inline Value to_value(const Tensor& tensor) { return Value(tensor); }
inline Value to_value(const Value& value) { return value; }
inline Value to_value(const std::vector<Tensor>& tensors) {
  std::vector<Value> items;
  for (const Tensor& tensor : tensors) items.emplace_back(tensor);
  return Value(std::move(items));
}
template <typename... Parts>
Value to_value(const std::tuple<Parts...>& tuple) {
  std::vector<Value> items;
  std::apply([&](const auto&... part) { (items.push_back(to_value(part)), ...); }, tuple);
  return Value(std::move(items));
}

struct TraceOptions {
  // Compare the graph's output with the eager output after tracing.
  bool check = true;
  double tolerance = 1e-5;
  // Names of the placeholders (default x, or x0, x1, ... for several inputs).
  std::vector<std::string> input_names;
};

// The general form: `run` calls the model on the inputs it is given.
GraphModule trace_function(const std::shared_ptr<nn::Module>& root,
                           const std::vector<Tensor>& example_inputs,
                           const std::function<Value(const std::vector<Tensor>&)>& run,
                           const TraceOptions& options = {});

// How trace() calls a model: `forward(inputs)` when forward takes a std::vector<Tensor>, else
// forward with one Tensor argument per input (up to 4). The runner keeps the model alive.
template <typename Model>
std::function<Value(const std::vector<Tensor>&)> model_runner(const std::shared_ptr<Model>& model) {
  return [model](const std::vector<Tensor>& in) -> Value {
    if constexpr (requires { model->forward(in); }) {
      return to_value(model->forward(in));
    } else {
      PARE_CHECK(!in.empty() && in.size() <= 4, "trace: ", model->type_name(),
                 "::forward takes tensors; got ", in.size(), " example inputs");
      if constexpr (requires { model->forward(in[0]); }) {
        if (in.size() == 1) return to_value(model->forward(in[0]));
      }
      if constexpr (requires { model->forward(in[0], in[1]); }) {
        if (in.size() == 2) return to_value(model->forward(in[0], in[1]));
      }
      if constexpr (requires { model->forward(in[0], in[1], in[2]); }) {
        if (in.size() == 3) return to_value(model->forward(in[0], in[1], in[2]));
      }
      if constexpr (requires { model->forward(in[0], in[1], in[2], in[3]); }) {
        if (in.size() == 4) return to_value(model->forward(in[0], in[1], in[2], in[3]));
      }
      throw Error(str_cat("trace: ", model->type_name(), "::forward does not take ", in.size(),
                          " tensor argument(s)"));
    }
  };
}

template <typename Model>
GraphModule trace(const std::shared_ptr<Model>& model, const std::vector<Tensor>& example_inputs,
                  const TraceOptions& options = {}) {
  return trace_function(model, example_inputs, model_runner(model), options);
}

}  // namespace pare::ir
