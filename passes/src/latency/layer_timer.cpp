// One layer timed alone on the compiled inference path (layer_timer.h).
#include "layer_timer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>
#include <variant>

#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/error.h"
#include "pare/inference/compiled_graph.h"
#include "pare/ir/module_registry.h"
#include "pare/ir/shape_inference.h"
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

// x -> modules[0] -> modules[1] -> ... -> output, each a module type and its config.
std::unique_ptr<ir::GraphModule> chain_graph(
    const std::vector<std::pair<std::string, Attrs>>& modules, const ir::TensorMeta& input) {
  auto root = std::make_shared<nn::Module>("GraphModule");
  auto graph = std::make_shared<ir::Graph>();
  ir::Node* value = graph->placeholder("x");
  value->meta = {input};
  for (size_t i = 0; i < modules.size(); ++i) {
    const std::string name = "layer" + std::to_string(i);
    root->register_module(name, ir::create_module(modules[i].first, modules[i].second, name));
    value = graph->call_module(name, {value});
  }
  graph->output(value);
  return std::make_unique<ir::GraphModule>(root, graph);
}

// A max pool of kernel 1, stride 1: a copy, compiled as a prepared pool (blocked in, plain out).
const Attrs kCopyPool = {{"kernel_size", int64_t{1}},
                         {"stride", int64_t{1}},
                         {"padding", int64_t{0}},
                         {"dilation", int64_t{1}},
                         {"ceil_mode", false}};

// A 1x1 depthwise conv on `meta`'s channels: about a copy's work, writing the blocked layout.
Attrs blocked_producer(const ir::TensorMeta& meta) {
  const int64_t channels = meta.shape.at(1);
  return {{"in_channels", channels},
          {"out_channels", channels},
          {"kernel_size", std::vector<int64_t>{1, 1}},
          {"stride", std::vector<int64_t>{1, 1}},
          {"padding", std::vector<int64_t>{0, 0}},
          {"dilation", std::vector<int64_t>{1, 1}},
          {"groups", channels},
          {"bias", false}};
}

std::string shape_key(const ir::TensorMeta& meta) {
  std::string key = "[";
  for (int64_t size : meta.shape) key += std::to_string(size) + ",";
  return key + "]@" + std::to_string(omp_get_max_threads());
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

double LayerTimer::copy_ms(const ir::TensorMeta& meta) {
  const std::string key = "copy" + shape_key(meta);
  auto cached = cache_.find(key);
  if (cached != cache_.end()) return cached->second;
  // The copy as it runs after a conv, reading the blocked layout: one more copy after the
  // producer and its copy (alone on a plain tensor, oneDNN's plain-layout pool is far slower).
  const double twice = time_compiled_ms(
      *chain_graph(
          {{"Conv2d", blocked_producer(meta)}, {"MaxPool2d", kCopyPool}, {"MaxPool2d", kCopyPool}},
          meta),
      {meta}, warmup_, repetitions_);
  const double ms = std::max(twice - lead_ms(meta), 0.0);
  cache_.emplace(key, ms);
  return ms;
}

double LayerTimer::lead_ms(const ir::TensorMeta& meta) {
  const std::string key = "lead" + shape_key(meta);
  auto cached = cache_.find(key);
  if (cached != cache_.end()) return cached->second;
  const double ms = time_compiled_ms(
      *chain_graph({{"Conv2d", blocked_producer(meta)}, {"MaxPool2d", kCopyPool}}, meta), {meta},
      warmup_, repetitions_);
  cache_.emplace(key, ms);
  return ms;
}

double LayerTimer::time_ms(const std::string& type, const Attrs& config,
                           const ir::TensorMeta& input, bool reads_graph_input) {
  const std::string key = type + "(" + describe(config) + ")" + shape_key(input) +
                          (reads_graph_input ? "graph input" : "");
  auto cached = cache_.find(key);
  if (cached != cache_.end()) {
    ++reused_;
    return cached->second;
  }
  double ms = 0.0;
  if (type == "Conv2d") {
    // Inside a model a conv reads and writes oneDNN's blocked layout (its producer and consumer
    // are convs and pools), and only then may run the Winograd kernel; as a one-node graph it
    // would read and write the plain layout with the direct kernel. So it is timed between a
    // 1x1 depthwise conv (a cheap producer of the blocked layout; not where the model feeds the
    // graph's input to it) and a copy that reads the blocked layout (a max pool of kernel 1), and
    // their own times are taken off.
    const ir::TensorMeta output =
        ir::infer_module_outputs(*ir::create_module(type, config, "layer"), input).front();
    std::vector<std::pair<std::string, Attrs>> chain;
    double around = copy_ms(output);
    if (!reads_graph_input) {
      chain.push_back({"Conv2d", blocked_producer(input)});
      // lead_ms: the producer and a copy of its output; the copy alone is not in the chain.
      around += lead_ms(input) - copy_ms(input);
    }
    chain.push_back({type, config});
    chain.push_back({"MaxPool2d", kCopyPool});
    const double timed =
        time_compiled_ms(*chain_graph(chain, input), {input}, warmup_, repetitions_);
    // A guard against noise on a loaded machine: what surrounds the conv is far cheaper.
    ms = std::max(timed - around, 0.1 * timed);
  } else {
    ms = time_compiled_ms(*chain_graph({{type, config}}, input), {input}, warmup_, repetitions_);
  }
  ++measured_;
  cache_.emplace(std::move(key), ms);
  return ms;
}

}  // namespace pare::latency
