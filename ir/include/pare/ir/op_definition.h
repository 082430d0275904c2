// One definition per call_function op: everything pare knows about an op, in one place that
// every consumer reads (the interpreter, shape inference, the .pare reader, model statistics,
// the inference compiler, `pare ops` and the Python exporter's check). The definitions live in
// ir/ops/, one file per family (ir/ops/pooling.cpp, ...); docs/adding_an_op.md walks through
// adding one.
//
//   const pare::ir::OpDefinition& op = pare::ir::op_definition("max_pool2d");
//   for (const pare::ir::OpParam& param : op.params)
//     std::cout << param.name << ": " << pare::ir::param_type_name(param.type) << "\n";
//   // kernel_size: int[2], stride: int[2]?, ...
//
// A definition holds (ONNX's OpSchema, plus what pruning and the compiler need):
// - the signature: torch.nn.functional's parameters in order, with types and defaults (a node's
//   literal parameters may be keyword arguments, as the tracer writes them, or positional
//   literals, as a torch.fx export may write them; OpCall reads both the same way);
// - `infer`: the shape and dtype rule (shape inference, hence the .pare reader and model stats);
// - `bind`: the interpreter binding, the node's literals parsed once into a kernel;
// - `macs`: the multiply-accumulate count of one call (none: the op has no MACs to speak of);
// - `lowering`: how the compiled inference path runs it (default: on the interpreter), with
//   `alias_when` where only some calls are views and `pool2d` for pools;
// - `activation`: for the elementwise activations, the function one call computes in kernels'
//   terms (the compiled path runs or fuses it);
// - `channel_rule`: how the op couples the axes of its inputs and output (pare/ir/channel_rule.h;
//   dependency groups read it).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pare/functional.h"
#include "pare/ir/channel_rule.h"
#include "pare/ir/graph.h"
#include "pare/ir/graph_module.h"
#include "pare/kernels/activation.h"
#include "pare/kernels/pooling.h"

namespace pare::ir {

// What a node produces, without data: one tensor's meta, a tuple, or nothing (a literal or None
// argument). Shape inference's twin of the interpreter's Value.
struct Symbol {
  enum class Kind { none, tensor, tuple };
  Kind kind = Kind::none;
  TensorMeta meta;
  std::vector<Symbol> items;

  static Symbol of(Shape shape, DType dtype = kFloat32);
  static Symbol tuple(std::vector<Symbol> items);
  bool is_tensor() const { return kind == Kind::tensor; }
  bool is_tuple() const { return kind == Kind::tuple; }
  // Every tensor, depth first.
  std::vector<TensorMeta> flatten() const;
  // "[2, 3]" for a tensor, "([2, 3], [1, 3])" for a tuple, "None" for nothing.
  std::string describe() const;
};

// The types of a parameter, named as in TorchScript schemas (what `pare ops --json` writes and
// tools/pare_export.py compares).
enum class ParamType {
  tensor,             // Tensor
  optional_tensor,    // Tensor?
  tensor_list,        // Tensor[]
  tensor_or_number,   // Tensor|Scalar (add(x, 2.0) or add(x, y))
  integer,            // int
  optional_integer,   // int?
  integers,           // int[] (one int or a list; also trailing positional ints: x.reshape(2, -1))
  int_pair,           // int[2] (one int is repeated)
  optional_int_pair,  // int[2]? (None: the op's own default, e.g. a pool's stride = kernel_size)
  dims,               // int[]? (None or absent: every dim)
  number,             // float
  optional_number,    // float?
  boolean,            // bool
  string,             // str
  norm_order,         // float|str ("fro", "inf")
  optional_dtype,     // ScalarType? (torch's dtype=None; a value is refused where not supported)
};
const char* param_type_name(ParamType type);

// Where a parameter may sit among the positional arguments, or kKeywordOnly.
constexpr int kKeywordOnly = -1;

struct OpParam {
  std::string name;
  ParamType type;
  int position;
  // The default, as the node literal it stands for; `required` params have none.
  Argument default_value = Argument();
  bool required = false;
};

// A required parameter and one with a default, for the definitions' tables.
OpParam required_param(std::string name, ParamType type, int position);
OpParam param(std::string name, ParamType type, int position, Argument default_value = Argument());

struct OpDefinition;

// A call_function node read through its definition: the literal parameters by name (a keyword
// argument, else a positional literal, else the declared default), and, in shape inference, the
// symbols of its positional arguments. Refuses on construction an unknown keyword argument and
// a keyword argument that refers to a node; every reader's error names the op and the parameter.
class OpCall {
 public:
  OpCall(const OpDefinition& definition, const Node& node, const std::vector<Symbol>* args);

  const Node& node() const { return node_; }
  const std::string& target() const { return node_.target(); }

