// The reductions sum, mean, norm and var (over `dim`: one dim, a list, or every dim when absent),
// max and min (of everything; along one dim as (values, int64 indices); or, given two tensors,
// elementwise as maximum and minimum), and argmax and argmin.
#include "pare/reduction.h"

#include <cmath>

#include "channel_rules.h"
#include "families.h"
#include "pare/error.h"
#include "pare/reduction_geometry.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;

// A reduction's `dim`: absent or None reduces every dim (an empty list), else one int or a list.
Shape reduction_dims(const OpCall& call) {
  if (!call.has("dim")) return {};
  if (call.value("dim").is_int()) return {call.integer("dim")};
  return call.ints("dim");
}

// torch.norm's `p`: "fro" (the default) is 2, "inf" is INFINITY (how the engine reports it, as
// JSON has no infinity), else a number.
double norm_order(const OpCall& call) {
  const Argument& p = call.value("p");
  if (!p.is_string()) return p.to_double(call.what("p"));
  const std::string& name = p.to_string(call.what("p"));
  PARE_CHECK(name == "fro" || name == "inf", call.what("p"),
             ": expected a number, \"fro\" or \"inf\", got \"", name, "\"");
  return name == "fro" ? 2.0 : INFINITY;
}

Shape reduced_shape(const OpCall& call) {
  return reduction_geometry(call.tensor(0).shape, reduction_dims(call), call.flag("keepdim"),
                            call.target().c_str())
      .output_shape;
}

// sum: integer and bool tensors sum to int64.
Symbol infer_sum(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  const Shape out = reduced_shape(call);
  return Symbol::of(out, sum_dtype(x.dtype));
}

// mean, norm and var: float32 only.
Symbol infer_float_reduction(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  const Shape out = reduced_shape(call);
  check_float_reduction(x.shape, x.dtype, call.target().c_str());
  if (call.target() == "norm") check_norm_order(norm_order(call), x.shape);
  return Symbol::of(out);
}

using DimsReduction = Tensor (*)(const Tensor&, const Shape&, bool);

FunctionKernel dims_reduction_kernel(const OpCall& call, DimsReduction op) {
  call.require_tensor_args(1);
  const Shape dims = reduction_dims(call);
  const bool keepdim = call.flag("keepdim");
  return [op, dims, keepdim](const std::vector<Value>& args) {
    return Value(op(tensor_at(args, 0), dims, keepdim));
  };
}

FunctionKernel bind_norm(const OpCall& call) {
  call.require_tensor_args(1);
  const double p = norm_order(call);
  const Shape dims = reduction_dims(call);
  const bool keepdim = call.flag("keepdim");
  return [p, dims, keepdim](const std::vector<Value>& args) {
    return Value(pare::norm(tensor_at(args, 0), p, dims, keepdim));
  };
}

FunctionKernel bind_var(const OpCall& call) {
  call.require_tensor_args(1);
  const Shape dims = reduction_dims(call);
  const bool unbiased = call.flag("unbiased");
  const bool keepdim = call.flag("keepdim");
  return [dims, unbiased, keepdim](const std::vector<Value>& args) {
    return Value(pare::var(tensor_at(args, 0), dims, unbiased, keepdim));
  };
}

// The shape of max / min / argmax / argmin along `dim` (0-d inputs give 0-d results).
Shape extreme_along_shape(const Shape& shape, int64_t dim, bool keepdim, const std::string& op) {
  return along_dim_geometry(shape, dim, keepdim, op.c_str()).shape;
}

// max(a, b) and min(a, b) are maximum and minimum, which take no dim or keepdim.
bool is_elementwise_extreme(const OpCall& call) {
  if (!call.is_node_arg(1)) return false;
  PARE_CHECK(call.node().kwarg("dim") == nullptr && call.literal("keepdim") == nullptr,
             call.target(), ": dim and keepdim apply to a reduction, not to the ", call.target(),
             " of two tensors");
  return true;
}

