// Models of the inference tests (test_inference_*.cpp): the three benchmark shapes at small
// widths, BatchNorm, LSTM, pooling and activation variants, pruned-looking odd widths and residual
// blocks (residual_cases()), each traced into a GraphModule in evaluation mode with seeded random
// weights.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "pare/ir/tracer.h"
#include "pare/models/models.h"
#include "pare/pare.h"
#include "test_util.h"

namespace pare::testing {

struct InferenceCase {
  std::string name;
  std::function<ir::GraphModule()> make;
  std::function<std::vector<Tensor>(int64_t batch)> inputs;
  // Residual cases: the adds a conv fuses with every option on, and those it updates in place.
  int fused_residual_adds = 0;
  int in_place_adds = 0;
};

// The 21 activations as modules (PReLU with one weight per channel of `channels`).
inline std::vector<std::shared_ptr<nn::Module>> activation_modules(int64_t channels) {
  return {nn::ReLU().ptr(),
          nn::RReLU(0.1, 0.3).ptr(),
          nn::Hardtanh(-0.5, 0.7).ptr(),
          nn::ReLU6().ptr(),
          nn::Sigmoid().ptr(),
          nn::Hardsigmoid().ptr(),
          nn::Tanh().ptr(),
          nn::SiLU().ptr(),
          nn::Mish().ptr(),
          nn::Hardswish().ptr(),
          nn::ELU(0.7).ptr(),
          nn::CELU(1.3).ptr(),
          nn::SELU().ptr(),
          nn::Hardshrink(0.3).ptr(),
          nn::LeakyReLU(0.2).ptr(),
          nn::LogSigmoid().ptr(),
          nn::Softplus(2.0, 20).ptr(),
          nn::PReLU(channels).ptr(),
          nn::Softsign().ptr(),
          nn::Tanhshrink().ptr(),
          nn::GELU("tanh").ptr()};
}

inline const std::vector<std::function<Tensor(const Tensor&)>>& functional_activations() {
  static const std::vector<std::function<Tensor(const Tensor&)>> functions = {
      [](const Tensor& x) { return relu(x); },
      [](const Tensor& x) { return rrelu(x, 0.1, 0.2, false); },
      [](const Tensor& x) { return hardtanh(x, -0.3, 0.4); },
      [](const Tensor& x) { return relu6(x); },
      [](const Tensor& x) { return sigmoid(x); },
      [](const Tensor& x) { return hardsigmoid(x); },
      [](const Tensor& x) { return tanh(x); },
      [](const Tensor& x) { return silu(x); },
      [](const Tensor& x) { return mish(x); },
      [](const Tensor& x) { return hardswish(x); },
      [](const Tensor& x) { return elu(x, 0.4); },
      [](const Tensor& x) { return celu(x, 0.6); },
      [](const Tensor& x) { return selu(x); },
      [](const Tensor& x) { return hardshrink(x, 0.2); },
      [](const Tensor& x) { return leaky_relu(x, 0.3); },
      [](const Tensor& x) { return logsigmoid(x); },
      [](const Tensor& x) { return softplus(x, 0.5, 20.0); },
      [](const Tensor& x) { return softplus(x, 1.0, 0.5); },
      [](const Tensor& x) { return softsign(x); },
      [](const Tensor& x) { return tanhshrink(x); },
      [](const Tensor& x) { return gelu(x); },
      [](const Tensor& x) { return gelu(x, "tanh"); },
  };
  return functions;
}

// conv -> one functional activation -> conv.
struct ConvThenFunction : nn::Module {
  explicit ConvThenFunction(size_t index) : nn::Module("ConvThenFunction"), index(index) {
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, 5, 3).padding(1)));
    conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(5, 4, 3)));
  }
  Tensor forward(const Tensor& x) { return conv2(functional_activations()[index](conv1(x))); }
  size_t index;
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
};

struct FunctionalCnn : nn::Module {
  // VGG-style with functional relu / pools, widths scaled by `width`.
  FunctionalCnn(int64_t c1, int64_t c2, int64_t c3) : nn::Module("FunctionalCnn") {
    auto conv = [](int64_t in, int64_t out) {
      return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1));
    };
    conv1 = register_module("conv1", conv(3, c1));
    conv2 = register_module("conv2", conv(c1, c1));
    conv3 = register_module("conv3", conv(c1, c2));
    conv4 = register_module("conv4", conv(c2, c2));
    conv5 = register_module("conv5", conv(c2, c3));
    fc = register_module("fc", nn::Linear(c3, 10));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = relu(conv2(relu(conv1(x))));
    h = max_pool2d(h, 2);
    h = relu(conv4(relu(conv3(h))));
    h = max_pool2d(h, 2);
    h = relu(conv5(h));
    return fc(flatten(adaptive_avg_pool2d(h, 1), 1));
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, conv4{nullptr}, conv5{nullptr};
  nn::Linear fc{nullptr};
};

