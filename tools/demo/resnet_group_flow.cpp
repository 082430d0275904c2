// The demo's small ResNet-18 and its dependency-group pruning (GroupPruner on the trace).
#include <chrono>
#include <iomanip>
#include <memory>
#include <string>

#include "demo_flows.h"
#include "demo_training.h"
#include "pare/ir/ir.h"
#include "pare/models/resnet.h"
#include "pare/pare.h"
#include "pare/passes/latency/latency_profile.h"
#include "pare/passes/pruning/group_pruner.h"

namespace pare::demo {

namespace {

// The classifier is the network's output (10 classes): never a root, in the profile as in the
// pruner, so that the profile's groups are the pruner's.
const std::vector<std::string> kIgnoredLayers = {"fc"};

// The dense trace's latency profile at batch 1, as the compiled path runs it. Two warm-up and
// five timed runs per point (the median kept) instead of `pare profile`'s 3 and 10: the demo's
// widths of 4..32 channels make ~1300 points of microseconds each, and the profile stays a small
// part of the run (1-6 s at width 4, 3-4 s at width 8 on the shared 2-core machine). Under heavy
// load five runs per point can still be noisy (docs/benchmarks.md, the latency-aware section).
std::shared_ptr<const latency::LatencyProfile> profile_dense(ir::GraphModule& graph_module,
                                                             const DemoOptions& options,
                                                             int64_t threads, std::ostream& log) {
  latency::ProfileOptions profiling;
  profiling.batch = 1;
  profiling.max_threads = threads;
  profiling.ignored_layers = kIgnoredLayers;
  profiling.max_ratio = pruning::GroupPrunerOptions().max_ratio();
  profiling.warmup = 2;
  profiling.repetitions = 5;
  if (options.progress)
    profiling.progress = [&](const std::string& step) { log << "  profiling " << step << "\n"; };
  return std::make_shared<const latency::LatencyProfile>(
      latency::measure_profile(graph_module, profiling));
}

}  // namespace

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
  // shortcut together) in place; fc stays whole (it is the output, 10 classes). By a ratio per
  // group, or (--target-latency) to the widths a measured latency profile says fit the budget.
  pruning::GroupPrunerOptions pruner_options;
  pruner_options.importance(pruning::Importance::named(options.pruner, options.seed))
      .ratio(options.sparsity)
      .ignore(kIgnoredLayers);
  if (options.target_latency) {
    LatencyTargetReport& report = context.target_latency.emplace();
    report.fraction = *options.target_latency;
    report.threads = latency_thread_count(options);
    log << "latency profile of the dense model (batch 1, " << report.threads << " thread(s))\n";
    const auto start = std::chrono::steady_clock::now();
    const auto profile = profile_dense(graph_module, options, report.threads, log);
    report.profile_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log << "latency profile: " << profile->groups.size() << " groups, " << profile->layers.size()
        << " layers, dense predicted " << std::setprecision(4)
        << profile->predict_ms(profile->dense_widths(), report.threads) << " ms, measured "
        << profile->dense_ms.at(static_cast<size_t>(report.threads - 1)) << " ms, in "
        << std::setprecision(1) << report.profile_seconds << " s\n";
    pruner_options.target_latency({profile, report.fraction, 0.0, report.threads});
  }
  pruning::GroupPruner pruner(graph_module, pruner_options);
  pruner.step();
  pruner.prune();
  const Forward forward = [&](const Tensor& x) { return graph_module.forward({x}).tensor(); };
  const double pruned_before_finetune = accuracy(forward, context.test_set);
  log << "pruned (" << options.pruner << ", group flow, ";
  if (context.target_latency) {
    LatencyTargetReport& report = *context.target_latency;
    const nlohmann::json latency = pruner.report().at("latency");
    report.dense_predicted_ms = latency.at("dense_predicted_ms").get<double>();
    report.budget_ms = latency.at("budget_ms").get<double>();
    report.predicted_ms = latency.at("predicted_ms").get<double>();
    for (const nlohmann::json& group : latency.at("groups"))
      report.widths[group.at("key").get<std::string>()] = group.at("width").get<int64_t>();
    // str_cat: the share as given (the log is in fixed notation here).
    log << "target latency " << str_cat(report.fraction) << ": predicted " << std::setprecision(4)
        << report.predicted_ms << " ms of the dense " << report.dense_predicted_ms << " ms, ";
  } else {
    log << "sparsity " << options.sparsity << ", ";
  }
  log << pruner.choices().size() << " groups) before fine-tuning: " << std::fixed
      << std::setprecision(2) << pruned_before_finetune << "%\n";

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
