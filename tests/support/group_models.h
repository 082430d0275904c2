// Small traced models for the dependency-group tests: each real architecture's coupling (a
// conv-BN-ReLU chain, ResNet basic blocks, a MobileNetV2 inverted residual, DenseNet-style concats,
// flatten into Linear, a transformer's LayerNorm + Linear residual stream, grouped convs, a
// depthwise conv with a channel multiplier, LSTM taggers) and each refusal (softmax over channels,
// an LSTM's final state read). Every builder seeds
// pare's generator and then draws every parameter and BatchNorm statistic, so two calls give the
// same model and no channel is trivially zero.
//
//   pare::testing::TracedModel model = pare::testing::resnet_blocks();
//   pare::pruning::DependencyGraph graph(model.gm);
//   pare::Value y = model.gm.interpret({model.input});
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pare/pare.h"
#include "pruning_test_util.h"
#include "test_util.h"

namespace pare::testing {

struct TracedModel {
  std::string name;
  std::shared_ptr<Net> net;
  ir::GraphModule gm;
  Tensor input;
};

// Every float tensor random (fill_parameters), running variances then moved into [1, 2) so that
// BatchNorm's statistics are valid and not the identity.
inline void randomize_parameters(nn::Module& root, uint32_t seed) {
  fill_parameters(root, seed);
  NoGradGuard no_grad;
  for (auto& [name, tensor] : root.named_buffers())
    if (name.ends_with("running_var")) tensor.copy_(abs(tensor) + 1.0);
}

// Seeds, builds with `wire` (which registers the modules and sets the body), randomizes, traces.
inline TracedModel traced(const std::string& name, const Shape& input_shape,
                          const std::function<void(Net&)>& wire, uint32_t seed = 7) {
  manual_seed(seed);
  auto net = std::make_shared<Net>();
  wire(*net);
  randomize_parameters(*net, seed);
  net->eval();
  const Tensor input = random_tensor(input_shape, seed + 1000);
  ir::GraphModule gm = ir::trace(net, {input});
  return {name, net, std::move(gm), input};
}

inline nn::Conv2d conv(Net& net, const std::string& name, int64_t in, int64_t out, int64_t kernel,
                       int64_t stride = 1, int64_t groups = 1) {
  return net.register_module(
      name,
      nn::Conv2d(
          nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).groups(groups)));
}

inline nn::BatchNorm2d batch_norm(Net& net, const std::string& name, int64_t channels) {
  return net.register_module(name, nn::BatchNorm2d(channels));
}

// conv1 -> bn1 -> relu -> conv2 -> bn2 -> relu -> global average pool -> flatten -> fc.
inline TracedModel conv_bn_relu() {
  return traced("conv_bn_relu", {2, 3, 6, 6}, [](Net& net) {
    auto conv1 = conv(net, "conv1", 3, 8, 3);
    auto bn1 = batch_norm(net, "bn1", 8);
    auto conv2 = conv(net, "conv2", 8, 6, 3);
    auto bn2 = batch_norm(net, "bn2", 6);
    auto fc = net.register_module("fc", nn::Linear(6, 4));
    net.body = [=](const Tensor& x) {
      Tensor h = relu(bn2(conv2(relu(bn1(conv1(x))))));
      return fc(adaptive_avg_pool2d(h, 1).flatten(1));
    };
  });
}

// A ResNet stem and two basic blocks: layer1 keeps 8 channels (identity shortcut), layer2 goes to
// 12 with stride 2 (a 1x1 conv + BN downsample on the shortcut).
inline TracedModel resnet_blocks() {
  return traced("resnet_blocks", {2, 3, 8, 8}, [](Net& net) {
    auto stem = conv(net, "conv1", 3, 8, 3);
    auto stem_bn = batch_norm(net, "bn1", 8);
    auto a1 = conv(net, "layer1_conv1", 8, 8, 3);
    auto a1_bn = batch_norm(net, "layer1_bn1", 8);
    auto a2 = conv(net, "layer1_conv2", 8, 8, 3);
    auto a2_bn = batch_norm(net, "layer1_bn2", 8);
    auto b1 = conv(net, "layer2_conv1", 8, 12, 3, 2);
    auto b1_bn = batch_norm(net, "layer2_bn1", 12);
    auto b2 = conv(net, "layer2_conv2", 12, 12, 3);
    auto b2_bn = batch_norm(net, "layer2_bn2", 12);
    auto down = conv(net, "layer2_down_conv", 8, 12, 1, 2);
    auto down_bn = batch_norm(net, "layer2_down_bn", 12);
    auto fc = net.register_module("fc", nn::Linear(12, 5));
    net.body = [=](const Tensor& x) {
      Tensor h = relu(stem_bn(stem(x)));
      h = relu(a2_bn(a2(relu(a1_bn(a1(h))))) + h);
      h = relu(b2_bn(b2(relu(b1_bn(b1(h))))) + down_bn(down(h)));
      return fc(adaptive_avg_pool2d(h, 1).flatten(1));
    };
  });
}

