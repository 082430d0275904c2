// Pooling layers over [N, C, H, W] (or unbatched [C, H, W]), with PyTorch's arguments; stride
// defaults to the kernel size.
//
//   pare::nn::MaxPool2d pool(2);                                        // 2x2, stride 2
//   pare::nn::MaxPool2d overlap(pare::nn::MaxPool2dOptions(3).stride(2).padding(1));
//   pare::nn::AvgPool2d avg(pare::nn::AvgPool2dOptions(2).count_include_pad(false));
//   pare::nn::AdaptiveAvgPool2d gap(1);                                  // [N, C, 1, 1]
//   pare::nn::AdaptiveMaxPool2d grid(pare::IntPair(7, 5));
#pragma once

#include <string>

#include "pare/functional.h"
#include "pare/nn/module.h"

namespace pare::nn {

class MaxPool2dOptions {
 public:
  explicit MaxPool2dOptions(IntPair kernel_size)
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  MaxPool2dOptions& kernel_size(IntPair value) {
    kernel_size_ = value;
    return *this;
  }
  MaxPool2dOptions& stride(IntPair value) {
    stride_ = value;
    return *this;
  }
  MaxPool2dOptions& padding(IntPair value) {
    padding_ = value;
    return *this;
  }
  MaxPool2dOptions& dilation(IntPair value) {
    dilation_ = value;
    return *this;
  }
  MaxPool2dOptions& ceil_mode(bool value) {
    ceil_mode_ = value;
    return *this;
  }
  IntPair kernel_size() const { return kernel_size_; }
  IntPair stride() const { return stride_; }
  IntPair padding() const { return padding_; }
  IntPair dilation() const { return dilation_; }
  bool ceil_mode() const { return ceil_mode_; }

 private:
  IntPair kernel_size_;
  IntPair stride_;
  IntPair padding_ = 0;
  IntPair dilation_ = 1;
  bool ceil_mode_ = false;
};

class MaxPool2dImpl : public UnaryModule {
 public:
  static constexpr ModuleKind kKind = ModuleKind::max_pool2d;
  explicit MaxPool2dImpl(const MaxPool2dOptions& options) : options_(options) {}
  explicit MaxPool2dImpl(IntPair kernel_size) : options_(kernel_size) {}

  Tensor forward(const Tensor& input) override;
  const MaxPool2dOptions& options() const { return options_; }

  bool is_leaf_layer() const override { return true; }
  ModuleKind kind() const override { return kKind; }
  Attrs config() const override;
  std::string extra_repr() const override;

 private:
  MaxPool2dOptions options_;
};

using MaxPool2d = ModuleHolder<MaxPool2dImpl>;

class AvgPool2dOptions {
 public:
  explicit AvgPool2dOptions(IntPair kernel_size)
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  AvgPool2dOptions& kernel_size(IntPair value) {
    kernel_size_ = value;
    return *this;
  }
  AvgPool2dOptions& stride(IntPair value) {
    stride_ = value;
    return *this;
  }
  AvgPool2dOptions& padding(IntPair value) {
    padding_ = value;
    return *this;
  }
  AvgPool2dOptions& ceil_mode(bool value) {
    ceil_mode_ = value;
    return *this;
  }
  AvgPool2dOptions& count_include_pad(bool value) {
    count_include_pad_ = value;
    return *this;
  }
  IntPair kernel_size() const { return kernel_size_; }
  IntPair stride() const { return stride_; }
  IntPair padding() const { return padding_; }
  bool ceil_mode() const { return ceil_mode_; }
  bool count_include_pad() const { return count_include_pad_; }

 private:
  IntPair kernel_size_;
  IntPair stride_;
  IntPair padding_ = 0;
  bool ceil_mode_ = false;
  bool count_include_pad_ = true;
};

class AvgPool2dImpl : public UnaryModule {
 public:
  static constexpr ModuleKind kKind = ModuleKind::avg_pool2d;
  explicit AvgPool2dImpl(const AvgPool2dOptions& options) : options_(options) {}
  explicit AvgPool2dImpl(IntPair kernel_size) : options_(kernel_size) {}

  Tensor forward(const Tensor& input) override;
  const AvgPool2dOptions& options() const { return options_; }

  bool is_leaf_layer() const override { return true; }
  ModuleKind kind() const override { return kKind; }
  Attrs config() const override;
  std::string extra_repr() const override;

 private:
  AvgPool2dOptions options_;
};

using AvgPool2d = ModuleHolder<AvgPool2dImpl>;

// Pools every channel to `output_size` with PyTorch's adaptive windows.
class AdaptiveAvgPool2dImpl : public UnaryModule {
 public:
  static constexpr ModuleKind kKind = ModuleKind::adaptive_avg_pool2d;
  explicit AdaptiveAvgPool2dImpl(IntPair output_size) : output_size_(output_size) {}

  Tensor forward(const Tensor& input) override;
  IntPair output_size() const { return output_size_; }

  bool is_leaf_layer() const override { return true; }
  ModuleKind kind() const override { return kKind; }
  Attrs config() const override;
  std::string extra_repr() const override;

 private:
  IntPair output_size_;
};

using AdaptiveAvgPool2d = ModuleHolder<AdaptiveAvgPool2dImpl>;

class AdaptiveMaxPool2dImpl : public UnaryModule {
 public:
  static constexpr ModuleKind kKind = ModuleKind::adaptive_max_pool2d;
  explicit AdaptiveMaxPool2dImpl(IntPair output_size) : output_size_(output_size) {}

  Tensor forward(const Tensor& input) override;
  IntPair output_size() const { return output_size_; }

  bool is_leaf_layer() const override { return true; }
  ModuleKind kind() const override { return kKind; }
  Attrs config() const override;
  std::string extra_repr() const override;

 private:
  IntPair output_size_;
};

using AdaptiveMaxPool2d = ModuleHolder<AdaptiveMaxPool2dImpl>;

}  // namespace pare::nn
