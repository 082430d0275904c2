// The call_function targets GraphModule runs, each mapped to its pare op. A target's arguments
// follow torch.nn.functional / torch.Tensor: tensors come first as node references; the other
// parameters may be keyword arguments (what the tracer writes) or positional literals (what a
// torch.fx export may write), and are parsed once when the node is compiled.
#include "interpreter_functions.h"

#include <algorithm>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "pare/error.h"
#include "pare/functional.h"
#include "pare/indexing.h"

namespace pare::ir::detail {

namespace {

// Where a parameter may sit among the positional args (kKeywordOnly: only as a kwarg).
constexpr int kKeywordOnly = -1;

struct ParamSpec {
  std::string_view name;
  int position;
};

// The non-tensor parameters of one node, by name: a kwarg, else a positional literal.
class Params {
 public:
  Params(const Node& node, std::vector<ParamSpec> specs) : node_(node), specs_(std::move(specs)) {
    for (const auto& [key, value] : node.kwargs()) {
      // torch's `inplace` flags change nothing about the result.
      bool known = key == "inplace";
      for (const ParamSpec& spec : specs_) known = known || spec.name == key;
      PARE_CHECK(known, node.target(), ": unknown keyword argument '", key, "'", expected());
      bool references_node = false;
      value.for_each_node([&](Node*) { references_node = true; });
      PARE_CHECK(!references_node, node.target(), ": keyword argument '", key,
                 "' must be a literal, got ", value);
    }
  }

  const Argument* find(std::string_view name) const {
    for (const auto& [key, value] : node_.kwargs())
      if (key == name) return &value;
    for (const ParamSpec& spec : specs_) {
      if (spec.name != name || spec.position < 0) continue;
      if (static_cast<size_t>(spec.position) < node_.args().size()) {
        const Argument& argument = node_.args()[spec.position];
        if (!argument.is_node()) return &argument;
      }
    }
    return nullptr;
  }
  bool has(std::string_view name) const {
    const Argument* argument = find(name);
    return argument != nullptr && !argument->is_none();
  }
  double number(std::string_view name, double fallback) const {
    return has(name) ? find(name)->to_double(what(name)) : fallback;
  }
  int64_t integer(std::string_view name, int64_t fallback) const {
    return has(name) ? find(name)->to_int(what(name)) : fallback;
  }
  int64_t required_integer(std::string_view name) const {
    require(name);
    return find(name)->to_int(what(name));
  }
  bool flag(std::string_view name, bool fallback) const {
    return has(name) ? find(name)->to_bool(what(name)) : fallback;
  }
  std::string text(std::string_view name, const std::string& fallback) const {
    return has(name) ? find(name)->to_string(what(name)) : fallback;
  }
  // A list of ints; one int is repeated `expand_to` times when expand_to > 0.
  std::vector<int64_t> ints(std::string_view name, size_t expand_to = 0) const {
    require(name);
    return find(name)->to_ints(what(name), expand_to);
  }
  std::vector<int64_t> ints_or(std::string_view name, std::vector<int64_t> fallback,
                               size_t expand_to = 0) const {
    return has(name) ? find(name)->to_ints(what(name), expand_to) : fallback;
  }
  void require(std::string_view name) const {
    PARE_CHECK(has(name), node_.target(), ": missing argument '", name, "'");
  }
  std::string what(std::string_view name) const {
    return str_cat(node_.target(), ": argument '", name, "'");
  }

 private:
  std::string expected() const {
    if (specs_.empty()) return " (it takes none)";
    std::string names;
    for (const ParamSpec& spec : specs_) names += str_cat(names.empty() ? "" : ", ", spec.name);
    return " (expected " + names + ")";
  }

