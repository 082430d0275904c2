// A latency profile: how long each layer of a model takes on this machine's compiled inference
// path at the widths pruning may give it, so that widths can be chosen by measured time instead
// of by MACs (pare/passes/latency/width_choice.h). oneDNN's kernels work in blocks of channels
// (16 floats with AVX-512): a width just above a multiple of the block can cost a whole block
// more, so fewer MACs do not always mean less time, and only a measurement tells.
//
//   pare::latency::ProfileOptions options;
//   options.batch = 1;
//   options.max_threads = 2;                                    // tables at 1 and 2 threads
//   pare::latency::LatencyProfile profile = pare::latency::measure_profile(gm, options);
//   double ms = profile.predict_ms(profile.dense_widths(), /*threads=*/1);
//   pare::latency::write_latency_profile(profile, "r18_profile.json");  // `pare profile` does this
//   pare::latency::LatencyProfile again = pare::latency::read_latency_profile("r18_profile.json");
//
// What is measured. Every prunable group (pare/passes/pruning/dependency_graph.h) gets candidate
// widths: the multiples of the backend's channel block, the widths the ratios 0.1 .. 0.9 would
// keep, and the dense width (only those above the group's 1 - max_ratio floor, and multiples of
// round_to where the group is at least round_to wide). Every Conv2d, Linear and LSTM the model
// calls is a layer: its input width comes from the group holding its input channels (or is
// fixed), its output width from the group holding its output channels (or is fixed), and it is
// timed alone, compiled as the model would compile it, at every pair of candidate widths (its
// spatial size and batch as in the model), with warm-up and repetitions, at 1 .. max_threads
// threads (a conv between a producer and a consumer of the blocked layout, whose times are taken
// off, so that it reads and writes the layout and runs the kernel it gets inside a model).
// Everything else the model runs (pools, reorders, the interpreter's nodes) is `rest`: the whole
// dense model's measured time minus its layers' times at dense widths (at least 0).
//
// Prediction. predict_ms(widths) = constant + scale * layers(widths), layers() being the sum of
// the layers' times: the line fitted by least squares to the whole model measured dense and
// pruned to 0.25, 0.5 and 0.75 of every group's width (`calibration`, per thread count;
// pare/passes/latency/calibrate_prediction.h), since a layer alone is not the layer in the model
// and what is not the layers shrinks with the channels. Without calibration (ProfileOptions::
// calibrate off), the dense time scaled by the layers' time: dense_ms * layers(w) / layers(dense).
//
// Example of a result (a 3 -> 16 -> 32 CNN, one group, batch 1, one thread):
//   groups: [{key: "conv1", roots: ["conv1"], size: 16, candidates: [8, 12, 16]}]
//   layers: [{layer: "conv1", in: fixed 3, out: group "conv1", ms[0] = [0.010, 0.012, 0.013]},
//            {layer: "conv2", in: group "conv1", out: fixed 32, ms[0] = [0.020, 0.031, 0.034]}]
//   rest_ms: [0.004], dense_ms: [0.051], calibration: [] (scaled)
//   predict_ms({{"conv1", 8}}, 1) = 0.051 * (0.010 + 0.020) / (0.013 + 0.034) = 0.0326
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pare/ir/graph_module.h"

namespace pare::latency {

// Where a profile was measured. A profile says nothing about another machine: using one measured
// elsewhere is refused (naming both keys), not silently wrong.
struct MachineKey {
  std::string cpu;            // /proc/cpuinfo's model name ("unknown" where it has none)
  std::string isa;            // the instruction set oneDNN's kernels use ("avx512_core", ...)
  std::string backend;        // "onednn"
  int64_t max_threads = 1;    // tables hold 1 .. max_threads threads
  int64_t channel_block = 1;  // the kernels' channel block on this ISA (16 with AVX-512)
  bool operator==(const MachineKey&) const = default;

