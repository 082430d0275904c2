// Whole-model inference latency of pare's interpreter and of its compiled inference path
// (passes/inference), for the three benchmark models of bench/models/bench_models.h and the CNN
// with half its channels (what `pare prune --sparsity 0.5` leaves), at batch 1 and 32.
//
//   OMP_NUM_THREADS=1 build/bench/bench_inference --benchmark_filter='cnn'
//
// Each row's label is the model's MACs per forward, to compare the pruned CNN's speed-up with its
// MAC ratio. The same models as hand-written oneDNN chains (the speed limit pare is measured
// against) are bench_models_onednn; bench/compare_pytorch.py runs both next to PyTorch.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/bench_models.h"
#include "pare/inference/inference.h"
#include "pare/ir/model_stats.h"
#include "pare/ir/tracer.h"
#include "pare/pare.h"

namespace {

using pare::Tensor;

enum class Model { mlp, cnn, cnn_pruned, lstm };

pare::Shape input_shape(Model model, int64_t batch) {
  switch (model) {
    case Model::mlp:
      return {batch, 784};
    case Model::lstm:
      return {batch, 32, 64};
    default:
      return {batch, 3, 32, 32};
  }
}

pare::ir::GraphModule make_model(Model model) {
  pare::manual_seed(1);
  const Tensor example = pare::randn(input_shape(model, 1));
  pare::ir::GraphModule traced = [&] {
    switch (model) {
      case Model::mlp:
        return pare::ir::trace(std::make_shared<pare_bench::Mlp>(), {example});
      case Model::lstm:
        return pare::ir::trace(std::make_shared<pare_bench::LstmTagger>(), {example});
      case Model::cnn:
        return pare::ir::trace(std::make_shared<pare_bench::VggCnn>(64), {example});
      case Model::cnn_pruned:
        return pare::ir::trace(std::make_shared<pare_bench::VggCnn>(32), {example});
    }
    throw pare::Error("bench_inference: unknown model");
  }();
  traced.eval();
  return traced;
}

void set_macs_label(benchmark::State& state, pare::ir::GraphModule& model, const Tensor& x) {
  const pare::ir::ModelStats stats = pare::ir::model_stats(model, {{x.sizes(), pare::kFloat32}});
  state.SetLabel(std::to_string(stats.macs) + " MACs");
}

void pare_model(benchmark::State& state, Model kind, bool optimised) {
  pare::NoGradGuard no_grad;
  pare::ir::GraphModule model = make_model(kind);
  if (optimised) pare::inference::enable(model);
  const Tensor x = pare::randn(input_shape(kind, state.range(0)));
  model.forward({x});
  for (auto _ : state) benchmark::DoNotOptimize(model.forward({x}));
  set_macs_label(state, model, x);
}

void register_all() {
  const std::vector<std::pair<const char*, Model>> models = {{"mlp", Model::mlp},
                                                             {"cnn", Model::cnn},
                                                             {"cnn_pruned50", Model::cnn_pruned},
                                                             {"lstm", Model::lstm}};
  for (const auto& [name, model] : models) {
    const Model kind = model;
    for (int64_t batch : {1, 32}) {
      const std::string suffix = std::string(name) + "/N" + std::to_string(batch);
      benchmark::RegisterBenchmark(("interpreter/" + suffix).c_str(),
                                   [kind](benchmark::State& s) { pare_model(s, kind, false); })
          ->Arg(batch)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("optimised/" + suffix).c_str(),
                                   [kind](benchmark::State& s) { pare_model(s, kind, true); })
          ->Arg(batch)
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
