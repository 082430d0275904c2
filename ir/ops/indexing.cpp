// Selecting: getitem (an element of a tuple, how LSTM, split and max-with-dim results are
// reached), index_select and masked_fill. The shape rules are the engine's own
// (pare/indexing_geometry.h); only index values, unknown to shapes, are checked at run time.
#include "pare/indexing.h"

#include "channel_rules.h"
#include "families.h"
#include "pare/error.h"
#include "pare/indexing_geometry.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;

// getitem(tuple, index): the index is a positional int, as torch.fx writes operator.getitem.
int64_t getitem_index(const OpCall& call) {
  const std::vector<Argument>& node_args = call.node().args();
  PARE_CHECK(node_args.size() == 2 && node_args[1].is_int(),
             "getitem: expected (node, integer index), got ", node_args.size(), " argument(s)");
  return node_args[1].to_int();
}

// The item `index` of a tuple of `count` (negative counts from the end).
size_t tuple_position(int64_t index, size_t count) {
  const int64_t size = static_cast<int64_t>(count);
  const int64_t wrapped = index < 0 ? index + size : index;
  PARE_CHECK(wrapped >= 0 && wrapped < size, "getitem: index ", index,
             " is out of range for a tuple of ", size);
  return static_cast<size_t>(wrapped);
}

Symbol infer_getitem(const OpCall& call) {
  const int64_t index = getitem_index(call);
  const Symbol& tuple = call.arg(0);
  PARE_CHECK(tuple.is_tuple(), "getitem: the input is a tensor, not a tuple");
  return tuple.items[tuple_position(index, tuple.items.size())];
}

FunctionKernel bind_getitem(const OpCall& call) {
  call.require_tensor_args(1);
  const int64_t index = getitem_index(call);
  return [index](const std::vector<Value>& args) {
    PARE_CHECK(!args.at(0).is_tensor(), "getitem: the input is a tensor, not a tuple");
    const std::vector<Value>& items = args[0].items();
    return items[tuple_position(index, items.size())];
  };
}

// index_select(input, dim, index): the index is the second tensor, wherever dim sits (the
// tracer writes index_select(x, index, dim=d)).
size_t index_position(const OpCall& call) {
  const std::vector<size_t> tensors = call.node_slots();
  PARE_CHECK(tensors.size() == 2 && call.node().args().size() <= 3,
             "index_select: expected (input, dim, index) with two tensors, got ",
             call.node().args().size(), " argument(s) of which ", tensors.size(), " tensor(s)");
  return tensors[1];
}

Symbol infer_index_select(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  const TensorMeta& index = call.tensor(index_position(call));
  return Symbol::of(
      index_select_geometry(x.shape, call.integer("dim"), index.shape, index.dtype).shape, x.dtype);
}

FunctionKernel bind_index_select(const OpCall& call) {
  call.require_tensor_args(1);
  const size_t index_at = index_position(call);
  const int64_t dim = call.integer("dim");
  return [dim, index_at](const std::vector<Value>& args) {
    return Value(pare::index_select(tensor_at(args, 0), dim, tensor_at(args, index_at)));
  };
}

Symbol infer_masked_fill(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  const TensorMeta& mask = call.tensor(1);
  return Symbol::of(masked_fill_shape(x.shape, mask.shape, mask.dtype), x.dtype);
}

FunctionKernel bind_masked_fill(const OpCall& call) {
  call.require_tensor_args(2);
  const double value = call.number("value");
  return [value](const std::vector<Value>& args) {
    return Value(pare::masked_fill(tensor_at(args, 0), tensor_at(args, 1), value));
  };
}

// ---- Channel rules ----

// getitem: the item's axes are the output's. An item that is itself a tuple (the LSTM's
// (h_n, c_n)) is not followed: its axes block.
ChannelRule getitem_channels(const OpCall& call, const Symbol& output) {
  ChannelRule rule;
  if (!output.is_tensor()) return rule;
  const size_t item = tuple_position(getitem_index(call), call.arg(0).items.size());
  same_axes(rule, ChannelTensor::input(0, static_cast<int64_t>(item)), ChannelTensor::output(),
            static_cast<int64_t>(output.meta.shape.size()));
  return rule;
}

// index_select picks indices of axis `dim` by value: that axis blocks, the others are the same.
ChannelRule index_select_channels(const OpCall& call, const Symbol&) {
  ChannelRule rule;
  const Shape& shape = call.tensor(0).shape;
  const int64_t rank = static_cast<int64_t>(shape.size());
  if (rank == 0) return rule;
  const int64_t d = wrap_dim(call.integer("dim"), rank, "index_select");
  const std::string reason = str_cat("index_select: picks indices of axis ", d, " by value");
  for (int64_t axis = 0; axis < rank; ++axis) {
    if (axis == d) {
      rule.block({ChannelTensor::input(0), axis}, reason)
          .block({ChannelTensor::output(), axis}, reason);
    } else {
      rule.same({ChannelTensor::input(0), axis}, {ChannelTensor::output(), axis});
    }
  }
  const size_t index_at = index_position(call);
  if (call.tensor(index_at).shape.size() == 1)
    rule.block({ChannelTensor::input(static_cast<int64_t>(index_at)), 0}, reason);
  return rule;
}

}  // namespace

std::vector<OpDefinition> indexing_ops() {
  std::vector<OpDefinition> ops;
  ops.push_back({.name = "getitem",
                 .family = "indexing",
                 .summary = "item `index` of a tuple (operator.getitem)",
                 .params = {required_param("input", Type::tensor_list, 0),
                            required_param("index", Type::integer, 1)},
                 .infer = &infer_getitem,
                 .bind = &bind_getitem,
                 .channel_rule = &getitem_channels});
  ops.push_back(
      {.name = "index_select",
       .family = "indexing",
       .summary = "the entries at int64 `index` along dim",
       .params = {required_param("input", Type::tensor, 0), required_param("dim", Type::integer, 1),
                  required_param("index", Type::tensor, 2)},
       .infer = &infer_index_select,
       .bind = &bind_index_select,
       .channel_rule = &index_select_channels});
  ops.push_back(
      {.name = "masked_fill",
       .family = "indexing",
       .summary = "x with `value` where the bool mask (broadcast) is true",
       .params = {required_param("input", Type::tensor, 0), required_param("mask", Type::tensor, 1),
                  required_param("value", Type::number, 2)},
       .infer = &infer_masked_fill,
       .bind = &bind_masked_fill,
       .channel_rule = &elementwise_channels});
  return ops;
}

}  // namespace pare::ir::ops
