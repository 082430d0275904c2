// The three models `pare bench` is measured on (docs/benchmarks.md), shared by the program that
// writes them as .pare files (make_bench_models.cpp) and the whole-model benchmark
// (bench_inference.cpp), so that both measure the same networks:
//   Mlp         784-512-512-10, ReLU between the layers; input [N, 784]
//   VggCnn      VGG-style on 3x32x32: conv 3->w, w->w, pool, w->2w, 2w->2w, pool, 2w->4w (3x3,
//               padding 1, ReLU after each), global average pool, Linear 4w->10; w = 64 is the
//               benchmark model, w = 32 what `pare prune --sparsity 0.5` leaves of it;
//               input [N, 3, 32, 32]
//   LstmTagger  LSTM 64->128 (one layer, batch_first), Linear 128->10 on every time step;
//               input [N, 32, 64], output [N, 32, 10]
//
//   auto cnn = std::make_shared<pare_bench::VggCnn>();  // or VggCnn(32): the pruned widths
//   pare::ir::GraphModule traced = pare::ir::trace(cnn, {pare::randn({1, 3, 32, 32})});
#pragma once

#include <cstdint>

#include "pare/pare.h"

namespace pare_bench {

struct Mlp : pare::nn::Module {
  Mlp() {
    fc1 = register_module("fc1", pare::nn::Linear(784, 512));
    fc2 = register_module("fc2", pare::nn::Linear(512, 512));
    fc3 = register_module("fc3", pare::nn::Linear(512, 10));
  }
  pare::Tensor forward(const pare::Tensor& x) { return fc3(pare::relu(fc2(pare::relu(fc1(x))))); }
  pare::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};

inline pare::nn::Conv2d conv3x3(int64_t in_channels, int64_t out_channels) {
  return pare::nn::Conv2d(pare::nn::Conv2dOptions(in_channels, out_channels, 3).padding(1));
}

struct VggCnn : pare::nn::Module {
  explicit VggCnn(int64_t width = 64) {
    conv1 = register_module("conv1", conv3x3(3, width));
    conv2 = register_module("conv2", conv3x3(width, width));
    conv3 = register_module("conv3", conv3x3(width, 2 * width));
    conv4 = register_module("conv4", conv3x3(2 * width, 2 * width));
    conv5 = register_module("conv5", conv3x3(2 * width, 4 * width));
    fc = register_module("fc", pare::nn::Linear(4 * width, 10));
  }
  pare::Tensor forward(const pare::Tensor& x) {
    pare::Tensor h = pare::relu(conv2(pare::relu(conv1(x))));
    h = pare::max_pool2d(h, 2);
    h = pare::relu(conv4(pare::relu(conv3(h))));
    h = pare::max_pool2d(h, 2);
    h = pare::relu(conv5(h));
    return fc(pare::flatten(pare::adaptive_avg_pool2d(h, 1), 1));
  }
  pare::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, conv4{nullptr}, conv5{nullptr};
  pare::nn::Linear fc{nullptr};
};

// The head reads the whole output sequence (LSTM -> getitem -> Linear), the chain that
// `pare prune` can shrink (docs/pruning.md).
struct LstmTagger : pare::nn::Module {
  LstmTagger() {
    lstm =
        register_module("lstm", pare::nn::LSTM(pare::nn::LSTMOptions(64, 128).batch_first(true)));
    fc = register_module("fc", pare::nn::Linear(128, 10));
  }
  pare::Tensor forward(const pare::Tensor& x) {
    auto [sequence, state] = lstm(x);
    return fc(sequence);
  }
  pare::nn::LSTM lstm{nullptr};
  pare::nn::Linear fc{nullptr};
};

}  // namespace pare_bench
