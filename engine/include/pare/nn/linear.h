// nn::Linear: y = x W^T + b, with PyTorch's parameter layout (weight [out, in], bias [out]) and
// default initialisation (kaiming_uniform_(a = sqrt(5)) weight, uniform(+-1/sqrt(in)) bias).
//
//   pare::nn::Linear fc(784, 10);
//   pare::nn::Linear head(pare::nn::LinearOptions(128, 10).bias(false));
//   auto y = fc(x);                        // x: [..., 784] -> [..., 10]
//   std::cout << *fc;                      // Linear(in_features=784, out_features=10, bias=True)
#pragma once

#include <cstdint>
#include <string>

#include "pare/nn/module.h"

namespace pare::nn {

class LinearOptions {
 public:
  LinearOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  LinearOptions& in_features(int64_t value) {
    in_features_ = value;
    return *this;
  }
  LinearOptions& out_features(int64_t value) {
    out_features_ = value;
    return *this;
  }
  LinearOptions& bias(bool value) {
    bias_ = value;
    return *this;
  }
  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }
  bool bias() const { return bias_; }

 private:
  int64_t in_features_;
  int64_t out_features_;
  bool bias_ = true;
};

// Parameters "weight" [out_features, in_features] and "bias" [out_features] (registered as
// absent without bias). A pass that swaps in a pruned weight updates options() to match.
class LinearImpl : public UnaryModule {
 public:
  static constexpr ModuleKind kKind = ModuleKind::linear;
  explicit LinearImpl(const LinearOptions& options);
  LinearImpl(int64_t in_features, int64_t out_features);

  Tensor forward(const Tensor& input) override;
  // PyTorch's default initialisation, on the default generator.
  void reset_parameters();

  Tensor weight() const { return get_parameter("weight"); }
  // Undefined when the layer has no bias.
  Tensor bias() const { return get_parameter("bias"); }
  const LinearOptions& options() const { return options_; }
  LinearOptions& options() { return options_; }

  bool is_leaf_layer() const override { return true; }
  ModuleKind kind() const override { return kKind; }
  Attrs config() const override;
  std::string extra_repr() const override;

 private:
  LinearOptions options_;
};

using Linear = ModuleHolder<LinearImpl>;

}  // namespace pare::nn