  const Node& node_;
  std::vector<ParamSpec> specs_;
};

// Checks that the first `count` positional args are node references.
void require_tensor_args(const Node& node, size_t count) {
  PARE_CHECK(node.args().size() >= count, node.target(), ": expected ", count,
             " tensor argument(s), got ", node.args().size(), " argument(s)");
  for (size_t i = 0; i < count; ++i) {
    PARE_CHECK(node.args()[i].is_node(), node.target(), ": argument ", i,
               " must be a node reference, got ", node.args()[i]);
  }
}

// Positions of the args that may carry tensors (node references or None), in order.
std::vector<size_t> tensor_slots(const Node& node) {
  std::vector<size_t> slots;
  for (size_t i = 0; i < node.args().size(); ++i)
    if (node.args()[i].is_node() || node.args()[i].is_none()) slots.push_back(i);
  return slots;
}

const Tensor& tensor_at(const std::vector<Value>& args, size_t index) {
  PARE_CHECK(index < args.size() && args[index].is_tensor(), "argument ", index,
             " must be a tensor");
  return args[index].tensor();
}

// The tensor at `index`, or an undefined tensor for None or a missing argument.
Tensor optional_tensor_at(const std::vector<Value>& args, size_t index) {
  return index < args.size() && args[index].is_tensor() ? args[index].tensor() : Tensor();
}

// A list of ints given as one list argument (kwarg or positional) or as trailing positional
// ints (torch's varargs form: x.reshape(2, -1), x.permute(0, 2, 1)).
std::vector<int64_t> ints_or_varargs(const Node& node, const Params& params,
                                     std::string_view name) {
  if (const Argument* keyword = node.kwarg(std::string(name)))
    return keyword->to_ints(params.what(name));
  PARE_CHECK(node.args().size() > 1, node.target(), ": missing argument '", name, "'");
  if (node.args().size() == 2 && node.args()[1].is_list())
    return node.args()[1].to_ints(params.what(name));
  std::vector<int64_t> values;
  for (size_t i = 1; i < node.args().size(); ++i)
    values.push_back(node.args()[i].to_int(params.what(name)));
  return values;
}

FunctionKernel compile_reshape(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"shape", 1}, {"size", 1}});
  const Shape shape = ints_or_varargs(node, params, node.kwarg("size") ? "size" : "shape");
  return
      [shape](const std::vector<Value>& args) { return Value(tensor_at(args, 0).reshape(shape)); };
}

FunctionKernel compile_permute(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"dims", 1}});
  const Shape dims = ints_or_varargs(node, params, "dims");
  return [dims](const std::vector<Value>& args) { return Value(tensor_at(args, 0).permute(dims)); };
}

// cat / stack: a list of tensors and a dim.
FunctionKernel compile_join(const Node& node, bool stack) {
  PARE_CHECK(!node.args().empty() && node.args()[0].is_list(), node.target(),
             ": expected a list of tensors as the first argument");
  for (const Argument& item : node.args()[0].to_list()) {
    PARE_CHECK(item.is_node(), node.target(), ": expected node references in the list, got ", item);
  }
  Params params(node, {{"dim", 1}});
  const int64_t dim = params.integer("dim", 0);
  return [stack, dim](const std::vector<Value>& args) {
    std::vector<Tensor> tensors;
    for (const Value& item : args.at(0).items()) tensors.push_back(item.tensor());
    return Value(stack ? pare::stack(tensors, dim) : pare::cat(tensors, dim));
  };
}

FunctionKernel compile_getitem(const Node& node) {
  require_tensor_args(node, 1);
  PARE_CHECK(node.args().size() == 2 && node.args()[1].is_int(),
             "getitem: expected (node, integer index), got ", node.args().size(), " argument(s)");
  const int64_t index = node.args()[1].to_int();
  return [index](const std::vector<Value>& args) {
    PARE_CHECK(!args.at(0).is_tensor(), "getitem: the input is a tensor, not a tuple");
    const std::vector<Value>& items = args[0].items();
    const int64_t count = static_cast<int64_t>(items.size());
    const int64_t wrapped = index < 0 ? index + count : index;
    PARE_CHECK(wrapped >= 0 && wrapped < count, "getitem: index ", index,
               " is out of range for a tuple of ", count);
    return items[wrapped];
  };
}

FunctionKernel compile_softmax(const Node& node, bool log) {
  require_tensor_args(node, 1);
  Params params(node, {{"dim", 1}});
  const int64_t dim = params.required_integer("dim");
  return [log, dim](const std::vector<Value>& args) {
    return Value(log ? pare::log_softmax(tensor_at(args, 0), dim)
                     : pare::softmax(tensor_at(args, 0), dim));
  };
}