// The demo CNN's tail on a 7 x 7 map: adaptive pools whose windows overlap but are all one size
// (7 -> 3: 3 every 2; 3 -> 2: 2 every 1), a module and a function, each a plain pool.
struct OverlappingAdaptivePools : nn::Module {
  OverlappingAdaptivePools() : nn::Module("OverlappingAdaptivePools") {
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, 16, 3).padding(1)));
    pool = register_module("pool", nn::AdaptiveAvgPool2d(3));
    conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(16, 16, 1)));
    fc = register_module("fc", nn::Linear(16 * 2 * 3, 10));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = pool(relu(conv1(x)));
    h = adaptive_max_pool2d(relu(conv2(h)), IntPair(2, 3));
    return fc(flatten(h, 1));
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  nn::AdaptiveAvgPool2d pool{nullptr};
  nn::Linear fc{nullptr};
};

struct LstmTagger : nn::Module {
  LstmTagger(int64_t layers, bool batch_first) : nn::Module("LstmTagger") {
    lstm = register_module(
        "lstm", nn::LSTM(nn::LSTMOptions(6, 9).num_layers(layers).batch_first(batch_first)));
    fc = register_module("fc", nn::Linear(9, 4));
  }
  Tensor forward(const Tensor& x) { return fc(std::get<0>(lstm(x))); }
  nn::LSTM lstm{nullptr};
  nn::Linear fc{nullptr};
};

// LSTM with an explicit state; returns the output and the final state, as a tuple.
struct LstmWithState : nn::Module {
  LstmWithState() : nn::Module("LstmWithState") {
    lstm = register_module("lstm", nn::LSTM(nn::LSTMOptions(5, 7).num_layers(2)));
  }
  std::vector<Tensor> forward(const std::vector<Tensor>& in) {
    auto [y, state] = lstm(in[0], nn::LSTMImpl::State{in[1], in[2]});
    return {y, std::get<0>(state), std::get<1>(state)};
  }
  nn::LSTM lstm{nullptr};
};

// conv 3x3 -> BatchNorm -> ReLU: the stem before a residual block, so that the block's input is
// a conv's output as in a network.
inline nn::Sequential conv_bn_relu(int64_t in, int64_t out) {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false)),
                        nn::BatchNorm2d(out), nn::ReLU());
}

inline nn::Conv2d conv3x3(int64_t in, int64_t out) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1));
}

// Residual adds beyond the model zoo's blocks, on a 3-channel image, with 16 channels after the
// stem (`h`). `variant`:
//   read_later     y = bn(conv(relu(conv(h)))) + h; returns y + h (h is read after the fused add:
//                  the shortcut is copied, not updated in place)
//   own_src        relu(conv(h) + h) (the conv reads its shortcut: copied)
//   two_convs      relu(conv_a(h) + conv_b(h)), no BatchNorm (the later conv fuses the add)
//   input          conv(x) + x, x the graph input (an external buffer: copied)
//   alpha          add(conv(h), h, alpha = 2) (not fused: the sum post-op scales nothing)
//   broadcast      conv(h) + mean over the image of h (not fused: the sum does not broadcast)
//   conv_read_twice  relu(y + h) * y, y = conv(h) (not fused: y has another reader)
struct ResidualVariant : nn::Module {
  explicit ResidualVariant(std::string variant)
      : nn::Module("ResidualVariant"), variant(std::move(variant)) {
    const int64_t in = this->variant == "input" ? 3 : 16;
    stem = register_module("stem", conv_bn_relu(3, 16));
    conv_a = register_module("conv_a", conv3x3(in, in));
    conv_b = register_module("conv_b", conv3x3(in, in));
    bn = register_module("bn", nn::BatchNorm2d(in));
  }
  Tensor forward(const Tensor& x) {
    if (variant == "input") return conv_a(x) + x;
    const Tensor h = stem(x);
    if (variant == "read_later") return bn(conv_b(relu(conv_a(h)))) + h + h;
    if (variant == "own_src") return relu(conv_a(h) + h);
    if (variant == "two_convs") return relu(conv_a(h) + conv_b(h));
    if (variant == "alpha") return add(conv_a(h), h, 2.0);
    if (variant == "broadcast") return conv_a(h) + mean(h, {2, 3}, true);
    const Tensor y = conv_a(h);
    return relu(y + h) * y;
  }
  std::string variant;
  nn::Sequential stem{nullptr};
  nn::Conv2d conv_a{nullptr}, conv_b{nullptr};
  nn::BatchNorm2d bn{nullptr};
};