  // This machine, with tables up to `max_threads`.
  static MachineKey current(int64_t max_threads);
  // "AMD EPYC 7B13, avx2, onednn, block 8, 1..2 threads": for the message refusing a profile
  // measured on another machine.
  std::string describe() const;
};

// One prunable group's widths. `key` is its first root's qualified name, which survives pruning
// (group ids do not).
struct GroupWidths {
  std::string key;
  std::vector<std::string> roots;
  int64_t size = 0;                 // the dense width (per block of a grouped conv)
  std::vector<int64_t> candidates;  // ascending; the last is `size`
};

// One layer's table. A side with a group key takes that group's candidate widths; a side
// without one has the fixed width alone. Widths are the group's channels (what predict_ms is
// given), not the layer's: a Linear after a flatten reads `width * H * W` features. A layer whose
// input and output are the same group (a depthwise conv: in_group == out_group) only ever runs
// at equal widths, so its table holds one time per width (the diagonal) instead of a square.
struct LayerLatency {
  std::string layer;                // module qualified name
  std::string type;                 // "Conv2d", "Linear", "LSTM"
  std::string in_group, out_group;  // group keys, or "" for a fixed width
  std::vector<int64_t> in_widths, out_widths;
  // ms[threads - 1][i * out_widths.size() + j]: the layer at in_widths[i], out_widths[j]
  // (ms[threads - 1][i] for a same-group layer).
  std::vector<std::vector<double>> ms;

  bool same_group() const { return !in_group.empty() && in_group == out_group; }

  // The time at these widths; throws (naming the layer and the widths it has) for a width that
  // was not measured or a thread count outside the table.
  double time_ms(int64_t in_width, int64_t out_width, int64_t threads) const;
};

struct LatencyProfile {
  MachineKey machine;
  std::string model;  // the model it was measured for (a file name, or "")
  int64_t batch = 1;
  std::vector<GroupWidths> groups;
  std::vector<LayerLatency> layers;
  std::vector<double> rest_ms;   // per thread count (index threads - 1)
  std::vector<double> dense_ms;  // the whole dense model, measured, per thread count

  // Group key -> width, every group at its dense width.
  std::map<std::string, int64_t> dense_widths() const;
  // The sum of every layer's time at these widths (a group not named keeps its dense width).
  double layers_ms(const std::map<std::string, int64_t>& widths, int64_t threads) const;
  // The dense time scaled by the layers' summed time at these widths over their dense sum (a
  // group not named keeps its dense width; see "Prediction" above). Throws for an unknown group
  // key or a width that is not a candidate.
  double predict_ms(const std::map<std::string, int64_t>& widths, int64_t threads) const;
  // predict_ms as constant_ms + layer_scale * layers_ms, for a solver that prices each layer
  // apart (pare/passes/latency/width_choice.h).
  struct Linear {
    double constant_ms = 0.0;
    double layer_scale = 1.0;
  };
  Linear prediction(int64_t threads) const;
  // Per thread count (index threads - 1): the prediction fitted to the whole model measured at
  // a few widths (measure_profile's calibration); empty: the dense time scaled by the layers'.
  std::vector<Linear> calibration;
  const GroupWidths* group(const std::string& key) const;

  // The JSON `pare profile` writes, and back. from_json checks everything it reads (types,
  // table sizes against the widths, positive finite times, bounded counts) and throws
  // pare::Error naming `source` and the field.
  nlohmann::json to_json() const;
  static LatencyProfile from_json(const nlohmann::json& json, const std::string& source);
};

struct ProfileOptions {
  int64_t batch = 1;
  int64_t max_threads = 1;
  int64_t round_to = 1;
  double max_ratio = 0.9;
  std::vector<std::string> ignored_layers;
  int64_t warmup = 3;
  int64_t repetitions = 10;  // timed runs per point; the median is kept
  // Fit the prediction to the whole model pruned to a few uniform widths and measured (three
  // more compiles and timings of the model per thread count); off: the dense time scaled by the
  // layers' time.
  bool calibrate = true;
  // Each group at its present width only: what the model's layers take as it is (a pruned
  // model's measured times beside the prediction that chose its widths).
  bool present_widths_only = false;
  // Called once per measured layer table ("layer 3/21: layer1.0.conv1"), for a terminal.
  std::function<void(const std::string&)> progress;
};

// The profile file: read with its nesting bounded and every field checked (errors start with
// `path`), written atomically (a temporary file renamed into place).
LatencyProfile read_latency_profile(const std::string& path);
void write_latency_profile(const LatencyProfile& profile, const std::string& path);

// Measures `graph_module` (evaluation mode, its recorded input shapes with the batch replaced).
LatencyProfile measure_profile(ir::GraphModule& graph_module, const ProfileOptions& options);

// The whole model on the compiled path at `batch` and `threads` (OpenMP's count restored after):
// the median of `repetitions` runs after `warmup`, in ms.
double measure_model_ms(ir::GraphModule& graph_module, int64_t batch, int64_t threads,
                        int64_t warmup = 3, int64_t repetitions = 20);

}  // namespace pare::latency