  // ---- Literal parameters ----
  // The literal for `name`, or nullptr when the node does not give it.
  const Argument* literal(std::string_view name) const;
  // Whether the node gives `name` as something other than None.
  bool has(std::string_view name) const;
  // The value of `name`: the node's literal, else the declared default; a pare::Error when the
  // parameter is required and absent.
  const Argument& value(std::string_view name) const;
  double number(std::string_view name) const;
  int64_t integer(std::string_view name) const;
  bool flag(std::string_view name) const;
  std::string text(std::string_view name) const;
  // A list of ints; one int is repeated `expand_to` times when expand_to > 0.
  std::vector<int64_t> ints(std::string_view name, size_t expand_to = 0) const;
  IntPair int_pair(std::string_view name) const;
  // A list given as one list argument or as trailing positional ints (x.reshape(2, -1)).
  Shape ints_or_varargs(std::string_view name) const;
  // "op: argument 'name'", for errors.
  std::string what(std::string_view name) const;
  void require(std::string_view name) const;

  // ---- Tensor arguments ----
  // Checks that the first `count` positional arguments are node references.
  void require_tensor_args(size_t count) const;
  // Positions of the arguments that may carry tensors (node references or None), in order.
  std::vector<size_t> tensor_slots() const;
  // Positions of the arguments that are node references, in order.
  std::vector<size_t> node_slots() const;
  // Whether positional argument `index` is a node reference.
  bool is_node_arg(size_t index) const;

  // ---- Symbols (shape inference only) ----
  size_t arg_count() const;
  const Symbol& arg(size_t index) const;
  bool has_tensor(size_t index) const;
  const TensorMeta& tensor(size_t index) const;
  const TensorMeta* optional_tensor(size_t index) const;
  // A float32 tensor, else a pare::Error naming `role`.
  const TensorMeta& float_tensor(size_t index, std::string_view role = "input") const;

 private:
  const OpParam* find_param(std::string_view name) const;

  const OpDefinition& definition_;
  const Node& node_;
  const std::vector<Symbol>* args_;
};

// A call_function node bound once: it receives the runtime values of the node's positional
// arguments, in order; an argument that is a literal or None arrives as an empty Value, a list
// as a tuple Value.
using FunctionKernel = std::function<Value(const std::vector<Value>& args)>;

// How the compiled inference path runs an op: `interpreter` runs the bound kernel as a step;
// `alias` passes its input through when the result is a view the compiler can alias (reshape,
// flatten, contiguous; dropout, whose `alias_when` says it is one only outside training);
// `pool2d` is a 2-d pool the compiler prepares from the definition's `pool2d`
// (kernels::Pool2dParams).
enum class Lowering { interpreter, alias, pool2d };

// A pool as the compiled path prepares it: max or average over a window.
struct Pool2dLowering {
  enum class Kind { max, avg };
  Kind kind = Kind::max;
  kernels::Pool2dParams params;  // complete for the call's input shape
};

struct OpDefinition {
  std::string name;
  std::string family;
  // One line, as torch's docs say it.
  std::string summary;
  std::vector<OpParam> params;
  // The output's shapes and dtypes from the inputs', with the engine op's own checks.
  Symbol (*infer)(const OpCall& call) = nullptr;
  // Parses the node's literals once and returns the kernel that runs it.
  FunctionKernel (*bind)(const OpCall& call) = nullptr;
  // Multiply-accumulates of one call, given the call's symbols and its output; nullptr: none.
  int64_t (*macs)(const OpCall& call, const Symbol& output) = nullptr;
  Lowering lowering = Lowering::interpreter;
  // Lowering::alias: whether this call is a view of its first input (its literals decide, e.g.
  // dropout's `training`); nullptr: every call is. The compiler asks it only of calls whose other
  // arguments are all literals.
  bool (*alias_when)(const OpCall& call) = nullptr;
  // Lowering::pool2d: the pool one call computes on an input of shape `input`, or std::nullopt
  // where a plain window pool cannot reproduce it (indices returned, divisor_override, an
  // adaptive pool whose windows differ in size or spacing: kernels::adaptive_pool_window).
  std::optional<Pool2dLowering> (*pool2d)(const OpCall& call, const TensorMeta& input) = nullptr;
  // Set on every elementwise activation (family "activation"): the function one call computes,
  // its numbers read as `bind` reads them (the same defaults), or std::nullopt where the call is
  // not one fixed function (prelu: a weight tensor; rrelu in training: random slopes). nullptr:
  // the op is not an activation.
  std::optional<kernels::ActivationParams> (*activation)(const OpCall& call) = nullptr;
  // How one call ties the axes of its tensor inputs to the output's (pare/ir/channel_rule.h),
  // given the call's symbols and its output; nullptr: no rule, every axis blocks.
  ChannelRule (*channel_rule)(const OpCall& call, const Symbol& output) = nullptr;
};

// Every definition, sorted by name.
const std::vector<const OpDefinition*>& op_definitions();
// The definition of `name`, or nullptr.
const OpDefinition* find_op_definition(std::string_view name);
// The definition of `name`; a pare::Error for an unknown call_function target.
const OpDefinition& op_definition(std::string_view name);

}  // namespace pare::ir