const OpDefinition& elementwise_extreme(const OpCall& call) {
  return op_definition(call.target() == "max" ? "maximum" : "minimum");
}

Symbol infer_max_or_min(const OpCall& call) {
  if (is_elementwise_extreme(call)) return elementwise_extreme(call).infer(call);
  const TensorMeta& x = call.tensor(0);
  if (!call.has("dim")) {
    check_whole_extreme(x.shape, call.target().c_str());
    return Symbol::of({}, x.dtype);
  }
  const Shape out =
      extreme_along_shape(x.shape, call.integer("dim"), call.flag("keepdim"), call.target());
  return Symbol::tuple({Symbol::of(out, x.dtype), Symbol::of(out, kInt64)});
}

FunctionKernel bind_max_or_min(const OpCall& call) {
  call.require_tensor_args(1);
  if (is_elementwise_extreme(call)) return elementwise_extreme(call).bind(call);
  const bool largest = call.target() == "max";
  const bool keepdim = call.flag("keepdim");
  if (!call.has("dim")) {
    PARE_CHECK(!keepdim, call.target(), ": keepdim needs a dim");
    return [largest](const std::vector<Value>& args) {
      return Value(largest ? pare::max(tensor_at(args, 0)) : pare::min(tensor_at(args, 0)));
    };
  }
  const int64_t dim = call.integer("dim");
  return [largest, dim, keepdim](const std::vector<Value>& args) {
    const Tensor& x = tensor_at(args, 0);
    auto [values, indices] = largest ? pare::max(x, dim, keepdim) : pare::min(x, dim, keepdim);
    return Value(std::vector<Value>{values, indices});
  };
}

// argmax / argmin; without a dim, torch's index into the flattened input (keepdim ignored).
Symbol infer_arg_extreme(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  if (!call.has("dim")) {
    return Symbol::of(extreme_along_shape({shape_numel(x.shape)}, 0, false, call.target()), kInt64);
  }
  return Symbol::of(
      extreme_along_shape(x.shape, call.integer("dim"), call.flag("keepdim"), call.target()),
      kInt64);
}

FunctionKernel bind_arg_extreme(const OpCall& call) {
  call.require_tensor_args(1);
  const bool largest = call.target() == "argmax";
  const bool has_dim = call.has("dim");
  const int64_t dim = has_dim ? call.integer("dim") : 0;
  const bool keepdim = call.flag("keepdim");
  return [largest, has_dim, dim, keepdim](const std::vector<Value>& args) {
    const Tensor x = has_dim ? tensor_at(args, 0) : tensor_at(args, 0).reshape({-1});
    const bool keep = has_dim && keepdim;
    return Value(largest ? pare::argmax(x, dim, keep) : pare::argmin(x, dim, keep));
  };
}

// ---- Channel rules ----

// The reductions: the axes a call reduces stop there (sum and mean end a group: the result no
// longer has the axis; norm, var, max, min and the arg reductions block it: every output depends
// on every index), the others are the same as the output's.
ChannelRule reduction_channels(const OpCall& call, const Symbol& output) {
  if (call.target() == "max" || call.target() == "min") {
    if (is_elementwise_extreme(call)) return elementwise_channels(call, output);
  }
  ChannelRule rule;
  const Shape& shape = call.tensor(0).shape;
  const int64_t rank = static_cast<int64_t>(shape.size());
  const bool over_dims = call.target() == "sum" || call.target() == "mean" ||
                         call.target() == "norm" || call.target() == "var";
  Shape dims = over_dims ? reduction_dims(call) : Shape{};
  if (!over_dims && call.has("dim")) dims = {call.integer("dim")};
  const bool keepdim = (over_dims || call.has("dim")) && call.flag("keepdim");
  std::vector<bool> reduced(rank, dims.empty());
  for (int64_t dim : dims)
    if (rank > 0) reduced[wrap_dim(dim, rank, call.target().c_str())] = true;
  const bool ends = call.target() == "sum" || call.target() == "mean";
  std::vector<ChannelTensor> outputs;
  if (output.is_tensor()) {
    outputs.push_back(ChannelTensor::output());
  } else {
    for (size_t item = 0; item < output.items.size(); ++item)
      outputs.push_back(ChannelTensor::output(static_cast<int64_t>(item)));
  }
  int64_t out_axis = 0;
  for (int64_t axis = 0; axis < rank; ++axis) {
    if (!reduced[axis]) {
      for (const ChannelTensor& out : outputs)
        rule.same({ChannelTensor::input(0), axis}, {out, out_axis});
      ++out_axis;
      continue;
    }
    if (ends) {
      rule.reduce({ChannelTensor::input(0), axis},
                  str_cat(call.target(), " over axis ", axis, ": the group ends here"));
    } else {
      rule.block({ChannelTensor::input(0), axis},
                 str_cat(call.target(), " over axis ", axis,
                         ": every output depends on every index of it"));
    }
    if (keepdim) {
      for (const ChannelTensor& out : outputs) rule.broadcast({out, out_axis});
      ++out_axis;
    }
  }
  return rule;
}

