// Writes the three models `pare bench` is measured on (docs/benchmarks.md), with seeded
// PyTorch-default weights, as .pare files into a folder:
//   mlp.pare   784-512-512-10, ReLU between the layers; input [1, 784]
//   cnn.pare   VGG-style on 3x32x32: conv 3->64, 64->64, pool, 64->128, 128->128, pool,
//              128->256 (3x3, padding 1, ReLU after each), global average pool, Linear 256->10;
//              input [1, 3, 32, 32]
//   lstm.pare  LSTM 64->128 (one layer, batch_first), Linear 128->10 on every time step:
//              input [1, 32, 64] (batch, 32 steps, features), output [1, 32, 10]. The head
//              reads the whole output sequence (LSTM -> getitem -> Linear), the chain that
//              `pare prune` can shrink (spec/pruning.md).
// The recorded batch is 1; `pare bench --batch` replaces it.
//
//   pare_make_bench_models bench/models/out      (or: bash scripts/make-bench-models.sh)
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "pare/ir/model_stats.h"
#include "pare/ir/pare_file.h"
#include "pare/ir/tracer.h"
#include "pare/pare.h"

namespace {

using pare::Tensor;

struct Mlp : pare::nn::Module {
  Mlp() {
    fc1 = register_module("fc1", pare::nn::Linear(784, 512));
    fc2 = register_module("fc2", pare::nn::Linear(512, 512));
    fc3 = register_module("fc3", pare::nn::Linear(512, 10));
  }
  Tensor forward(const Tensor& x) { return fc3(pare::relu(fc2(pare::relu(fc1(x))))); }
  pare::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};

pare::nn::Conv2d conv3x3(int64_t in_channels, int64_t out_channels) {
  return pare::nn::Conv2d(pare::nn::Conv2dOptions(in_channels, out_channels, 3).padding(1));
}

struct VggCnn : pare::nn::Module {
  VggCnn() {
    conv1 = register_module("conv1", conv3x3(3, 64));
    conv2 = register_module("conv2", conv3x3(64, 64));
    conv3 = register_module("conv3", conv3x3(64, 128));
    conv4 = register_module("conv4", conv3x3(128, 128));
    conv5 = register_module("conv5", conv3x3(128, 256));
    fc = register_module("fc", pare::nn::Linear(256, 10));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = pare::relu(conv2(pare::relu(conv1(x))));
    h = pare::max_pool2d(h, 2);
    h = pare::relu(conv4(pare::relu(conv3(h))));
    h = pare::max_pool2d(h, 2);
    h = pare::relu(conv5(h));
    return fc(pare::flatten(pare::adaptive_avg_pool2d(h, 1), 1));
  }
  pare::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, conv4{nullptr}, conv5{nullptr};
  pare::nn::Linear fc{nullptr};
};

struct LstmTagger : pare::nn::Module {
  LstmTagger() {
    lstm =
        register_module("lstm", pare::nn::LSTM(pare::nn::LSTMOptions(64, 128).batch_first(true)));
    fc = register_module("fc", pare::nn::Linear(128, 10));
  }
  Tensor forward(const Tensor& x) {
    auto [sequence, state] = lstm(x);
    return fc(sequence);
  }
  pare::nn::LSTM lstm{nullptr};
  pare::nn::Linear fc{nullptr};
};

// Seeds the weights (each model its own seed, so that adding a model changes no other), traces
// on a batch of one and saves.
template <typename Model>
void write_model(const std::filesystem::path& folder, const std::string& name, uint64_t seed,
                 const pare::Shape& input_shape) {
  pare::manual_seed(seed);
  auto model = std::make_shared<Model>();
  model->eval();
  pare::ir::GraphModule traced = pare::ir::trace(model, {pare::randn(input_shape)});
  const std::string path = (folder / (name + ".pare")).string();
  pare::ir::save(traced, path);
  const pare::ir::ModelStats stats = pare::ir::model_stats(traced);
  std::cout << path << ": input " << pare::to_string(input_shape) << ", " << stats.params
            << " params, " << stats.macs << " MACs\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " OUT_FOLDER\n\n"
              << "Writes mlp.pare, cnn.pare and lstm.pare (seeded weights) into OUT_FOLDER.\n";
    return 2;
  }
  const std::filesystem::path folder = argv[1];
  try {
    std::filesystem::create_directories(folder);
    write_model<Mlp>(folder, "mlp", 1, {1, 784});
    write_model<VggCnn>(folder, "cnn", 2, {1, 3, 32, 32});
    write_model<LstmTagger>(folder, "lstm", 3, {1, 32, 64});
  } catch (const std::exception& error) {
    std::cerr << argv[0] << ": " << error.what() << "\n";
    return 1;
  }
  return 0;
}
