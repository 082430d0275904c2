// The tracer: an OpObserver installed while the model's forward runs once. Every tensor an op or
// a leaf module produces is mapped to the node (and tuple path) that produced it, so that the
// next op that reads it gets a node reference.
//
// The eager run happens with grad mode on and with float example inputs marked as requiring a
// gradient (on aliases: the caller's tensors are untouched). That is how an op the tracer cannot
// see is caught: a tensor that reaches a reported op without having been produced by a node, but
// whose autograd history leads back to an input, was computed by an unreported op, and silently
// baking it into the graph as a constant would be wrong for any other input.
#include "pare/ir/tracer.h"

#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "pare/autograd.h"
#include "pare/ir/op_definition.h"
#include "pare/nn/lstm.h"
#include "pare/random.h"

namespace pare::ir {

namespace {

// A tracing failure already phrased for the user: passed through without another prefix.
class TraceError : public Error {
 public:
  using Error::Error;
};

using TuplePath = std::vector<int64_t>;

Argument to_argument(const AttrValue& value) {
  return std::visit([](const auto& v) { return Argument(v); }, value);
}

TensorMeta meta_of(const Tensor& tensor) { return TensorMeta{tensor.sizes(), tensor.dtype()}; }

class Tracer : public OpObserver {
 public:
  Tracer(nn::Module& root, Graph& graph) : root_(root), graph_(graph) {
    for (const auto& [name, module] : root.named_modules()) module_names_[module.get()] = name;
    for (const auto& [name, tensor] : root.named_parameters())
      attribute_names_.emplace(tensor.impl(), name);
    for (const auto& [name, tensor] : root.named_buffers())
      attribute_names_.emplace(tensor.impl(), name);
  }

  void add_input(const std::string& name, const Tensor& input) {
    Node* node = graph_.placeholder(name);
    node->meta = {meta_of(input)};
    input_impls_.insert(input.impl());
    remember(input, node, {});
  }

  void on_function(const std::string& name, const std::vector<Tensor>& inputs, const Attrs& attrs,
                   const std::vector<Tensor>& outputs) override {
    // The op's definition says how its tensors sit (one list for cat / stack) and checks the
    // node as the interpreter will read it, so a trace never records a call it cannot run.
    const OpDefinition& definition = op_definition(name);
    std::vector<Argument> args;
    if (!definition.params.empty() && definition.params[0].type == ParamType::tensor_list) {
      Argument::List tensors;
      for (const Tensor& input : inputs) tensors.push_back(argument_for(input, name));
      args.emplace_back(std::move(tensors));
    } else {
      for (const Tensor& input : inputs) args.push_back(argument_for(input, name));
    }
    Kwargs kwargs;
    for (const auto& [key, value] : attrs) kwargs.emplace_back(key, to_argument(value));
    Node* node = graph_.call_function(name, std::move(args), std::move(kwargs));
    definition.bind(OpCall(definition, *node, nullptr));
    add_outputs(node, flat_tuple(outputs));
  }

  void on_module(const nn::Module& module, const std::vector<Tensor>& inputs,
                 const std::vector<Tensor>& outputs) override {
    auto found = module_names_.find(&module);
    if (found == module_names_.end()) {
      throw TraceError(str_cat("trace: a ", module.type_name(),
                               " module that is not a submodule of the traced ", root_.type_name(),
                               " was called; register it with register_module so that the graph "
                               "can name it"));
    }
    const std::string& target = found->second;
    if (target.empty()) {
      throw TraceError(str_cat("trace: the traced module ", module.type_name(),
                               " is itself a built-in layer; wrap it in a Sequential to trace it"));
    }
    // Not kind(): a subclass of LSTMImpl keeps its call convention, lstm(x, (h_0, c_0)), which
    // is what the interpreter's call_module matches (GraphModule), whatever its kind.
    const bool is_lstm = dynamic_cast<const nn::LSTMImpl*>(&module) != nullptr;
    std::vector<Argument> args;
    if (is_lstm && inputs.size() == 3) {
      // lstm(x, (h_0, c_0)), as PyTorch calls it.
      args.push_back(argument_for(inputs[0], target));
      args.emplace_back(
          Argument::List{argument_for(inputs[1], target), argument_for(inputs[2], target)});
    } else {
      for (const Tensor& input : inputs) args.push_back(argument_for(input, target));
    }
    Node* node = graph_.call_module(target, std::move(args));
    if (is_lstm && outputs.size() == 3) {
      add_outputs(node, Value(std::vector<Value>{
                            outputs[0], Value(std::vector<Value>{outputs[1], outputs[2]})}));
    } else {
      add_outputs(node, flat_tuple(outputs));
    }
  }

