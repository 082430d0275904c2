// DenseNet as torchvision.models.densenet builds it (torchvision 0.14, memory_efficient off,
// drop_rate 0).
#include "pare/models/densenet.h"

#include "pare/indexing.h"

namespace pare::models {

void NamedStagesImpl::add(const std::string& name, std::shared_ptr<nn::Module> module) {
  register_module(name, std::move(module));
  order_.push_back(name);
}

Tensor NamedStagesImpl::forward(const Tensor& x) {
  Tensor h = x;
  for (const std::string& name : order_) h = get_child(name)->call(h);
  return h;
}

DenseLayerImpl::DenseLayerImpl(int64_t in_channels, int64_t growth_rate, int64_t bn_size)
    : nn::UnaryModule("_DenseLayer") {
  const int64_t bottleneck = bn_size * growth_rate;
  norm1 = register_module("norm1", nn::BatchNorm2d(in_channels));
  relu1 = register_module("relu1", nn::ReLU());
  conv1 = register_module("conv1",
                          nn::Conv2d(nn::Conv2dOptions(in_channels, bottleneck, 1).bias(false)));
  norm2 = register_module("norm2", nn::BatchNorm2d(bottleneck));
  relu2 = register_module("relu2", nn::ReLU());
  conv2 = register_module(
      "conv2", nn::Conv2d(nn::Conv2dOptions(bottleneck, growth_rate, 3).padding(1).bias(false)));
}

Tensor DenseLayerImpl::forward(const Tensor& x) {
  return conv2(relu2(norm2(conv1(relu1(norm1(x))))));
}

DenseBlockImpl::DenseBlockImpl(int64_t layer_count, int64_t in_channels, int64_t growth_rate,
                               int64_t bn_size)
    : nn::UnaryModule("_DenseBlock") {
  for (int64_t index = 0; index < layer_count; ++index) {
    layers.push_back(register_module(
        "denselayer" + std::to_string(index + 1),
        std::make_shared<DenseLayerImpl>(in_channels + index * growth_rate, growth_rate, bn_size)));
  }
}

Tensor DenseBlockImpl::forward(const Tensor& x) {
  std::vector<Tensor> features = {x};
  for (const auto& layer : layers) features.push_back(layer->call(cat(features, 1)));
  return cat(features, 1);
}

DenseNetImpl::DenseNetImpl(const DenseNetOptions& options) : nn::UnaryModule("DenseNet") {
  PARE_CHECK(!options.block_config().empty() && options.growth_rate() > 0 &&
                 options.init_features() > 0 && options.bn_size() > 0 &&
                 options.num_classes() > 0 && options.in_channels() > 0,
             "DenseNet: expected at least one block and positive sizes");
  features = register_module("features", std::make_shared<NamedStagesImpl>("Sequential"));
  int64_t channels = options.init_features();
  features->add(
      "conv0",
      nn::Conv2d(
          nn::Conv2dOptions(options.in_channels(), channels, 7).stride(2).padding(3).bias(false))
          .ptr());
  features->add("norm0", nn::BatchNorm2d(channels).ptr());
  features->add("relu0", nn::ReLU().ptr());
  features->add("pool0", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)).ptr());
  const std::vector<int64_t>& blocks = options.block_config();
  for (size_t block = 0; block < blocks.size(); ++block) {
    features->add("denseblock" + std::to_string(block + 1),
                  std::make_shared<DenseBlockImpl>(blocks[block], channels, options.growth_rate(),
                                                   options.bn_size()));
    channels += blocks[block] * options.growth_rate();
    if (block + 1 == blocks.size()) break;
    auto transition = std::make_shared<NamedStagesImpl>("_Transition");
    transition->add("norm", nn::BatchNorm2d(channels).ptr());
    transition->add("relu", nn::ReLU().ptr());
    transition->add("conv",
                    nn::Conv2d(nn::Conv2dOptions(channels, channels / 2, 1).bias(false)).ptr());
    transition->add("pool", nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(2)).ptr());
    features->add("transition" + std::to_string(block + 1), transition);
    channels /= 2;
  }
  features->add("norm5", nn::BatchNorm2d(channels).ptr());
  classifier = register_module("classifier", nn::Linear(channels, options.num_classes()));
}

Tensor DenseNetImpl::forward(const Tensor& x) {
  return classifier(flatten(adaptive_avg_pool2d(relu(features->call(x)), 1), 1));
}

DenseNet densenet(const DenseNetOptions& options) { return DenseNet(options); }

DenseNet densenet121(int64_t num_classes) {
  return DenseNet(DenseNetOptions().num_classes(num_classes));
}

}  // namespace pare::models
