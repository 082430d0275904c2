// The call_function targets GraphModule runs, each mapped to its pare op. A target's arguments
// follow torch.nn.functional / torch.Tensor: tensors come first as node references; the other
// parameters may be keyword arguments (what the tracer writes) or positional literals (what a
// torch.fx export may write), and are parsed once when the node is compiled.
#include "interpreter_functions.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "pare/elementwise.h"
#include "pare/error.h"
#include "pare/functional.h"
#include "pare/indexing.h"
#include "pare/linalg.h"
#include "pare/reduction.h"

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

const Tensor& tensor_at(const std::vector<Value>& args, size_t index) {
  PARE_CHECK(index < args.size() && args[index].is_tensor(), "argument ", index,
             " must be a tensor");
  return args[index].tensor();
}

FunctionKernel unary(const Node& node, Tensor (*op)(const Tensor&)) {
  require_tensor_args(node, 1);
  Params params(node, {});
  return [op](const std::vector<Value>& args) { return Value(op(tensor_at(args, 0))); };
}

FunctionKernel one_double(const Node& node, Tensor (*op)(const Tensor&, double),
                          std::string_view name, double fallback) {
  require_tensor_args(node, 1);
  Params params(node, {{name, 1}});
  const double value = params.number(name, fallback);
  return
      [op, value](const std::vector<Value>& args) { return Value(op(tensor_at(args, 0), value)); };
}

FunctionKernel two_doubles(const Node& node, Tensor (*op)(const Tensor&, double, double),
                           std::string_view first, double first_default, std::string_view second,
                           double second_default) {
  require_tensor_args(node, 1);
  Params params(node, {{first, 1}, {second, 2}});
  const double a = params.number(first, first_default);
  const double b = params.number(second, second_default);
  return [op, a, b](const std::vector<Value>& args) { return Value(op(tensor_at(args, 0), a, b)); };
}

FunctionKernel tensor_pair(const Node& node, Tensor (*op)(const Tensor&, const Tensor&)) {
  require_tensor_args(node, 2);
  Params params(node, {});
  return [op](const std::vector<Value>& args) {
    return Value(op(tensor_at(args, 0), tensor_at(args, 1)));
  };
}

// add / sub: tensor or number operands (a number as the second positional arg or the kwarg
// `other`), and torch's keyword `alpha` scaling the second operand.
FunctionKernel add_or_sub(const Node& node, bool subtract) {
  Params params(node, {{"other", 1}, {"alpha", kKeywordOnly}});
  const double alpha = params.number("alpha", 1.0);
  const double sign = subtract ? -1.0 : 1.0;
  PARE_CHECK(!node.args().empty(), node.target(), ": expected an operand");
  const bool first_is_tensor = node.args()[0].is_node();
  const bool second_is_tensor = node.args().size() > 1 && node.args()[1].is_node();
  if (first_is_tensor && second_is_tensor) {
    return [subtract, alpha](const std::vector<Value>& args) {
      return Value(subtract ? pare::sub(tensor_at(args, 0), tensor_at(args, 1), alpha)
                            : pare::add(tensor_at(args, 0), tensor_at(args, 1), alpha));
    };
  }
  if (first_is_tensor) {
    const double other = sign * alpha * params.number("other", 0.0);
    params.require("other");
    return [other](const std::vector<Value>& args) {
      return Value(pare::add(tensor_at(args, 0), other));
    };
  }
  PARE_CHECK(second_is_tensor && node.args()[0].is_number(), node.target(),
             ": expected a tensor operand, got ", node.args()[0]);
  const double first = node.args()[0].to_double();
  return [first, sign, alpha](const std::vector<Value>& args) {
    return Value(pare::add(pare::mul(tensor_at(args, 1), sign * alpha), first));
  };
}

// mul / div: tensor or number operands.
FunctionKernel mul_or_div(const Node& node, bool divide) {
  Params params(node, {{"other", 1}});
  PARE_CHECK(!node.args().empty(), node.target(), ": expected an operand");
  const bool first_is_tensor = node.args()[0].is_node();
  const bool second_is_tensor = node.args().size() > 1 && node.args()[1].is_node();
  if (first_is_tensor && second_is_tensor) {
    return [divide](const std::vector<Value>& args) {
      return Value(divide ? pare::div(tensor_at(args, 0), tensor_at(args, 1))
                          : pare::mul(tensor_at(args, 0), tensor_at(args, 1)));
    };
  }
  if (first_is_tensor) {
    params.require("other");
    const double other = params.number("other", 1.0);
    return [divide, other](const std::vector<Value>& args) {
      return Value(divide ? tensor_at(args, 0) / other : tensor_at(args, 0) * other);
    };
  }
  PARE_CHECK(second_is_tensor && node.args()[0].is_number(), node.target(),
             ": expected a tensor operand, got ", node.args()[0]);
  const double first = node.args()[0].to_double();
  return [divide, first](const std::vector<Value>& args) {
    return Value(divide ? first / tensor_at(args, 1) : first * tensor_at(args, 1));
  };
}