// Random BatchNorm statistics and affine parameters, so that folding is not the identity; the
// other layers keep PyTorch's default initialisation (seeded by the caller).
inline void randomise_batchnorm(nn::Module& module, uint32_t seed) {
  NoGradGuard no_grad;
  for (auto& [path, child] : module.named_modules()) {
    if (!std::dynamic_pointer_cast<nn::BatchNorm2dImpl>(child)) continue;
    for (auto& [name, tensor] : child->state_dict()) {
      if (!tensor.defined() || tensor.dtype() != kFloat32) continue;
      const bool variance = name == "running_var";
      tensor.copy_(random_tensor(tensor.sizes(), seed++, variance ? 0.2f : -1.0f, 1.5f));
    }
  }
}

template <typename Model>
ir::GraphModule traced(const std::shared_ptr<Model>& model, std::vector<Tensor> example,
                       uint32_t seed) {
  randomise_batchnorm(*model, seed);
  model->eval();
  ir::GraphModule graph_module = ir::trace(model, example);
  graph_module.eval();
  return graph_module;
}

inline std::function<std::vector<Tensor>(int64_t)> images(int64_t channels, int64_t size) {
  return [=](int64_t batch) {
    return std::vector<Tensor>{random_tensor({batch, channels, size, size}, 100 + batch, -2, 2)};
  };
}

// Residual blocks, 16 x 16 images: the model zoo's basic block and bottleneck with and without a
// downsample shortcut, MobileNetV2's inverted residual (24 channels, no activation after the add),
// and the ResidualVariant cases; with the adds the compiler fuses and updates in place.
inline std::vector<InferenceCase> residual_cases() {
  std::vector<InferenceCase> cases;
  cases.push_back({"residual: basic blocks (identity, then downsample)",
                   [] {
                     auto net = conv_bn_relu(3, 16);
                     net->push_back(std::make_shared<models::BasicBlockImpl>(16, 16, 1));
                     net->push_back(std::make_shared<models::BasicBlockImpl>(16, 32, 2));
                     return traced(net.ptr(), {randn({1, 3, 16, 16})}, 80);
                   },
                   images(3, 16), 2, 2});
  cases.push_back({"residual: bottlenecks (downsample, then identity)",
                   [] {
                     auto net = conv_bn_relu(3, 16);
                     net->push_back(std::make_shared<models::BottleneckImpl>(16, 8, 1));
                     net->push_back(std::make_shared<models::BottleneckImpl>(32, 8, 1));
                     return traced(net.ptr(), {randn({1, 3, 16, 16})}, 81);
                   },
                   images(3, 16), 2, 2});
  cases.push_back({"residual: MobileNetV2 inverted residual",
                   [] {
                     auto net = nn::Sequential(
                         nn::Conv2d(nn::Conv2dOptions(3, 24, 3).padding(1).bias(false)),
                         nn::BatchNorm2d(24), nn::ReLU6());
                     net->push_back(std::make_shared<models::InvertedResidualImpl>(24, 24, 1, 6));
                     return traced(net.ptr(), {randn({1, 3, 16, 16})}, 82);
                   },
                   images(3, 16), 1, 1});
  const std::vector<std::tuple<std::string, int, int>> variants = {
      {"read_later", 1, 0}, {"own_src", 1, 0},   {"two_convs", 1, 1},      {"input", 1, 0},
      {"alpha", 0, 0},      {"broadcast", 0, 0}, {"conv_read_twice", 0, 0}};
  for (const auto& [variant, fused, in_place] : variants) {
    cases.push_back(
        {"residual: " + variant,
         [variant] {
           return traced(std::make_shared<ResidualVariant>(variant), {randn({1, 3, 16, 16})}, 83);
         },
         images(3, 16), fused, in_place});
  }
  return cases;
}