  // The output node's argument: a node reference, or nested lists of them for tuples.
  Argument output_argument(const Value& value) {
    if (value.is_tensor()) return argument_for(value.tensor(), "the output");
    Argument::List items;
    for (const Value& item : value.items()) items.push_back(output_argument(item));
    return Argument(std::move(items));
  }

  // Constants become buffers of root only once the eager run has succeeded.
  void register_constants() {
    for (auto& [name, value] : constants_) root_.register_buffer(name, value);
  }
  // Leaves them as absent buffers (skipped by state_dict) when the check then fails.
  void withdraw_constants() {
    for (auto& [name, value] : constants_) root_.register_buffer(name, Tensor());
  }

 private:
  static Value flat_tuple(const std::vector<Tensor>& outputs) {
    if (outputs.size() == 1) return Value(outputs[0]);
    std::vector<Value> items(outputs.begin(), outputs.end());
    return Value(std::move(items));
  }

  void remember(const Tensor& tensor, Node* node, TuplePath path) {
    if (!tensor.defined()) return;
    // Holding every traced tensor keeps its address from being reused by a later tensor.
    alive_.push_back(tensor);
    produced_[tensor.impl()] = Produced{node, std::move(path)};
  }

  void add_outputs(Node* node, const Value& structure) {
    if (structure.is_tensor()) {
      node->meta = {meta_of(structure.tensor())};
      remember(structure.tensor(), node, {});
      return;
    }
    node->produces_tuple = true;
    for (const auto& [path, tensor] : structure.flatten()) node->meta.push_back(meta_of(tensor));
    structures_[node] = structure;
    remember_items(node, structure, {});
  }

  void remember_items(Node* node, const Value& value, const TuplePath& path) {
    if (value.is_tensor()) {
      remember(value.tensor(), node, path);
      return;
    }
    for (size_t i = 0; i < value.items().size(); ++i) {
      TuplePath item_path = path;
      item_path.push_back(static_cast<int64_t>(i));
      remember_items(node, value.items()[i], item_path);
    }
  }

  // The node for `path` inside the tuple `node` produces: getitem nodes, created on first use.
  Node* node_at(Node* node, const TuplePath& path) {
    Node* current = node;
    Value structure = structures_.at(node);
    TuplePath prefix;
    for (int64_t index : path) {
      prefix.push_back(index);
      structure = Value(structure.items()[index]);
      auto key = std::make_pair(node, prefix);
      auto cached = getitems_.find(key);
      if (cached != getitems_.end()) {
        current = cached->second;
        continue;
      }
      Node* item = graph_.call_function("getitem", {current, index});
      if (structure.is_tensor()) {
        item->meta = {meta_of(structure.tensor())};
      } else {
        item->produces_tuple = true;
        for (const auto& [unused, tensor] : structure.flatten())
          item->meta.push_back(meta_of(tensor));
      }
      getitems_[key] = item;
      current = item;
    }
    return current;
  }

  // True when `tensor`'s autograd history reaches one of the traced inputs.
  bool depends_on_inputs(const Tensor& tensor) const {
    std::vector<const autograd::GradNode*> pending{tensor.grad_fn().get()};
    std::unordered_set<const autograd::GradNode*> visited;
    while (!pending.empty()) {
      const autograd::GradNode* grad_node = pending.back();
      pending.pop_back();
      if (grad_node == nullptr || !visited.insert(grad_node).second) continue;
      for (const Tensor& input : grad_node->inputs) {
        if (!input.defined()) continue;
        if (input_impls_.count(input.impl())) return true;
        pending.push_back(input.grad_fn().get());
      }
    }
    return false;
  }

  [[noreturn]] void throw_untraced(const Tensor& tensor, const std::string& consumer) const {
    throw TraceError(str_cat(
        "trace: ", consumer, " reads a tensor of shape ", tensor.sizes(),
        " that depends on the inputs but was computed by '", tensor.grad_fn()->name,
        "', an op the tracer does not see (only functional ops, arithmetic, tensor views and "
        "built-in layers become nodes; in-place updates and raw data access are not traced)"));
  }

