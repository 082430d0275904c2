// The shape functions and tensor methods the tracer records: flatten, reshape / view, transpose,
// t, permute, select, slice, narrow, squeeze, unsqueeze and contiguous. Each shape rule is the
// one its Tensor method runs (pare/view_geometry.h), so both refuse the same calls alike.
#include <limits>
#include <numeric>

#include "channel_rules.h"
#include "families.h"
#include "layers.h"
#include "pare/functional.h"
#include "pare/nn/nn.h"
#include "pare/view_geometry.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;

// ---- flatten, reshape, view ----

Symbol infer_flatten(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  return Symbol::of(flatten_shape(x.shape, call.integer("start_dim"), call.integer("end_dim")),
                    x.dtype);
}

FunctionKernel bind_flatten(const OpCall& call) {
  call.require_tensor_args(1);
  const int64_t start_dim = call.integer("start_dim");
  const int64_t end_dim = call.integer("end_dim");
  return [start_dim, end_dim](const std::vector<Value>& args) {
    return Value(tensor_at(args, 0).flatten(start_dim, end_dim));
  };
}

// reshape and view name their shape differently (torch.reshape's `shape`, Tensor.view's `size`);
// both take either, as one list or as trailing ints (x.view(2, -1)).
Shape wanted_shape(const OpCall& call) {
  return call.ints_or_varargs(call.node().kwarg("size") ? "size" : "shape");
}

Symbol infer_reshape(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  // Both targets run as Tensor::reshape (bind_reshape), which checks its shape as the view it
  // makes, so both are checked as view.
  return Symbol::of(reshape_shape(x.shape, wanted_shape(call), "view"), x.dtype);
}

// view runs as reshape, as the tracer records Tensor::view: the same result, copied only where
// the input is not contiguous.
FunctionKernel bind_reshape(const OpCall& call) {
  call.require_tensor_args(1);
  const Shape shape = wanted_shape(call);
  return
      [shape](const std::vector<Value>& args) { return Value(tensor_at(args, 0).reshape(shape)); };
}

// ---- transpose, t, permute ----

Symbol infer_transpose(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  return Symbol::of(transpose_geometry(x.shape, call.integer("dim0"), call.integer("dim1")).shape,
                    x.dtype);
}

FunctionKernel bind_transpose(const OpCall& call) {
  call.require_tensor_args(1);
  const int64_t dim0 = call.integer("dim0");
  const int64_t dim1 = call.integer("dim1");
  return [dim0, dim1](const std::vector<Value>& args) {
    return Value(tensor_at(args, 0).transpose(dim0, dim1));
  };
}

Symbol infer_t(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  return Symbol::of(t_shape(x.shape), x.dtype);
}

FunctionKernel bind_t(const OpCall& call) {
  call.require_tensor_args(1);
  return [](const std::vector<Value>& args) { return Value(tensor_at(args, 0).t()); };
}

Symbol infer_permute(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  return Symbol::of(permute_geometry(x.shape, call.ints_or_varargs("dims")).shape, x.dtype);
}

FunctionKernel bind_permute(const OpCall& call) {
  call.require_tensor_args(1);
  const Shape dims = call.ints_or_varargs("dims");
  return [dims](const std::vector<Value>& args) { return Value(tensor_at(args, 0).permute(dims)); };
}

// ---- select, slice, narrow ----

Symbol infer_select(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  return Symbol::of(select_geometry(x.shape, call.integer("dim"), call.integer("index")).shape,
                    x.dtype);
}

FunctionKernel bind_select(const OpCall& call) {
  call.require_tensor_args(1);
  const int64_t dim = call.integer("dim");
  const int64_t index = call.integer("index");
  return [dim, index](const std::vector<Value>& args) {
    return Value(tensor_at(args, 0).select(dim, index));
  };
}

// slice's bounds; None (torch's default) is the start or the end of the dim.
struct SliceBounds {
  int64_t dim, start, end, step;
};

