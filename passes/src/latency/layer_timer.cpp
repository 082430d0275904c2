// One layer timed alone on the compiled inference path (layer_timer.h).
#include "layer_timer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <variant>

#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/error.h"
#include "pare/inference/compiled_graph.h"
#include "pare/ir/module_registry.h"
#include "pare/random.h"

namespace pare::latency {

namespace {

// A stable text of a config, for the cache key.
std::string describe(const Attrs& config) {
  std::string text;
  for (const auto& [key, value] : config) {
    text += key + "=";
    std::visit(
        [&](const auto& item) {
          using Item = std::decay_t<decltype(item)>;
          if constexpr (std::is_same_v<Item, std::string>) {
            text += item;
          } else if constexpr (std::is_same_v<Item, std::vector<int64_t>>) {
            for (int64_t number : item) text += std::to_string(number) + ",";
          } else {
            text += std::to_string(item);
          }
        },
        value);
    text += ";";
  }
  return text;
}

}  // namespace

double median_ms(std::vector<double> samples) {
  PARE_CHECK(!samples.empty(), "latency profile: no samples to take the median of");
  std::sort(samples.begin(), samples.end());
  const size_t middle = samples.size() / 2;
  return samples.size() % 2 == 1 ? samples[middle] : (samples[middle - 1] + samples[middle]) / 2.0;
}

double time_compiled_ms(ir::GraphModule& graph_module, const std::vector<ir::TensorMeta>& inputs,
                        int64_t warmup, int64_t repetitions) {
  PARE_CHECK(repetitions >= 1 && warmup >= 0, "latency profile: ", warmup, " warm-up runs and ",
             repetitions, " timed runs; need at least one timed run");
  NoGradGuard no_grad;
  graph_module.eval();
  // Its own generator: profiling leaves pare's default random stream as it was.
  Generator generator(0x1a7e);
  std::vector<Tensor> tensors;
  for (const ir::TensorMeta& meta : inputs)
    tensors.push_back(meta.dtype == kFloat32 ? randn(meta.shape, generator)
                                             : zeros(meta.shape, meta.dtype));
  inference::CompiledGraph compiled(graph_module, inputs);
  for (int64_t i = 0; i < warmup; ++i) compiled.run(tensors);
  std::vector<double> samples;
  samples.reserve(static_cast<size_t>(repetitions));
  for (int64_t i = 0; i < repetitions; ++i) {
    const auto start = std::chrono::steady_clock::now();
    compiled.run(tensors);
    const auto stop = std::chrono::steady_clock::now();
    samples.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  return median_ms(std::move(samples));
}

double LayerTimer::time_ms(const std::string& type, const Attrs& config,
                           const ir::TensorMeta& input) {
  std::string key = type + "(" + describe(config) + ")[";
  for (int64_t size : input.shape) key += std::to_string(size) + ",";
  key += "]@" + std::to_string(omp_get_max_threads());
  auto cached = cache_.find(key);
  if (cached != cache_.end()) {
    ++reused_;
    return cached->second;
  }
  auto root = std::make_shared<nn::Module>("GraphModule");
  root->register_module("layer", ir::create_module(type, config, "layer"));
  auto graph = std::make_shared<ir::Graph>();
  ir::Node* x = graph->placeholder("x");
  x->meta = {input};
  graph->output(graph->call_module("layer", {x}));
  ir::GraphModule layer(root, graph);
  const double ms = time_compiled_ms(layer, {input}, warmup_, repetitions_);
  ++measured_;
  cache_.emplace(std::move(key), ms);
  return ms;
}

}  // namespace pare::latency