  std::string next_constant_name() {
    for (;; ++constant_counter_) {
      std::string name = str_cat("_tensor_constant", constant_counter_);
      if (root_.has_buffer(name) || root_.has_parameter(name) || root_.get_child(name)) continue;
      ++constant_counter_;
      return name;
    }
  }

  Argument argument_for(const Tensor& tensor, const std::string& consumer) {
    if (!tensor.defined()) return Argument();
    const TensorImpl* impl = tensor.impl();
    if (auto found = produced_.find(impl); found != produced_.end()) {
      // A constant that has since been overwritten by an unreported op (e.g. an output buffer
      // filled through views) now carries that op's history.
      if (constant_nodes_.count(found->second.node) && tensor.grad_fn() &&
          depends_on_inputs(tensor)) {
        throw_untraced(tensor, consumer);
      }
      if (found->second.path.empty()) return found->second.node;
      return node_at(found->second.node, found->second.path);
    }
    if (auto attribute = attribute_names_.find(impl); attribute != attribute_names_.end()) {
      Node* node = graph_.get_attr(attribute->second);
      node->meta = {meta_of(tensor)};
      remember(tensor, node, {});
      return node;
    }
    if (tensor.grad_fn() && depends_on_inputs(tensor)) throw_untraced(tensor, consumer);
    // A tensor made inside forward (or an input-independent value such as a parametrized
    // weight): a constant, copied now so that later in-place changes do not leak in.
    const std::string name = next_constant_name();
    Tensor value;
    {
      NoGradGuard no_grad;
      value = tensor.detach().clone();
    }
    constants_.emplace_back(name, value);
    Node* node = graph_.get_attr(name);
    node->meta = {meta_of(tensor)};
    constant_nodes_.insert(node);
    remember(tensor, node, {});
    return node;
  }

  struct Produced {
    Node* node;
    TuplePath path;
  };

  nn::Module& root_;
  Graph& graph_;
  std::unordered_map<const nn::Module*, std::string> module_names_;
  std::unordered_map<const TensorImpl*, std::string> attribute_names_;
  std::unordered_set<const TensorImpl*> input_impls_;
  std::unordered_map<const TensorImpl*, Produced> produced_;
  std::vector<Tensor> alive_;
  std::unordered_map<Node*, Value> structures_;
  std::map<std::pair<Node*, TuplePath>, Node*> getitems_;
  std::unordered_set<Node*> constant_nodes_;
  std::vector<std::pair<std::string, Tensor>> constants_;
  int64_t constant_counter_ = 0;
};

// Restores every buffer of a module (BatchNorm's running statistics) when it goes out of scope:
// tracing runs forward twice and must leave the model as it found it.
class BufferSnapshot {
 public:
  explicit BufferSnapshot(const nn::Module& root) {
    NoGradGuard no_grad;
    for (const auto& [name, buffer] : root.named_buffers())
      saved_.emplace_back(buffer, buffer.detach().clone());
  }
  ~BufferSnapshot() {
    NoGradGuard no_grad;
    for (auto& [buffer, value] : saved_) buffer.copy_(value);
  }
  BufferSnapshot(const BufferSnapshot&) = delete;
  BufferSnapshot& operator=(const BufferSnapshot&) = delete;

