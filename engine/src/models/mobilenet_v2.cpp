// MobileNetV2 as torchvision.models.mobilenet_v2 builds it (torchvision 0.14).
#include "pare/models/mobilenet_v2.h"

#include <algorithm>
#include <cmath>

#include "pare/elementwise.h"

namespace pare::models {
namespace {

// torchvision's _make_divisible: the nearest multiple of 8, never more than 10% below `value`.
int64_t make_divisible(double value, int64_t divisor = 8) {
  int64_t rounded =
      std::max(divisor, static_cast<int64_t>(value + divisor / 2.0) / divisor * divisor);
  if (rounded < 0.9 * value) rounded += divisor;
  return rounded;
}

// torchvision's Conv2dNormActivation: conv (no bias), BatchNorm, ReLU6.
nn::Sequential conv_bn_relu6(int64_t in_channels, int64_t out_channels, int64_t kernel,
                             int64_t stride, int64_t groups) {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in_channels, out_channels, kernel)
                                       .stride(stride)
                                       .padding((kernel - 1) / 2)
                                       .groups(groups)
                                       .bias(false)),
                        nn::BatchNorm2d(out_channels), nn::ReLU6());
}

struct StageSetting {
  int64_t expand_ratio;
  int64_t channels;
  int64_t blocks;
  int64_t stride;
};

constexpr StageSetting kStages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                    {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};

}  // namespace

InvertedResidualImpl::InvertedResidualImpl(int64_t in_channels, int64_t out_channels,
                                           int64_t stride, int64_t expand_ratio)
    : nn::UnaryModule("InvertedResidual"),
      use_residual_(stride == 1 && in_channels == out_channels) {
  PARE_CHECK(stride == 1 || stride == 2, "InvertedResidual: stride must be 1 or 2, got ", stride);
  const int64_t hidden = static_cast<int64_t>(std::lround(in_channels * double(expand_ratio)));
  nn::Sequential layers;
  if (expand_ratio != 1) layers->push_back(conv_bn_relu6(in_channels, hidden, 1, 1, 1));
  layers->push_back(conv_bn_relu6(hidden, hidden, 3, stride, hidden));
  layers->push_back(nn::Conv2d(nn::Conv2dOptions(hidden, out_channels, 1).bias(false)));
  layers->push_back(nn::BatchNorm2d(out_channels));
  conv = register_module("conv", layers);
}

Tensor InvertedResidualImpl::forward(const Tensor& x) {
  return use_residual_ ? x + conv(x) : conv(x);
}

MobileNetV2Impl::MobileNetV2Impl(const MobileNetV2Options& options)
    : nn::UnaryModule("MobileNetV2") {
  PARE_CHECK(options.width_mult() > 0 && options.num_classes() > 0 && options.in_channels() > 0,
             "MobileNetV2: width_mult, num_classes and in_channels must be positive");
  int64_t channels = make_divisible(32 * options.width_mult());
  const int64_t last_channels = make_divisible(1280 * std::max(1.0, options.width_mult()));
  nn::Sequential layers;
  layers->push_back(conv_bn_relu6(options.in_channels(), channels, 3, 2, 1));
  for (const StageSetting& stage : kStages) {
    const int64_t out_channels = make_divisible(stage.channels * options.width_mult());
    for (int64_t index = 0; index < stage.blocks; ++index) {
      layers->push_back(std::make_shared<InvertedResidualImpl>(
          channels, out_channels, index == 0 ? stage.stride : 1, stage.expand_ratio));
      channels = out_channels;
    }
  }
  layers->push_back(conv_bn_relu6(channels, last_channels, 1, 1, 1));
  features = register_module("features", layers);
  classifier = register_module("classifier",
                               nn::Sequential(nn::Dropout(options.dropout()),
                                              nn::Linear(last_channels, options.num_classes())));
}

Tensor MobileNetV2Impl::forward(const Tensor& x) {
  return classifier(flatten(adaptive_avg_pool2d(features(x), 1), 1));
}

MobileNetV2 mobilenet_v2(const MobileNetV2Options& options) { return MobileNetV2(options); }

}  // namespace pare::models