OpParam input() { return required_param("input", Type::tensor, 0); }
OpParam keepdim(int position) { return param("keepdim", Type::boolean, position, false); }

OpDefinition reduction(std::string name, std::string summary, std::vector<OpParam> params,
                       Symbol (*infer)(const OpCall&), FunctionKernel (*bind)(const OpCall&)) {
  return {.name = std::move(name),
          .family = "reduction",
          .summary = std::move(summary),
          .params = std::move(params),
          .infer = infer,
          .bind = bind,
          .channel_rule = &reduction_channels};
}

}  // namespace

std::vector<OpDefinition> reduction_ops() {
  const std::vector<OpParam> over_dims = {input(), param("dim", Type::dims, 1), keepdim(2)};
  const std::vector<OpParam> along_dim = {input(), param("dim", Type::optional_integer, 1),
                                          keepdim(2)};
  std::vector<OpDefinition> ops;
  ops.push_back(
      reduction("sum", "the sum over dim (every dim when absent); integers and bools sum to int64",
                over_dims, &infer_sum, [](const OpCall& c) {
                  return dims_reduction_kernel(c, static_cast<DimsReduction>(&pare::sum));
                }));
  ops.push_back(reduction("mean", "the mean over dim (every dim when absent)", over_dims,
                          &infer_float_reduction, [](const OpCall& c) {
                            return dims_reduction_kernel(c,
                                                         static_cast<DimsReduction>(&pare::mean));
                          }));
  ops.push_back(reduction("max",
                          "the largest element; along dim, (values, int64 indices); of two "
                          "tensors, their maximum",
                          along_dim, &infer_max_or_min, &bind_max_or_min));
  ops.push_back(reduction("min",
                          "the smallest element; along dim, (values, int64 indices); of two "
                          "tensors, their minimum",
                          along_dim, &infer_max_or_min, &bind_max_or_min));
  ops.push_back(reduction("argmax",
                          "the int64 index of the first maximum along dim (of the flattened "
                          "input when absent)",
                          along_dim, &infer_arg_extreme, &bind_arg_extreme));
  ops.push_back(reduction("argmin",
                          "the int64 index of the first minimum along dim (of the flattened "
                          "input when absent)",
                          along_dim, &infer_arg_extreme, &bind_arg_extreme));
  ops.push_back(reduction(
      "norm", "the p-norm over dim (every dim when absent)",
      {input(), param("p", Type::norm_order, 1, "fro"), param("dim", Type::dims, 2), keepdim(3)},
      &infer_float_reduction, &bind_norm));
  ops.push_back(reduction(
      "var", "the variance over dim, with Bessel's correction when unbiased",
      {input(), param("dim", Type::dims, 1), param("unbiased", Type::boolean, 2, true), keepdim(3)},
      &infer_float_reduction, &bind_var));
  return ops;
}

}  // namespace pare::ir::ops
