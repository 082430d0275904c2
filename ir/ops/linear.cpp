// linear(input, weight, bias=None): y = x W^T + b, as torch.nn.functional.linear. The shape rule
// is shape_rules.h's linear_shape, which the Linear module's rule shares.
#include "channel_rules.h"
#include "families.h"
#include "layer_macs.h"
#include "layers.h"
#include "pare/error.h"
#include "pare/functional.h"
#include "pare/nn/nn.h"
#include "shape_rules.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;

Symbol infer_linear(const OpCall& call) {
  return Symbol::of(linear_shape(call.tensor(0), call.tensor(1), call.optional_tensor(2)));
}

FunctionKernel bind_linear(const OpCall& call) {
  call.require_tensor_args(2);
  PARE_CHECK(call.node().args().size() <= 3, "linear: expected (input, weight, bias), got ",
             call.node().args().size(), " arguments");
  return [](const std::vector<Value>& args) {
    return Value(pare::linear(tensor_at(args, 0), tensor_at(args, 1), optional_tensor_at(args, 2)));
  };
}

int64_t macs_of_linear(const OpCall& call, const Symbol&) {
  return linear_macs(call.tensor(0).shape, call.tensor(1).shape);
}

ChannelRule linear_function_channels(const OpCall& call, const Symbol& output) {
  ChannelRule rule;
  const std::optional<ChannelTensor> bias =
      call.is_node_arg(2) ? std::optional(ChannelTensor::input(2)) : std::nullopt;
  linear_channels(rule, ChannelTensor::input(0), call.tensor(0).shape, ChannelTensor::input(1),
                  bias, output.meta.shape);
  return rule;
}

}  // namespace

std::vector<OpDefinition> linear_ops() {
  std::vector<OpDefinition> ops;
  ops.push_back({.name = "linear",
                 .family = "linear",
                 .summary = "y = x W^T + b over the last dim",
                 .params = {required_param("input", Type::tensor, 0),
                            required_param("weight", Type::tensor, 1),
                            param("bias", Type::optional_tensor, 2)},
                 .infer = &infer_linear,
                 .bind = &bind_linear,
                 .macs = &macs_of_linear,
                 .channel_rule = &linear_function_channels});
  return ops;
}

// ---- The Linear layer: linear with its own weight and bias ----

namespace {

std::shared_ptr<nn::Module> build_linear(const AttrReader& attrs) {
  return std::make_shared<nn::LinearImpl>(nn::LinearOptions(int_at_least(attrs, "in_features", 0),
                                                            int_at_least(attrs, "out_features", 0))
                                              .bias(attrs.get_bool("bias")));
}

void linear_layout(const AttrReader& attrs, const ExpectTensor& expect) {
  int64_t in = 0, out = 0;
  bool bias = false;
  if (!read_attributes([&] {
        in = attrs.get_int("in_features");
        out = attrs.get_int("out_features");
        bias = attrs.get_bool("bias");
      }))
    return;
  if (in < 0 || out < 0) return;
  const std::string why_out = str_cat("out_features=", out);
  expect({"weight", {out, in}, kFloat32, str_cat("in_features=", in, ", ", why_out)});
  if (bias) expect({"bias", {out}, kFloat32, why_out});
}

Symbol infer_linear_layer(const nn::Module& module, const TensorMeta& x) {
  const TensorMeta weight = required_tensor(module, "weight");
  PARE_CHECK(weight.shape.size() == 2, "Linear: expected a 2-d weight, got ", weight.shape);
  PARE_CHECK(!x.shape.empty() && x.shape.back() == weight.shape[1], "input ", x.shape,
             " does not match in_features=", weight.shape[1],
             " (the last dim must be the input features)");
  const std::optional<TensorMeta> bias = tensor_meta_of(module, "bias");
  return Symbol::of(linear_shape(x, weight, bias ? &*bias : nullptr));
}

int64_t linear_layer_macs(const nn::Module& module, const TensorMeta& input) {
  return linear_macs(input.shape, parameter_shape(module, "weight"));
}

// A layer's bias, when it has one.
std::optional<ChannelTensor> layer_bias(const nn::Module& module) {
  if (!tensor_meta_of(module, "bias")) return std::nullopt;
  return ChannelTensor::parameter("bias");
}

ChannelRule linear_layer_channels(const nn::Module& module, const std::vector<Symbol>& args,
                                  const Symbol& output) {
  ChannelRule rule;
  linear_channels(rule, ChannelTensor::input(0), single_input(args, module).shape,
                  ChannelTensor::parameter("weight"), layer_bias(module), output.meta.shape);
  return rule;
}

}  // namespace

std::vector<LayerDefinition> linear_layers() {
  return {{.type_name = "Linear",
           .kind = nn::ModuleKind::linear,
           .attributes = {"in_features", "out_features", "bias"},
           .factory = &build_linear,
           .layout = &linear_layout,
           .infer = &unary_layer<&infer_linear_layer>,
           .macs = &linear_layer_macs,
           .channel_rule = &linear_layer_channels}};
}

}  // namespace pare::ir::ops