// A MobileNetV2 inverted residual: 1x1 expand (8 -> 24), depthwise 3x3, 1x1 project (24 -> 8), BN
// and ReLU6, the residual add, then a 1x1 head conv.
inline TracedModel inverted_residual() {
  return traced("inverted_residual", {2, 3, 6, 6}, [](Net& net) {
    auto stem = conv(net, "stem", 3, 8, 3);
    auto stem_bn = batch_norm(net, "stem_bn", 8);
    auto expand = conv(net, "expand", 8, 24, 1);
    auto expand_bn = batch_norm(net, "expand_bn", 24);
    auto depthwise = conv(net, "depthwise", 24, 24, 3, 1, 24);
    auto depthwise_bn = batch_norm(net, "depthwise_bn", 24);
    auto project = conv(net, "project", 24, 8, 1);
    auto project_bn = batch_norm(net, "project_bn", 8);
    auto head = conv(net, "head", 8, 16, 1);
    auto fc = net.register_module("fc", nn::Linear(16, 3));
    net.body = [=](const Tensor& x) {
      Tensor h = relu6(stem_bn(stem(x)));
      Tensor e = relu6(expand_bn(expand(h)));
      e = relu6(depthwise_bn(depthwise(e)));
      h = h + project_bn(project(e));
      return fc(adaptive_avg_pool2d(relu6(head(h)), 1).flatten(1));
    };
  });
}

// DenseNet-style: each layer's new channels are concatenated to everything before them; BN and
// ReLU run on the concatenation (so their tensors are split between groups).
inline TracedModel dense_concat() {
  return traced("dense_concat", {2, 3, 6, 6}, [](Net& net) {
    auto stem = conv(net, "conv0", 3, 4, 3);
    auto layer1 = conv(net, "layer1", 4, 3, 3);
    auto norm2 = batch_norm(net, "norm2", 7);
    auto layer2 = conv(net, "layer2", 7, 3, 3);
    auto transition = conv(net, "transition", 10, 5, 1);
    auto fc = net.register_module("fc", nn::Linear(5, 2));
    net.body = [=](const Tensor& x) {
      Tensor x0 = relu(stem(x));
      Tensor x1 = cat({x0, relu(layer1(x0))}, 1);
      Tensor x2 = cat({x1, relu(layer2(relu(norm2(x1))))}, 1);
      return fc(adaptive_avg_pool2d(relu(transition(x2)), 1).flatten(1));
    };
  });
}

// Two concats with different boundaries added together: cat(a[4], b[4]) + cat(c[2], d[6]). The
// sum's channels are cut at 2, 4 and 8, and those cuts carry back into a's and d's channels, so
// a and d each feed two groups.
inline TracedModel crossed_concats() {
  return traced("crossed_concats", {2, 3, 5, 5}, [](Net& net) {
    auto a = conv(net, "a", 3, 4, 1);
    auto b = conv(net, "b", 3, 4, 1);
    auto c = conv(net, "c", 3, 2, 1);
    auto d = conv(net, "d", 3, 6, 1);
    auto next = conv(net, "next", 8, 5, 3);
    auto fc = net.register_module("fc", nn::Linear(5, 2));
    net.body = [=](const Tensor& x) {
      Tensor sum = cat({a(x), b(x)}, 1) + cat({c(x), d(x)}, 1);
      return fc(adaptive_avg_pool2d(relu(next(relu(sum))), 1).flatten(1));
    };
  });
}