SliceBounds slice_bounds(const OpCall& call) {
  return {call.integer("dim"), call.has("start") ? call.integer("start") : 0,
          call.has("end") ? call.integer("end") : std::numeric_limits<int64_t>::max(),
          call.integer("step")};
}

Symbol infer_slice(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  const SliceBounds b = slice_bounds(call);
  return Symbol::of(slice_geometry(x.shape, b.dim, b.start, b.end, b.step).shape, x.dtype);
}

FunctionKernel bind_slice(const OpCall& call) {
  call.require_tensor_args(1);
  const SliceBounds b = slice_bounds(call);
  return [b](const std::vector<Value>& args) {
    return Value(tensor_at(args, 0).slice(b.dim, b.start, b.end, b.step));
  };
}

Symbol infer_narrow(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  return Symbol::of(
      narrow_geometry(x.shape, call.integer("dim"), call.integer("start"), call.integer("length"))
          .shape,
      x.dtype);
}

FunctionKernel bind_narrow(const OpCall& call) {
  call.require_tensor_args(1);
  const int64_t dim = call.integer("dim");
  const int64_t start = call.integer("start");
  const int64_t length = call.integer("length");
  return [=](const std::vector<Value>& args) {
    return Value(tensor_at(args, 0).narrow(dim, start, length));
  };
}

// ---- squeeze, unsqueeze, contiguous ----

Symbol infer_squeeze(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  return Symbol::of(
      call.has("dim") ? squeeze_shape(x.shape, call.integer("dim")) : squeeze_shape(x.shape),
      x.dtype);
}

FunctionKernel bind_squeeze(const OpCall& call) {
  call.require_tensor_args(1);
  const bool has_dim = call.has("dim");
  const int64_t dim = has_dim ? call.integer("dim") : 0;
  return [has_dim, dim](const std::vector<Value>& args) {
    const Tensor& x = tensor_at(args, 0);
    return Value(has_dim ? x.squeeze(dim) : x.squeeze());
  };
}

Symbol infer_unsqueeze(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  return Symbol::of(unsqueeze_shape(x.shape, call.integer("dim")), x.dtype);
}

FunctionKernel bind_unsqueeze(const OpCall& call) {
  call.require_tensor_args(1);
  const int64_t dim = call.integer("dim");
  return [dim](const std::vector<Value>& args) { return Value(tensor_at(args, 0).unsqueeze(dim)); };
}

Symbol infer_contiguous(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  return Symbol::of(x.shape, x.dtype);
}

FunctionKernel bind_contiguous(const OpCall& call) {
  call.require_tensor_args(1);
  return [](const std::vector<Value>& args) { return Value(tensor_at(args, 0).contiguous()); };
}

// ---- Channel rules ----

// transpose, t and permute move axes: output axis k is input axis order[k].
ChannelRule remap_channels(const Shape& order) {
  ChannelRule rule;
  for (size_t k = 0; k < order.size(); ++k)
    rule.same({ChannelTensor::input(0), order[k]},
              {ChannelTensor::output(), static_cast<int64_t>(k)});
  return rule;
}

Shape identity_order(const OpCall& call) {
  Shape order(call.tensor(0).shape.size());
  std::iota(order.begin(), order.end(), 0);
  return order;
}

ChannelRule transpose_channels(const OpCall& call, const Symbol&) {
  Shape order = identity_order(call);
  const int64_t rank = static_cast<int64_t>(order.size());
  if (rank > 0)
    std::swap(order[wrap_dim(call.integer("dim0"), rank, "transpose")],
              order[wrap_dim(call.integer("dim1"), rank, "transpose")]);
  return remap_channels(order);
}

ChannelRule t_channels(const OpCall& call, const Symbol&) {
  Shape order = identity_order(call);
  if (order.size() == 2) std::swap(order[0], order[1]);
  return remap_channels(order);
}

ChannelRule permute_channels(const OpCall& call, const Symbol&) {
  const int64_t rank = static_cast<int64_t>(call.tensor(0).shape.size());
  Shape order;
  for (int64_t dim : call.ints_or_varargs("dims")) order.push_back(wrap_dim(dim, rank, "permute"));
  return remap_channels(order);
}