// rsub / rdiv: `other - x` and `other / x` (what `2.0 - x` and `2.0 / x` record).
FunctionKernel reversed_scalar(const Node& node, bool divide) {
  require_tensor_args(node, 1);
  Params params(node, {{"other", 1}, {"alpha", kKeywordOnly}});
  params.require("other");
  const double other = params.number("other", 0.0);
  const double alpha = params.number("alpha", 1.0);
  return [divide, other, alpha](const std::vector<Value>& args) {
    const Tensor& x = tensor_at(args, 0);
    return Value(divide ? other / x : other - (alpha == 1.0 ? x : x * alpha));
  };
}

// Comparisons: tensor with tensor, or tensor with the number `other`.
FunctionKernel comparison(const Node& node, Tensor (*with_tensor)(const Tensor&, const Tensor&),
                          Tensor (*with_number)(const Tensor&, double)) {
  require_tensor_args(node, 1);
  Params params(node, {{"other", 1}});
  if (node.args().size() > 1 && node.args()[1].is_node()) return tensor_pair(node, with_tensor);
  params.require("other");
  const double other = params.number("other", 0.0);
  return [with_number, other](const std::vector<Value>& args) {
    return Value(with_number(tensor_at(args, 0), other));
  };
}

FunctionKernel compile_pow(const Node& node) {
  require_tensor_args(node, 1);
  if (node.args().size() > 1 && node.args()[1].is_node()) {
    return tensor_pair(node, static_cast<Tensor (*)(const Tensor&, const Tensor&)>(&pare::pow));
  }
  Params params(node, {{"exponent", 1}});
  params.require("exponent");
  const double exponent = params.number("exponent", 1.0);
  return [exponent](const std::vector<Value>& args) {
    return Value(pare::pow(tensor_at(args, 0), exponent));
  };
}

FunctionKernel compile_clamp(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"min", 1}, {"max", 2}});
  const bool has_min = params.has("min");
  const bool has_max = params.has("max");
  PARE_CHECK(has_min || has_max, "clamp: expected at least one of 'min' and 'max'");
  const double low = params.number("min", 0.0);
  const double high = params.number("max", 0.0);
  return [has_min, has_max, low, high](const std::vector<Value>& args) {
    const Tensor& x = tensor_at(args, 0);
    if (has_min && has_max) return Value(pare::clamp(x, low, high));
    return Value(has_min ? pare::clamp_min(x, low) : pare::clamp_max(x, high));
  };
}

FunctionKernel compile_rrelu(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"lower", 1}, {"upper", 2}, {"training", 3}});
  const double lower = params.number("lower", 1.0 / 8.0);
  const double upper = params.number("upper", 1.0 / 3.0);
  const bool training = params.flag("training", false);
  return [=](const std::vector<Value>& args) {
    return Value(pare::rrelu(tensor_at(args, 0), lower, upper, training));
  };
}

FunctionKernel compile_gelu(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"approximate", kKeywordOnly}});
  const std::string approximate = params.text("approximate", "none");
  PARE_CHECK(approximate == "none" || approximate == "tanh",
             "gelu: approximate must be \"none\" or \"tanh\", got \"", approximate, "\"");
  return [approximate](const std::vector<Value>& args) {
    return Value(pare::gelu(tensor_at(args, 0), approximate));
  };
}

// ---- Selecting, splitting, matrix products and reductions ----

using DimsReduction = Tensor (*)(const Tensor&, const Shape&, bool);

// sum / mean (input, dim, keepdim): no dim reduces everything.
FunctionKernel compile_reduction(const Node& node, DimsReduction op) {
  require_tensor_args(node, 1);
  Params params(node, {{"dim", 1}, {"keepdim", 2}});
  const Shape dims = reduction_dims(params.find("dim"), params.what("dim"));
  const bool keepdim = params.flag("keepdim", false);
  return [op, dims, keepdim](const std::vector<Value>& args) {
    return Value(op(tensor_at(args, 0), dims, keepdim));
  };
}

