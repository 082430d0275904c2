// Helpers shared by the pruning tests (tests/passes/): a pruner whose masks come straight from
// the config, a model whose forward each test wires by hand, and by-hand views of masks and
// pruned weights to compare prune()'s results with.
//
//   auto net = std::make_shared<pare::testing::Net>();
//   pare::nn::Linear fc = net->register_module("fc", pare::nn::Linear(3, 4));
//   net->body = [fc](const pare::Tensor& x) { return fc(x); };
//   const std::vector<float> weight = pare::testing::values(fc->weight());
//   pare::testing::FixedMaskPruner pruner;
//   pruner.prepare(net, {{{"tensor_fqn", "fc.weight"}, {"mask", {1, 0, 1, 1}}}});
//   pruner.prune({x});
//   CHECK(pare::testing::values(fc->weight()) == pare::testing::take_along(weight, {4, 3}, 0,
//                                                                          {0, 2, 3}));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pare/pare.h"
#include "pare/passes/pruning/pruning.h"
#include "test_util.h"

namespace pare::testing {

using Indices = std::vector<int64_t>;

// Masks come from the config key "mask"; step() changes nothing.
class FixedMaskPruner : public pruning::BaseStructuredSparsifier {
 public:
  using BaseStructuredSparsifier::BaseStructuredSparsifier;
  std::string name() const override { return "FixedMaskPruner"; }
  void update_mask(const std::shared_ptr<nn::Module>&, const std::string&,
                   nlohmann::json&) override {}
};

// A model whose forward is given per test, so that each test wires its own graph.
struct Net : nn::Module {
  Net() : nn::Module("Net") {}
  Tensor forward(const Tensor& x) { return body(x); }
  std::function<Tensor(const Tensor&)> body;
};

// The entries of a row-major tensor of `shape` whose index along `axis` is in `keep`, by hand.
inline std::vector<float> take_along(const std::vector<float>& data, const Shape& shape,
                                     size_t axis, const Indices& keep) {
  int64_t outer = 1;
  int64_t inner = 1;
  for (size_t d = 0; d < axis; ++d) outer *= shape[d];
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  std::vector<float> out;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k : keep)
      for (int64_t i = 0; i < inner; ++i)
        out.push_back(data[static_cast<size_t>((o * shape[axis] + k) * inner + i)]);
  return out;
}
inline std::vector<float> take_along(const Tensor& tensor, size_t axis, const Indices& keep) {
  return take_along(values(tensor), tensor.sizes(), axis, keep);
}

// The elements of a bool mask tensor in row-major order.
inline std::vector<bool> mask_values(const Tensor& mask) {
  std::vector<bool> out;
  const Tensor contiguous = mask.contiguous();
  for (int64_t i = 0; i < contiguous.numel(); ++i) out.push_back(contiguous.data_ptr<bool>()[i]);
  return out;
}

// The indices where `mask` is true, ascending.
inline Indices kept_indices(const std::vector<bool>& mask) {
  Indices kept;
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i]) kept.push_back(static_cast<int64_t>(i));
  return kept;
}

// The number of parameter elements of `module` and its children (undefined ones count 0).
inline int64_t parameter_count(const nn::Module& module) {
  int64_t count = 0;
  for (const Tensor& parameter : module.parameters())
    if (parameter.defined()) count += parameter.numel();
  return count;
}

}  // namespace pare::testing
