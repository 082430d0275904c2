// Joining and splitting: cat, stack, split and chunk, as torch takes them. cat and stack receive
// their tensors as one list argument; split and chunk return a tuple of pieces. The shapes and
// checks are the engine's own (pare/join_geometry.h).
#include "channel_rules.h"
#include "families.h"
#include "pare/error.h"
#include "pare/indexing.h"
#include "pare/join_geometry.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;

// ---- cat, stack ----

std::vector<TensorMeta> list_of_tensors(const OpCall& call) {
  PARE_CHECK(call.arg_count() > 0 && call.arg(0).is_tuple(), call.target(),
             ": expected a list of tensors as the first argument");
  std::vector<TensorMeta> tensors;
  for (const Symbol& item : call.arg(0).items) {
    PARE_CHECK(item.is_tensor(), call.target(), ": expected tensors in the list, got ",
               item.describe());
    tensors.push_back(item.meta);
  }
  PARE_CHECK(!tensors.empty(), call.target(), ": expected a non-empty list of tensors");
  return tensors;
}

// The result of cat over `tensors` (pare/join_geometry.h, the engine's rule).
Symbol cat_symbol(const std::vector<TensorMeta>& tensors, int64_t dim) {
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  for (const TensorMeta& tensor : tensors) {
    shapes.push_back(tensor.shape);
    dtypes.push_back(tensor.dtype);
  }
  const CatGeometry geometry = cat_geometry(shapes, dtypes, dim);
  return Symbol::of(geometry.shape, geometry.dtype);
}

Symbol infer_cat(const OpCall& call) {
  return cat_symbol(list_of_tensors(call), call.integer("dim"));
}

// stack is cat along a new size-1 dim.
Symbol infer_stack(const OpCall& call) {
  std::vector<TensorMeta> tensors = list_of_tensors(call);
  std::vector<Shape> shapes;
  for (const TensorMeta& tensor : tensors) shapes.push_back(tensor.shape);
  const int64_t d = stack_dim(shapes, call.integer("dim"));
  for (TensorMeta& tensor : tensors) tensor.shape.insert(tensor.shape.begin() + d, 1);
  return cat_symbol(tensors, d);
}

FunctionKernel bind_join(const OpCall& call) {
  const std::vector<Argument>& node_args = call.node().args();
  PARE_CHECK(!node_args.empty() && node_args[0].is_list(), call.target(),
             ": expected a list of tensors as the first argument");
  for (const Argument& item : node_args[0].to_list()) {
    PARE_CHECK(item.is_node(), call.target(), ": expected node references in the list, got ", item);
  }
  const int64_t dim = call.integer("dim");
  const bool stack = call.target() == "stack";
  return [stack, dim](const std::vector<Value>& args) {
    std::vector<Tensor> tensors;
    for (const Value& item : args.at(0).items()) tensors.push_back(item.tensor());
    return Value(stack ? pare::stack(tensors, dim) : pare::cat(tensors, dim));
  };
}

// ---- split, chunk ----

// The pieces of a split along geometry.dim, as a tuple.
Symbol pieces(const TensorMeta& x, const SplitGeometry& geometry) {
  std::vector<Symbol> items;
  Shape piece = x.shape;
  for (int64_t length : geometry.lengths) {
    piece[geometry.dim] = length;
    items.push_back(Symbol::of(piece, x.dtype));
  }
  return Symbol::tuple(std::move(items));
}

// torch.split calls its size split_size_or_sections, Tensor.split split_size; only the size form
// is supported, not a list of sections.
int64_t split_size(const OpCall& call) {
  const std::string_view key =
      call.has("split_size_or_sections") ? "split_size_or_sections" : "split_size";
  call.require(key);
  PARE_CHECK(!call.literal(key)->is_list(), "split: a list of section sizes is not supported, got ",
             *call.literal(key));
  return call.integer(key);
}

Symbol infer_split(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  return pieces(x, split_geometry(x.shape, split_size(call), call.integer("dim")));
}

FunctionKernel bind_split(const OpCall& call) {
  call.require_tensor_args(1);
  const int64_t size = split_size(call);
  const int64_t dim = call.integer("dim");
  return [size, dim](const std::vector<Value>& args) {
    return tuple_of(pare::split(tensor_at(args, 0), size, dim));
  };
}

Symbol infer_chunk(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  return pieces(x, chunk_geometry(x.shape, call.integer("chunks"), call.integer("dim")));
}

FunctionKernel bind_chunk(const OpCall& call) {
  call.require_tensor_args(1);
  const int64_t chunks = call.integer("chunks");
  const int64_t dim = call.integer("dim");
  return [chunks, dim](const std::vector<Value>& args) {
    return tuple_of(pare::chunk(tensor_at(args, 0), chunks, dim));
  };
}

// ---- Channel rules ----

