// conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1), as
// torch.nn.functional.conv2d (numeric padding only). The shape rule is shape_rules.h's
// conv2d_shape, which the Conv2d module's rule shares.
#include "families.h"
#include "layer_macs.h"
#include "pare/functional.h"
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
       .macs = &macs_of_conv2d});
  return ops;
}

}  // namespace pare::ir::ops
