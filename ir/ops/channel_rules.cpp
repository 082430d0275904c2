// The shared channel rules (channel_rules.h).
#include "channel_rules.h"

#include "layers.h"
#include "pare/error.h"

namespace pare::ir::ops {

namespace {

int64_t rank_of(const Shape& shape) { return static_cast<int64_t>(shape.size()); }

const ChannelTensor kOutput = ChannelTensor::output();

}  // namespace

void same_axes(ChannelRule& rule, const ChannelTensor& input, const ChannelTensor& output,
               int64_t rank) {
  for (int64_t axis = 0; axis < rank; ++axis) rule.same({input, axis}, {output, axis});
}

void broadcast_operand(ChannelRule& rule, const ChannelTensor& operand, const Shape& operand_shape,
                       const ChannelTensor& output, const Shape& output_shape) {
  const int64_t lead = rank_of(output_shape) - rank_of(operand_shape);
  for (int64_t axis = 0; axis < rank_of(operand_shape); ++axis) {
    if (operand_shape[axis] == output_shape[lead + axis]) {
      rule.same({operand, axis}, {output, lead + axis});
    } else {
      rule.broadcast({operand, axis});
    }
  }
}

ChannelRule elementwise_channels(const OpCall& call, const Symbol& output) {
  ChannelRule rule;
  if (!output.is_tensor()) return rule;
  for (size_t slot : call.node_slots()) {
    if (!call.has_tensor(slot)) continue;
    broadcast_operand(rule, ChannelTensor::input(static_cast<int64_t>(slot)),
                      call.tensor(slot).shape, kOutput, output.meta.shape);
  }
  return rule;
}

void reshape_channels(ChannelRule& rule, const ChannelTensor& from, const Shape& from_shape,
                      const ChannelTensor& to, const Shape& to_shape, std::string_view op) {
  // Runs of axes whose sizes multiply to the same number on both sides.
  size_t i = 0, j = 0;
  while (i < from_shape.size() || j < to_shape.size()) {
    const size_t i0 = i, j0 = j;
    int64_t from_size = i < from_shape.size() ? from_shape[i++] : 1;
    int64_t to_size = j < to_shape.size() ? to_shape[j++] : 1;
    bool matched = true;
    while (from_size != to_size) {
      if (from_size < to_size && i < from_shape.size()) {
        from_size *= from_shape[i++];
      } else if (from_size > to_size && j < to_shape.size()) {
        to_size *= to_shape[j++];
      } else {
        matched = false;
        break;
      }
    }
    if (!matched) {
      // Sizes that never meet (zero-sized axes): nothing of the rest can be followed.
      i = from_shape.size();
      j = to_shape.size();
    }
    std::vector<int64_t> from_axes, to_axes;
    for (size_t a = i0; a < i; ++a) {
      if (from_shape[a] == 1 && matched) {
        rule.broadcast({from, static_cast<int64_t>(a)});
      } else {
        from_axes.push_back(static_cast<int64_t>(a));
      }
    }
    for (size_t a = j0; a < j; ++a) {
      if (to_shape[a] == 1 && matched) {
        rule.broadcast({to, static_cast<int64_t>(a)});
      } else {
        to_axes.push_back(static_cast<int64_t>(a));
      }
    }
    if (from_axes.empty() && to_axes.empty()) continue;
    if (matched && from_axes.size() == 1 && to_axes.size() == 1) {
      rule.same({from, from_axes[0]}, {to, to_axes[0]});
      continue;
    }
    // One axis against several: the one is the leading axis's blocks; the trailing axes of the
    // several hold strided indices of it and block.
    const bool merge = matched && to_axes.size() == 1;
    const bool split = matched && from_axes.size() == 1;
    if (merge || split) {
      const std::vector<int64_t>& many = merge ? from_axes : to_axes;
      const Shape& many_shape = merge ? from_shape : to_shape;
      const ChannelTensor& many_tensor = merge ? from : to;
      const ChannelTensor& one_tensor = merge ? to : from;
      const int64_t one = merge ? to_axes[0] : from_axes[0];
      int64_t inner = 1;
      for (size_t k = 1; k < many.size(); ++k) inner *= many_shape[many[k]];
      rule.link({many_tensor, many[0]}, {one_tensor, one}, {.offset = 0, .block = inner});
      for (size_t k = 1; k < many.size(); ++k) {
        rule.block({many_tensor, many[k]},
                   str_cat(op, ": axis ", many[k], " of ", many_shape, " is ",
                           merge ? "merged into" : "split from", " axis ", one, " behind axis ",
                           many[0], ", so its indices are strided there"));
      }
      continue;
    }
    for (int64_t a : from_axes)
      rule.block({from, a}, str_cat(op, ": reshapes ", from_shape, " to ", to_shape,
                                    ", mixing axis ", a, " with others"));
    for (int64_t a : to_axes)
      rule.block({to, a}, str_cat(op, ": reshapes ", from_shape, " to ", to_shape, ", mixing axis ",
                                  a, " with others"));
  }
}

ChannelRule reshape_channels_of(const OpCall& call, const Symbol& output) {
  ChannelRule rule;
  if (output.is_tensor())
    reshape_channels(rule, ChannelTensor::input(0), call.tensor(0).shape, kOutput,
                     output.meta.shape, call.target());
  return rule;
}

void window_channels(ChannelRule& rule, const ChannelTensor& input, const Shape& input_shape,
                     const ChannelTensor& output, std::string_view op) {
  const int64_t rank = rank_of(input_shape);
  for (int64_t axis = 0; axis < rank; ++axis) {
    if (axis < rank - 2) {
      rule.same({input, axis}, {output, axis});
      continue;
    }
    const std::string reason = str_cat(op, ": its window spans axis ", axis);
    rule.block({input, axis}, reason).block({output, axis}, reason);
  }
}

ChannelRule pool_channels_of(const OpCall& call, const Symbol& output) {
  ChannelRule rule;
  const ChannelTensor input = ChannelTensor::input(0);
  if (output.is_tensor()) {
    window_channels(rule, input, call.tensor(0).shape, kOutput, call.target());
  } else {
    for (size_t item = 0; item < output.items.size(); ++item)
      window_channels(rule, input, call.tensor(0).shape,
                      ChannelTensor::output(static_cast<int64_t>(item)), call.target());
  }
  return rule;
}

void linear_channels(ChannelRule& rule, const ChannelTensor& input, const Shape& input_shape,
                     const ChannelTensor& weight, const std::optional<ChannelTensor>& bias,
                     const Shape& output_shape) {
  const int64_t rank = rank_of(input_shape);
  if (rank == 0) return;
  for (int64_t axis = 0; axis + 1 < rank; ++axis) rule.same({input, axis}, {kOutput, axis});
  rule.same({input, rank - 1}, {weight, 1});
  const int64_t out_axis = rank_of(output_shape) - 1;
  rule.same({kOutput, out_axis}, {weight, 0});
  if (bias) rule.same({*bias, 0}, {kOutput, out_axis});
}

void conv2d_channels(ChannelRule& rule, const ChannelTensor& input, const Shape& input_shape,
                     const ChannelTensor& weight, const Shape& weight_shape,
                     const std::optional<ChannelTensor>& bias, int64_t groups) {
  const int64_t rank = rank_of(input_shape);
  if (rank < 3 || weight_shape.size() != 4) return;
  const int64_t channel = rank - 3;
  if (channel == 1) rule.same({input, 0}, {kOutput, 0});
  for (int64_t axis = rank - 2; axis < rank; ++axis) {
    const std::string reason = str_cat("conv2d: its window spans axis ", axis);
    rule.block({input, axis}, reason).block({kOutput, axis}, reason);
  }
  for (int64_t axis = 2; axis < 4; ++axis)
    rule.block({weight, axis}, "conv2d: the kernel's window");
  const int64_t in_channels = input_shape[channel];
  const int64_t out_channels = weight_shape[0];
  if (groups == 1) {
    rule.same({input, channel}, {weight, 1});
  } else if (groups == in_channels) {
    // Depthwise: output channels [c * m, (c + 1) * m) are computed from input channel c alone.
    rule.link({input, channel}, {kOutput, channel},
              {.offset = 0, .block = out_channels / in_channels});
    rule.broadcast({weight, 1});
  } else {
    // Grouped: weight column j reads input channel j of every group, and each group must keep
    // the same width, so index j of every block goes together on both sides (in space: the input
    // and weight dim 1, which is block 0 of it; out space: the output, weight dim 0 and bias).
    rule.repeat({input, channel}, groups).link({weight, 1}, {input, channel});
    rule.repeat({kOutput, channel}, groups);
  }
  rule.same({kOutput, channel}, {weight, 0});
  if (bias) rule.same({*bias, 0}, {kOutput, channel});
}

void per_channel(ChannelRule& rule, const ChannelTensor& input, int64_t rank,
                 const std::vector<ChannelTensor>& vectors, int64_t axis) {
  same_axes(rule, input, kOutput, rank);
  for (const ChannelTensor& vector : vectors) rule.same({vector, 0}, {kOutput, axis});
}

void layer_norm_channels(ChannelRule& rule, const ChannelTensor& input, int64_t rank,
                         const std::vector<ChannelTensor>& affine, int64_t normalized) {
  for (int64_t axis = 0; axis < rank - normalized; ++axis)
    rule.same({input, axis}, {kOutput, axis});
  if (normalized == 1) {
    rule.same({input, rank - 1}, {kOutput, rank - 1});
    for (const ChannelTensor& vector : affine) rule.same({vector, 0}, {kOutput, rank - 1});
    return;
  }
  for (int64_t k = 0; k < normalized; ++k) {
    const int64_t axis = rank - normalized + k;
    const std::string reason = str_cat("layer_norm: normalises axes ", rank - normalized, "..",
                                       rank - 1, " together, so its statistics mix them");
    rule.block({input, axis}, reason).block({kOutput, axis}, reason);
    for (const ChannelTensor& vector : affine) rule.block({vector, k}, reason);
  }
}

ChannelRule elementwise_layer_channels(const nn::Module& module, const std::vector<Symbol>& args,
                                       const Symbol& output) {
  ChannelRule rule;
  const TensorMeta& x = single_input(args, module);
  if (output.is_tensor())
    broadcast_operand(rule, ChannelTensor::input(0), x.shape, kOutput, output.meta.shape);
  return rule;
}

}  // namespace pare::ir::ops
