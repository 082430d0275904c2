// Dependency-group pruning: the analysis (DependencyGraph) and the whole prune (GroupPruner: the
// analysis, l2 scores, the choice and the physical slicing of every member) on ResNet-50, its
// step() (scores and choice) and prune() (slicing) alone, and the analysis on residual chains of
// 125 to 1000 blocks (time per block should stay flat: the analysis is linear in the graph's size).
//
//   ./build/bench/bench_group_prune --benchmark_min_time=1
//
// Models are traced outside the timed region; GroupPruner changes its graph, so every iteration
// prunes a fresh trace.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>

#include "pare/ir/ir.h"
#include "pare/models/models.h"
#include "pare/pare.h"
#include "pare/passes/pruning/pruning.h"

namespace {

pare::ir::GraphModule trace_resnet50() {
  pare::manual_seed(0);
  auto net = pare::models::resnet50();
  net->eval();
  pare::NoGradGuard no_grad;
  // The analysis and the slicing do not depend on the image size: a small input traces faster.
  return pare::ir::trace(net.ptr(), {pare::randn({1, 3, 64, 64})});
}

void resnet50_dependency_graph(benchmark::State& state) {
  pare::ir::GraphModule gm = trace_resnet50();
  for (auto _ : state) {
    pare::pruning::DependencyGraph graph(gm, {.ignored_layers = {"fc"}});
    benchmark::DoNotOptimize(graph.groups().size());
  }
}
BENCHMARK(resnet50_dependency_graph)->Unit(benchmark::kMillisecond)->UseRealTime();

void resnet50_group_prune(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto gm = std::make_unique<pare::ir::GraphModule>(trace_resnet50());
    state.ResumeTiming();
    pare::pruning::GroupPruner pruner(
        *gm, pare::pruning::GroupPrunerOptions().ratio(0.5).ignore({"fc"}));
    pruner.step();
    pruner.prune();
    state.PauseTiming();
    gm.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(resnet50_group_prune)->Unit(benchmark::kMillisecond)->UseRealTime();

// The whole prune's two costly phases alone: step() (the l2 scores of every group and the
// choice) and prune() after it (the plan and the slicing of every member).
void resnet50_group_step(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto gm = std::make_unique<pare::ir::GraphModule>(trace_resnet50());
    pare::pruning::GroupPruner pruner(
        *gm, pare::pruning::GroupPrunerOptions().ratio(0.5).ignore({"fc"}));
    state.ResumeTiming();
    pruner.step();
    state.PauseTiming();
    gm.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(resnet50_group_step)->Unit(benchmark::kMillisecond)->UseRealTime();

void resnet50_group_slice(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto gm = std::make_unique<pare::ir::GraphModule>(trace_resnet50());
    pare::pruning::GroupPruner pruner(
        *gm, pare::pruning::GroupPrunerOptions().ratio(0.5).ignore({"fc"}));
    pruner.step();
    state.ResumeTiming();
    pruner.prune();
    state.PauseTiming();
    gm.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(resnet50_group_slice)->Unit(benchmark::kMillisecond)->UseRealTime();

// `blocks` x (conv 3x3 -> BatchNorm -> ReLU -> conv 3x3 -> BatchNorm, + shortcut, ReLU) on 8
// channels: every block adds one group (its inner channels) to the residual stream's group.
struct ResidualChain : pare::nn::UnaryModule {
  explicit ResidualChain(int64_t blocks) : pare::nn::UnaryModule("ResidualChain") {
    for (int64_t block = 0; block < blocks; ++block) {
      convs.push_back(register_module("conv" + std::to_string(2 * block), conv()));
      norms.push_back(register_module("bn" + std::to_string(2 * block), pare::nn::BatchNorm2d(8)));
      convs.push_back(register_module("conv" + std::to_string(2 * block + 1), conv()));
      norms.push_back(
          register_module("bn" + std::to_string(2 * block + 1), pare::nn::BatchNorm2d(8)));
    }
    head = register_module("head", pare::nn::Linear(8, 2));
  }
  static pare::nn::Conv2d conv() {
    return pare::nn::Conv2d(pare::nn::Conv2dOptions(8, 8, 3).padding(1).bias(false));
  }
  pare::Tensor forward(const pare::Tensor& x) override {
    pare::Tensor h = x;
    for (size_t i = 0; i < convs.size(); i += 2) {
      const pare::Tensor inner = pare::relu(norms[i](convs[i](h)));
      h = pare::relu(h + norms[i + 1](convs[i + 1](inner)));
    }
    return head(pare::flatten(pare::adaptive_avg_pool2d(h, 1), 1));
  }
  std::vector<pare::nn::Conv2d> convs;
  std::vector<pare::nn::BatchNorm2d> norms;
  pare::nn::Linear head{nullptr};
};

void residual_chain_dependency_graph(benchmark::State& state) {
  const int64_t blocks = state.range(0);
  pare::manual_seed(0);
  auto net = std::make_shared<ResidualChain>(blocks);
  net->eval();
  pare::ir::TraceOptions options;
  options.check = false;
  pare::ir::GraphModule gm = pare::ir::trace(net, {pare::randn({1, 8, 4, 4})}, options);
  for (auto _ : state) {
    pare::pruning::DependencyGraph graph(gm);
    benchmark::DoNotOptimize(graph.groups().size());
  }
  state.counters["blocks"] = static_cast<double>(blocks);
  state.counters["per_block"] = benchmark::Counter(
      static_cast<double>(blocks),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(residual_chain_dependency_graph)
    ->Arg(125)
    ->Arg(250)
    ->Arg(500)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
BENCHMARK_MAIN();
