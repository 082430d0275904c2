// nn::Identity: returns its input. Pruning and fusion passes put it where a layer disappears
// (a BatchNorm folded into its convolution), so that module names stay stable.
//
//   pare::nn::Identity keep;
//   auto y = keep(x);                      // y is x
#pragma once

#include "pare/nn/module.h"

namespace pare::nn {

class IdentityImpl : public UnaryModule {
 public:
  static constexpr ModuleKind kKind = ModuleKind::identity;
  Tensor forward(const Tensor& input) override { return input; }
  bool is_leaf_layer() const override { return true; }
  ModuleKind kind() const override { return kKind; }
};

using Identity = ModuleHolder<IdentityImpl>;

}  // namespace pare::nn