// conv -> relu -> flatten (4 channels x 5 x 5 = 100 features) -> fc1 -> relu -> fc2.
inline TracedModel flatten_linear() {
  return traced("flatten_linear", {2, 3, 5, 5}, [](Net& net) {
    auto features = conv(net, "features", 3, 4, 3);
    auto fc1 = net.register_module("fc1", nn::Linear(100, 6));
    auto fc2 = net.register_module("fc2", nn::Linear(6, 3));
    net.body = [=](const Tensor& x) { return fc2(relu(fc1(relu(features(x)).flatten(1)))); };
  });
}

// A pre-norm transformer MLP block on a residual stream: embed, h + fc2(gelu(fc1(ln1(h)))), a
// final LayerNorm and a head.
inline TracedModel layer_norm_stream() {
  return traced("layer_norm_stream", {2, 5, 6}, [](Net& net) {
    auto embed = net.register_module("embed", nn::Linear(6, 8));
    auto ln1 = net.register_module("ln1", nn::LayerNorm(Shape{8}));
    auto fc1 = net.register_module("fc1", nn::Linear(8, 16));
    auto fc2 = net.register_module("fc2", nn::Linear(16, 8));
    auto ln_f = net.register_module("ln_f", nn::LayerNorm(Shape{8}));
    auto head = net.register_module("head", nn::Linear(8, 3));
    net.body = [=](const Tensor& x) {
      Tensor h = embed(x);
      h = h + fc2(gelu(fc1(ln1(h))));
      return head(ln_f(h));
    };
  });
}

// conv1 -> softmax over the channels -> conv2.
inline TracedModel softmax_over_channels() {
  return traced("softmax_over_channels", {2, 3, 5, 5}, [](Net& net) {
    auto conv1 = conv(net, "conv1", 3, 4, 3);
    auto conv2 = conv(net, "conv2", 4, 6, 3);
    auto fc = net.register_module("fc", nn::Linear(6, 2));
    net.body = [=](const Tensor& x) {
      return fc(adaptive_avg_pool2d(relu(conv2(softmax(conv1(x), 1))), 1).flatten(1));
    };
  });
}

// A tagger: fc -> relu -> LSTM (6 -> 5 hidden units) -> fc2 on every step.
inline TracedModel into_lstm() {
  return traced("into_lstm", {2, 5, 4}, [](Net& net) {
    auto fc = net.register_module("fc", nn::Linear(4, 6));
    auto lstm = net.register_module("lstm", nn::LSTM(6, 5));
    auto fc2 = net.register_module("fc2", nn::Linear(5, 3));
    net.body = [=](const Tensor& x) { return fc2(std::get<0>(lstm(relu(fc(x))))); };
  });
}

// A 2-layer batch-first LSTM with biases: embed (4 -> 6) -> LSTM (6 -> 5, 2 layers) ->
// a tagger head (5 -> 3) on every step.
inline TracedModel two_layer_lstm() {
  return traced("two_layer_lstm", {2, 5, 4}, [](Net& net) {
    auto embed = net.register_module("embed", nn::Linear(4, 6));
    auto lstm = net.register_module(
        "lstm", nn::LSTM(nn::LSTMOptions(6, 5).num_layers(2).batch_first(true)));
    auto head = net.register_module("head", nn::Linear(5, 3));
    net.body = [=](const Tensor& x) { return head(std::get<0>(lstm(embed(x)))); };
  });
}

// An LSTM whose final state h_n ([1, N, 5]) feeds the classifier instead of its output.
inline TracedModel lstm_final_state() {
  return traced("lstm_final_state", {5, 2, 4}, [](Net& net) {
    auto lstm = net.register_module("lstm", nn::LSTM(4, 5));
    auto fc = net.register_module("fc", nn::Linear(5, 3));
    net.body = [=](const Tensor& x) { return fc(std::get<0>(std::get<1>(lstm(x)))); };
  });
}

// fc -> relu -> the functional lstm (no channel rule: its weights are arguments, not a layer's)
// -> fc2.
inline TracedModel into_functional_lstm() {
  return traced("into_functional_lstm", {5, 2, 4}, [](Net& net) {
    auto fc = net.register_module("fc", nn::Linear(4, 6));
    auto fc2 = net.register_module("fc2", nn::Linear(5, 3));
    const Tensor w_ih = net.register_parameter("w_ih", zeros({20, 6}));
    const Tensor w_hh = net.register_parameter("w_hh", zeros({20, 5}));
    net.body = [=](const Tensor& x) {
      return fc2(std::get<0>(lstm(relu(fc(x)), Tensor(), Tensor(), {w_ih, w_hh}, false, 1, false)));
    };
  });
}