 private:
  std::vector<std::pair<Tensor, Tensor>> saved_;
};

// max |a - b|; NaN in both counts as equal, NaN in one as infinitely far.
double max_abs_diff(const Tensor& a, const Tensor& b) {
  const Tensor x = a.detach().to(kFloat32).contiguous();
  const Tensor y = b.detach().to(kFloat32).contiguous();
  const float* x_data = x.data_ptr<float>();
  const float* y_data = y.data_ptr<float>();
  double worst = 0.0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (std::isnan(x_data[i]) && std::isnan(y_data[i])) continue;
    double diff = std::abs(static_cast<double>(x_data[i]) - static_cast<double>(y_data[i]));
    if (std::isnan(diff)) diff = std::numeric_limits<double>::infinity();
    worst = std::max(worst, diff);
  }
  return worst;
}

void check_reproduces(const std::string& type_name, const Value& eager, const Value& replayed,
                      double tolerance) {
  const auto expected = eager.flatten();
  const auto actual = replayed.flatten();
  if (expected.size() != actual.size()) {
    throw TraceError(str_cat("trace: the traced graph of ", type_name, " returns ", actual.size(),
                             " tensor(s) but forward returned ", expected.size()));
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    const std::string& path = expected[i].first;
    const std::string label = path.empty() ? "the output" : "output " + path;
    const Tensor& want = expected[i].second;
    const Tensor& got = actual[i].second;
    if (actual[i].first != path || want.sizes() != got.sizes()) {
      throw TraceError(str_cat("trace: the traced graph of ", type_name, " gives ", label,
                               " the shape ", got.sizes(), " but forward gave ", want.sizes()));
    }
    const double diff = max_abs_diff(want, got);
    if (!(diff <= tolerance)) {
      throw TraceError(str_cat(
          "trace: the traced graph of ", type_name, " does not reproduce forward: ", label,
          " differs by ", diff, " (tolerance ", tolerance,
          "); forward depends on something the tracer cannot see, such as in-place updates, "
          "raw data access, or state that changes between calls"));
    }
  }
}

std::vector<std::string> placeholder_names(const std::vector<Tensor>& inputs,
                                           const TraceOptions& options) {
  if (!options.input_names.empty()) {
    PARE_CHECK(options.input_names.size() == inputs.size(), "trace: ", options.input_names.size(),
               " input name(s) for ", inputs.size(), " example input(s)");
    return options.input_names;
  }
  if (inputs.size() == 1) return {"x"};
  std::vector<std::string> names;
  for (size_t i = 0; i < inputs.size(); ++i) names.push_back(str_cat("x", i));
  return names;
}

}  // namespace

GraphModule trace_function(const std::shared_ptr<nn::Module>& root,
                           const std::vector<Tensor>& example_inputs,
                           const std::function<Value(const std::vector<Tensor>&)>& run,
                           const TraceOptions& options) {
  PARE_CHECK(root != nullptr, "trace: the model is null");
  for (size_t i = 0; i < example_inputs.size(); ++i) {
    PARE_CHECK(example_inputs[i].defined(), "trace: example input ", i, " is undefined");
  }
  const std::vector<std::string> names = placeholder_names(example_inputs, options);
  BufferSnapshot buffers(*root);
  const std::mt19937_64 random_state = default_generator().engine();

  auto graph = std::make_shared<Graph>();
  Tracer tracer(*root, *graph);
  std::vector<Tensor> traced_inputs;
  for (size_t i = 0; i < example_inputs.size(); ++i) {
    Tensor alias = example_inputs[i].detach();
    if (alias.dtype() == kFloat32) alias.set_requires_grad(true);
    tracer.add_input(names[i], alias);
    traced_inputs.push_back(alias);
  }

  Value eager;
  {
    EnableGradGuard grad_mode;
    ObserverGuard observing(&tracer);
    try {
      eager = run(traced_inputs);
    } catch (const TraceError&) {
      throw;
    } catch (const std::exception& error) {
      // trace()'s own argument checks are phrased already.
      if (std::string_view(error.what()).starts_with("trace: ")) throw;
      throw Error(
          str_cat("trace: ", root->type_name(), "::forward failed while tracing: ", error.what()));
    }
  }
  {
    ObserverGuard silent(nullptr);
    graph->output(tracer.output_argument(eager));
  }
  tracer.register_constants();
  graph->lint();
  GraphModule graph_module(root, graph);

  if (options.check) {
    // Same random stream as the eager run, so dropout and rrelu draw the same numbers.
    default_generator().engine() = random_state;
    ObserverGuard silent(nullptr);
    NoGradGuard no_grad;
    try {
      Value replayed;
      try {
        // The plain interpreter: this checks the trace, not a forward backend's rounding.
        replayed = graph_module.interpret(example_inputs);
      } catch (const std::exception& error) {
        throw Error(str_cat("trace: running the traced graph of ", root->type_name(),
                            " failed: ", error.what()));
      }
      check_reproduces(root->type_name(), eager, replayed, options.tolerance);
    } catch (...) {
      tracer.withdraw_constants();
      throw;
    }
  }
  return graph_module;
}

}  // namespace pare::ir
