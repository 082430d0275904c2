// The activations (the 21 of docs/pruning.md, and softshrink), as torch.nn.functional takes them:
// float32 in, the same shape out (prelu also takes its slopes as a second tensor). Each binds to
// the engine function of the same name, its numbers read once, and says which kernels::Activation
// one call computes (softshrink, which has no kernel of its own: none).
#include "channel_rules.h"
#include "families.h"
#include "layers.h"
#include "pare/error.h"
#include "pare/functional.h"
#include "pare/nn/nn.h"
#include "shape_rules.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;

Symbol infer_float_unary(const OpCall& call) { return Symbol::of(call.float_tensor(0).shape); }

Symbol infer_prelu(const OpCall& call) {
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

// The kernel of an activation that takes one number (two), read from the literal `name`.
FunctionKernel kernel_with_number(const OpCall& call, Tensor (*op)(const Tensor&, double),
                                  std::string_view name) {
  call.require_tensor_args(1);
  const double value = call.number(name);
  return
      [op, value](const std::vector<Value>& args) { return Value(op(tensor_at(args, 0), value)); };
}

FunctionKernel kernel_with_numbers(const OpCall& call, Tensor (*op)(const Tensor&, double, double),
                                   std::string_view first, std::string_view second) {
  call.require_tensor_args(1);
  const double a = call.number(first);
  const double b = call.number(second);
  return [op, a, b](const std::vector<Value>& args) { return Value(op(tensor_at(args, 0), a, b)); };
}

using kernels::Activation;
using ActivationOf = std::optional<kernels::ActivationParams>;

// `kind` with its numbers (kernels' alpha, beta) read from the literals `alpha` and `beta`, as the
// bindings read them; an empty name keeps kernels' default.
ActivationOf activation_of(const OpCall& call, Activation kind, std::string_view alpha = {},
                           std::string_view beta = {}) {
  kernels::ActivationParams params = kernels::default_activation_params(kind);
  if (!alpha.empty()) params.alpha = static_cast<float>(call.number(alpha));
  if (!beta.empty()) params.beta = static_cast<float>(call.number(beta));
  return params;
}

ActivationOf rrelu_activation(const OpCall& call) {
  if (call.flag("training")) return std::nullopt;
  return activation_of(call, Activation::rrelu, "lower", "upper");
}

// The literal `approximate`, checked.
std::string gelu_approximate(const OpCall& call) {
  const std::string approximate = call.text("approximate");
  PARE_CHECK(approximate == "none" || approximate == "tanh",
             "gelu: approximate must be \"none\" or \"tanh\", got \"", approximate, "\"");
  return approximate;
}

ActivationOf gelu_activation(const OpCall& call) {
  return activation_of(call,
                       gelu_approximate(call) == "tanh" ? Activation::gelu_tanh : Activation::gelu);
}

FunctionKernel bind_rrelu(const OpCall& call) {
  call.require_tensor_args(1);
  const double lower = call.number("lower");
  const double upper = call.number("upper");
  const bool training = call.flag("training");
  return [=](const std::vector<Value>& args) {
    return Value(pare::rrelu(tensor_at(args, 0), lower, upper, training));
  };
}

FunctionKernel bind_gelu(const OpCall& call) {
  call.require_tensor_args(1);
  const std::string approximate = gelu_approximate(call);
  return [approximate](const std::vector<Value>& args) {
    return Value(pare::gelu(tensor_at(args, 0), approximate));
  };
}

// prelu: elementwise, and one slope per channel (dim 1) is a member of the channels.
void prelu_slopes(ChannelRule& rule, const ChannelTensor& weight, const Shape& weight_shape) {
  if (weight_shape.size() != 1) return;
  if (weight_shape[0] > 1) {
    rule.same({weight, 0}, {ChannelTensor::output(), 1});
  } else {
    rule.broadcast({weight, 0});
  }
}

ChannelRule prelu_channels(const OpCall& call, const Symbol& output) {
  ChannelRule rule;
  same_axes(rule, ChannelTensor::input(0), ChannelTensor::output(),
            static_cast<int64_t>(output.meta.shape.size()));
  prelu_slopes(rule, ChannelTensor::input(1), call.tensor(1).shape);
  return rule;
}

OpParam input() { return required_param("input", Type::tensor, 0); }
// torch's `inplace` flag: accepted and ignored, as a graph's values are never shared.
OpParam inplace(int position) { return param("inplace", Type::boolean, position, false); }

OpDefinition activation(std::string name, std::string summary, std::vector<OpParam> params,
                        FunctionKernel (*bind)(const OpCall&),
                        ActivationOf (*computes)(const OpCall&)) {
  return {.name = std::move(name),
          .family = "activation",
          .summary = std::move(summary),
          .params = std::move(params),
          .infer = &infer_float_unary,
          .bind = bind,
          .activation = computes,
          .channel_rule = &elementwise_channels};
}

}  // namespace

