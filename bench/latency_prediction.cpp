// How well a latency profile predicts a pruned model's time (docs/benchmarks.md, "Latency
// profile prediction"): profiles MODEL.pare (pare::latency::measure_profile), then prunes fresh
// copies of it with the group pruner (L2 importance) at uniform ratios and at one mixed choice
// (every other group at 0.7, the rest at 0.2), and compares predict_ms at the pruned widths with
// the pruned model's measured time: compiled, the median of many runs, timed here independently
// of the profile's own timer.
//
//   pare_latency_prediction bench/models/resnet18.pare --batch 1 --round-to 16 --threads 1
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "pare/inference/compiled_graph.h"
#include "pare/ir/pare_file.h"
#include "pare/nn/conv.h"
#include "pare/nn/linear.h"
#include "pare/nn/lstm.h"
#include "pare/pare.h"
#include "pare/passes/latency/latency_profile.h"
#include "pare/passes/pruning/group_pruner.h"

namespace {

struct Settings {
  std::string model;
  int64_t batch = 1;
  int64_t round_to = 1;
  int64_t threads = 1;
  int64_t profile_reps = 10;
  int64_t model_reps = 50;
};

// The whole model compiled at `batch`, the median of `reps` runs after 5 warm-up runs, in ms.
double measure_model_ms(pare::ir::GraphModule& model, int64_t batch, int64_t reps) {
  pare::NoGradGuard no_grad;
  model.eval();
  std::vector<pare::ir::TensorMeta> metas;
  std::vector<pare::Tensor> inputs;
  pare::Generator generator(11);
  for (const pare::ir::Node* placeholder : model.graph().placeholders()) {
    pare::ir::TensorMeta meta = placeholder->meta.front();
    meta.shape[0] = batch;
    metas.push_back(meta);
    inputs.push_back(pare::randn(meta.shape, generator));
  }
  pare::inference::CompiledGraph compiled(model, metas);
  for (int i = 0; i < 5; ++i) compiled.run(inputs);
  std::vector<double> samples;
  for (int64_t i = 0; i < reps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    compiled.run(inputs);
    samples.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

// A group's width in a pruned model: its key (first root) module's output channels.
int64_t root_width(pare::ir::GraphModule& model, const std::string& root) {
  const auto module = model.module(root);
  if (auto conv = std::dynamic_pointer_cast<pare::nn::Conv2dImpl>(module))
    return conv->options().out_channels();
  if (auto lstm = std::dynamic_pointer_cast<pare::nn::LSTMImpl>(module))
    return lstm->options().hidden_size();
  return model.attribute(root + ".weight").size(0);
}

struct Case {
  std::string name;
  double ratio = 0.0;  // uniform; < 0: the mixed choice
};

int run(const Settings& settings) {
  omp_set_num_threads(static_cast<int>(settings.threads));
  pare::ir::GraphModule dense = pare::ir::load(settings.model);
  pare::latency::ProfileOptions options;
  options.batch = settings.batch;
  options.max_threads = settings.threads;
  options.round_to = settings.round_to;
  options.repetitions = settings.profile_reps;
  const auto start = std::chrono::steady_clock::now();
  const pare::latency::LatencyProfile profile = pare::latency::measure_profile(dense, options);
  const double profile_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  omp_set_num_threads(static_cast<int>(settings.threads));
  std::printf(
      "%s batch %lld, %lld thread(s), round_to %lld: %zu groups, %zu layers, profiled in "
      "%.1f s; rest %.3f ms of the dense %.3f ms\n",
      settings.model.c_str(), static_cast<long long>(settings.batch),
      static_cast<long long>(settings.threads), static_cast<long long>(settings.round_to),
      profile.groups.size(), profile.layers.size(), profile_s,
      profile.rest_ms[settings.threads - 1], profile.dense_ms[settings.threads - 1]);
  // predict_ms scales the dense time with the layers' time; "constant rest" is the other model
  // (rest + the layers' time), kept for comparison.
  std::printf("  %-10s %12s %12s %8s %16s %8s\n", "pruning", "predicted ms", "measured ms", "error",
              "constant rest ms", "error");
  const int64_t t = settings.threads;

  const std::vector<Case> cases = {
      {"dense", 0.0}, {"ratio 0.3", 0.3}, {"ratio 0.5", 0.5}, {"ratio 0.7", 0.7}, {"mixed", -1.0}};
  double worst = 0.0;
  for (const Case& one : cases) {
    pare::ir::GraphModule model = pare::ir::load(settings.model);
    if (one.ratio != 0.0) {
      pare::pruning::GroupPrunerOptions prune_options;
      prune_options.importance(pare::pruning::Importance::l2()).round_to(settings.round_to);
      if (one.ratio > 0.0) {
        prune_options.ratio(one.ratio);
      } else {
        prune_options.ratio(0.2);
        for (size_t g = 0; g < profile.groups.size(); g += 2)
          prune_options.layer_ratio(profile.groups[g].key, 0.7);
      }
      pare::pruning::GroupPruner pruner(model, prune_options);
      pruner.prune();
    }
    std::map<std::string, int64_t> widths;
    for (const pare::latency::GroupWidths& group : profile.groups)
      widths[group.key] = root_width(model, group.key);
    const double predicted = profile.predict_ms(widths, settings.threads);
    const double measured = measure_model_ms(model, settings.batch, settings.model_reps);
    const double error = (predicted - measured) / measured;
    const double constant = profile.layers_ms(widths, t) + profile.rest_ms[t - 1];
    const double constant_error = (constant - measured) / measured;
    worst = std::max(worst, std::abs(error));
    std::printf("  %-10s %12.3f %12.3f %+7.1f%% %16.3f %+7.1f%%\n", one.name.c_str(), predicted,
                measured, 100.0 * error, constant, 100.0 * constant_error);
  }
  std::printf("  worst |error| %.1f%%\n", 100.0 * worst);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help") {
    std::cerr << "usage: pare_latency_prediction MODEL.pare [--batch B] [--round-to N] "
                 "[--threads T] [--profile-reps N] [--model-reps N]\n";
    return 2;
  }
  settings.model = args[0];
  for (size_t i = 1; i + 1 < args.size(); i += 2) {
    const int64_t value = std::stoll(args[i + 1]);
    if (args[i] == "--batch")
      settings.batch = value;
    else if (args[i] == "--round-to")
      settings.round_to = value;
    else if (args[i] == "--threads")
      settings.threads = value;
    else if (args[i] == "--profile-reps")
      settings.profile_reps = value;
    else if (args[i] == "--model-reps")
      settings.model_reps = value;
    else {
      std::cerr << "unknown option " << args[i] << "\n";
      return 2;
    }
  }
  try {
    return run(settings);
  } catch (const std::exception& error) {
    std::cerr << "pare_latency_prediction: " << error.what() << "\n";
    return 1;
  }
}
