// nn::Dropout: inverted dropout while training (zero with probability p, scale the rest by
// 1 / (1 - p)); the identity in evaluation mode.
//
//   pare::nn::Dropout drop(0.25);
//   auto y = drop(x);                      // random while net->is_training()
//   drop->eval();
//   auto z = drop(x);                      // z equals x
#pragma once

#include <string>

#include "pare/nn/module.h"

namespace pare::nn {

class DropoutImpl : public UnaryModule {
 public:
  static constexpr ModuleKind kKind = ModuleKind::dropout;
  // Requires 0 <= p <= 1.
  explicit DropoutImpl(double p = 0.5);

  Tensor forward(const Tensor& input) override;
  double p() const { return p_; }

  bool is_leaf_layer() const override { return true; }
  ModuleKind kind() const override { return kKind; }
  Attrs config() const override;
  std::string extra_repr() const override;

 private:
  double p_;
};

using Dropout = ModuleHolder<DropoutImpl>;

}  // namespace pare::nn
