// The demo's CNN and its chain-flow pruning (prepare -> step -> prune).
#include <iomanip>
#include <memory>

#include "demo_flows.h"
#include "demo_training.h"
#include "pare/ir/ir.h"
#include "pare/pare.h"
#include "pare/passes/pruning/pruning.h"

namespace pare::demo {
namespace {

// conv 1->32->64->128 (3x3, padding 1, ReLU; max pools after the first two), adaptive average
// pool to 3x3, flatten, Linear 1152->128 (ReLU) -> 10. Every conv and fc1 is prunable by the
// default patterns: (Conv2d, act, pool, Conv2d) twice, (Conv2d, act, adaptive pool, flatten,
// Linear) and (Linear, act, Linear).
struct FashionCnn : nn::Module {
  FashionCnn() : nn::Module("FashionCnn") {
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(1)));
    conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)));
    conv3 = register_module("conv3", nn::Conv2d(nn::Conv2dOptions(64, 128, 3).padding(1)));
    pool = register_module("pool", nn::AdaptiveAvgPool2d(3));
    fc1 = register_module("fc1", nn::Linear(128 * 3 * 3, 128));
    fc2 = register_module("fc2", nn::Linear(128, 10));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = max_pool2d(relu(conv1(x)), 2);
    h = max_pool2d(relu(conv2(h)), 2);
    h = flatten(pool(relu(conv3(h))), 1);
    return fc2(relu(fc1(h)));
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  nn::AdaptiveAvgPool2d pool{nullptr};
  nn::Linear fc1{nullptr}, fc2{nullptr};
};

std::unique_ptr<pruning::BaseStructuredSparsifier> make_pruner(const DemoOptions& options) {
  if (options.pruner == "saliency")
    return std::make_unique<pruning::SaliencyPruner>(
        nlohmann::json{{"sparsity_level", options.sparsity}});
  if (options.pruner == "fpgm") return std::make_unique<pruning::FPGMPruner>(options.sparsity);
  throw Error(str_cat("demo: --pruner must be saliency or fpgm, got '", options.pruner, "'"));
}

}  // namespace

double run_cnn_chain_flow(const FlowContext& context) {
  const DemoOptions& options = context.options;
  std::ostream& log = context.log;
  auto net = std::make_shared<FashionCnn>();
  const Forward forward = [&](const Tensor& x) { return net->forward(x); };
  // 1. Dense training.
  {
    std::unique_ptr<optim::Optimizer> optimizer =
        make_optimizer(net->parameters(), options, options.lr);
    train(*net, forward, context.train_loader, *optimizer, *options.epochs, 0, "dense", options,
          log);
  }
  net->eval();
  const double dense_accuracy = accuracy(forward, context.test_set);
  log << "dense test accuracy: " << std::fixed << std::setprecision(2) << dense_accuracy << "%\n";
  const Tensor example = randn({1, 1, 28, 28});
  ir::save(ir::trace(net, {example}), context.dense_path);

  // 2. Prune every conv and the hidden Linear: prepare -> step -> prune.
  std::unique_ptr<pruning::BaseStructuredSparsifier> pruner = make_pruner(options);
  pruner->prepare(net, {{{"tensor_fqn", "conv1.weight"}},
                        {{"tensor_fqn", "conv2.weight"}},
                        {{"tensor_fqn", "conv3.weight"}},
                        {{"tensor_fqn", "fc1.weight"}}});
  pruner->step();
  ir::GraphModule pruned = pruner->prune({example});
  const double pruned_before_finetune = accuracy(forward, context.test_set);
  log << "pruned (" << options.pruner << ", sparsity " << options.sparsity
      << ") before fine-tuning: " << std::setprecision(2) << pruned_before_finetune << "%\n";

  // 3. Fine-tune the pruned network (a new optimizer: the parameters are new tensors).
  if (*options.finetune_epochs > 0) {
    std::unique_ptr<optim::Optimizer> optimizer =
        make_optimizer(net->parameters(), options, options.finetune_lr);
    train(*net, forward, context.train_loader, *optimizer, *options.finetune_epochs,
          *options.epochs, "fine-tune", options, log);
  }
  net->eval();
  ir::save(pruned, context.pruned_path);
  return dense_accuracy;
}

}  // namespace pare::demo
