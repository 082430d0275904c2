// Writes the large MLP that `pare prune`'s memory and time are measured on (docs/benchmarks.md,
// "Loading and pruning large models"): 4096-8192-8192-1024-10 with ReLU between the layers,
// 109,079,562 parameters (a 436 MB .pare), seeded PyTorch-default weights; input [1, 4096].
// Not part of the test run: scripts/make-large-mlp.sh builds and runs it.
//
//   pare_make_large_mlp /tmp/large_mlp.pare
#include <cstdint>
#include <exception>
#include <iostream>
#include <memory>
#include <string>

#include "pare/ir/model_stats.h"
#include "pare/ir/pare_file.h"
#include "pare/ir/tracer.h"
#include "pare/pare.h"

namespace {

struct LargeMlp : pare::nn::Module {
  LargeMlp() {
    fc1 = register_module("fc1", pare::nn::Linear(4096, 8192));
    fc2 = register_module("fc2", pare::nn::Linear(8192, 8192));
    fc3 = register_module("fc3", pare::nn::Linear(8192, 1024));
    fc4 = register_module("fc4", pare::nn::Linear(1024, 10));
  }
  pare::Tensor forward(const pare::Tensor& x) {
    return fc4(pare::relu(fc3(pare::relu(fc2(pare::relu(fc1(x)))))));
  }
  pare::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr}, fc4{nullptr};
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " OUT.pare\n\n"
              << "Writes the 109M-parameter MLP 4096-8192-8192-1024-10 (seeded weights).\n";
    return 2;
  }
  try {
    pare::manual_seed(11);
    auto model = std::make_shared<LargeMlp>();
    model->eval();
    pare::ir::GraphModule traced = pare::ir::trace(model, {pare::randn({1, 4096})});
    pare::ir::save(traced, argv[1]);
    std::cout << argv[1] << ": " << pare::ir::model_stats(traced).params << " params\n";
  } catch (const std::exception& error) {
    std::cerr << argv[0] << ": " << error.what() << "\n";
    return 1;
  }
  return 0;
}
