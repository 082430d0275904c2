// softmax and log_softmax along `dim`, as torch.nn.functional takes them (dim required, no dtype).
#include "families.h"
#include "pare/functional.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;

Symbol infer_softmax(const OpCall& call) {
  const TensorMeta& x = call.float_tensor(0);
  wrap_dim(call.integer("dim"), static_cast<int64_t>(x.shape.size()), call.target().c_str());
  return Symbol::of(x.shape);
}

FunctionKernel bind_softmax(const OpCall& call) {
  call.require_tensor_args(1);
  const int64_t dim = call.integer("dim");
  const bool log = call.target() == "log_softmax";
  return [log, dim](const std::vector<Value>& args) {
    return Value(log ? pare::log_softmax(tensor_at(args, 0), dim)
                     : pare::softmax(tensor_at(args, 0), dim));
  };
}

OpDefinition softmax_definition(std::string name, std::string summary) {
  return {
      .name = std::move(name),
      .family = "softmax",
      .summary = std::move(summary),
      .params = {required_param("input", Type::tensor, 0), required_param("dim", Type::integer, 1)},
      .infer = &infer_softmax,
      .bind = &bind_softmax};
}

}  // namespace

std::vector<OpDefinition> softmax_ops() {
  std::vector<OpDefinition> ops;
  ops.push_back(softmax_definition("softmax", "exp(x) / sum(exp(x)) along dim"));
  ops.push_back(softmax_definition("log_softmax", "log(softmax(x)) along dim, computed stably"));
  return ops;
}

}  // namespace pare::ir::ops
