// The channel rules the op families share (pare/ir/channel_rule.h): elementwise broadcasting,
// views, pools, products, and the rules of the layers with parameters, each written once for the
// function and its layer (the function names its weight ChannelTensor::input(1), the layer
// ChannelTensor::parameter("weight")). Internal to pare_ir.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "pare/ir/channel_rule.h"
#include "pare/ir/layer_definition.h"
#include "pare/ir/op_definition.h"

namespace pare::ir::ops {

// ---- Rules on shapes, for one input and one output ----

// Every tensor argument of the call and the output, after broadcasting: equal axes are the same
// axis, a size-1 operand axis is broadcast (unary ops, the binary ops, where, comparisons).
ChannelRule elementwise_channels(const OpCall& call, const Symbol& output);
// One operand of an elementwise op against the output's shape.
void broadcast_operand(ChannelRule& rule, const ChannelTensor& operand, const Shape& operand_shape,
                       const ChannelTensor& output, const Shape& output_shape);
// Every axis of `input` is the same axis of `output` (shapes equal).
void same_axes(ChannelRule& rule, const ChannelTensor& input, const ChannelTensor& output,
               int64_t rank);
// A reshape from `from` to `to` (reshape, view, flatten, squeeze, unsqueeze): axes that keep
// their size are the same; an axis merged with the axes after it is their leading part, block
// the product of the others (flatten's channel c is features [c * H * W, (c + 1) * H * W)), and
// the axes merged behind it block; an axis split into several is the leading one's blocks (a
// split into heads); size-1 axes are broadcast; anything else blocks. `op` names the reasons.
void reshape_channels(ChannelRule& rule, const ChannelTensor& from, const Shape& from_shape,
                      const ChannelTensor& to, const Shape& to_shape, std::string_view op);
ChannelRule reshape_channels_of(const OpCall& call, const Symbol& output);
// A 2-d window op ([N,] C, H, W): the leading axes are the same, the window's axes block.
void window_channels(ChannelRule& rule, const ChannelTensor& input, const Shape& input_shape,
                     const ChannelTensor& output, std::string_view op);
// A pool's rule, for a call whose output is one tensor or (values, indices).
ChannelRule pool_channels_of(const OpCall& call, const Symbol& output);

// ---- Layers with parameters, as function or layer ----

// linear: the input's last axis is weight dim 1, the output's is weight dim 0 and the bias.
void linear_channels(ChannelRule& rule, const ChannelTensor& input, const Shape& input_shape,
                     const ChannelTensor& weight, const std::optional<ChannelTensor>& bias,
                     const Shape& output_shape);
// conv2d with `groups`: plain (weight dim 1 the in space, dim 0 the out space), depthwise
// (groups = in channels: input channel c is output channels [c * m, (c + 1) * m) for a channel
// multiplier m), grouped (the in and out spaces each repeat in `groups` blocks that lose the same
// indices, weight dim 1 being one block of the in space).
void conv2d_channels(ChannelRule& rule, const ChannelTensor& input, const Shape& input_shape,
                     const ChannelTensor& weight, const Shape& weight_shape,
                     const std::optional<ChannelTensor>& bias, int64_t groups);
// A per-channel op (batch norm, prelu with one slope per channel): input and output the same on
// every axis, each of `vectors` (1-d, channel-sized) the output's `axis`.
void per_channel(ChannelRule& rule, const ChannelTensor& input, int64_t rank,
                 const std::vector<ChannelTensor>& vectors, int64_t axis);
// layer_norm over the trailing `normalized` axes: over one axis its weight and bias are members of
// that axis; over several, those axes block (the statistics mix them).
void layer_norm_channels(ChannelRule& rule, const ChannelTensor& input, int64_t rank,
                         const std::vector<ChannelTensor>& affine, int64_t normalized);

// ---- Layer rules ----

// A layer that maps its one input to one output of the same shape, axis for axis.
ChannelRule elementwise_layer_channels(const nn::Module& module, const std::vector<Symbol>& args,
                                       const Symbol& output);

}  // namespace pare::ir::ops
