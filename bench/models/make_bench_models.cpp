// Writes the models `pare bench` is measured on (docs/benchmarks.md; the first three defined in
// bench_models.h), with seeded PyTorch-default weights, as .pare files into a folder:
//   mlp.pare   784-512-512-10, ReLU between the layers; input [1, 784]
//   cnn.pare   VGG-style on 3x32x32: conv 3->64, 64->64, pool, 64->128, 128->128, pool,
//              128->256 (3x3, padding 1, ReLU after each), global average pool, Linear 256->10;
//              input [1, 3, 32, 32]
//   lstm.pare  LSTM 64->128 (one layer, batch_first), Linear 128->10 on every time step:
//              input [1, 32, 64] (batch, 32 steps, features), output [1, 32, 10]. The head
//              reads the whole output sequence (LSTM -> getitem -> Linear), the chain that
//              `pare prune` can shrink (docs/pruning.md).
//   resnet18.pare  pare::models::resnet18(), torchvision's ResNet-18 (module and tensor names
//              included, so PyTorch loads its weights by name), on [1, 3, 224, 224]. Its BatchNorm
//              running statistics are seeded, non-trivial values (randomise_batchnorm_statistics)
//              instead of the 0 / 1 a new layer has, so that folding them does real work.
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

#include "bench_models.h"
#include "pare/ir/model_stats.h"
#include "pare/ir/pare_file.h"
#include "pare/ir/tracer.h"
#include "pare/models/resnet.h"
#include "pare/nn/normalization.h"
#include "pare/pare.h"

namespace {

// BatchNorm running statistics a trained network could have: those of one batch of seeded random
// images (a training-mode pass with momentum 1), each variance then scaled by a random factor in
// [0.5, 1.5). Not 0 / 1, so that folding them into the convolutions does real work; not drawn
// independently of the activations either: random means in [0, 0.5) leave every ReLU of
// ResNet-18's last blocks at zero, and its output equal to fc's bias whatever the input.
void randomise_batchnorm_statistics(pare::nn::Module& model, const pare::Shape& input_shape) {
  pare::NoGradGuard no_grad;
  std::vector<std::shared_ptr<pare::nn::BatchNorm2dImpl>> batchnorms;
  for (const auto& [path, module] : model.named_modules())
    if (auto batchnorm = pare::nn::as<pare::nn::BatchNorm2dImpl>(module))
      batchnorms.push_back(batchnorm);
  for (const auto& batchnorm : batchnorms) batchnorm->options().momentum(1.0);
  model.train();
  pare::Shape batch_shape = input_shape;
  batch_shape[0] = 8;
  auto* unary = dynamic_cast<pare::nn::UnaryModule*>(&model);
  PARE_CHECK(unary != nullptr, "randomise_batchnorm_statistics: ", model.type_name(),
             " is not a one-input module");
  unary->forward(pare::randn(batch_shape));
  model.eval();
  for (const auto& batchnorm : batchnorms) {
    batchnorm->options().momentum(0.1);
    batchnorm->running_var().mul_(pare::rand(batchnorm->running_var().sizes()).add_(0.5));
    batchnorm->get_buffer("num_batches_tracked").zero_();
  }
}

// Seeds the weights (each model its own seed, so that adding a model changes no other), traces
// on a batch of one and saves. `make` builds the model once the generator is seeded.
template <typename Make>
void write_model(const std::filesystem::path& folder, const std::string& name, uint64_t seed,
                 const pare::Shape& input_shape, Make make) {
  pare::manual_seed(seed);
  auto model = make();  // its own type: the tracer calls that type's forward
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
              << "Writes mlp.pare, cnn.pare, lstm.pare and resnet18.pare (seeded weights) into "
                 "OUT_FOLDER.\n";
    return 2;
  }
  const std::filesystem::path folder = argv[1];
  try {
    std::filesystem::create_directories(folder);
    write_model(folder, "mlp", 1, {1, 784}, [] { return std::make_shared<pare_bench::Mlp>(); });
    write_model(folder, "cnn", 2, {1, 3, 32, 32},
                [] { return std::make_shared<pare_bench::VggCnn>(); });
    write_model(folder, "lstm", 3, {1, 32, 64},
                [] { return std::make_shared<pare_bench::LstmTagger>(); });
    write_model(folder, "resnet18", 4, {1, 3, 224, 224}, [] {
      auto net = pare::models::resnet18().ptr();
      randomise_batchnorm_statistics(*net, {1, 3, 224, 224});
      return net;
    });
  } catch (const std::exception& error) {
    std::cerr << argv[0] << ": " << error.what() << "\n";
    return 1;
  }
  return 0;
}
