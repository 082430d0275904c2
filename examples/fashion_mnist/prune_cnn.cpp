// The whole of pare in one page: train a small CNN on Fashion-MNIST, remove half of its channels
// with the saliency pruner, fine-tune, and save both networks as .pare files that any program can
// load and run without this class. (`pare demo` is the full, measured version of this flow.)
//
//   prune_cnn [STEPS]     # training steps per phase (default 300 batches of 64)
#include <pare/pare.h>

#include <iomanip>
#include <iostream>
#include <string>

#include "pare/data/data.h"
#include "pare/ir/ir.h"
#include "pare/passes/pruning/pruning.h"

namespace {

// conv(1->16) -> relu -> max pool -> conv(16->32) -> relu -> adaptive avg pool -> Linear(32*7*7
// -> 10). conv1 is pruned with conv2's matching input channels; conv2 with the Linear's columns
// (the default patterns: Conv2d, act, pool, Conv2d and Conv2d, act, adaptive pool, flatten,
// Linear).
struct SmallCnn : pare::nn::Module {
  SmallCnn() : pare::nn::Module("SmallCnn") {
    conv1 =
        register_module("conv1", pare::nn::Conv2d(pare::nn::Conv2dOptions(1, 16, 3).padding(1)));
    conv2 =
        register_module("conv2", pare::nn::Conv2d(pare::nn::Conv2dOptions(16, 32, 3).padding(1)));
    pool = register_module("pool", pare::nn::AdaptiveAvgPool2d(7));
    head = register_module("head", pare::nn::Linear(32 * 7 * 7, 10));
  }
  pare::Tensor forward(const pare::Tensor& x) {
    pare::Tensor h = pare::max_pool2d(pare::relu(conv1(x)), 2);
    return head(pare::flatten(pool(pare::relu(conv2(h))), 1));
  }
  pare::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  pare::nn::AdaptiveAvgPool2d pool{nullptr};
  pare::nn::Linear head{nullptr};
};

void train_steps(SmallCnn& net, pare::data::DataLoader& loader, int64_t steps, uint64_t epoch) {
  pare::optim::SGD optimizer(net.parameters(), pare::optim::SGDOptions(0.05).momentum(0.9));
  net.train();
  int64_t step = 0;
  for (const pare::data::Batch& batch : loader.epoch(epoch)) {
    if (step++ == steps) break;
    optimizer.zero_grad();
    pare::Tensor loss = pare::cross_entropy(net.forward(batch.data), batch.targets);
    loss.backward();
    optimizer.step();
  }
  net.eval();
}

double test_accuracy(SmallCnn& net, const pare::data::FashionMNIST& test_set) {
  pare::NoGradGuard no_grad;
  pare::data::DataLoader loader(test_set, {.batch_size = 1000, .shuffle = false},
                                pare::data::transforms::Normalize(pare::data::kFashionMnistMean,
                                                                  pare::data::kFashionMnistStd));
  int64_t correct = 0;
  for (const pare::data::Batch& batch : loader.epoch(0)) {
    const pare::Tensor predicted = pare::argmax(net.forward(batch.data), 1);
    correct += pare::sum(pare::eq(predicted, batch.targets).to(pare::kInt64)).item<int64_t>();
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(test_set.size());
}

}  // namespace

int main(int argc, char** argv) try {
  const int64_t steps = argc > 1 ? std::stoll(argv[1]) : 300;
  pare::manual_seed(1);
  const auto train_set = pare::data::load_fashion_mnist(pare::data::Split::train);
  const auto test_set = pare::data::load_fashion_mnist(pare::data::Split::test);
  pare::data::DataLoader loader(train_set, {.batch_size = 64, .shuffle = true, .seed = 1},
                                pare::data::transforms::Normalize(pare::data::kFashionMnistMean,
                                                                  pare::data::kFashionMnistStd));

  auto net = std::make_shared<SmallCnn>();
  train_steps(*net, loader, steps, 0);
  std::cout << std::fixed << std::setprecision(2) << "dense:  " << test_accuracy(*net, test_set)
            << "% test accuracy\n";
  const pare::Tensor example = pare::randn({1, 1, 28, 28});
  pare::ir::save(pare::ir::trace(net, {example}), "dense.pare");

  // Mask the least salient half of conv1's and conv2's output channels, then remove them (and
  // the inputs of the layers after them) for real.
  pare::pruning::SaliencyPruner pruner(nlohmann::json{{"sparsity_level", 0.5}});
  pruner.prepare(net, {{{"tensor_fqn", "conv1.weight"}}, {{"tensor_fqn", "conv2.weight"}}});
  pruner.step();
  pare::ir::GraphModule pruned = pruner.prune({example});
  std::cout << "pruned: " << test_accuracy(*net, test_set) << "% before fine-tuning\n";
  train_steps(*net, loader, steps, 1);
  std::cout << "pruned: " << test_accuracy(*net, test_set) << "% after fine-tuning\n";
  pare::ir::save(pruned, "pruned.pare");

  for (const char* path : {"dense.pare", "pruned.pare"}) {
    pare::ir::GraphModule loaded = pare::ir::load(path);  // no SmallCnn needed
    const pare::ir::ModelStats stats = pare::ir::model_stats(loaded);
    std::cout << path << ": " << stats.params << " parameters, " << stats.macs << " MACs\n";
  }
  return 0;
} catch (const std::exception& error) {
  std::cerr << "prune_cnn: " << error.what() << "\n";
  return 1;
}
