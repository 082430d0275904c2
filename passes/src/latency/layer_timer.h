// Times one layer alone on the compiled inference path, for measure_profile: the layer is rebuilt
// at the asked widths (the model's module type and config, its channel counts replaced) as a
// one-node GraphModule, compiled with pare::inference::CompiledGraph at the OpenMP thread count
// set now, run `warmup` times, then timed `repetitions` times; the median is kept. A Conv2d runs
// between a producer and a consumer of oneDNN's blocked layout (as between a model's convs and
// pools, which lets it run the Winograd kernel), whose own times are taken off. Layers of the
// same signature (type, config, input shape, threads) are timed once.
//
//   LayerTimer timer(/*warmup=*/3, /*repetitions=*/10);
//   double ms = timer.time_ms("Conv2d", conv->config(), {{1, 64, 56, 56}, pare::kFloat32});
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pare/ir/graph_module.h"
#include "pare/observer.h"

namespace pare::latency {

// The median of `samples` (the mean of the middle two for an even count); samples must not be
// empty.
double median_ms(std::vector<double> samples);

// Compiles and times `graph_module` on random inputs of `inputs`' shapes (float inputs normal,
// others zero): the median of `repetitions` runs after `warmup` runs, in ms.
double time_compiled_ms(ir::GraphModule& graph_module, const std::vector<ir::TensorMeta>& inputs,
                        int64_t warmup, int64_t repetitions);

class LayerTimer {
 public:
  LayerTimer(int64_t warmup, int64_t repetitions) : warmup_(warmup), repetitions_(repetitions) {}

  // `type`: "Conv2d", "Linear" or "LSTM" (a registered module type); `config`: its attributes
  // (Module::config()) at the widths to time; `input`: what it reads, a graph input of the model
  // where `reads_graph_input` (in the plain layout, then).
  double time_ms(const std::string& type, const Attrs& config, const ir::TensorMeta& input,
                 bool reads_graph_input = false);
  // Layers timed so far, and signatures answered from the cache.
  int64_t measured() const { return measured_; }
  int64_t reused() const { return reused_; }

 private:
  // The copy that follows a timed conv, reading the blocked layout, on a tensor of `meta`.
  double copy_ms(const ir::TensorMeta& meta);
  // The blocked-layout producer that precedes a timed conv, followed by that copy.
  double lead_ms(const ir::TensorMeta& meta);

  int64_t warmup_, repetitions_;
  std::map<std::string, double> cache_;
  int64_t measured_ = 0, reused_ = 0;
};

}  // namespace pare::latency