// select, slice and narrow keep part of axis `dim` (select drops it): that axis blocks, unless a
// slice keeps all of it; the other axes are the same.
ChannelRule part_channels(const OpCall& call, const Symbol& output, int64_t dim, bool drops) {
  ChannelRule rule;
  const Shape& shape = call.tensor(0).shape;
  const int64_t rank = static_cast<int64_t>(shape.size());
  if (rank == 0) return rule;
  const int64_t d = wrap_dim(dim, rank, call.target().c_str());
  const ChannelTensor input = ChannelTensor::input(0);
  const ChannelTensor out = ChannelTensor::output();
  for (int64_t axis = 0; axis < rank; ++axis) {
    if (axis != d) {
      rule.same({input, axis}, {out, axis < d || !drops ? axis : axis - 1});
    } else if (!drops && output.meta.shape[d] == shape[d]) {
      rule.same({input, axis}, {out, axis});
    } else {
      const std::string reason =
          str_cat(call.target(), ": keeps part of axis ", d, " of ", shape,
                  ", so indices removed there would shift the part it keeps");
      rule.block({input, axis}, reason);
      if (!drops) rule.block({out, axis}, reason);
    }
  }
  return rule;
}

ChannelRule select_channels(const OpCall& call, const Symbol& output) {
  return part_channels(call, output, call.integer("dim"), true);
}

ChannelRule slice_channels(const OpCall& call, const Symbol& output) {
  return part_channels(call, output, call.integer("dim"), false);
}

OpParam input() { return required_param("input", Type::tensor, 0); }

}  // namespace

std::vector<OpDefinition> shape_ops() {
  std::vector<OpDefinition> ops;
  ops.push_back({.name = "flatten",
                 .family = "shape",
                 .summary = "merges dims start_dim..end_dim into one",
                 .params = {input(), param("start_dim", Type::integer, 1, 0),
                            param("end_dim", Type::integer, 2, -1)},
                 .infer = &infer_flatten,
                 .bind = &bind_flatten,
                 .lowering = Lowering::alias,
                 .channel_rule = &reshape_channels_of});
  ops.push_back({.name = "reshape",
                 .family = "shape",
                 .summary = "the same elements in a new shape (one size may be -1)",
                 .params = {input(), required_param("shape", Type::integers, 1),
                            param("size", Type::integers, kKeywordOnly)},
                 .infer = &infer_reshape,
                 .bind = &bind_reshape,
                 .lowering = Lowering::alias,
                 .channel_rule = &reshape_channels_of});
  ops.push_back({.name = "view",
                 .family = "shape",
                 .summary = "reshape, as Tensor.view records it",
                 .params = {input(), required_param("size", Type::integers, 1),
                            param("shape", Type::integers, kKeywordOnly)},
                 .infer = &infer_reshape,
                 .bind = &bind_reshape,
                 .lowering = Lowering::alias,
                 .channel_rule = &reshape_channels_of});
  ops.push_back({.name = "transpose",
                 .family = "shape",
                 .summary = "swaps dims dim0 and dim1 (a view)",
                 .params = {input(), required_param("dim0", Type::integer, 1),
                            required_param("dim1", Type::integer, 2)},
                 .infer = &infer_transpose,
                 .bind = &bind_transpose,
                 .channel_rule = &transpose_channels});
  ops.push_back({.name = "t",
                 .family = "shape",
                 .summary = "transposes a tensor of rank <= 2",
                 .params = {input()},
                 .infer = &infer_t,
                 .bind = &bind_t,
                 .channel_rule = &t_channels});
  ops.push_back({.name = "permute",
                 .family = "shape",
                 .summary = "reorders the dims (a view)",
                 .params = {input(), required_param("dims", Type::integers, 1)},
                 .infer = &infer_permute,
                 .bind = &bind_permute,
                 .channel_rule = &permute_channels});
  ops.push_back({.name = "select",
                 .family = "shape",
                 .summary = "the slice at `index` along dim, with dim removed (a view)",
                 .params = {input(), required_param("dim", Type::integer, 1),
                            required_param("index", Type::integer, 2)},
                 .infer = &infer_select,
                 .bind = &bind_select,
                 .channel_rule = &select_channels});
  ops.push_back(
      {.name = "slice",
       .family = "shape",
       .summary = "x[start:end:step] along dim (a view)",
       .params = {input(), param("dim", Type::integer, 1, 0),
                  param("start", Type::optional_integer, 2),
                  param("end", Type::optional_integer, 3), param("step", Type::integer, 4, 1)},
       .infer = &infer_slice,
       .bind = &bind_slice,
       .channel_rule = &slice_channels});
  ops.push_back({.name = "narrow",
                 .family = "shape",
                 .summary = "`length` elements from `start` along dim (a view)",
                 .params = {input(), required_param("dim", Type::integer, 1),
                            required_param("start", Type::integer, 2),
                            required_param("length", Type::integer, 3)},
                 .infer = &infer_narrow,
                 .bind = &bind_narrow,
                 .channel_rule = &slice_channels});
  ops.push_back({.name = "squeeze",
                 .family = "shape",
                 .summary = "removes size-1 dims (only `dim`, when given)",
                 .params = {input(), param("dim", Type::optional_integer, 1)},
                 .infer = &infer_squeeze,
                 .bind = &bind_squeeze,
                 .channel_rule = &reshape_channels_of});
  ops.push_back({.name = "unsqueeze",
                 .family = "shape",
                 .summary = "inserts a size-1 dim at dim",
                 .params = {input(), required_param("dim", Type::integer, 1)},
                 .infer = &infer_unsqueeze,
                 .bind = &bind_unsqueeze,
                 .channel_rule = &reshape_channels_of});
  ops.push_back({.name = "contiguous",
                 .family = "shape",
                 .summary = "the tensor in contiguous memory (a copy only when needed)",
                 .params = {input()},
                 .infer = &infer_contiguous,
                 .bind = &bind_contiguous,
                 .lowering = Lowering::alias,
                 .channel_rule = &reshape_channels_of});
  return ops;
}

