// nn::Conv2d: 2-D convolution over [N, C, H, W] (or unbatched [C, H, W]) with PyTorch's
// parameter layout (weight [out, in / groups, kh, kw], bias [out]), arguments and default
// initialisation (kaiming_uniform_(a = sqrt(5)) weight, uniform(+-1/sqrt(fan_in)) bias).
//
//   pare::nn::Conv2d conv(pare::nn::Conv2dOptions(3, 16, 3).stride(2).padding(1));
//   pare::nn::Conv2d depthwise(pare::nn::Conv2dOptions(16, 16, {3, 1}).groups(16).bias(false));
//   pare::nn::Conv2d plain(3, 8, 5);
//   auto y = conv(x);                      // [N, 3, 32, 32] -> [N, 16, 16, 16]
#pragma once

#include <cstdint>
#include <string>

#include "pare/functional.h"
#include "pare/nn/module.h"

namespace pare::nn {

class Conv2dOptions {
 public:
  Conv2dOptions(int64_t in_channels, int64_t out_channels, IntPair kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  Conv2dOptions& in_channels(int64_t value) {
    in_channels_ = value;
    return *this;
  }
  Conv2dOptions& out_channels(int64_t value) {
    out_channels_ = value;
    return *this;
  }
  Conv2dOptions& kernel_size(IntPair value) {
    kernel_size_ = value;
    return *this;
  }
  Conv2dOptions& stride(IntPair value) {
    stride_ = value;
    return *this;
  }
  Conv2dOptions& padding(IntPair value) {
    padding_ = value;
    return *this;
  }
  Conv2dOptions& dilation(IntPair value) {
    dilation_ = value;
    return *this;
  }
  Conv2dOptions& groups(int64_t value) {
    groups_ = value;
    return *this;
  }
  Conv2dOptions& bias(bool value) {
    bias_ = value;
    return *this;
  }
  int64_t in_channels() const { return in_channels_; }
  int64_t out_channels() const { return out_channels_; }
  IntPair kernel_size() const { return kernel_size_; }
  IntPair stride() const { return stride_; }
  IntPair padding() const { return padding_; }
  IntPair dilation() const { return dilation_; }
  int64_t groups() const { return groups_; }
  bool bias() const { return bias_; }

 private:
  int64_t in_channels_;
  int64_t out_channels_;
  IntPair kernel_size_;
  IntPair stride_ = 1;
  IntPair padding_ = 0;
  IntPair dilation_ = 1;
  int64_t groups_ = 1;
  bool bias_ = true;
};

// Parameters "weight" [out_channels, in_channels / groups, kh, kw] and "bias" [out_channels]
// (registered as absent without bias). Requires both channel counts divisible by groups.
class Conv2dImpl : public UnaryModule {
 public:
  static constexpr ModuleKind kKind = ModuleKind::conv2d;
  explicit Conv2dImpl(const Conv2dOptions& options);
  Conv2dImpl(int64_t in_channels, int64_t out_channels, IntPair kernel_size);

  Tensor forward(const Tensor& input) override;
  void reset_parameters();

  Tensor weight() const { return get_parameter("weight"); }
  Tensor bias() const { return get_parameter("bias"); }
  const Conv2dOptions& options() const { return options_; }
  Conv2dOptions& options() { return options_; }

  bool is_leaf_layer() const override { return true; }
  ModuleKind kind() const override { return kKind; }
  Attrs config() const override;
  std::string extra_repr() const override;

 private:
  Conv2dOptions options_;
};

using Conv2d = ModuleHolder<Conv2dImpl>;

}  // namespace pare::nn