std::vector<OpDefinition> activation_ops() {
  std::vector<OpDefinition> ops;
  ops.push_back(activation(
      "relu", "max(0, x)", {input(), inplace(1)},
      [](const OpCall& c) { return unary_kernel(c, &pare::relu); },
      [](const OpCall& c) { return activation_of(c, Activation::relu); }));
  ops.push_back(activation("rrelu", "randomized leaky ReLU; in eval, the slope (lower + upper) / 2",
                           {input(), param("lower", Type::number, 1, 1.0 / 8.0),
                            param("upper", Type::number, 2, 1.0 / 3.0),
                            param("training", Type::boolean, 3, false), inplace(4)},
                           &bind_rrelu, &rrelu_activation));
  ops.push_back(activation(
      "hardtanh", "x clamped to [min_val, max_val]",
      {input(), param("min_val", Type::number, 1, -1.0), param("max_val", Type::number, 2, 1.0),
       inplace(3)},
      [](const OpCall& c) { return kernel_with_numbers(c, &pare::hardtanh, "min_val", "max_val"); },
      [](const OpCall& c) {
        return activation_of(c, Activation::hardtanh, "min_val", "max_val");
      }));
  ops.push_back(activation(
      "relu6", "min(max(0, x), 6)", {input(), inplace(1)},
      [](const OpCall& c) { return unary_kernel(c, &pare::relu6); },
      [](const OpCall& c) { return activation_of(c, Activation::relu6); }));
  ops.push_back(activation(
      "sigmoid", "1 / (1 + exp(-x))", {input()},
      [](const OpCall& c) { return unary_kernel(c, &pare::sigmoid); },
      [](const OpCall& c) { return activation_of(c, Activation::sigmoid); }));
  ops.push_back(activation(
      "hardsigmoid", "relu6(x + 3) / 6", {input(), inplace(1)},
      [](const OpCall& c) { return unary_kernel(c, &pare::hardsigmoid); },
      [](const OpCall& c) { return activation_of(c, Activation::hardsigmoid); }));
  ops.push_back(activation(
      "tanh", "hyperbolic tangent", {input()},
      [](const OpCall& c) { return unary_kernel(c, &pare::tanh); },
      [](const OpCall& c) { return activation_of(c, Activation::tanh); }));
  ops.push_back(activation(
      "silu", "x * sigmoid(x)", {input(), inplace(1)},
      [](const OpCall& c) { return unary_kernel(c, &pare::silu); },
      [](const OpCall& c) { return activation_of(c, Activation::silu); }));
  ops.push_back(activation(
      "mish", "x * tanh(softplus(x))", {input(), inplace(1)},
      [](const OpCall& c) { return unary_kernel(c, &pare::mish); },
      [](const OpCall& c) { return activation_of(c, Activation::mish); }));
  ops.push_back(activation(
      "hardswish", "x * relu6(x + 3) / 6", {input(), inplace(1)},
      [](const OpCall& c) { return unary_kernel(c, &pare::hardswish); },
      [](const OpCall& c) { return activation_of(c, Activation::hardswish); }));
  ops.push_back(activation(
      "elu", "x for x > 0, else alpha * (exp(x) - 1)",
      {input(), param("alpha", Type::number, 1, 1.0), inplace(2)},
      [](const OpCall& c) { return kernel_with_number(c, &pare::elu, "alpha"); },
      [](const OpCall& c) { return activation_of(c, Activation::elu, "alpha"); }));
  ops.push_back(activation(
      "celu", "max(0, x) + min(0, alpha * (exp(x / alpha) - 1))",
      {input(), param("alpha", Type::number, 1, 1.0), inplace(2)},
      [](const OpCall& c) { return kernel_with_number(c, &pare::celu, "alpha"); },
      [](const OpCall& c) { return activation_of(c, Activation::celu, "alpha"); }));
  ops.push_back(activation(
      "selu", "scale * elu(x, alpha) with the self-normalising constants", {input(), inplace(1)},
      [](const OpCall& c) { return unary_kernel(c, &pare::selu); },
      [](const OpCall& c) { return activation_of(c, Activation::selu); }));
  // No kernel of its own (pare::softshrink composes it): no activation for the compiled path.
  ops.push_back(activation(
      "softshrink", "x - lambd above lambd, x + lambd below -lambd, else 0",
      {input(), param("lambd", Type::number, 1, 0.5)},
      [](const OpCall& c) { return kernel_with_number(c, &pare::softshrink, "lambd"); },
      [](const OpCall&) { return ActivationOf(); }));
  ops.push_back(activation(
      "hardshrink", "x where |x| > lambd, else 0", {input(), param("lambd", Type::number, 1, 0.5)},
      [](const OpCall& c) { return kernel_with_number(c, &pare::hardshrink, "lambd"); },
      [](const OpCall& c) { return activation_of(c, Activation::hardshrink, "lambd"); }));
  ops.push_back(activation(
      "leaky_relu", "x for x >= 0, else negative_slope * x",
      {input(), param("negative_slope", Type::number, 1, 0.01), inplace(2)},
      [](const OpCall& c) { return kernel_with_number(c, &pare::leaky_relu, "negative_slope"); },
      [](const OpCall& c) { return activation_of(c, Activation::leaky_relu, "negative_slope"); }));
  ops.push_back(activation(
      "logsigmoid", "log(sigmoid(x))", {input()},
      [](const OpCall& c) { return unary_kernel(c, &pare::logsigmoid); },
      [](const OpCall& c) { return activation_of(c, Activation::logsigmoid); }));
  ops.push_back(activation(
      "softplus", "log(1 + exp(beta * x)) / beta, linear above threshold",
      {input(), param("beta", Type::number, 1, 1.0), param("threshold", Type::number, 2, 20.0)},
      [](const OpCall& c) { return kernel_with_numbers(c, &pare::softplus, "beta", "threshold"); },
      [](const OpCall& c) { return activation_of(c, Activation::softplus, "beta", "threshold"); }));
  ops.push_back({.name = "prelu",
                 .family = "activation",
                 .summary = "x for x >= 0, else weight * x, one slope or one per channel (dim 1)",
                 .params = {input(), required_param("weight", Type::tensor, 1)},
                 .infer = &infer_prelu,
                 .bind = [](const OpCall& c) { return binary_kernel(c, &pare::prelu); },
                 // The slopes are a tensor argument, not one fixed function.
                 .activation = [](const OpCall&) -> ActivationOf { return std::nullopt; },
                 .channel_rule = &prelu_channels});
  ops.push_back(activation(
      "softsign", "x / (1 + |x|)", {input()},
      [](const OpCall& c) { return unary_kernel(c, &pare::softsign); },
      [](const OpCall& c) { return activation_of(c, Activation::softsign); }));
  ops.push_back(activation(
      "tanhshrink", "x - tanh(x)", {input()},
      [](const OpCall& c) { return unary_kernel(c, &pare::tanhshrink); },
      [](const OpCall& c) { return activation_of(c, Activation::tanhshrink); }));
  ops.push_back(activation("gelu", "x * Phi(x), or its tanh approximation",
                           {input(), param("approximate", Type::string, kKeywordOnly, "none")},
                           &bind_gelu, &gelu_activation));
  return ops;
}