// ---- The Flatten and Identity layers: flatten, and the view that changes nothing ----

namespace {

std::shared_ptr<nn::Module> build_flatten(const AttrReader& attrs) {
  return std::make_shared<nn::FlattenImpl>(attrs.get_int("start_dim"), attrs.get_int("end_dim"));
}

Symbol infer_flatten_layer(const nn::Module& module, const TensorMeta& x) {
  const Attrs config = module.config();
  return Symbol::of(flatten_shape(x.shape, config_int(config, "start_dim", module),
                                  config_int(config, "end_dim", module)),
                    x.dtype);
}

Symbol infer_identity_layer(const nn::Module&, const TensorMeta& x) {
  return Symbol::of(x.shape, x.dtype);
}

ChannelRule flatten_layer_channels(const nn::Module& module, const std::vector<Symbol>& args,
                                   const Symbol& output) {
  ChannelRule rule;
  reshape_channels(rule, ChannelTensor::input(0), single_input(args, module).shape,
                   ChannelTensor::output(), output.meta.shape, "Flatten");
  return rule;
}

}  // namespace

std::vector<LayerDefinition> shape_layers() {
  std::vector<LayerDefinition> layers;
  layers.push_back({.type_name = "Flatten",
                    .kind = nn::ModuleKind::flatten,
                    .attributes = {"start_dim", "end_dim"},
                    .factory = &build_flatten,
                    .infer = &unary_layer<&infer_flatten_layer>,
                    .channel_rule = &flatten_layer_channels});
  layers.push_back({.type_name = "Identity",
                    .kind = nn::ModuleKind::identity,
                    .attributes = {},
                    .factory = &build_without_attributes<nn::IdentityImpl>,
                    .infer = &unary_layer<&infer_identity_layer>,
                    .channel_rule = &elementwise_layer_channels});
  return layers;
}

}  // namespace pare::ir::ops
