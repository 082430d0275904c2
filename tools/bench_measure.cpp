// Timing and peak memory of .pare models (bench_measure.h).
#include "bench_measure.h"

#include <chrono>
#include <set>
#include <utility>

#include "command.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/inference/inference_session.h"
#include "pare/ir/model_stats.h"
#include "pare/ir/pare_file.h"
#include "pare/memory_stats.h"
#include "pare/random.h"

namespace pare::cli {

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

// Stops a row of a very fast model from collecting samples without end when min_seconds is long.
constexpr int64_t kMaxIterations = 1'000'000;
constexpr uint64_t kInputSeed = 0;

struct LoadedModel {
  std::string path;
  ir::GraphModule graph_module;
  std::vector<ir::TensorMeta> recorded_inputs;  // one per placeholder
  int64_t state_bytes = 0;                      // parameters and buffers, each storage once
};

int64_t state_dict_bytes(const nn::Module& module) {
  std::set<const void*> seen;
  int64_t bytes = 0;
  for (const auto& [name, tensor] : module.state_dict())
    if (tensor.defined() && seen.insert(tensor.storage().data()).second)
      bytes += static_cast<int64_t>(tensor.storage().nbytes());
  return bytes;
}

LoadedModel load_model(const std::string& path, bool optimize) {
  return about_file(path, [&] {
    check_not_directory(path);
    LoadedModel model{path, ir::load(path), {}, 0};
    model.graph_module.eval();
    if (optimize) {
      inference::enable(model.graph_module);
    } else {
      inference::disable(model.graph_module);
    }
    for (const ir::Node* placeholder : model.graph_module.graph().placeholders()) {
      PARE_CHECK(placeholder->meta.size() == 1 && !placeholder->meta[0].shape.empty(), "input '",
                 placeholder->name(), "' has no recorded shape with a batch dimension");
      model.recorded_inputs.push_back(placeholder->meta[0]);
    }
    model.state_bytes = state_dict_bytes(model.graph_module.root());
    return model;
  });
}

// The recorded input shapes with the leading (batch) dimension replaced, as docs/format.md
// allows it to vary.
std::vector<ir::TensorMeta> batched(const std::vector<ir::TensorMeta>& recorded, int64_t batch) {
  std::vector<ir::TensorMeta> inputs = recorded;
  for (ir::TensorMeta& input : inputs) input.shape[0] = batch;
  return inputs;
}

std::vector<Tensor> random_inputs(const std::vector<ir::TensorMeta>& metas) {
  Generator generator(kInputSeed);
  std::vector<Tensor> inputs;
  for (const ir::TensorMeta& meta : metas)
    inputs.push_back(meta.dtype == kFloat32 ? randn(meta.shape, generator)
                                            : zeros(meta.shape, meta.dtype));
  return inputs;
}

int64_t bytes_of(const std::vector<Tensor>& tensors) {
  int64_t bytes = 0;
  for (const Tensor& tensor : tensors) bytes += static_cast<int64_t>(tensor.nbytes());
  return bytes;
}

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

BenchRow measure(LoadedModel& model, int64_t batch, int64_t threads, const BenchSettings& settings,
                 Progress& progress) {
  const std::string where =
      model.path + ", batch " + std::to_string(batch) + ", threads " + std::to_string(threads);
  const std::vector<ir::TensorMeta> metas = batched(model.recorded_inputs, batch);
  const ir::ModelStats stats = ir::model_stats(model.graph_module, metas);
  const std::vector<Tensor> inputs = random_inputs(metas);
  NoGradGuard no_grad;

  progress.show("warming up " + where);
  for (int64_t step = 0; step < settings.warmup; ++step) model.graph_module.forward(inputs);

  // Peak of one forward after the warm-up, so that caches filled on the first call count as
  // what a deployed model holds anyway (they are in `before`), not as per-call memory.
  const int64_t before = storage_bytes().live;
  reset_peak_storage_bytes();
  model.graph_module.forward(inputs);
  const int64_t extra = storage_bytes().peak - before;

  std::vector<double> samples;
  double measured_ms = 0.0;
  while (static_cast<int64_t>(samples.size()) < kMaxIterations &&
         (static_cast<int64_t>(samples.size()) < settings.iters ||
          measured_ms < settings.min_seconds * 1e3)) {
    if (samples.size() % 16 == 0)
      progress.show("timing " + where + ": " + std::to_string(samples.size()) + " runs");
    const Clock::time_point start = Clock::now();
    model.graph_module.forward(inputs);
    samples.push_back(milliseconds_since(start));
    measured_ms += samples.back();
  }

  BenchRow row;
  row.model = model.path;
  row.batch = batch;
  row.threads = threads;
  row.latency_ms = summarise_latencies(samples);
  row.iterations = static_cast<int64_t>(samples.size());
  const double median_s = row.latency_ms.median / 1e3;
  row.throughput = static_cast<double>(batch) / median_s;
  row.params = stats.params;
  row.macs = stats.macs;
  row.gflops = 2.0 * static_cast<double>(stats.macs) / median_s / 1e9;
  row.peak_bytes = model.state_bytes + bytes_of(inputs) + extra;
  return row;
}

}  // namespace