// cat: tensor k's axis `dim` is the output's [o_k, o_k + size_k); the other axes are the same.
ChannelRule cat_channels(const OpCall& call, const Symbol& output) {
  ChannelRule rule;
  const std::vector<TensorMeta> tensors = list_of_tensors(call);
  const int64_t rank = static_cast<int64_t>(output.meta.shape.size());
  const int64_t d = wrap_dim(call.integer("dim"), rank, "cat");
  int64_t offset = 0;
  for (size_t k = 0; k < tensors.size(); ++k) {
    const ChannelTensor item = ChannelTensor::input(0, static_cast<int64_t>(k));
    // torch's cat skips empty 1-d tensors.
    if (static_cast<int64_t>(tensors[k].shape.size()) != rank) continue;
    for (int64_t axis = 0; axis < rank; ++axis) {
      if (axis == d) {
        rule.link({item, axis}, {ChannelTensor::output(), axis}, {.offset = offset, .block = 1});
      } else {
        rule.same({item, axis}, {ChannelTensor::output(), axis});
      }
    }
    offset += tensors[k].shape[d];
  }
  return rule;
}

// stack: the tensors' axes are the output's, past the new axis `dim`, which holds one index per
// tensor and blocks.
ChannelRule stack_channels(const OpCall& call, const Symbol& output) {
  ChannelRule rule;
  const std::vector<TensorMeta> tensors = list_of_tensors(call);
  const int64_t rank = static_cast<int64_t>(output.meta.shape.size());
  const int64_t d = wrap_dim(call.integer("dim"), rank, "stack");
  for (size_t k = 0; k < tensors.size(); ++k) {
    const ChannelTensor item = ChannelTensor::input(0, static_cast<int64_t>(k));
    for (int64_t axis = 0; axis + 1 < rank; ++axis)
      rule.same({item, axis}, {ChannelTensor::output(), axis < d ? axis : axis + 1});
  }
  rule.block({ChannelTensor::output(), d}, "stack: the new axis holds one index per tensor");
  return rule;
}

// split and chunk: the other axes are the same as the input's; the split axis blocks, because
// their pieces are equal by a literal size (split_size, chunks), so removing indices from one
// piece would move every later boundary.
ChannelRule pieces_channels(const OpCall& call, const Symbol& output) {
  ChannelRule rule;
  const Shape& shape = call.tensor(0).shape;
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t d = wrap_dim(call.integer("dim"), rank, call.target().c_str());
  const std::string reason =
      str_cat(call.target(), ": cuts axis ", d, " of ", shape,
              " into pieces of a literal size, so removing indices would move the boundaries");
  rule.block({ChannelTensor::input(0), d}, reason);
  for (size_t k = 0; k < output.items.size(); ++k) {
    const ChannelTensor piece = ChannelTensor::output(static_cast<int64_t>(k));
    for (int64_t axis = 0; axis < rank; ++axis) {
      if (axis == d) {
        rule.block({piece, axis}, reason);
      } else {
        rule.same({piece, axis}, {ChannelTensor::input(0), axis});
      }
    }
  }
  return rule;
}

OpDefinition join_definition(std::string name, std::string summary, Symbol (*infer)(const OpCall&),
                             ChannelRule (*channel_rule)(const OpCall&, const Symbol&)) {
  return {.name = std::move(name),
          .family = "joining",
          .summary = std::move(summary),
          .params = {required_param("tensors", Type::tensor_list, 0),
                     param("dim", Type::integer, 1, 0)},
          .infer = infer,
          .bind = &bind_join,
          .channel_rule = channel_rule};
}

}  // namespace

std::vector<OpDefinition> joining_ops() {
  std::vector<OpDefinition> ops;
  ops.push_back(join_definition("cat", "concatenates tensors along an existing dim", &infer_cat,
                                &cat_channels));
  ops.push_back(join_definition("stack", "stacks equal-shaped tensors along a new dim",
                                &infer_stack, &stack_channels));
  ops.push_back({.name = "split",
                 .family = "joining",
                 .summary = "a tuple of pieces of split_size along dim (the last may be shorter)",
                 .params = {required_param("input", Type::tensor, 0),
                            required_param("split_size", Type::integer, 1),
                            param("split_size_or_sections", Type::integer, kKeywordOnly),
                            param("dim", Type::integer, 2, 0)},
                 .infer = &infer_split,
                 .bind = &bind_split,
                 .channel_rule = &pieces_channels});
  ops.push_back(
      {.name = "chunk",
       .family = "joining",
       .summary = "a tuple of at most `chunks` equal pieces along dim",
       .params = {required_param("input", Type::tensor, 0),
                  required_param("chunks", Type::integer, 1), param("dim", Type::integer, 2, 0)},
       .infer = &infer_chunk,
       .bind = &bind_chunk,
       .channel_rule = &pieces_channels});
  return ops;
}

}  // namespace pare::ir::ops