FunctionKernel compile_dropout(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"p", 1}, {"training", 2}});
  const double p = params.number("p", 0.5);
  const bool training = params.flag("training", true);
  return [p, training](const std::vector<Value>& args) {
    return Value(pare::dropout(tensor_at(args, 0), p, training));
  };
}

FunctionKernel compile_linear(const Node& node) {
  require_tensor_args(node, 2);
  Params params(node, {});
  PARE_CHECK(node.args().size() <= 3, "linear: expected (input, weight, bias), got ",
             node.args().size(), " arguments");
  return [](const std::vector<Value>& args) {
    return Value(pare::linear(tensor_at(args, 0), tensor_at(args, 1), optional_tensor_at(args, 2)));
  };
}

FunctionKernel compile_conv2d(const Node& node) {
  require_tensor_args(node, 2);
  Params params(node, {{"stride", 3}, {"padding", 4}, {"dilation", 5}, {"groups", 6}});
  const IntPair stride = params.ints_or("stride", {1, 1}, 2);
  const IntPair padding = params.ints_or("padding", {0, 0}, 2);
  const IntPair dilation = params.ints_or("dilation", {1, 1}, 2);
  const int64_t groups = params.integer("groups", 1);
  return [=](const std::vector<Value>& args) {
    return Value(pare::conv2d(tensor_at(args, 0), tensor_at(args, 1), optional_tensor_at(args, 2),
                              stride, padding, dilation, groups));
  };
}

// layer_norm(x, [weight, [bias]], normalized_shape=, eps=): the tensors are the node (or None)
// args in order.
FunctionKernel compile_layer_norm(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"normalized_shape", 1}, {"eps", 4}});
  const Shape normalized_shape = params.ints("normalized_shape");
  const double eps = params.number("eps", 1e-5);
  const std::vector<size_t> slots = tensor_slots(node);
  PARE_CHECK(slots.size() <= 3, "layer_norm: expected at most 3 tensors, got ", slots.size());
  return [=](const std::vector<Value>& args) {
    auto slot = [&](size_t i) {
      return i < slots.size() ? optional_tensor_at(args, slots[i]) : Tensor();
    };
    return Value(pare::layer_norm(slot(0), normalized_shape, slot(1), slot(2), eps));
  };
}

// batch_norm(x, running_mean, running_var, weight, bias, training=, momentum=, eps=); absent
// tensors are None. Files with only (x, running_mean, running_var) are read as affine-free.
FunctionKernel compile_batch_norm(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"training", 5}, {"momentum", 6}, {"eps", 7}});
  const bool training = params.flag("training", false);
  const double momentum = params.number("momentum", 0.1);
  const double eps = params.number("eps", 1e-5);
  const std::vector<size_t> slots = tensor_slots(node);
  PARE_CHECK(slots.size() == 1 || slots.size() == 3 || slots.size() == 5,
             "batch_norm: expected 1, 3 or 5 tensors, got ", slots.size());
  return [=](const std::vector<Value>& args) {
    auto slot = [&](size_t i) {
      return i < slots.size() ? optional_tensor_at(args, slots[i]) : Tensor();
    };
    return Value(
        pare::batch_norm(slot(0), slot(1), slot(2), slot(3), slot(4), training, momentum, eps));
  };
}

// lstm(x, h0, c0, weights..., num_layers=, has_biases=, batch_first=) -> (output, h_n, c_n).
FunctionKernel compile_lstm(const Node& node) {
  require_tensor_args(node, 1);
  PARE_CHECK(node.args().size() >= 5, "lstm: expected (input, h0, c0, weights...), got ",
             node.args().size(), " arguments");
  Params params(
      node,
      {{"num_layers", kKeywordOnly}, {"has_biases", kKeywordOnly}, {"batch_first", kKeywordOnly}});
  const int64_t num_layers = params.integer("num_layers", 1);
  const bool has_biases = params.flag("has_biases", true);
  const bool batch_first = params.flag("batch_first", false);
  const size_t arg_count = node.args().size();
  return [=](const std::vector<Value>& args) {
    std::vector<Tensor> weights;
    for (size_t i = 3; i < arg_count; ++i) weights.push_back(tensor_at(args, i));
    auto [output, h_n, c_n] =
        pare::lstm(tensor_at(args, 0), optional_tensor_at(args, 1), optional_tensor_at(args, 2),
                   weights, has_biases, num_layers, batch_first);
    return Value(std::vector<Value>{output, h_n, c_n});
  };
}