std::vector<BenchRow> measure_models(const std::vector<std::string>& paths,
                                     const std::vector<int64_t>& batches, int64_t threads,
                                     const BenchSettings& settings) {
  Progress progress;
  std::vector<LoadedModel> models;
  for (const std::string& path : paths) {
    progress.show("loading " + path);
    models.push_back(load_model(path, settings.optimize));
  }
  std::vector<BenchRow> rows;
  for (size_t index = 0; index < models.size(); ++index) {
    for (int64_t batch : batches) {
      rows.push_back(about_file(models[index].path, [&] {
        return measure(models[index], batch, threads, settings, progress);
      }));
      rows.back().model_index = index;
    }
  }
  return rows;
}

void compare_with_baseline(std::vector<BenchRow>& rows) {
  for (BenchRow& row : rows) {
    if (row.model_index == 0) continue;
    for (const BenchRow& baseline : rows) {
      if (baseline.model_index != 0 || baseline.batch != row.batch ||
          baseline.threads != row.threads)
        continue;
      row.speedup = baseline.latency_ms.median / row.latency_ms.median;
      row.mac_ratio = baseline.macs > 0 ? static_cast<double>(row.macs) / baseline.macs : 0.0;
      row.dense_gflops =
          2.0 * static_cast<double>(baseline.macs) / (row.latency_ms.median / 1e3) / 1e9;
    }
  }
}

Json row_to_json(const BenchRow& row) {
  Json json = {{"model", row.model},
               {"batch", row.batch},
               {"threads", row.threads},
               {"latency_ms",
                {{"min", row.latency_ms.min},
                 {"median", row.latency_ms.median},
                 {"p90", row.latency_ms.p90}}},
               {"iterations", row.iterations},
               {"throughput", row.throughput},
               {"params", row.params},
               {"macs", row.macs},
               {"gflops", row.gflops},
               {"peak_bytes", row.peak_bytes}};
  if (row.speedup) json["speedup"] = *row.speedup;
  if (row.mac_ratio) json["mac_ratio"] = *row.mac_ratio;
  if (row.dense_gflops) json["dense_gflops"] = *row.dense_gflops;
  return json;
}

BenchRow row_from_json(const Json& json) {
  BenchRow row;
  row.model = json.at("model").get<std::string>();
  row.batch = json.at("batch").get<int64_t>();
  row.threads = json.at("threads").get<int64_t>();
  const Json& latency = json.at("latency_ms");
  row.latency_ms = {latency.at("min").get<double>(), latency.at("median").get<double>(),
                    latency.at("p90").get<double>()};
  row.iterations = json.at("iterations").get<int64_t>();
  row.throughput = json.at("throughput").get<double>();
  row.params = json.at("params").get<int64_t>();
  row.macs = json.at("macs").get<int64_t>();
  row.gflops = json.at("gflops").get<double>();
  row.peak_bytes = json.at("peak_bytes").get<int64_t>();
  if (json.contains("speedup")) row.speedup = json.at("speedup").get<double>();
  if (json.contains("mac_ratio")) row.mac_ratio = json.at("mac_ratio").get<double>();
  if (json.contains("dense_gflops")) row.dense_gflops = json.at("dense_gflops").get<double>();
  return row;
}

}  // namespace pare::cli
