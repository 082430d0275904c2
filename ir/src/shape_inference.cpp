// Shape inference (shape_inference.h): a symbolic run of the graph. Every node produces a Symbol,
// the data-free twin of the interpreter's Value; each call_function target and each module type
// has a shape function that mirrors the checks and output rules of the engine op it runs.
#include "pare/ir/shape_inference.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "interpreter_functions.h"
#include "pare/checked_math.h"
#include "pare/elementwise.h"
#include "pare/error.h"
#include "pare/functional.h"
#include "pare/ir/op_definition.h"
#include "pare/kernels/conv2d.h"
#include "pare/kernels/pooling.h"
#include "pare/pool_geometry.h"
#include "shape_rules.h"

namespace pare::ir {

namespace {

using namespace ops;  // the shared shape rules

// ---- call_function nodes ----

// One call_function node: its literal parameters (a keyword argument, else a positional literal,
// as the interpreter reads them) and the symbols of its positional arguments.
class Call {
 public:
  Call(const Node& node, const std::vector<Symbol>& args) : node_(node), args_(args) {}

  const Node& node() const { return node_; }
  const std::string& target() const { return node_.target(); }
  size_t arg_count() const { return args_.size(); }
  const Symbol& arg(size_t index) const { return args_.at(index); }

  bool has_tensor(size_t index) const { return index < args_.size() && args_[index].is_tensor(); }
  const TensorMeta& tensor(size_t index) const {
    PARE_CHECK(has_tensor(index), target(), ": argument ", index, " must be a tensor, got ",
               index < args_.size() ? args_[index].describe() : "nothing");
    return args_[index].meta;
  }
  const TensorMeta* optional_tensor(size_t index) const {
    return has_tensor(index) ? &args_[index].meta : nullptr;
  }
  const TensorMeta& float_tensor(size_t index, std::string_view role = "input") const {
    const TensorMeta& meta = tensor(index);
    require_float(meta, target(), role);
    return meta;
  }

  // `position` < 0: keyword only.
  const Argument* literal(std::string_view name, int position) const {
    if (const Argument* keyword = node_.kwarg(std::string(name))) return keyword;
    if (position >= 0 && static_cast<size_t>(position) < node_.args().size() &&
        !node_.args()[position].is_node())
      return &node_.args()[position];
    return nullptr;
  }
  bool has(std::string_view name, int position) const {
    const Argument* argument = literal(name, position);
    return argument != nullptr && !argument->is_none();
  }
  double number(std::string_view name, int position, double fallback) const {
    return has(name, position) ? literal(name, position)->to_double(what(name)) : fallback;
  }
  int64_t integer(std::string_view name, int position, int64_t fallback) const {
    return has(name, position) ? literal(name, position)->to_int(what(name)) : fallback;
  }
  int64_t required_integer(std::string_view name, int position) const {
    require(name, position);
    return literal(name, position)->to_int(what(name));
  }
  bool flag(std::string_view name, int position, bool fallback) const {
    return has(name, position) ? literal(name, position)->to_bool(what(name)) : fallback;
  }
  IntPair pair(std::string_view name, int position, IntPair fallback) const {
    return has(name, position) ? IntPair(literal(name, position)->to_ints(what(name), 2))
                               : fallback;
  }
  IntPair required_pair(std::string_view name, int position) const {
    require(name, position);
    return IntPair(literal(name, position)->to_ints(what(name), 2));
  }
  // A pool's stride: None, [] and 0 mean the kernel size.
  IntPair pool_stride(int position) const {
    if (!has("stride", position)) return 0;
    const Argument& stride = *literal("stride", position);
    if (stride.is_list() && stride.to_list().empty()) return 0;
    return IntPair(stride.to_ints(what("stride"), 2));
  }
  // A list given as one list argument or as trailing positional ints (x.reshape(2, -1)).
  Shape ints_or_varargs(std::string_view name) const {
    if (const Argument* keyword = node_.kwarg(std::string(name)))
      return keyword->to_ints(what(name));
    PARE_CHECK(node_.args().size() > 1, target(), ": missing argument '", name, "'");
    if (node_.args().size() == 2 && node_.args()[1].is_list())
      return node_.args()[1].to_ints(what(name));
    Shape values;
    for (size_t i = 1; i < node_.args().size(); ++i)
      values.push_back(node_.args()[i].to_int(what(name)));
    return values;
  }
  // Positions of the args that may carry tensors (node references or None), in order.
  std::vector<size_t> tensor_slots() const {
    std::vector<size_t> slots;
    for (size_t i = 0; i < node_.args().size(); ++i)
      if (node_.args()[i].is_node() || node_.args()[i].is_none()) slots.push_back(i);
    return slots;
  }

 private:
  void require(std::string_view name, int position) const {
    PARE_CHECK(has(name, position), target(), ": missing argument '", name, "'");
  }
  std::string what(std::string_view name) const {
    return str_cat(target(), ": argument '", name, "'");
  }