// Tensor methods the tracer records (views and copies).
FunctionKernel compile_flatten(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"start_dim", 1}, {"end_dim", 2}});
  const int64_t start_dim = params.integer("start_dim", 0);
  const int64_t end_dim = params.integer("end_dim", -1);
  return [start_dim, end_dim](const std::vector<Value>& args) {
    return Value(tensor_at(args, 0).flatten(start_dim, end_dim));
  };
}

FunctionKernel compile_transpose(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"dim0", 1}, {"dim1", 2}});
  const int64_t dim0 = params.required_integer("dim0");
  const int64_t dim1 = params.required_integer("dim1");
  return [dim0, dim1](const std::vector<Value>& args) {
    return Value(tensor_at(args, 0).transpose(dim0, dim1));
  };
}

FunctionKernel compile_select(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"dim", 1}, {"index", 2}});
  const int64_t dim = params.required_integer("dim");
  const int64_t index = params.required_integer("index");
  return [dim, index](const std::vector<Value>& args) {
    return Value(tensor_at(args, 0).select(dim, index));
  };
}

FunctionKernel compile_slice(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"dim", 1}, {"start", 2}, {"end", 3}, {"step", 4}});
  const int64_t dim = params.integer("dim", 0);
  const int64_t start = params.integer("start", 0);
  const int64_t end = params.integer("end", std::numeric_limits<int64_t>::max());
  const int64_t step = params.integer("step", 1);
  return [=](const std::vector<Value>& args) {
    return Value(tensor_at(args, 0).slice(dim, start, end, step));
  };
}

FunctionKernel compile_narrow(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"dim", 1}, {"start", 2}, {"length", 3}});
  const int64_t dim = params.required_integer("dim");
  const int64_t start = params.required_integer("start");
  const int64_t length = params.required_integer("length");
  return [=](const std::vector<Value>& args) {
    return Value(tensor_at(args, 0).narrow(dim, start, length));
  };
}

FunctionKernel compile_squeeze(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"dim", 1}});
  const bool has_dim = params.has("dim");
  const int64_t dim = params.integer("dim", 0);
  return [has_dim, dim](const std::vector<Value>& args) {
    const Tensor& x = tensor_at(args, 0);
    return Value(has_dim ? x.squeeze(dim) : x.squeeze());
  };
}

FunctionKernel compile_unsqueeze(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"dim", 1}});
  const int64_t dim = params.required_integer("dim");
  return [dim](const std::vector<Value>& args) { return Value(tensor_at(args, 0).unsqueeze(dim)); };
}

FunctionKernel compile_method(const Node& node, Tensor (Tensor::*method)() const) {
  require_tensor_args(node, 1);
  Params params(node, {});
  return [method](const std::vector<Value>& args) { return Value((tensor_at(args, 0).*method)()); };
}

// ---- Selecting, splitting, matrix products and reductions ----

// Positions of the args that are node references, in order.
std::vector<size_t> node_slots(const Node& node) {
  std::vector<size_t> slots;
  for (size_t i = 0; i < node.args().size(); ++i)
    if (node.args()[i].is_node()) slots.push_back(i);
  return slots;
}

Value tuple_of(const std::vector<Tensor>& tensors) {
  return Value(std::vector<Value>(tensors.begin(), tensors.end()));
}

// index_select(input, dim, index): the index is the second tensor, wherever dim sits.
FunctionKernel compile_index_select(const Node& node) {
  require_tensor_args(node, 1);
  const std::vector<size_t> tensors = node_slots(node);
  PARE_CHECK(tensors.size() == 2 && node.args().size() <= 3,
             "index_select: expected (input, dim, index) with two tensors, got ",
             node.args().size(), " argument(s) of which ", tensors.size(), " tensor(s)");
  Params params(node, {{"dim", 1}});
  const int64_t dim = params.required_integer("dim");
  const size_t index_at = tensors[1];
  return [dim, index_at](const std::vector<Value>& args) {
    return Value(pare::index_select(tensor_at(args, 0), dim, tensor_at(args, index_at)));
  };
}

