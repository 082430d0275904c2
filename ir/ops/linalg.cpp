// The matrix products matmul (torch.matmul's rules: 1-d operands promoted and the added dim
// removed, batch dims broadcast), mm (2-d only) and bmm (3-d, equal batches), float32 only, with
// their multiply-accumulate counts.
#include "pare/linalg.h"

#include "channel_rules.h"
#include "families.h"
#include "pare/checked_math.h"
#include "pare/matmul_geometry.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;

MatrixProduct product_of(const std::string& target) {
  if (target == "mm") return MatrixProduct::mm;
  if (target == "bmm") return MatrixProduct::bmm;
  return MatrixProduct::matmul;
}

Symbol infer_matmul(const OpCall& call) {
  const TensorMeta& a = call.tensor(0);
  const TensorMeta& b = call.tensor(1);
  return Symbol::of(
      matmul_geometry(product_of(call.target()), a.shape, a.dtype, b.shape, b.dtype).shape);
}

// Each output element is one dot product of length k (the left operand's last dim): the
// broadcast batch times m * n * k. The dims a 1-d operand lacks count 1, as in the output.
int64_t matmul_macs(const OpCall& call, const Symbol& output) {
  const int64_t k = call.tensor(0).shape.back();
  return checked_mul(shape_numel(output.meta.shape), k, call.target(), ": MACs of shapes ",
                     call.tensor(0).shape, " and ", call.tensor(1).shape);
}

// a [..., m, k] x b [..., k, n]: the contracted axes k are one space (a parameter operand makes
// it a linear layer); m and n follow their operand into the output; the batch axes broadcast.
ChannelRule matmul_channels(const OpCall& call, const Symbol& output) {
  ChannelRule rule;
  const Shape& a = call.tensor(0).shape;
  const Shape& b = call.tensor(1).shape;
  const Shape& out = output.meta.shape;
  const int64_t ra = static_cast<int64_t>(a.size());
  const int64_t rb = static_cast<int64_t>(b.size());
  const int64_t r = static_cast<int64_t>(out.size());
  const ChannelTensor left = ChannelTensor::input(0);
  const ChannelTensor right = ChannelTensor::input(1);
  const ChannelTensor result = ChannelTensor::output();
  rule.same({left, ra - 1}, {right, rb == 1 ? 0 : rb - 2});
  const int64_t batch = r - (ra > 1 ? 1 : 0) - (rb > 1 ? 1 : 0);
  if (ra > 1) rule.same({left, ra - 2}, {result, batch});
  if (rb > 1) rule.same({right, rb - 1}, {result, r - 1});
  const Shape out_batch(out.begin(), out.begin() + batch);
  if (ra > 2) broadcast_operand(rule, left, Shape(a.begin(), a.end() - 2), result, out_batch);
  if (rb > 2) broadcast_operand(rule, right, Shape(b.begin(), b.end() - 2), result, out_batch);
  return rule;
}

OpDefinition product(std::string name, std::string summary, std::string second,
                     FunctionKernel (*bind)(const OpCall&)) {
  return {.name = std::move(name),
          .family = "linalg",
          .summary = std::move(summary),
          .params = {required_param("input", Type::tensor, 0),
                     required_param(std::move(second), Type::tensor, 1)},
          .infer = &infer_matmul,
          .bind = bind,
          .macs = &matmul_macs,
          .channel_rule = &matmul_channels};
}

}  // namespace

std::vector<OpDefinition> linalg_ops() {
  std::vector<OpDefinition> ops;
  ops.push_back(product("matmul", "the matrix product, broadcasting batch dims (torch.matmul)",
                        "other", [](const OpCall& c) { return binary_kernel(c, &pare::matmul); }));
  ops.push_back(product("mm", "the product of two matrices", "mat2",
                        [](const OpCall& c) { return binary_kernel(c, &pare::mm); }));
  ops.push_back(product("bmm", "the products of two equal batches of matrices", "mat2",
                        [](const OpCall& c) { return binary_kernel(c, &pare::bmm); }));
  return ops;
}

}  // namespace pare::ir::ops