// max / min: of everything (one tensor), along a dim (a tuple: values, indices), or of two
// tensors elementwise (torch.max(a, b)).
FunctionKernel compile_max_or_min(const Node& node, bool largest) {
  require_tensor_args(node, 1);
  if (node.args().size() > 1 && node.args()[1].is_node())
    return tensor_pair(node, largest ? &pare::maximum : &pare::minimum);
  Params params(node, {{"dim", 1}, {"keepdim", 2}});
  const bool keepdim = params.flag("keepdim", false);
  if (!params.has("dim")) {
    PARE_CHECK(!keepdim, node.target(), ": keepdim needs a dim");
    return [largest](const std::vector<Value>& args) {
      return Value(largest ? pare::max(tensor_at(args, 0)) : pare::min(tensor_at(args, 0)));
    };
  }
  const int64_t dim = params.required_integer("dim");
  return [largest, dim, keepdim](const std::vector<Value>& args) {
    const Tensor& x = tensor_at(args, 0);
    auto [values, indices] = largest ? pare::max(x, dim, keepdim) : pare::min(x, dim, keepdim);
    return Value(std::vector<Value>{values, indices});
  };
}

// argmax / argmin; without a dim, torch's index into the flattened input (keepdim ignored).
FunctionKernel compile_arg_extreme(const Node& node, bool largest) {
  require_tensor_args(node, 1);
  Params params(node, {{"dim", 1}, {"keepdim", 2}});
  const bool has_dim = params.has("dim");
  const int64_t dim = params.integer("dim", 0);
  const bool keepdim = params.flag("keepdim", false);
  return [largest, has_dim, dim, keepdim](const std::vector<Value>& args) {
    const Tensor x = has_dim ? tensor_at(args, 0) : tensor_at(args, 0).reshape({-1});
    const bool keep = has_dim && keepdim;
    return Value(largest ? pare::argmax(x, dim, keep) : pare::argmin(x, dim, keep));
  };
}

FunctionKernel compile_norm(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"p", 1}, {"dim", 2}, {"keepdim", 3}});
  const double p = norm_order(params.find("p"), params.what("p"));
  const Shape dims = reduction_dims(params.find("dim"), params.what("dim"));
  const bool keepdim = params.flag("keepdim", false);
  return [p, dims, keepdim](const std::vector<Value>& args) {
    return Value(pare::norm(tensor_at(args, 0), p, dims, keepdim));
  };
}

FunctionKernel compile_var(const Node& node) {
  require_tensor_args(node, 1);
  Params params(node, {{"dim", 1}, {"unbiased", 2}, {"keepdim", 3}});
  const Shape dims = reduction_dims(params.find("dim"), params.what("dim"));
  const bool unbiased = params.flag("unbiased", true);
  const bool keepdim = params.flag("keepdim", false);
  return [dims, unbiased, keepdim](const std::vector<Value>& args) {
    return Value(pare::var(tensor_at(args, 0), dims, unbiased, keepdim));
  };
}

Tensor scalar_eq(const Tensor& x, double other) { return x == other; }
Tensor scalar_ne(const Tensor& x, double other) { return x != other; }
Tensor scalar_lt(const Tensor& x, double other) { return x < other; }
Tensor scalar_le(const Tensor& x, double other) { return x <= other; }
Tensor scalar_gt(const Tensor& x, double other) { return x > other; }
Tensor scalar_ge(const Tensor& x, double other) { return x >= other; }

using Compiler = FunctionKernel (*)(const Node&);