FunctionKernel compile_masked_fill(const Node& node) {
  require_tensor_args(node, 2);
  Params params(node, {{"value", 2}});
  params.require("value");
  const double value = params.number("value", 0.0);
  return [value](const std::vector<Value>& args) {
    return Value(pare::masked_fill(tensor_at(args, 0), tensor_at(args, 1), value));
  };
}

// split(x, split_size, dim) -> a tuple of pieces; torch.split calls its size
// split_size_or_sections (only the size form is supported).
FunctionKernel compile_split(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"split_size", 1}, {"split_size_or_sections", kKeywordOnly}, {"dim", 2}});
  const std::string_view key =
      params.has("split_size_or_sections") ? "split_size_or_sections" : "split_size";
  params.require(key);
  PARE_CHECK(!params.find(key)->is_list(), "split: a list of section sizes is not supported, got ",
             *params.find(key));
  const int64_t split_size = params.required_integer(key);
  const int64_t dim = params.integer("dim", 0);
  return [split_size, dim](const std::vector<Value>& args) {
    return tuple_of(pare::split(tensor_at(args, 0), split_size, dim));
  };
}

FunctionKernel compile_chunk(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"chunks", 1}, {"dim", 2}});
  const int64_t chunks = params.required_integer("chunks");
  const int64_t dim = params.integer("dim", 0);
  return [chunks, dim](const std::vector<Value>& args) {
    return tuple_of(pare::chunk(tensor_at(args, 0), chunks, dim));
  };
}

using Compiler = FunctionKernel (*)(const Node&);

const std::unordered_map<std::string, Compiler>& compilers() {
  static const std::unordered_map<std::string, Compiler> table = {
      // Layers as functions.
      {"linear", &compile_linear},
      {"conv2d", &compile_conv2d},
      {"layer_norm", &compile_layer_norm},
      {"batch_norm", &compile_batch_norm},
      {"lstm", &compile_lstm},
      {"dropout", &compile_dropout},
      {"softmax", [](const Node& n) { return compile_softmax(n, false); }},
      {"log_softmax", [](const Node& n) { return compile_softmax(n, true); }},
      // Joining, splitting, selecting and tuples.
      {"cat", [](const Node& n) { return compile_join(n, false); }},
      {"stack", [](const Node& n) { return compile_join(n, true); }},
      {"getitem", &compile_getitem},
      {"split", &compile_split},
      {"chunk", &compile_chunk},
      {"index_select", &compile_index_select},
      {"masked_fill", &compile_masked_fill},
      // Shapes (functional flatten/reshape and the tensor methods).
      {"flatten", &compile_flatten},
      {"reshape", &compile_reshape},
      {"view", &compile_reshape},
      {"transpose", &compile_transpose},
      {"t", [](const Node& n) { return compile_method(n, &Tensor::t); }},
      {"permute", &compile_permute},
      {"select", &compile_select},
      {"slice", &compile_slice},
      {"narrow", &compile_narrow},
      {"squeeze", &compile_squeeze},
      {"unsqueeze", &compile_unsqueeze},
      {"contiguous", [](const Node& n) { return compile_method(n, &Tensor::contiguous); }},
  };
  return table;
}

}  // namespace

FunctionKernel compile_function(const Node& node) {
  if (const OpDefinition* definition = find_op_definition(node.target()))
    return definition->bind(OpCall(*definition, node, nullptr));
  const auto& table = compilers();
  auto found = table.find(node.target());
  PARE_CHECK(found != table.end(), "unknown call_function target '", node.target(), "'");
  return found->second(node);
}

}  // namespace pare::ir::detail

namespace pare::ir {

const std::vector<std::string>& function_targets() {
  static const std::vector<std::string> targets = [] {
    std::vector<std::string> names;
    for (const auto& [name, compiler] : detail::compilers()) names.push_back(name);
    for (const OpDefinition* definition : op_definitions()) names.push_back(definition->name);
    std::sort(names.begin(), names.end());
    return names;
  }();
  return targets;
}

bool is_function_target(const std::string& target) {
  return find_op_definition(target) != nullptr || detail::compilers().count(target) > 0;
}

}  // namespace pare::ir
