// Writes the three models `pare bench` is measured on (docs/benchmarks.md; defined in
// bench_models.h), with seeded PyTorch-default weights, as .pare files into a folder:
//   mlp.pare   784-512-512-10, ReLU between the layers; input [1, 784]
//   cnn.pare   VGG-style on 3x32x32: conv 3->64, 64->64, pool, 64->128, 128->128, pool,
//              128->256 (3x3, padding 1, ReLU after each), global average pool, Linear 256->10;
//              input [1, 3, 32, 32]
//   lstm.pare  LSTM 64->128 (one layer, batch_first), Linear 128->10 on every time step:
//              input [1, 32, 64] (batch, 32 steps, features), output [1, 32, 10]. The head
//              reads the whole output sequence (LSTM -> getitem -> Linear), the chain that
//              `pare prune` can shrink (docs/pruning.md).
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
#include "pare/pare.h"

namespace {

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
    write_model<pare_bench::Mlp>(folder, "mlp", 1, {1, 784});
    write_model<pare_bench::VggCnn>(folder, "cnn", 2, {1, 3, 32, 32});
    write_model<pare_bench::LstmTagger>(folder, "lstm", 3, {1, 32, 64});
  } catch (const std::exception& error) {
    std::cerr << argv[0] << ": " << error.what() << "\n";
    return 1;
  }
  return 0;
}