// ---- The activation modules: each applies its function elementwise (PReLU with its weight) ----

namespace {

std::shared_ptr<nn::Module> build_rrelu(const AttrReader& attrs) {
  return std::make_shared<nn::RReLUImpl>(attrs.get_double("lower"), attrs.get_double("upper"));
}

std::shared_ptr<nn::Module> build_hardtanh(const AttrReader& attrs) {
  return std::make_shared<nn::HardtanhImpl>(attrs.get_double("min_val"),
                                            attrs.get_double("max_val"));
}

std::shared_ptr<nn::Module> build_elu(const AttrReader& attrs) {
  return std::make_shared<nn::ELUImpl>(attrs.get_double("alpha"));
}

std::shared_ptr<nn::Module> build_celu(const AttrReader& attrs) {
  return std::make_shared<nn::CELUImpl>(attrs.get_double("alpha"));
}

std::shared_ptr<nn::Module> build_hardshrink(const AttrReader& attrs) {
  return std::make_shared<nn::HardshrinkImpl>(attrs.get_double("lambd"));
}

std::shared_ptr<nn::Module> build_softshrink(const AttrReader& attrs) {
  return std::make_shared<nn::SoftshrinkImpl>(attrs.get_double("lambd"));
}

std::shared_ptr<nn::Module> build_leaky_relu(const AttrReader& attrs) {
  return std::make_shared<nn::LeakyReLUImpl>(attrs.get_double("negative_slope"));
}

std::shared_ptr<nn::Module> build_softplus(const AttrReader& attrs) {
  return std::make_shared<nn::SoftplusImpl>(attrs.get_double("beta"),
                                            attrs.get_double("threshold"));
}

std::shared_ptr<nn::Module> build_gelu(const AttrReader& attrs) {
  return std::make_shared<nn::GELUImpl>(attrs.get_string("approximate"));
}

std::shared_ptr<nn::Module> build_prelu(const AttrReader& attrs) {
  return std::make_shared<nn::PReLUImpl>(int_at_least(attrs, "num_parameters", 1));
}

void prelu_layout(const AttrReader& attrs, const ExpectTensor& expect) {
  int64_t count = 0;
  if (!read_attributes([&] { count = attrs.get_int("num_parameters"); })) return;
  if (count < 1) return;
  expect({"weight", {count}, kFloat32, str_cat("num_parameters=", count)});
}

Symbol infer_prelu_layer(const nn::Module& module, const TensorMeta& x) {
  require_float(x, "PReLU", "input");
  const TensorMeta weight = required_tensor(module, "weight");
  const int64_t channels = x.shape.size() >= 2 ? x.shape[1] : 1;
  const int64_t count = shape_numel(weight.shape);
  PARE_CHECK(count == 1 || count == channels, "input ", x.shape,
             " does not match num_parameters=", count, " (1 or the channels, dim 1)");
  return Symbol::of(x.shape);
}

Symbol infer_activation_layer(const nn::Module& module, const TensorMeta& x) {
  require_float(x, module.type_name(), "input");
  return Symbol::of(x.shape);
}

ChannelRule prelu_layer_channels(const nn::Module& module, const std::vector<Symbol>& args,
                                 const Symbol&) {
  ChannelRule rule;
  same_axes(rule, ChannelTensor::input(0), ChannelTensor::output(),
            static_cast<int64_t>(single_input(args, module).shape.size()));
  prelu_slopes(rule, ChannelTensor::parameter("weight"), required_tensor(module, "weight").shape);
  return rule;
}

// A parameter-free activation module, built by `factory` from `attributes`.
LayerDefinition activation(std::string type_name, std::vector<std::string> attributes,
                           std::shared_ptr<nn::Module> (*factory)(const AttrReader&)) {
  return {.type_name = std::move(type_name),
          .kind = nn::ModuleKind::activation,
          .attributes = std::move(attributes),
          .factory = factory,
          .infer = &unary_layer<&infer_activation_layer>,
          .channel_rule = &elementwise_layer_channels};
}

template <typename Impl>
LayerDefinition activation(std::string type_name) {
  return activation(std::move(type_name), {}, &build_without_attributes<Impl>);
}

}  // namespace

