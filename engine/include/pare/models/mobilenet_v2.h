// MobileNetV2 in torchvision's layout ("features.3.conv.1.0" is block 3's depthwise conv,
// "classifier.1" the Linear), with inverted residuals: 1x1 expand, 3x3 depthwise, 1x1 project,
// BatchNorm after each, ReLU6 after the first two, a residual add where the shape is kept.
//
//   auto net = pare::models::mobilenet_v2();                          // 3,504,872 parameters
//   auto y = net(pare::randn({1, 3, 224, 224}));                      // [1, 1000]
//   auto narrow = pare::models::mobilenet_v2(
//       pare::models::MobileNetV2Options().width_mult(0.5).num_classes(10));
#pragma once

#include <cstdint>

#include "pare/nn/nn.h"

namespace pare::models {

class MobileNetV2Options {
 public:
  MobileNetV2Options& num_classes(int64_t value) {
    num_classes_ = value;
    return *this;
  }
  // Scales every layer's channels (rounded to multiples of 8, as torchvision does).
  MobileNetV2Options& width_mult(double value) {
    width_mult_ = value;
    return *this;
  }
  MobileNetV2Options& in_channels(int64_t value) {
    in_channels_ = value;
    return *this;
  }
  MobileNetV2Options& dropout(double value) {
    dropout_ = value;
    return *this;
  }
  int64_t num_classes() const { return num_classes_; }
  double width_mult() const { return width_mult_; }
  int64_t in_channels() const { return in_channels_; }
  double dropout() const { return dropout_; }

 private:
  int64_t num_classes_ = 1000;
  double width_mult_ = 1.0;
  int64_t in_channels_ = 3;
  double dropout_ = 0.2;
};

class InvertedResidualImpl : public nn::UnaryModule {
 public:
  InvertedResidualImpl(int64_t in_channels, int64_t out_channels, int64_t stride,
                       int64_t expand_ratio);
  Tensor forward(const Tensor& x) override;
  bool uses_residual() const { return use_residual_; }

  nn::Sequential conv{nullptr};

 private:
  bool use_residual_;
};

class MobileNetV2Impl : public nn::UnaryModule {
 public:
  explicit MobileNetV2Impl(const MobileNetV2Options& options = {});
  Tensor forward(const Tensor& x) override;

  nn::Sequential features{nullptr};
  nn::Sequential classifier{nullptr};
};
using MobileNetV2 = nn::ModuleHolder<MobileNetV2Impl>;

MobileNetV2 mobilenet_v2(const MobileNetV2Options& options = {});

}  // namespace pare::models