// conv1 -> relu -> grouped conv2 (groups = 2) -> relu -> conv3 -> pool -> fc.
inline TracedModel grouped_conv() {
  return traced("grouped_conv", {2, 4, 5, 5}, [](Net& net) {
    auto conv1 = conv(net, "conv1", 4, 8, 3);
    auto conv2 = conv(net, "conv2", 8, 8, 3, 1, 2);
    auto conv3 = conv(net, "conv3", 8, 6, 1);
    auto fc = net.register_module("fc", nn::Linear(6, 2));
    net.body = [=](const Tensor& x) {
      Tensor h = relu(conv2(relu(conv1(x))));
      return fc(adaptive_avg_pool2d(relu(conv3(h)), 1).flatten(1));
    };
  });
}

// A ResNeXt bottleneck: stem (3 -> 8), 1x1 reduce (8 -> 16), 3x3 grouped (16 -> 16, groups =
// 4), 1x1 expand (16 -> 8), BN after each, the residual add onto the stem, then pool and fc.
inline TracedModel resnext_block() {
  return traced("resnext_block", {2, 3, 6, 6}, [](Net& net) {
    auto stem = conv(net, "stem", 3, 8, 3);
    auto stem_bn = batch_norm(net, "stem_bn", 8);
    auto reduce = conv(net, "reduce", 8, 16, 1);
    auto reduce_bn = batch_norm(net, "reduce_bn", 16);
    auto grouped = conv(net, "grouped", 16, 16, 3, 1, 4);
    auto grouped_bn = batch_norm(net, "grouped_bn", 16);
    auto expand = conv(net, "expand", 16, 8, 1);
    auto expand_bn = batch_norm(net, "expand_bn", 8);
    auto fc = net.register_module("fc", nn::Linear(8, 3));
    net.body = [=](const Tensor& x) {
      Tensor h = relu(stem_bn(stem(x)));
      Tensor b = relu(reduce_bn(reduce(h)));
      b = relu(grouped_bn(grouped(b)));
      h = relu(h + expand_bn(expand(b)));
      return fc(adaptive_avg_pool2d(h, 1).flatten(1));
    };
  });
}

// Grouped convs with different groups in a row: conv1 (4 -> 12), conv2 (12 -> 12, groups = 2),
// conv3 (12 -> 6, groups = 3). conv2's out space is 2 blocks of 6 and conv3's in space 3 blocks of
// 4, so index j of both block structures goes together: channels {c, c + 2, ..., c + 10} for
// c in {0, 1}.
inline TracedModel grouped_chain() {
  return traced("grouped_chain", {2, 4, 5, 5}, [](Net& net) {
    auto conv1 = conv(net, "conv1", 4, 12, 3);
    auto conv2 = conv(net, "conv2", 12, 12, 3, 1, 2);
    auto conv3 = conv(net, "conv3", 12, 6, 1, 1, 3);
    auto fc = net.register_module("fc", nn::Linear(6, 2));
    net.body = [=](const Tensor& x) {
      Tensor h = relu(conv2(relu(conv1(x))));
      return fc(adaptive_avg_pool2d(relu(conv3(h)), 1).flatten(1));
    };
  });
}

// A depthwise conv with a channel multiplier: conv1 (3 -> 4) -> BN -> ReLU -> depthwise (4 -> 8,
// groups = 4: input channel c makes output channels 2c and 2c + 1) -> BN -> ReLU -> conv3 (8 ->
// 6) -> pool -> fc.
inline TracedModel depthwise_multiplier() {
  return traced("depthwise_multiplier", {2, 3, 5, 5}, [](Net& net) {
    auto conv1 = conv(net, "conv1", 3, 4, 3);
    auto bn1 = batch_norm(net, "bn1", 4);
    auto depthwise = conv(net, "depthwise", 4, 8, 3, 1, 4);
    auto bn2 = batch_norm(net, "bn2", 8);
    auto conv3 = conv(net, "conv3", 8, 6, 1);
    auto fc = net.register_module("fc", nn::Linear(6, 2));
    net.body = [=](const Tensor& x) {
      Tensor h = relu(bn2(depthwise(relu(bn1(conv1(x))))));
      return fc(adaptive_avg_pool2d(relu(conv3(h)), 1).flatten(1));
    };
  });
}

}  // namespace pare::testing
