// The matrix products matmul (torch.matmul's rules: 1-d operands promoted and the added dim
// removed, batch dims broadcast), mm (2-d only) and bmm (3-d, equal batches), float32 only, with
// their multiply-accumulate counts.
#include "pare/linalg.h"

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

OpDefinition product(std::string name, std::string summary, std::string second,
                     FunctionKernel (*bind)(const OpCall&)) {
  return {.name = std::move(name),
          .family = "linalg",
          .summary = std::move(summary),
          .params = {required_param("input", Type::tensor, 0),
                     required_param(std::move(second), Type::tensor, 1)},
          .infer = &infer_matmul,
          .bind = bind,
          .macs = &matmul_macs};
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
