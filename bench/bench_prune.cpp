// The pruning pass on long Linear/ReLU chains: prune_graph is linear in the graph's size (the
// pattern table is indexed by each pattern's first element, so a node's candidates do not grow
// with the table). Each benchmark reports the time per layer; it should stay flat as the chain
// grows from 125 to 1000 layers.
//
//   ./build/bench/bench_prune --benchmark_min_time=1
//
// The model is rebuilt outside the timed region for every iteration (pruning changes it).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>

#include "pare/pare.h"
#include "pare/passes/pruning/pruning.h"

namespace {

constexpr int64_t kWidth = 8;

struct PrunableChain {
  std::shared_ptr<pare::nn::SequentialImpl> model;
  std::unique_ptr<pare::pruning::SaliencyPruner> pruner;
  std::unique_ptr<pare::ir::GraphModule> graph_module;
};

// `layers` x (Linear(8, 8), ReLU), then a Linear(8, 8) head; every Linear but the head masked
// at half sparsity and traced.
PrunableChain make_chain(int64_t layers, const pare::Tensor& x) {
  PrunableChain chain;
  chain.model = std::make_shared<pare::nn::SequentialImpl>();
  std::vector<nlohmann::json> config;
  for (int64_t layer = 0; layer < layers; ++layer) {
    config.push_back({{"tensor_fqn", std::to_string(2 * layer) + ".weight"}});
    chain.model->push_back(pare::nn::Linear(kWidth, kWidth));
    chain.model->push_back(pare::nn::ReLU());
  }
  chain.model->push_back(pare::nn::Linear(kWidth, kWidth));
  chain.pruner =
      std::make_unique<pare::pruning::SaliencyPruner>(nlohmann::json{{"sparsity_level", 0.5}});
  chain.pruner->prepare(chain.model, config);
  chain.pruner->step();
  pare::ir::TraceOptions options;
  options.check = false;
  chain.graph_module =
      std::make_unique<pare::ir::GraphModule>(pare::ir::trace(chain.model, {x}, options));
  return chain;
}

void prune_linear_relu_chain(benchmark::State& state) {
  const int64_t layers = state.range(0);
  pare::manual_seed(0);
  const pare::Tensor x = pare::randn({1, kWidth});
  const pare::pruning::PatternTable patterns = pare::pruning::default_pattern_table();
  for (auto _ : state) {
    state.PauseTiming();
    PrunableChain chain = make_chain(layers, x);
    state.ResumeTiming();
    pare::pruning::prune_graph(*chain.graph_module, patterns);
    state.PauseTiming();
    chain = PrunableChain();  // tear the model down outside the timed region
    state.ResumeTiming();
  }
  state.counters["layers"] = static_cast<double>(layers);
  state.counters["per_layer"] = benchmark::Counter(
      static_cast<double>(layers),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

BENCHMARK(prune_linear_relu_chain)
    ->Arg(125)
    ->Arg(250)
    ->Arg(500)
    ->Arg(1000)
    ->Arg(4000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