const std::unordered_map<std::string, Compiler>& compilers() {
  static const std::unordered_map<std::string, Compiler> table = {
      // The 21 activations.
      {"relu", [](const Node& n) { return unary(n, &pare::relu); }},
      {"rrelu", &compile_rrelu},
      {"hardtanh",
       [](const Node& n) {
         return two_doubles(n, &pare::hardtanh, "min_val", -1.0, "max_val", 1.0);
       }},
      {"relu6", [](const Node& n) { return unary(n, &pare::relu6); }},
      {"sigmoid", [](const Node& n) { return unary(n, &pare::sigmoid); }},
      {"hardsigmoid", [](const Node& n) { return unary(n, &pare::hardsigmoid); }},
      {"tanh", [](const Node& n) { return unary(n, &pare::tanh); }},
      {"silu", [](const Node& n) { return unary(n, &pare::silu); }},
      {"mish", [](const Node& n) { return unary(n, &pare::mish); }},
      {"hardswish", [](const Node& n) { return unary(n, &pare::hardswish); }},
      {"elu", [](const Node& n) { return one_double(n, &pare::elu, "alpha", 1.0); }},
      {"celu", [](const Node& n) { return one_double(n, &pare::celu, "alpha", 1.0); }},
      {"selu", [](const Node& n) { return unary(n, &pare::selu); }},
      {"hardshrink", [](const Node& n) { return one_double(n, &pare::hardshrink, "lambd", 0.5); }},
      {"leaky_relu",
       [](const Node& n) { return one_double(n, &pare::leaky_relu, "negative_slope", 0.01); }},
      {"logsigmoid", [](const Node& n) { return unary(n, &pare::logsigmoid); }},
      {"softplus",
       [](const Node& n) {
         return two_doubles(n, &pare::softplus, "beta", 1.0, "threshold", 20.0);
       }},
      {"prelu", [](const Node& n) { return tensor_pair(n, &pare::prelu); }},
      {"softsign", [](const Node& n) { return unary(n, &pare::softsign); }},
      {"tanhshrink", [](const Node& n) { return unary(n, &pare::tanhshrink); }},
      {"gelu", &compile_gelu},
      // Arithmetic.
      {"add", [](const Node& n) { return add_or_sub(n, false); }},
      {"sub", [](const Node& n) { return add_or_sub(n, true); }},
      {"mul", [](const Node& n) { return mul_or_div(n, false); }},
      {"div", [](const Node& n) { return mul_or_div(n, true); }},
      {"rsub", [](const Node& n) { return reversed_scalar(n, false); }},
      {"rdiv", [](const Node& n) { return reversed_scalar(n, true); }},
      {"maximum", [](const Node& n) { return tensor_pair(n, &pare::maximum); }},
      {"minimum", [](const Node& n) { return tensor_pair(n, &pare::minimum); }},
      {"pow", &compile_pow},
      {"clamp", &compile_clamp},
      {"neg", [](const Node& n) { return unary(n, &pare::neg); }},
      {"abs", [](const Node& n) { return unary(n, &pare::abs); }},
      {"exp", [](const Node& n) { return unary(n, &pare::exp); }},
      {"log", [](const Node& n) { return unary(n, &pare::log); }},
      {"sqrt", [](const Node& n) { return unary(n, &pare::sqrt); }},
      {"sign", [](const Node& n) { return unary(n, &pare::sign); }},
      {"logical_not", [](const Node& n) { return unary(n, &pare::logical_not); }},
      {"eq", [](const Node& n) { return comparison(n, &pare::eq, &scalar_eq); }},
      {"ne", [](const Node& n) { return comparison(n, &pare::ne, &scalar_ne); }},
      {"lt", [](const Node& n) { return comparison(n, &pare::lt, &scalar_lt); }},
      {"le", [](const Node& n) { return comparison(n, &pare::le, &scalar_le); }},
      {"gt", [](const Node& n) { return comparison(n, &pare::gt, &scalar_gt); }},
      {"ge", [](const Node& n) { return comparison(n, &pare::ge, &scalar_ge); }},
      {"where",
       [](const Node& n) -> FunctionKernel {
         require_tensor_args(n, 3);
         Params params(n, {});
         return [](const std::vector<Value>& args) {
           return Value(pare::where(tensor_at(args, 0), tensor_at(args, 1), tensor_at(args, 2)));
         };
       }},
      // Matrix products.
      {"matmul", [](const Node& n) { return tensor_pair(n, &pare::matmul); }},
      {"mm", [](const Node& n) { return tensor_pair(n, &pare::mm); }},
      {"bmm", [](const Node& n) { return tensor_pair(n, &pare::bmm); }},
      // Reductions.
      {"sum",
       [](const Node& n) { return compile_reduction(n, static_cast<DimsReduction>(&pare::sum)); }},
      {"mean",
       [](const Node& n) { return compile_reduction(n, static_cast<DimsReduction>(&pare::mean)); }},
      {"max", [](const Node& n) { return compile_max_or_min(n, true); }},
      {"min", [](const Node& n) { return compile_max_or_min(n, false); }},
      {"argmax", [](const Node& n) { return compile_arg_extreme(n, true); }},
      {"argmin", [](const Node& n) { return compile_arg_extreme(n, false); }},
      {"norm", &compile_norm},
      {"var", &compile_var},
  };
  return table;
}

}  // namespace

Shape reduction_dims(const Argument* dim, const std::string& what) {
  if (dim == nullptr || dim->is_none()) return {};
  if (dim->is_int()) return {dim->to_int(what)};
  return dim->to_ints(what);
}

double norm_order(const Argument* p, const std::string& what) {
  if (p == nullptr || p->is_none()) return 2.0;
  if (!p->is_string()) return p->to_double(what);
  const std::string& name = p->to_string(what);
  PARE_CHECK(name == "fro" || name == "inf", what,
             ": expected a number, \"fro\" or \"inf\", got \"", name, "\"");
  return name == "fro" ? 2.0 : INFINITY;
}

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
