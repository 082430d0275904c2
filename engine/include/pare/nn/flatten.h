// nn::Flatten: merges dims start_dim..end_dim into one (default: everything after the batch).
//
//   pare::nn::Flatten flatten;             // [N, C, H, W] -> [N, C * H * W]
//   pare::nn::Flatten all(0);              // -> [N * C * H * W]
#pragma once

#include <cstdint>
#include <string>

#include "pare/nn/module.h"

namespace pare::nn {

class FlattenImpl : public UnaryModule {
 public:
  static constexpr ModuleKind kKind = ModuleKind::flatten;
  explicit FlattenImpl(int64_t start_dim = 1, int64_t end_dim = -1)
      : start_dim_(start_dim), end_dim_(end_dim) {}

  Tensor forward(const Tensor& input) override;
  int64_t start_dim() const { return start_dim_; }
  int64_t end_dim() const { return end_dim_; }

  bool is_leaf_layer() const override { return true; }
  ModuleKind kind() const override { return kKind; }
  Attrs config() const override;
  std::string extra_repr() const override;

 private:
  int64_t start_dim_;
  int64_t end_dim_;
};

using Flatten = ModuleHolder<FlattenImpl>;

}  // namespace pare::nn