inline std::vector<InferenceCase> inference_cases() {
  std::vector<InferenceCase> cases;
  cases.push_back({"mlp",
                   [] {
                     auto mlp = nn::Sequential(nn::Linear(20, 16), nn::ReLU(), nn::Linear(16, 16),
                                               nn::ReLU(), nn::Linear(16, 5));
                     return traced(mlp.ptr(), {randn({1, 20})}, 1);
                   },
                   [](int64_t batch) {
                     return std::vector<Tensor>{random_tensor({batch, 20}, 7 + batch, -2, 2)};
                   }});
  cases.push_back(
      {"vgg",
       [] {
         return traced(std::make_shared<FunctionalCnn>(8, 16, 32), {randn({1, 3, 16, 16})}, 2);
       },
       images(3, 16)});
  cases.push_back(
      {"pruned vgg (13, 27, 51 channels)",
       [] {
         return traced(std::make_shared<FunctionalCnn>(13, 27, 51), {randn({1, 3, 16, 16})}, 3);
       },
       images(3, 16)});
  cases.push_back(
      {"cnn with batchnorm",
       [] {
         auto net = nn::Sequential(
             nn::Conv2d(nn::Conv2dOptions(3, 12, 3).padding(1)), nn::BatchNorm2d(12), nn::ReLU(),
             nn::Conv2d(nn::Conv2dOptions(12, 13, 3).padding(1).bias(false)),
             nn::BatchNorm2d(nn::BatchNorm2dOptions(13).affine(false)), nn::MaxPool2d(2),
             nn::Conv2d(nn::Conv2dOptions(13, 16, 3).stride(2).groups(1)), nn::BatchNorm2d(16),
             nn::LeakyReLU(0.1), nn::Conv2d(nn::Conv2dOptions(16, 16, 1).groups(4)),
             nn::BatchNorm2d(16), nn::Flatten(), nn::Linear(16 * 3 * 3, 6));
         return traced(net.ptr(), {randn({1, 3, 16, 16})}, 4);
       },
       images(3, 16)});
  cases.push_back({"lstm -> linear (batch first)",
                   [] {
                     return traced(std::make_shared<LstmTagger>(1, true), {randn({1, 5, 6})}, 5);
                   },
                   [](int64_t batch) {
                     return std::vector<Tensor>{random_tensor({batch, 5, 6}, 30 + batch)};
                   }});
  cases.push_back({"lstm 2 layers -> linear (time major)",
                   [] {
                     return traced(std::make_shared<LstmTagger>(2, false), {randn({4, 1, 6})}, 6);
                   },
                   [](int64_t batch) {
                     return std::vector<Tensor>{random_tensor({4, batch, 6}, 40 + batch)};
                   }});
  cases.push_back({"lstm with state",
                   [] {
                     return traced(std::make_shared<LstmWithState>(),
                                   {randn({3, 1, 5}), randn({2, 1, 7}), randn({2, 1, 7})}, 7);
                   },
                   [](int64_t batch) {
                     return std::vector<Tensor>{random_tensor({3, batch, 5}, 50 + batch),
                                                random_tensor({2, batch, 7}, 60 + batch),
                                                random_tensor({2, batch, 7}, 70 + batch)};
                   }});
  cases.push_back(
      {"pooling variants",
       [] {
         auto net = nn::Sequential(
             nn::Conv2d(nn::Conv2dOptions(3, 8, 3).padding(1)), nn::ReLU(),
             nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1).ceil_mode(true)),
             nn::Conv2d(nn::Conv2dOptions(8, 8, 3).padding(1)),
             nn::AvgPool2d(nn::AvgPool2dOptions(3).stride(2).padding(1).count_include_pad(false)),
             nn::Conv2d(nn::Conv2dOptions(8, 8, 1)),
             nn::AvgPool2d(nn::AvgPool2dOptions(2).ceil_mode(true)), nn::Tanh(),
             nn::MaxPool2d(nn::MaxPool2dOptions(2).dilation(2).padding(1)),
             nn::AdaptiveMaxPool2d(pare::IntPair(2, 1)), nn::Conv2d(nn::Conv2dOptions(8, 5, 1)),
             nn::AdaptiveAvgPool2d(pare::IntPair(3, 2)), nn::Flatten(), nn::Linear(30, 4));
         return traced(net.ptr(), {randn({1, 3, 23, 23})}, 8);
       },
       images(3, 23)});
  // Each activation module after a conv (fused there), on its own after a pool, after a linear.
  for (size_t a = 0; a < activation_modules(1).size(); ++a) {
    const std::string name = activation_modules(1)[a]->type_name();
    cases.push_back({"activation " + name,
                     [a] {
                       auto net = nn::Sequential(
                           nn::Conv2d(nn::Conv2dOptions(3, 6, 3).padding(1)),
                           activation_modules(6)[a], nn::MaxPool2d(2), activation_modules(6)[a],
                           nn::Flatten(), nn::Linear(6 * 4 * 4, 5), activation_modules(1)[a]);
                       return traced(net.ptr(), {randn({1, 3, 8, 8})}, 9 + a);
                     },
                     images(3, 8)});
  }
  for (InferenceCase& residual : residual_cases()) cases.push_back(std::move(residual));
  // The same as functions with non-default arguments, each after a conv.
  for (size_t a = 0; a < functional_activations().size(); ++a) {
    cases.push_back(
        {"function " + std::to_string(a),
         [a] {
           return traced(std::make_shared<ConvThenFunction>(a), {randn({1, 3, 6, 6})}, 40 + a);
         },
         images(3, 6)});
  }
  cases.push_back(
      {"overlapping adaptive pools",
       [] {
         return traced(std::make_shared<OverlappingAdaptivePools>(), {randn({1, 3, 7, 7})}, 60);
       },
       images(3, 7)});
  return cases;
}

}  // namespace pare::testing