std::vector<LayerDefinition> activation_layers() {
  std::vector<LayerDefinition> layers;
  layers.push_back(activation<nn::ReLUImpl>("ReLU"));
  layers.push_back(activation<nn::ReLU6Impl>("ReLU6"));
  layers.push_back(activation<nn::SigmoidImpl>("Sigmoid"));
  layers.push_back(activation<nn::HardsigmoidImpl>("Hardsigmoid"));
  layers.push_back(activation<nn::TanhImpl>("Tanh"));
  layers.push_back(activation<nn::SiLUImpl>("SiLU"));
  layers.push_back(activation<nn::MishImpl>("Mish"));
  layers.push_back(activation<nn::HardswishImpl>("Hardswish"));
  layers.push_back(activation<nn::SELUImpl>("SELU"));
  layers.push_back(activation<nn::LogSigmoidImpl>("LogSigmoid"));
  layers.push_back(activation<nn::SoftsignImpl>("Softsign"));
  layers.push_back(activation<nn::TanhshrinkImpl>("Tanhshrink"));
  layers.push_back(activation("RReLU", {"lower", "upper"}, &build_rrelu));
  layers.push_back(activation("Hardtanh", {"min_val", "max_val"}, &build_hardtanh));
  layers.push_back(activation("ELU", {"alpha"}, &build_elu));
  layers.push_back(activation("CELU", {"alpha"}, &build_celu));
  layers.push_back(activation("Hardshrink", {"lambd"}, &build_hardshrink));
  layers.push_back(activation("Softshrink", {"lambd"}, &build_softshrink));
  layers.push_back(activation("LeakyReLU", {"negative_slope"}, &build_leaky_relu));
  layers.push_back(activation("Softplus", {"beta", "threshold"}, &build_softplus));
  layers.push_back(activation("GELU", {"approximate"}, &build_gelu));
  layers.push_back({.type_name = "PReLU",
                    .kind = nn::ModuleKind::prelu,
                    .attributes = {"num_parameters"},
                    .factory = &build_prelu,
                    .layout = &prelu_layout,
                    .infer = &unary_layer<&infer_prelu_layer>,
                    .channel_rule = &prelu_layer_channels});
  return layers;
}

}  // namespace pare::ir::ops
