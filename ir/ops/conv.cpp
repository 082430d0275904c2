// conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1), as
// torch.nn.functional.conv2d (numeric padding only). The shape rule is shape_rules.h's
// conv2d_shape, which the Conv2d module's rule shares.
#include "channel_rules.h"
#include "families.h"
#include "layer_macs.h"
#include "layers.h"
#include "pare/checked_math.h"
#include "pare/error.h"
#include "pare/functional.h"
#include "pare/ir/shape_inference.h"
#include "pare/nn/nn.h"
#include "shape_rules.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;

ConvGeometry conv_geometry(const OpCall& call) {
  ConvGeometry geometry;
  geometry.stride = call.int_pair("stride");
  geometry.padding = call.int_pair("padding");
  geometry.dilation = call.int_pair("dilation");
  geometry.groups = call.integer("groups");
  return geometry;
}

Symbol infer_conv2d(const OpCall& call) {
  return Symbol::of(
      conv2d_shape(call.tensor(0), call.tensor(1), call.optional_tensor(2), conv_geometry(call)));
}

FunctionKernel bind_conv2d(const OpCall& call) {
  call.require_tensor_args(2);
  const ConvGeometry g = conv_geometry(call);
  return [g](const std::vector<Value>& args) {
    return Value(pare::conv2d(tensor_at(args, 0), tensor_at(args, 1), optional_tensor_at(args, 2),
                              g.stride, g.padding, g.dilation, g.groups));
  };
}

int64_t macs_of_conv2d(const OpCall& call, const Symbol& output) {
  return conv2d_macs(output.meta.shape, call.tensor(1).shape);
}

ChannelRule conv2d_function_channels(const OpCall& call, const Symbol&) {
  ChannelRule rule;
  const std::optional<ChannelTensor> bias =
      call.is_node_arg(2) ? std::optional(ChannelTensor::input(2)) : std::nullopt;
  conv2d_channels(rule, ChannelTensor::input(0), call.tensor(0).shape, ChannelTensor::input(1),
                  call.tensor(1).shape, bias, call.integer("groups"));
  return rule;
}

}  // namespace

std::vector<OpDefinition> conv_ops() {
  std::vector<OpDefinition> ops;
  ops.push_back(
      {.name = "conv2d",
       .family = "conv",
       .summary = "2-d convolution over an [N, C, H, W] or [C, H, W] input",
       .params = {required_param("input", Type::tensor, 0),
                  required_param("weight", Type::tensor, 1),
                  param("bias", Type::optional_tensor, 2), param("stride", Type::int_pair, 3, 1),
                  param("padding", Type::int_pair, 4, 0), param("dilation", Type::int_pair, 5, 1),
                  param("groups", Type::integer, 6, 1)},
       .infer = &infer_conv2d,
       .bind = &bind_conv2d,
       .macs = &macs_of_conv2d,
       .channel_rule = &conv2d_function_channels});
  return ops;
}

// ---- The Conv2d layer: conv2d with its own weight, bias and geometry ----

namespace {

std::shared_ptr<nn::Module> build_conv2d(const AttrReader& attrs) {
  return std::make_shared<nn::Conv2dImpl>(nn::Conv2dOptions(int_at_least(attrs, "in_channels", 1),
                                                            int_at_least(attrs, "out_channels", 1),
                                                            pair_at_least(attrs, "kernel_size", 1))
                                              .stride(pair_at_least(attrs, "stride", 1))
                                              .padding(pair_at_least(attrs, "padding", 0))
                                              .dilation(pair_at_least(attrs, "dilation", 1))
                                              .groups(int_at_least(attrs, "groups", 1))
                                              .bias(attrs.get_bool("bias")));
}

void conv2d_layout(const AttrReader& attrs, const ExpectTensor& expect) {
  int64_t in = 0, out = 0, groups = 0;
  std::vector<int64_t> kernel;
  bool bias = false;
  if (!read_attributes([&] {
        in = attrs.get_int("in_channels");
        out = attrs.get_int("out_channels");
        groups = attrs.get_int("groups");
        kernel = attrs.get_pair("kernel_size");
        bias = attrs.get_bool("bias");
      }))
    return;
  if (in < 1 || out < 1 || groups < 1 || in % groups != 0 || out % groups != 0 || kernel[0] < 1 ||
      kernel[1] < 1)
    return;
  const std::string why_out = str_cat("out_channels=", out);
  expect(
      {"weight",
       {out, in / groups, kernel[0], kernel[1]},
       kFloat32,
       str_cat("in_channels=", in, ", ", why_out, ", groups=", groups, ", kernel_size=", kernel)});
  if (bias) expect({"bias", {out}, kFloat32, why_out});
}

Symbol infer_conv2d_layer(const nn::Module& module, const TensorMeta& x) {
  const Attrs config = module.config();
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

int64_t conv2d_layer_macs(const nn::Module& module, const TensorMeta& input) {
  const std::vector<TensorMeta> output = infer_module_outputs(module, input);
  return conv2d_macs(output.at(0).shape, parameter_shape(module, "weight"));
}

ChannelRule conv2d_layer_channels(const nn::Module& module, const std::vector<Symbol>& args,
                                  const Symbol&) {
  ChannelRule rule;
  const std::optional<ChannelTensor> bias = tensor_meta_of(module, "bias")
                                                ? std::optional(ChannelTensor::parameter("bias"))
                                                : std::nullopt;
  conv2d_channels(rule, ChannelTensor::input(0), single_input(args, module).shape,
                  ChannelTensor::parameter("weight"), required_tensor(module, "weight").shape, bias,
                  config_int(module.config(), "groups", module));
  return rule;
}

}  // namespace

std::vector<LayerDefinition> conv_layers() {
  return {{.type_name = "Conv2d",
           .kind = nn::ModuleKind::conv2d,
           .attributes = {"in_channels", "out_channels", "kernel_size", "stride", "padding",
                          "dilation", "groups", "bias"},
           .factory = &build_conv2d,
           .layout = &conv2d_layout,
           .infer = &unary_layer<&infer_conv2d_layer>,
           .macs = &conv2d_layer_macs,
           .channel_rule = &conv2d_layer_channels}};
}

}  // namespace pare::ir::ops
