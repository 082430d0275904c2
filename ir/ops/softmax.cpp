// softmax and log_softmax along `dim`, with torch.nn.functional's signature; pare needs the dim
// given (torch's implicit choice for None is deprecated) and computes in the input's dtype.
#include "channel_rules.h"
#include "families.h"
#include "pare/error.h"
#include "pare/functional.h"
#include "pare/softmax_geometry.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;

int64_t softmax_dim(const OpCall& call) {
  PARE_CHECK(call.has("dim"), call.target(), ": missing argument 'dim'");
  PARE_CHECK(!call.has("dtype"), call.target(), ": the dtype argument is not supported, got ",
             *call.literal("dtype"));
  return call.integer("dim");
}

Symbol infer_softmax(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  softmax_geometry(x.shape, x.dtype, softmax_dim(call), call.target().c_str());
  return Symbol::of(x.shape);
}

FunctionKernel bind_softmax(const OpCall& call) {
  call.require_tensor_args(1);
  const int64_t dim = softmax_dim(call);
  const bool log = call.target() == "log_softmax";
  return [log, dim](const std::vector<Value>& args) {
    return Value(log ? pare::log_softmax(tensor_at(args, 0), dim)
                     : pare::softmax(tensor_at(args, 0), dim));
  };
}

// softmax along `dim` mixes every index of that axis: it blocks; the other axes are the same.
ChannelRule softmax_channels(const OpCall& call, const Symbol& output) {
  ChannelRule rule;
  const int64_t rank = static_cast<int64_t>(output.meta.shape.size());
  if (rank == 0) return rule;
  const int64_t d = wrap_dim(softmax_dim(call), rank, call.target().c_str());
  for (int64_t axis = 0; axis < rank; ++axis) {
    if (axis != d) {
      rule.same({ChannelTensor::input(0), axis}, {ChannelTensor::output(), axis});
      continue;
    }
    const std::string reason = str_cat(call.target(), " over dim ", d,
                                       ": every output depends on every index of that axis");
    rule.block({ChannelTensor::input(0), axis}, reason)
        .block({ChannelTensor::output(), axis}, reason);
  }
  return rule;
}

OpDefinition softmax_definition(std::string name, std::string summary) {
  return {
      .name = std::move(name),
      .family = "softmax",
      .summary = std::move(summary),
      .params = {required_param("input", Type::tensor, 0), param("dim", Type::optional_integer, 1),
                 param("dtype", Type::optional_dtype, 3)},
      .infer = &infer_softmax,
      .bind = &bind_softmax,
      .channel_rule = &softmax_channels};
}

}  // namespace

std::vector<OpDefinition> softmax_ops() {
  std::vector<OpDefinition> ops;
  ops.push_back(softmax_definition("softmax", "exp(x) / sum(exp(x)) along dim"));
  ops.push_back(softmax_definition("log_softmax", "log(softmax(x)) along dim, computed stably"));
  return ops;
}

}  // namespace pare::ir::ops
