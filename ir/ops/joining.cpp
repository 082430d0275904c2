// Joining and splitting: cat, stack, split and chunk, as torch takes them. cat and stack receive
// their tensors as one list argument; split and chunk return a tuple of pieces. The shape rules
// restate the checks of the engine's ops (indexing.cpp).
#include <algorithm>

#include "families.h"
#include "pare/checked_math.h"
#include "pare/error.h"
#include "pare/indexing.h"

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

TensorMeta cat_meta(const std::vector<TensorMeta>& tensors, int64_t dim) {
  // Like PyTorch, 1-d empty tensors are skipped whatever the other ranks are.
  std::vector<size_t> parts;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (!(tensors[i].shape.size() == 1 && tensors[i].shape[0] == 0)) parts.push_back(i);
  if (parts.empty()) parts.push_back(0);
  const TensorMeta& first = tensors[parts[0]];
  PARE_CHECK(!first.shape.empty(), "cat: zero-dimensional tensor (at position ", parts[0],
             ") cannot be concatenated");
  const int64_t rank = static_cast<int64_t>(first.shape.size());
  const int64_t d = wrap_dim(dim, rank, "cat");
  Shape out = first.shape;
  out[d] = 0;
  for (size_t i : parts) {
    const TensorMeta& t = tensors[i];
    PARE_CHECK(t.dtype == first.dtype, "cat: expected all tensors to be ", dtype_name(first.dtype),
               ", got ", dtype_name(t.dtype), " at position ", i);
    bool compatible = static_cast<int64_t>(t.shape.size()) == rank;
    for (int64_t k = 0; compatible && k < rank; ++k)
      compatible = k == d || t.shape[k] == first.shape[k];
    PARE_CHECK(compatible, "cat: sizes must match except in dim ", d, ", got shapes ", first.shape,
               " (position ", parts[0], ") and ", t.shape, " (position ", i, ")");
    out[d] = checked_add(out[d], t.shape[d], "cat: dim ", d, " of shapes ", first.shape, " and ",
                         t.shape);
  }
  return TensorMeta{out, first.dtype};
}

Symbol infer_cat(const OpCall& call) {
  const TensorMeta meta = cat_meta(list_of_tensors(call), call.integer("dim"));
  return Symbol::of(meta.shape, meta.dtype);
}

Symbol infer_stack(const OpCall& call) {
  const std::vector<TensorMeta> tensors = list_of_tensors(call);
  const Shape& shape = tensors[0].shape;
  const int64_t d = wrap_dim(call.integer("dim"), static_cast<int64_t>(shape.size()) + 1, "stack");
  std::vector<TensorMeta> expanded;
  for (size_t i = 0; i < tensors.size(); ++i) {
    PARE_CHECK(tensors[i].shape == shape, "stack: expects each tensor to be equal size, but got ",
               shape, " at entry 0 and ", tensors[i].shape, " at entry ", i);
    TensorMeta item = tensors[i];
    item.shape.insert(item.shape.begin() + d, 1);
    expanded.push_back(item);
  }
  const TensorMeta meta = cat_meta(expanded, d);
  return Symbol::of(meta.shape, meta.dtype);
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

// The pieces of split(x, split_size, dim), as a tuple.
Symbol split_pieces(const TensorMeta& x, int64_t split_size, int64_t dim) {
  PARE_CHECK(!x.shape.empty(), "split: cannot split a 0-d tensor");
  const int64_t d = wrap_dim(dim, static_cast<int64_t>(x.shape.size()), "split");
  const int64_t length = x.shape[d];
  PARE_CHECK(split_size > 0 || (split_size == 0 && length == 0), "split: split_size must be ",
             "positive, got ", split_size, " for dim ", d, " of shape ", x.shape);
  std::vector<Symbol> pieces;
  Shape piece = x.shape;
  if (length == 0) {
    pieces.push_back(Symbol::of(piece, x.dtype));
  } else {
    for (int64_t start = 0; start < length; start += split_size) {
      piece[d] = std::min(split_size, length - start);
      pieces.push_back(Symbol::of(piece, x.dtype));
    }
  }
  return Symbol::tuple(std::move(pieces));
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
  return split_pieces(call.tensor(0), split_size(call), call.integer("dim"));
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
  const int64_t chunks = call.integer("chunks");
  PARE_CHECK(chunks > 0, "chunk: chunks must be positive, got ", chunks);
  PARE_CHECK(!x.shape.empty(), "chunk: cannot chunk a 0-d tensor");
  const int64_t d = wrap_dim(call.integer("dim"), static_cast<int64_t>(x.shape.size()), "chunk");
  const int64_t length = x.shape[d];
  return split_pieces(x, length <= 0 ? 0 : (length - 1) / chunks + 1, d);
}

FunctionKernel bind_chunk(const OpCall& call) {
  call.require_tensor_args(1);
  const int64_t chunks = call.integer("chunks");
  const int64_t dim = call.integer("dim");
  return [chunks, dim](const std::vector<Value>& args) {
    return tuple_of(pare::chunk(tensor_at(args, 0), chunks, dim));
  };
}

OpDefinition join_definition(std::string name, std::string summary,
                             Symbol (*infer)(const OpCall&)) {
  return {.name = std::move(name),
          .family = "joining",
          .summary = std::move(summary),
          .params = {required_param("tensors", Type::tensor_list, 0),
                     param("dim", Type::integer, 1, 0)},
          .infer = infer,
          .bind = &bind_join};
}

}  // namespace

std::vector<OpDefinition> joining_ops() {
  std::vector<OpDefinition> ops;
  ops.push_back(join_definition("cat", "concatenates tensors along an existing dim", &infer_cat));
  ops.push_back(
      join_definition("stack", "stacks equal-shaped tensors along a new dim", &infer_stack));
  ops.push_back({.name = "split",
                 .family = "joining",
                 .summary = "a tuple of pieces of split_size along dim (the last may be shorter)",
                 .params = {required_param("input", Type::tensor, 0),
                            required_param("split_size", Type::integer, 1),
                            param("split_size_or_sections", Type::integer, kKeywordOnly),
                            param("dim", Type::integer, 2, 0)},
                 .infer = &infer_split,
                 .bind = &bind_split});
  ops.push_back(
      {.name = "chunk",
       .family = "joining",
       .summary = "a tuple of at most `chunks` equal pieces along dim",
       .params = {required_param("input", Type::tensor, 0),
                  required_param("chunks", Type::integer, 1), param("dim", Type::integer, 2, 0)},
       .infer = &infer_chunk,
       .bind = &bind_chunk});
  return ops;
}

}  // namespace pare::ir::ops