  const Node& node_;
  const std::vector<Symbol>& args_;
};

using FunctionRule = Symbol (*)(const Call&);

Symbol float_unary(const Call& call) { return Symbol::of(call.float_tensor(0).shape); }

Symbol infer_prelu(const Call& call) {
  const TensorMeta& x = call.float_tensor(0);
  const TensorMeta& weight = call.float_tensor(1, "weight");
  PARE_CHECK(weight.shape.size() <= 1,
             "prelu: expected weight to be a scalar or 1-d tensor, got shape ", weight.shape);
  const int64_t channels = x.shape.size() >= 2 ? x.shape[1] : 1;
  const int64_t count = shape_numel(weight.shape);
  PARE_CHECK(count == 1 || count == channels, "prelu: weight of shape ", weight.shape,
             " must have 1 or ", channels, " elements (the channel size, dim 1 of the input of ",
             "shape ", x.shape, ")");
  return Symbol::of(x.shape);
}

bool is_tensor_arg(const Call& call, size_t index) {
  return index < call.node().args().size() && call.node().args()[index].is_node();
}

// add / sub: tensor or number operands and the keyword alpha (interpreter_functions.cpp).
Symbol infer_add_or_sub(const Call& call) {
  const bool subtract = call.target() == "sub";
  const double alpha = call.number("alpha", -1, 1.0);
  const double sign = subtract ? -1.0 : 1.0;
  PARE_CHECK(call.arg_count() > 0, call.target(), ": expected an operand");
  if (is_tensor_arg(call, 0) && is_tensor_arg(call, 1)) {
    const TensorMeta& a = call.tensor(0);
    const TensorMeta& b = call.tensor(1);
    PARE_CHECK(!(subtract && a.dtype == kBool && b.dtype == kBool),
               "sub: subtracting bool tensors is not supported (shapes ", a.shape, " and ", b.shape,
               ")");
    const Shape shape = broadcast_shapes(a.shape, b.shape, call.target().c_str());
    const DType dtype = promote(a, b, call.target());
    PARE_CHECK(dtype == kFloat32 || is_whole(alpha), call.target(),
               ": alpha must be a whole number for ", dtype_name(dtype), " tensors, got ", alpha);
    return Symbol::of(shape, dtype);
  }
  if (is_tensor_arg(call, 0)) {
    PARE_CHECK(call.has("other", 1), call.target(), ": missing argument 'other'");
    const TensorMeta& x = call.tensor(0);
    return Symbol::of(x.shape, scalar_dtype(x.dtype, sign * alpha * call.number("other", 1, 0.0)));
  }
  const TensorMeta& x = call.tensor(1);
  const double first = call.node().args()[0].to_double();
  return Symbol::of(x.shape, scalar_dtype(scalar_dtype(x.dtype, sign * alpha), first));
}

// mul / div: tensor or number operands; division is true division (float32).
Symbol infer_mul_or_div(const Call& call) {
  const bool divide = call.target() == "div";
  PARE_CHECK(call.arg_count() > 0, call.target(), ": expected an operand");
  if (is_tensor_arg(call, 0) && is_tensor_arg(call, 1)) {
    const TensorMeta& a = call.tensor(0);
    const TensorMeta& b = call.tensor(1);
    const Shape shape = broadcast_shapes(a.shape, b.shape, call.target().c_str());
    const DType dtype = promote(a, b, call.target());
    return Symbol::of(shape, divide ? kFloat32 : dtype);
  }
  const bool tensor_first = is_tensor_arg(call, 0);
  const TensorMeta& x = call.tensor(tensor_first ? 0 : 1);
  double other = 0.0;
  if (tensor_first) {
    PARE_CHECK(call.has("other", 1), call.target(), ": missing argument 'other'");
    other = call.number("other", 1, 1.0);
  } else {
    other = call.node().args()[0].to_double();
  }
  return Symbol::of(x.shape, divide ? kFloat32 : scalar_dtype(x.dtype, other));
}

// rsub / rdiv: other - x and other / x.
Symbol infer_reversed_scalar(const Call& call) {
  const TensorMeta& x = call.tensor(0);
  PARE_CHECK(call.has("other", 1), call.target(), ": missing argument 'other'");
  if (call.target() == "rdiv") return Symbol::of(x.shape, kFloat32);
  const double other = call.number("other", 1, 0.0);
  const double alpha = call.number("alpha", -1, 1.0);
  const DType scaled = alpha == 1.0 ? x.dtype : scalar_dtype(x.dtype, alpha);
  return Symbol::of(x.shape, scalar_dtype(scaled, other));
}

Symbol infer_extremum(const Call& call) {
  const TensorMeta& a = call.tensor(0);
  const TensorMeta& b = call.tensor(1);
  return Symbol::of(broadcast_shapes(a.shape, b.shape, call.target().c_str()),
                    promote(a, b, call.target()));
}

Symbol infer_pow(const Call& call) {
  const TensorMeta& base = call.tensor(0);
  if (is_tensor_arg(call, 1)) {
    const TensorMeta& exponent = call.tensor(1);
    const Shape shape = broadcast_shapes(base.shape, exponent.shape, "pow");
    const DType dtype = promote(base, exponent, "pow");
    PARE_CHECK(dtype != kBool, "pow: bool tensors are not supported (shapes ", base.shape, " and ",
               exponent.shape, ")");
    return Symbol::of(shape, dtype);
  }
  PARE_CHECK(call.has("exponent", 1), "pow: missing argument 'exponent'");
  const double exponent = call.number("exponent", 1, 1.0);
  PARE_CHECK(base.dtype != kBool, "pow: bool tensors are not supported (shape ", base.shape, ")");
  if (base.dtype != kFloat32 && is_whole(exponent)) {
    PARE_CHECK(exponent >= 0, "pow: integers to negative integer powers are not allowed (got ",
               exponent, " for a ", dtype_name(base.dtype), " tensor of shape ", base.shape, ")");
    return Symbol::of(base.shape, base.dtype);
  }
  return Symbol::of(base.shape, kFloat32);
}

Symbol infer_clamp(const Call& call) {
  const TensorMeta& x = call.tensor(0);
  const bool has_min = call.has("min", 1);
  const bool has_max = call.has("max", 2);
  PARE_CHECK(has_min || has_max, "clamp: expected at least one of 'min' and 'max'");
  PARE_CHECK(x.dtype != kBool, "clamp: bool tensors are not supported (shape ", x.shape, ")");
  auto integer_bound = [](double bound) { return std::isinf(bound) || is_whole(bound); };
  const bool keep_integer = (!has_min || integer_bound(call.number("min", 1, 0.0))) &&
                            (!has_max || integer_bound(call.number("max", 2, 0.0)));
  return Symbol::of(x.shape, keep_integer ? x.dtype : kFloat32);
}

Symbol infer_neg(const Call& call) {
  const TensorMeta& x = call.tensor(0);
  PARE_CHECK(x.dtype != kBool, "neg: negating a bool tensor (shape ", x.shape,
             ") is not supported; use logical_not");
  return Symbol::of(x.shape, x.dtype);
}

Symbol same_dtype_unary(const Call& call) {
  const TensorMeta& x = call.tensor(0);
  return Symbol::of(x.shape, x.dtype);
}

Symbol to_float_unary(const Call& call) { return Symbol::of(call.tensor(0).shape, kFloat32); }

Symbol to_bool_unary(const Call& call) { return Symbol::of(call.tensor(0).shape, kBool); }

Symbol infer_comparison(const Call& call) {
  const TensorMeta& a = call.tensor(0);
  if (!is_tensor_arg(call, 1)) {
    PARE_CHECK(call.has("other", 1), call.target(), ": missing argument 'other'");
    return Symbol::of(a.shape, kBool);
  }
  const TensorMeta& b = call.tensor(1);
  const Shape shape = broadcast_shapes(a.shape, b.shape, call.target().c_str());
  promote(a, b, call.target());
  return Symbol::of(shape, kBool);
}

Symbol infer_where(const Call& call) {
  const TensorMeta& condition = call.tensor(0);
  const TensorMeta& a = call.tensor(1);
  const TensorMeta& b = call.tensor(2);
  PARE_CHECK(condition.dtype == kBool || condition.dtype == kUInt8,
             "where: the condition must be a bool tensor, got ", dtype_name(condition.dtype),
             " of shape ", condition.shape);
  const Shape values = broadcast_shapes(a.shape, b.shape, "where");
  const DType dtype = promote(a, b, "where");
  return Symbol::of(broadcast_shapes(condition.shape, values, "where"), dtype);
}

// ---- Selecting, splitting, matrix products and reductions ----

// matmul (torch.matmul's rules: 1-d operands promoted and the added dim removed, batch dims
// broadcast), mm (2-d only) and bmm (3-d, equal batches).
Symbol infer_matmul(const Call& call) {
  const std::string& op = call.target();
  const TensorMeta& a = call.tensor(0);
  const TensorMeta& b = call.tensor(1);
  const size_t required_rank = op == "mm" ? 2 : op == "bmm" ? 3 : 0;
  if (required_rank > 0) {
    PARE_CHECK(a.shape.size() == required_rank && b.shape.size() == required_rank, op,
               ": expected ", required_rank, "-d tensors, got shapes ", a.shape, " and ", b.shape);
  }
  if (op == "bmm") {
    PARE_CHECK(a.shape[0] == b.shape[0], "bmm: batch sizes differ, got shapes ", a.shape, " and ",
               b.shape);
  }
  PARE_CHECK(a.dtype == kFloat32 && b.dtype == kFloat32, op, ": expected float32 tensors, got ",
             dtype_name(a.dtype), " ", a.shape, " and ", dtype_name(b.dtype), " ", b.shape);
  PARE_CHECK(!a.shape.empty() && !b.shape.empty(), op,
             ": both operands need at least 1 dim, got shapes ", a.shape, " and ", b.shape);
  const Shape left = a.shape.size() == 1 ? Shape{1, a.shape[0]} : a.shape;
  const Shape right = b.shape.size() == 1 ? Shape{b.shape[0], 1} : b.shape;
  const int64_t k_left = left.back();
  const int64_t k_right = right[right.size() - 2];
  PARE_CHECK(k_left == k_right, op, ": shapes ", a.shape, " and ", b.shape,
             " cannot be multiplied (", k_left, " != ", k_right, ")");
  Shape out = broadcast_shapes(Shape(left.begin(), left.end() - 2),
                               Shape(right.begin(), right.end() - 2), op.c_str());
  if (a.shape.size() > 1) out.push_back(left[left.size() - 2]);
  if (b.shape.size() > 1) out.push_back(right.back());
  return Symbol::of(out);
}

Shape reduction_dims_of(const Call& call, int position) {
  return detail::reduction_dims(call.literal("dim", position),
                                str_cat(call.target(), ": argument 'dim'"));
}

// The shape a reduction over `dims` (empty: every dim) leaves, checked as the engine's plan is.
Shape reduced_shape(const Shape& shape, const Shape& dims, bool keepdim, const std::string& op) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  std::vector<bool> reduced(rank, dims.empty());
  std::vector<bool> seen(std::max<int64_t>(rank, 1), false);
  for (int64_t dim : dims) {
    const int64_t wrapped = wrap_dim(dim, rank, op.c_str());
    PARE_CHECK(!seen[wrapped], op, ": dim ", wrapped, " appears more than once in dims ", dims,
               " for shape ", shape);
    seen[wrapped] = true;
    if (rank > 0) reduced[wrapped] = true;
  }
  Shape out;
  for (int64_t d = 0; d < rank; ++d) {
    if (!reduced[d]) {
      out.push_back(shape[d]);
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return out;
}

// sum: integer and bool tensors sum to int64.
Symbol infer_sum(const Call& call) {
  const TensorMeta& x = call.tensor(0);
  const Shape out =
      reduced_shape(x.shape, reduction_dims_of(call, 1), call.flag("keepdim", 2, false), "sum");
  return Symbol::of(out, x.dtype == kFloat32 ? kFloat32 : kInt64);
}

Symbol infer_mean(const Call& call) {
  const TensorMeta& x = call.tensor(0);
  const Shape out =
      reduced_shape(x.shape, reduction_dims_of(call, 1), call.flag("keepdim", 2, false), "mean");
  require_float(x, "mean", "tensor");
  return Symbol::of(out);
}

Symbol infer_norm(const Call& call) {
  const TensorMeta& x = call.tensor(0);
  const Shape out =
      reduced_shape(x.shape, reduction_dims_of(call, 2), call.flag("keepdim", 3, false), "norm");
  require_float(x, "norm", "tensor");
  const double p = detail::norm_order(call.literal("p", 1), "norm: argument 'p'");
  PARE_CHECK(p > 0.0, "norm: p must be positive or INFINITY, got ", p, " for shape ", x.shape);
  return Symbol::of(out);
}

Symbol infer_var(const Call& call) {
  const TensorMeta& x = call.tensor(0);
  const Shape out =
      reduced_shape(x.shape, reduction_dims_of(call, 1), call.flag("keepdim", 3, false), "var");
  require_float(x, "var", "tensor");
  return Symbol::of(out);
}

// The shape of max / min / argmax / argmin along `dim` (0-d inputs give 0-d results).
Shape extreme_along_shape(const Shape& shape, int64_t dim, bool keepdim, const std::string& op) {
  const int64_t d = wrap_dim(dim, static_cast<int64_t>(shape.size()), op.c_str());
  if (shape.empty()) return {};
  PARE_CHECK(shape[d] > 0, op, ": cannot reduce dim ", d, " of size 0 in shape ", shape);
  Shape out = shape;
  if (keepdim) {
    out[d] = 1;
  } else {
    out.erase(out.begin() + d);
  }
  return out;
}

// max / min: of everything, along a dim (values and int64 indices), or of two tensors.
Symbol infer_max_or_min(const Call& call) {
  if (is_tensor_arg(call, 1)) return infer_extremum(call);
  const TensorMeta& x = call.tensor(0);
  if (!call.has("dim", 1)) {
    PARE_CHECK(shape_numel(x.shape) > 0, call.target(), ": cannot reduce an empty tensor of shape ",
               x.shape, "; pass a dim instead");
    return Symbol::of({}, x.dtype);
  }
  const Shape out = extreme_along_shape(x.shape, call.required_integer("dim", 1),
                                        call.flag("keepdim", 2, false), call.target());
  return Symbol::tuple({Symbol::of(out, x.dtype), Symbol::of(out, kInt64)});
}

// argmax / argmin; without a dim, the index into the flattened input.
Symbol infer_arg_extreme(const Call& call) {
  const TensorMeta& x = call.tensor(0);
  if (!call.has("dim", 1)) {
    return Symbol::of(extreme_along_shape({shape_numel(x.shape)}, 0, false, call.target()), kInt64);
  }
  return Symbol::of(extreme_along_shape(x.shape, call.required_integer("dim", 1),
                                        call.flag("keepdim", 2, false), call.target()),
                    kInt64);
}

const std::unordered_map<std::string, FunctionRule>& function_rules() {
  static const std::unordered_map<std::string, FunctionRule> rules = {
      // The 21 activations: float32 in, same shape out.
      {"relu", &float_unary},
      {"rrelu", &float_unary},
      {"hardtanh", &float_unary},
      {"relu6", &float_unary},
      {"sigmoid", &float_unary},
      {"hardsigmoid", &float_unary},
      {"tanh", &float_unary},
      {"silu", &float_unary},
      {"mish", &float_unary},
      {"hardswish", &float_unary},
      {"elu", &float_unary},
      {"celu", &float_unary},
      {"selu", &float_unary},
      {"hardshrink", &float_unary},
      {"leaky_relu", &float_unary},
      {"logsigmoid", &float_unary},
      {"softplus", &float_unary},
      {"prelu", &infer_prelu},
      {"softsign", &float_unary},
      {"tanhshrink", &float_unary},
      {"gelu", &float_unary},
      // Arithmetic.
      {"add", &infer_add_or_sub},
      {"sub", &infer_add_or_sub},
      {"mul", &infer_mul_or_div},
      {"div", &infer_mul_or_div},
      {"rsub", &infer_reversed_scalar},
      {"rdiv", &infer_reversed_scalar},
      {"maximum", &infer_extremum},
      {"minimum", &infer_extremum},
      {"pow", &infer_pow},
      {"clamp", &infer_clamp},
      {"neg", &infer_neg},
      {"abs", &same_dtype_unary},
      {"exp", &to_float_unary},
      {"log", &to_float_unary},
      {"sqrt", &to_float_unary},
      {"sign", &same_dtype_unary},
      {"logical_not", &to_bool_unary},
      {"eq", &infer_comparison},
      {"ne", &infer_comparison},
      {"lt", &infer_comparison},
      {"le", &infer_comparison},
      {"gt", &infer_comparison},
      {"ge", &infer_comparison},
      {"where", &infer_where},
      // Matrix products.
      {"matmul", &infer_matmul},
      {"mm", &infer_matmul},
      {"bmm", &infer_matmul},
      // Reductions.
      {"sum", &infer_sum},
      {"mean", &infer_mean},
      {"max", &infer_max_or_min},
      {"min", &infer_max_or_min},
      {"argmax", &infer_arg_extreme},
      {"argmin", &infer_arg_extreme},
      {"norm", &infer_norm},
      {"var", &infer_var},
  };
  return rules;
}

// ---- call_module nodes ----

const AttrValue& config_value(const Attrs& config, const std::string& key,
                              const nn::Module& module) {
  for (const auto& [name, value] : config)
    if (name == key) return value;
  throw Error(str_cat(module.type_name(), ": its config() has no '", key, "'"));
}

int64_t config_int(const Attrs& config, const std::string& key, const nn::Module& module) {
  const AttrValue& value = config_value(config, key, module);
  PARE_CHECK(std::holds_alternative<int64_t>(value), module.type_name(), ": config '", key,
             "' is not an integer");
  return std::get<int64_t>(value);
}

bool config_bool(const Attrs& config, const std::string& key, const nn::Module& module) {
  const AttrValue& value = config_value(config, key, module);
  PARE_CHECK(std::holds_alternative<bool>(value), module.type_name(), ": config '", key,
             "' is not a bool");
  return std::get<bool>(value);
}

IntPair config_pair(const Attrs& config, const std::string& key, const nn::Module& module) {
  const AttrValue& value = config_value(config, key, module);
  if (std::holds_alternative<int64_t>(value)) return std::get<int64_t>(value);
  PARE_CHECK(std::holds_alternative<std::vector<int64_t>>(value), module.type_name(), ": config '",
             key, "' is not a list of integers");
  return IntPair(std::get<std::vector<int64_t>>(value));
}

// The meta of a registered parameter or buffer, or nullptr when it is absent.
std::optional<TensorMeta> tensor_meta_of(const nn::Module& module, const std::string& name) {
  Tensor tensor;
  if (module.has_parameter(name)) {
    tensor = module.get_parameter(name);
  } else if (module.has_buffer(name)) {
    tensor = module.get_buffer(name);
  }
  if (!tensor.defined()) return std::nullopt;
  return TensorMeta{tensor.sizes(), tensor.dtype()};
}

TensorMeta required_tensor(const nn::Module& module, const std::string& name) {
  std::optional<TensorMeta> meta = tensor_meta_of(module, name);
  PARE_CHECK(meta.has_value(), module.type_name(), ": has no parameter '", name, "'");
  return *meta;
}

const TensorMeta& single_input(const std::vector<Symbol>& args, const nn::Module& module) {
  PARE_CHECK(args.size() == 1, module.type_name(), ": expected one input tensor, got ", args.size(),
             " arguments");
  PARE_CHECK(args[0].is_tensor(), module.type_name(), ": expected a tensor input, got ",
             args[0].describe());
  return args[0].meta;
}

// The activation modules without parameters (PReLU has its own rule).
const std::vector<std::string>& activation_types() {
  static const std::vector<std::string> types = {
      "ReLU",      "RReLU",      "Hardtanh",  "ReLU6",    "Sigmoid",    "Hardsigmoid", "Tanh",
      "SiLU",      "Mish",       "Hardswish", "ELU",      "CELU",       "SELU",        "Hardshrink",
      "LeakyReLU", "LogSigmoid", "Softplus",  "Softsign", "Tanhshrink", "GELU"};
  return types;
}

Symbol infer_module_call(const nn::Module& module, const std::vector<Symbol>& args);

Symbol infer_lstm_module(const nn::Module& module, const std::vector<Symbol>& args) {
  PARE_CHECK(args.size() == 1 || args.size() == 2,
             "LSTM: expected (input) or (input, (h_0, c_0)), got ", args.size(), " arguments");
  PARE_CHECK(args[0].is_tensor(), "LSTM: expected a tensor input, got ", args[0].describe());
  const TensorMeta* h0 = nullptr;
  const TensorMeta* c0 = nullptr;
  if (args.size() == 2) {
    const Symbol& state = args[1];
    PARE_CHECK(state.is_tuple() && state.items.size() == 2 && state.items[0].is_tensor() &&
                   state.items[1].is_tensor(),
               "LSTM: the state must be a pair (h_0, c_0), got ", state.describe());
    h0 = &state.items[0].meta;
    c0 = &state.items[1].meta;
  }
  const Attrs config = module.config();
  const int64_t num_layers = config_int(config, "num_layers", module);
  const bool bias = config_bool(config, "bias", module);
  const TensorMeta& x = args[0].meta;
  const TensorMeta w_ih = required_tensor(module, "weight_ih_l0");
  PARE_CHECK(x.shape.size() < 2 || w_ih.shape.size() != 2 || x.shape.back() == w_ih.shape[1],
             "input ", x.shape, " does not match input_size=", w_ih.shape[1],
             " (the last dim must be the input size)");
  std::vector<TensorMeta> weights;
  for (int64_t layer = 0; layer < num_layers; ++layer) {
    const std::string suffix = std::to_string(layer);
    weights.push_back(required_tensor(module, "weight_ih_l" + suffix));
    weights.push_back(required_tensor(module, "weight_hh_l" + suffix));
    if (bias) {
      weights.push_back(required_tensor(module, "bias_ih_l" + suffix));
      weights.push_back(required_tensor(module, "bias_hh_l" + suffix));
    }
  }
  const std::vector<Shape> shapes =
      lstm_shapes(x, h0, c0, weights, bias, num_layers, config_bool(config, "batch_first", module));
  return Symbol::tuple(
      {Symbol::of(shapes[0]), Symbol::tuple({Symbol::of(shapes[1]), Symbol::of(shapes[2])})});
}

Symbol infer_unary_module(const nn::Module& module, const TensorMeta& x) {
  const std::string& type = module.type_name();
  const Attrs config = module.config();
  if (type == "Linear") {
    const TensorMeta weight = required_tensor(module, "weight");
    PARE_CHECK(weight.shape.size() == 2, "Linear: expected a 2-d weight, got ", weight.shape);
    PARE_CHECK(!x.shape.empty() && x.shape.back() == weight.shape[1], "input ", x.shape,
               " does not match in_features=", weight.shape[1],
               " (the last dim must be the input features)");
    const std::optional<TensorMeta> bias = tensor_meta_of(module, "bias");
    return Symbol::of(linear_shape(x, weight, bias ? &*bias : nullptr));
  }
  if (type == "Conv2d") {
    const TensorMeta weight = required_tensor(module, "weight");
    ConvGeometry geometry;
    geometry.stride = config_pair(config, "stride", module);
    geometry.padding = config_pair(config, "padding", module);
    geometry.dilation = config_pair(config, "dilation", module);
    geometry.groups = config_int(config, "groups", module);
    if (weight.shape.size() == 4 && (x.shape.size() == 3 || x.shape.size() == 4)) {
      const int64_t in_channels = checked_mul(weight.shape[1], geometry.groups,
                                              "Conv2d: in_channels of weight ", weight.shape);
      PARE_CHECK(x.shape[x.shape.size() - 3] == in_channels, "input ", x.shape,
                 " does not match in_channels=", in_channels, " (dim ",
                 x.shape.size() == 4 ? "1" : "0", " must be the channels)");
    }
    const std::optional<TensorMeta> bias = tensor_meta_of(module, "bias");
    return Symbol::of(conv2d_shape(x, weight, bias ? &*bias : nullptr, geometry));
  }
  if (type == "LayerNorm") {
    const AttrValue& value = config_value(config, "normalized_shape", module);
    PARE_CHECK(std::holds_alternative<std::vector<int64_t>>(value),
               "LayerNorm: config 'normalized_shape' is not a list of integers");
    const Shape& normalized_shape = std::get<std::vector<int64_t>>(value);
    const int64_t feature_dims = static_cast<int64_t>(normalized_shape.size());
    require_float(x, "LayerNorm", "input");
    PARE_CHECK(static_cast<int64_t>(x.shape.size()) >= feature_dims &&
                   Shape(x.shape.end() - feature_dims, x.shape.end()) == normalized_shape,
               "input ", x.shape, " does not end with normalized_shape=", normalized_shape);
    for (const char* name : {"weight", "bias"}) {
      const std::optional<TensorMeta> parameter = tensor_meta_of(module, name);
      PARE_CHECK(!parameter || parameter->shape == normalized_shape, "LayerNorm: expected ", name,
                 " of shape ", normalized_shape, ", got ", parameter->shape);
    }
    return Symbol::of(x.shape);
  }
  if (type == "BatchNorm2d") {
    PARE_CHECK(x.shape.size() == 4, "BatchNorm2d: expected a 4-d input, got shape ", x.shape);
    std::vector<const TensorMeta*> vectors;
    std::vector<std::optional<TensorMeta>> owned;
    for (const char* name : {"running_mean", "running_var", "weight", "bias"})
      owned.push_back(tensor_meta_of(module, name));
    for (const auto& meta : owned) vectors.push_back(meta ? &*meta : nullptr);
    for (const TensorMeta* vector : vectors) {
      PARE_CHECK(vector == nullptr || shape_numel(vector->shape) == x.shape[1], "input ", x.shape,
                 " does not match num_features=", shape_numel(vector->shape),
                 " (dim 1 must be the channels)");
    }
    const bool use_batch_statistics = module.is_training() || vectors[0] == nullptr;
    return Symbol::of(batch_norm_shape(x, vectors, use_batch_statistics));
  }
  if (type == "MaxPool2d" || type == "AvgPool2d") {
    const IntPair kernel = config_pair(config, "kernel_size", module);
    const IntPair stride = config_pair(config, "stride", module);
    const IntPair padding = config_pair(config, "padding", module);
    const IntPair dilation = type == "MaxPool2d" ? config_pair(config, "dilation", module) : 1;
    kernels::Pool2dParams window;
    window.set_window(kernel.first, kernel.second, stride.first, stride.second, padding.first,
                      padding.second, dilation.first, dilation.second);
    window.ceil_mode = config_bool(config, "ceil_mode", module);
    return Symbol::of(pool2d_shape(x, window, type == "MaxPool2d" ? "max_pool2d" : "avg_pool2d"));
  }
  if (type == "AdaptiveAvgPool2d" || type == "AdaptiveMaxPool2d") {
    return Symbol::of(adaptive_pool2d_shape(
        x, config_pair(config, "output_size", module),
        type == "AdaptiveAvgPool2d" ? "adaptive_avg_pool2d" : "adaptive_max_pool2d"));
  }
  if (type == "Flatten") {
    return Symbol::of(flatten_shape(x.shape, config_int(config, "start_dim", module),
                                    config_int(config, "end_dim", module)),
                      x.dtype);
  }
  if (type == "Dropout") {
    const AttrValue& p = config_value(config, "p", module);
    const bool drops = std::holds_alternative<double>(p) && std::get<double>(p) != 0.0;
    if (module.is_training() && drops) require_float(x, "Dropout", "input");
    return Symbol::of(x.shape, x.dtype);
  }
  if (type == "Identity") return Symbol::of(x.shape, x.dtype);
  if (type == "PReLU") {
    require_float(x, "PReLU", "input");
    const TensorMeta weight = required_tensor(module, "weight");
    const int64_t channels = x.shape.size() >= 2 ? x.shape[1] : 1;
    const int64_t count = shape_numel(weight.shape);
    PARE_CHECK(count == 1 || count == channels, "input ", x.shape,
               " does not match num_parameters=", count, " (1 or the channels, dim 1)");
    return Symbol::of(x.shape);
  }
  const auto& activations = activation_types();
  if (std::find(activations.begin(), activations.end(), type) != activations.end()) {
    require_float(x, type, "input");
    return Symbol::of(x.shape);
  }
  if (type == "Sequential") {
    Symbol current = Symbol::of(x.shape, x.dtype);
    for (const auto& [name, child] : module.named_children()) {
      try {
        Symbol result = infer_module_call(*child, {current});
        // Inside a Sequential an LSTM contributes its output sequence only (LSTMImpl::call).
        current = result.is_tuple() ? result.items.at(0) : result;
      } catch (const Error& error) {
        throw Error(str_cat("child '", name, "' (", child->type_name(), "): ", error.what()));
      }
    }
    return current;
  }
  throw Error(str_cat("no shape rule for module type '", type, "'"));
}

Symbol infer_module_call(const nn::Module& module, const std::vector<Symbol>& args) {
  if (module.type_name() == "LSTM") return infer_lstm_module(module, args);
  return infer_unary_module(module, single_input(args, module));
}

// ---- The graph walk ----

Symbol gather(const Argument& argument, const std::unordered_map<const Node*, Symbol>& symbols) {
  if (argument.is_node()) {
    auto found = symbols.find(argument.to_node());
    PARE_CHECK(found != symbols.end(), "uses '", argument.to_node()->name(),
               "', which is not defined before it");
    return found->second;
  }
  if (argument.is_list()) {
    std::vector<Symbol> items;
    for (const Argument& item : argument.to_list()) items.push_back(gather(item, symbols));
    return Symbol::tuple(std::move(items));
  }
  return Symbol();
}

std::string node_label(const Node& node, const GraphModule& graph_module) {
  std::string label =
      str_cat("node '", node.name(), "' (", op_kind_name(node.op()), " ", node.target());
  if (node.op() == OpKind::call_module) {
    try {
      label += ": " + graph_module.module(node.target())->type_name();
    } catch (const Error&) {
      // The missing module is what the error itself reports.
    }
  }
  return label + ")";
}

std::string input_shapes(const Node& node, const std::unordered_map<const Node*, Symbol>& symbols) {
  std::string text;
  for (const Node* input : node.input_nodes()) {
    auto found = symbols.find(input);
    text += (text.empty() ? "" : ", ") +
            (found != symbols.end() ? found->second.describe() : std::string("unknown"));
  }
  return text.empty() ? "none" : text;
}

Symbol infer_node(const Node& node, const GraphModule& graph_module,
                  const std::unordered_map<const Node*, Symbol>& symbols) {
  std::vector<Symbol> args;
  for (const Argument& argument : node.args()) args.push_back(gather(argument, symbols));
  switch (node.op()) {
    case OpKind::placeholder:
      break;
    case OpKind::get_attr: {
      const Tensor tensor = graph_module.attribute(node.target());
      return Symbol::of(tensor.sizes(), tensor.dtype());
    }
    case OpKind::call_module:
      PARE_CHECK(node.kwargs().empty(), "call_module takes no keyword arguments");
      return infer_module_call(*graph_module.module(node.target()), args);
    case OpKind::call_function: {
      if (const OpDefinition* definition = find_op_definition(node.target())) {
        const OpCall call(*definition, node, &args);
        // The interpreter's own argument checks (unknown keywords, missing or mistyped ones).
        definition->bind(call);
        return definition->infer(call);
      }
      // The interpreter's own argument checks (unknown keywords, missing or mistyped ones).
      detail::compile_function(node);
      const auto& rules = function_rules();
      auto rule = rules.find(node.target());
      PARE_CHECK(rule != rules.end(), "no shape rule for call_function target '", node.target(),
                 "'");
      return rule->second(Call(node, args));
    }
    case OpKind::output:
      PARE_CHECK(args.size() == 1, "the output node must have one argument");
      return args[0];
  }
  return Symbol();
}

// Refuses a shape no tensor pare can hold (checked_tensor_bytes): checked at every node, so that
// the error names the node, and no later product of its sizes (a kernel's, a MAC count) can wrap.
void check_holdable(const Symbol& symbol, const char* role) {
  for (const TensorMeta& meta : symbol.flatten())
    checked_tensor_bytes(meta.shape, static_cast<int64_t>(element_size(meta.dtype)), role);
}

}  // namespace

void infer_shapes(GraphModule& graph_module, const std::vector<TensorMeta>& inputs) {
  std::unordered_map<const Node*, Symbol> symbols;
  const std::vector<Node*> placeholders = graph_module.graph().placeholders();
  PARE_CHECK(inputs.size() == placeholders.size(), "infer_shapes: expected ", placeholders.size(),
             " input shape(s) (one per placeholder), got ", inputs.size());
  size_t next_input = 0;
  for (Node* node : graph_module.graph().nodes()) {
    Symbol symbol;
    if (node->op() == OpKind::placeholder) {
      const TensorMeta& input = inputs[next_input++];
      symbol = Symbol::of(input.shape, input.dtype);
      try {
        check_holdable(symbol, "input");
      } catch (const std::exception& error) {
        throw Error(str_cat(node_label(*node, graph_module), ": ", error.what()));
      }
    } else {
      try {
        symbol = infer_node(*node, graph_module, symbols);
        check_holdable(symbol, "output");
      } catch (const std::exception& error) {
        throw Error(str_cat(node_label(*node, graph_module), ", input shapes ",
                            input_shapes(*node, symbols), ": ", error.what()));
      }
    }
    node->meta = symbol.flatten();
    node->produces_tuple = symbol.is_tuple();
    symbols.emplace(node, std::move(symbol));
  }
}

void infer_shapes(GraphModule& graph_module) {
  std::vector<TensorMeta> inputs;
  for (const Node* placeholder : graph_module.graph().placeholders()) {
    PARE_CHECK(placeholder->meta.size() == 1, "infer_shapes: placeholder '", placeholder->name(),
               "' has no recorded shape (pass the input shapes, trace the model, or call "
               "GraphModule::record_meta)");
    inputs.push_back(placeholder->meta[0]);
  }
  infer_shapes(graph_module, inputs);
}

std::vector<TensorMeta> infer_module_outputs(const nn::Module& module, const TensorMeta& input) {
  try {
    return infer_module_call(module, {Symbol::of(input.shape, input.dtype)}).flatten();
  } catch (const Error& error) {
    throw Error(str_cat(module.type_name(), ": ", error.what()));
  }
}

}  // namespace pare::ir
