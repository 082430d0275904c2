// The channel rule of one call: how the axes of the tensors an op reads (its inputs, a layer's
// parameters and buffers) are tied to the axes of what it produces, so that dependency-group
// pruning can tell which indices must go together. Every op definition and layer definition
// states its rule (OpDefinition::channel_rule, LayerDefinition::channel_rule); the analysis
// (pare/passes/pruning/dependency_graph.h) reads nothing else.
//
//   // Linear: the input's last axis is weight's dim 1, the output's last axis weight's dim 0.
//   pare::ir::ChannelRule rule;
//   const auto x = pare::ir::ChannelTensor::input(0);
//   const auto y = pare::ir::ChannelTensor::output();
//   const auto weight = pare::ir::ChannelTensor::parameter("weight");
//   rule.same({x, 1}, {weight, 1}).same({y, 1}, {weight, 0}).same({x, 0}, {y, 0});
//   // cat([a, b], dim=1), a with 16 channels: b's channel c is the output's channel 16 + c.
//   rule.link({pare::ir::ChannelTensor::input(0, 1), 1}, {y, 1}, {.offset = 16});
//   // softmax over dim 1: no channel of it can go.
//   rule.block({x, 1}, "softmax over dim 1: every output depends on every channel");
//   // A conv with groups=2 and 8 output channels: channels j and 4 + j go together.
//   rule.repeat({y, 1}, 2);
//
// Contract: a rule states the axes it knows; the analysis blocks every axis of every tensor input
// and output that the rule leaves unstated, naming the op, so an op without a rule blocks.
// Index maps are monotone: channel i of the narrow side is the contiguous range
// [offset + i * block, offset + (i + 1) * block) of the wide side. Every other map the table of
// couplings needs is one of them: identity (offset 0, block 1), an axis remap (permute: the axes
// differ, the map is the identity), a concat's offset, a flatten's block (channel c is features
// [c * H * W, (c + 1) * H * W)), a split into heads (head h is channels [h * d, (h + 1) * d) of the
// unsplit axis: the heads axis is the narrow side, block d).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace pare::ir {

// A tensor of a call, as its rule names it.
struct ChannelTensor {
  enum class Kind { input, output, parameter };
  Kind kind = Kind::input;
  // input: the positional argument; unused otherwise.
  int64_t index = 0;
  // input: the item of a list or tuple argument (cat's tensors, getitem's tuple); output: the item
  // of a tuple result (split's pieces); -1: the argument or result itself.
  int64_t item = -1;
  // parameter: the layer's state_dict key ("weight", "running_mean").
  std::string name;

  static ChannelTensor input(int64_t index, int64_t item = -1);
  static ChannelTensor output(int64_t item = -1);
  static ChannelTensor parameter(std::string name);
  bool operator==(const ChannelTensor&) const = default;
  // "input 0", "input 0[2]", "output", "output[1]", "weight".
  std::string describe() const;
};

// One axis of one tensor of a call.
struct ChannelAxis {
  ChannelTensor tensor;
  int64_t axis = 0;
  bool operator==(const ChannelAxis&) const = default;
};

// Index i of the narrow axis is the elements [offset + i * block, offset + (i + 1) * block) of the
// wide axis.
struct AxisMap {
  int64_t offset = 0;
  int64_t block = 1;
  bool operator==(const AxisMap&) const = default;
};

// Two axes that lose the same indices together.
struct AxisLink {
  ChannelAxis narrow;
  ChannelAxis wide;
  AxisMap map;
};

// An axis no link crosses, and why.
struct AxisStop {
  enum class Kind {
    // Removing indices of this axis changes what the op computes beyond slicing (softmax over it,
    // a grouped conv's channels): a group holding it cannot be pruned.
    blocks,
    // The op sums the axis away (sum, mean): the group ends here, the output does not shrink.
    reduces,
    // A size-1 axis of an operand, broadcast against the others: it keeps its size whatever the
    // other operands lose.
    broadcast,
  };
  ChannelAxis axis;
  Kind kind = Kind::blocks;
  std::string reason;
};

// An axis made of `count` equal blocks that lose the same indices together (index j of every
// block): a grouped conv's channels, so that every group keeps the same width and `groups` stays.
struct AxisRepeat {
  ChannelAxis axis;
  int64_t count = 1;
};

// What one call couples (the result of a definition's channel_rule hook).
struct ChannelRule {
  std::vector<AxisLink> links;
  std::vector<AxisStop> stops;
  std::vector<AxisRepeat> repeats;

  // `narrow` index i is `wide`'s [offset + i * block, offset + (i + 1) * block).
  ChannelRule& link(ChannelAxis narrow, ChannelAxis wide, AxisMap map = {});
  // The identity map: index i of `a` is index i of `b`.
  ChannelRule& same(ChannelAxis a, ChannelAxis b);
  ChannelRule& block(ChannelAxis axis, std::string reason);
  ChannelRule& reduce(ChannelAxis axis, std::string reason);
  ChannelRule& broadcast(ChannelAxis axis);
  // `axis` is `count` equal blocks whose index j goes together (its size a multiple of count).
  ChannelRule& repeat(ChannelAxis axis, int64_t count);
  // Whether a link, a stop or a repeat names `axis`.
  bool states(const ChannelAxis& axis) const;
};

std::ostream& operator<<(std::ostream& stream, const ChannelAxis& axis);
std::ostream& operator<<(std::ostream& stream, const ChannelRule& rule);

}  // namespace pare::ir
