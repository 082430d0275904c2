// The demo's small ResNet-18 and its dependency-group pruning (GroupPruner on the trace).
#include <iomanip>
#include <memory>

#include "demo_flows.h"
#include "demo_training.h"
#include "pare/ir/ir.h"
#include "pare/models/resnet.h"
#include "pare/pare.h"
#include "pare/passes/pruning/group_pruner.h"

namespace pare::demo {

double run_resnet_group_flow(const FlowContext& context) {
  const DemoOptions& options = context.options;
  std::ostream& log = context.log;
  const std::shared_ptr<models::ResNetImpl> net =
      models::resnet18(
          models::ResNetOptions().in_channels(1).num_classes(10).small_input(true).base_width(
              options.resnet_width))
          .ptr();
  // 1. Dense training, eager.
  {
    const Forward forward = [&](const Tensor& x) { return net->forward(x); };
    std::unique_ptr<optim::Optimizer> optimizer =
        make_optimizer(net->parameters(), options, options.lr);
    train(*net, forward, context.train_loader, *optimizer, *options.epochs, 0, "dense", options,
          log);
    net->eval();
  }
  const double dense_accuracy =
      accuracy([&](const Tensor& x) { return net->forward(x); }, context.test_set);
  log << "dense test accuracy: " << std::fixed << std::setprecision(2) << dense_accuracy << "%\n";
  ir::GraphModule graph_module = ir::trace(net, {randn({1, 1, 28, 28})});
  ir::save(graph_module, context.dense_path);

  // 2. Prune every dependency group (the residual adds tie each stage's convs, BatchNorms and
  // shortcut together) in place; fc stays whole (it is the output, 10 classes).
  pruning::GroupPruner pruner(
      graph_module, pruning::GroupPrunerOptions()
                        .importance(pruning::Importance::named(options.pruner, options.seed))
                        .ratio(options.sparsity)
                        .ignore({"fc"}));
  pruner.step();
  pruner.prune();
  const Forward forward = [&](const Tensor& x) { return graph_module.forward({x}).tensor(); };
  const double pruned_before_finetune = accuracy(forward, context.test_set);
  log << "pruned (" << options.pruner << ", group flow, sparsity " << options.sparsity << ", "
      << pruner.choices().size() << " groups) before fine-tuning: " << std::setprecision(2)
      << pruned_before_finetune << "%\n";

  // 3. Fine-tune the pruned GraphModule itself: the pruner replaced the sliced parameters in its
  // root's modules (new leaf tensors), so the optimizer is built after pruning, over them; the
  // forward runs the interpreter in training mode (BatchNorm on batch statistics, autograd).
  if (*options.finetune_epochs > 0) {
    std::unique_ptr<optim::Optimizer> optimizer =
        make_optimizer(graph_module.root().parameters(), options, options.finetune_lr);
    train(graph_module.root(), forward, context.train_loader, *optimizer, *options.finetune_epochs,
          *options.epochs, "fine-tune", options, log);
  }
  graph_module.eval();
  ir::save(graph_module, context.pruned_path);
  return dense_accuracy;
}

}  // namespace pare::demo
