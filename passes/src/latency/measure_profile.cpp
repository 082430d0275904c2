// measure_profile (pare/passes/latency/latency_profile.h): the plan's layers timed alone at every
// pair of candidate widths and thread count, and the whole dense model for `rest`.
#include <omp.h>

#include <algorithm>

#include "layer_timer.h"
#include "pare/autograd.h"
#include "pare/error.h"
#include "pare/passes/latency/calibrate_prediction.h"
#include "pare/passes/latency/latency_profile.h"
#include "pare/passes/latency/profile_plan.h"

namespace pare::latency {

namespace {

// More threads than this is a typo, not a machine (omp_set_num_threads takes an int).
constexpr int64_t kMaxThreads = 1024;

void check_options(const ProfileOptions& options) {
  PARE_CHECK(options.batch >= 1, "latency profile: batch must be at least 1, got ", options.batch);
  PARE_CHECK(options.max_threads >= 1 && options.max_threads <= kMaxThreads,
             "latency profile: max_threads must be in [1, ", kMaxThreads, "], got ",
             options.max_threads);
  PARE_CHECK(options.round_to >= 1, "latency profile: round_to must be at least 1, got ",
             options.round_to);
  PARE_CHECK(options.max_ratio >= 0.0 && options.max_ratio < 1.0,
             "latency profile: max_ratio must be in [0, 1), got ", options.max_ratio);
  PARE_CHECK(options.warmup >= 0, "latency profile: warmup must be at least 0, got ",
             options.warmup);
  PARE_CHECK(options.repetitions >= 1, "latency profile: repetitions must be at least 1, got ",
             options.repetitions);
}

// Puts OpenMP's thread count back when measuring ends, however it ends.
class ThreadCountRestorer {
 public:
  ThreadCountRestorer() : threads_(omp_get_max_threads()) {}
  ~ThreadCountRestorer() { omp_set_num_threads(threads_); }
  ThreadCountRestorer(const ThreadCountRestorer&) = delete;
  ThreadCountRestorer& operator=(const ThreadCountRestorer&) = delete;

 private:
  int threads_;
};

// The layer's config with its channel counts at these group widths.
Attrs config_at(const nn::Module& module, const PlannedLayer& layer, int64_t in_width,
                int64_t out_width) {
  const int64_t in = in_width * layer.in_scale, out = out_width * layer.out_scale;
  Attrs config = module.config();
  const bool depthwise = layer.table.same_group();
  for (auto& [key, value] : config) {
    if (key == "in_channels" || key == "in_features" || key == "input_size") value = in;
    if (key == "out_channels" || key == "out_features" || key == "hidden_size") value = out;
    if (key == "groups" && depthwise) value = in;
  }
  return config;
}

// The layer's input with its channels (a conv's axis 1, else the last axis) at `in_width`.
ir::TensorMeta input_at(const PlannedLayer& layer, int64_t in_width) {
  ir::TensorMeta input = layer.input;
  const size_t axis = layer.table.type == "Conv2d" ? 1 : input.shape.size() - 1;
  input.shape.at(axis) = in_width * layer.in_scale;
  return input;
}

// Every time of one layer at one thread count, in the table's order.
std::vector<double> time_table(LayerTimer& timer, const nn::Module& module,
                               const PlannedLayer& layer) {
  const LayerLatency& table = layer.table;
  std::vector<double> times;
  auto time_at = [&](int64_t in_width, int64_t out_width) {
    return timer.time_ms(table.type, config_at(module, layer, in_width, out_width),
                         input_at(layer, in_width), layer.reads_graph_input);
  };
  if (table.same_group()) {
    for (int64_t width : table.in_widths) times.push_back(time_at(width, width));
    return times;
  }
  for (int64_t in_width : table.in_widths)
    for (int64_t out_width : table.out_widths) times.push_back(time_at(in_width, out_width));
  return times;
}

}  // namespace

LatencyProfile measure_profile(ir::GraphModule& graph_module, const ProfileOptions& options) {
  check_options(options);
  NoGradGuard no_grad;
  graph_module.eval();
  LatencyProfile profile;
  profile.machine = MachineKey::current(options.max_threads);
  profile.batch = options.batch;
  ProfilePlan plan = plan_profile(graph_module, options, profile.machine.channel_block);
  profile.groups = plan.groups;

  std::vector<ir::TensorMeta> inputs;
  for (const ir::Node* placeholder : graph_module.graph().placeholders()) {
    ir::TensorMeta meta = placeholder->meta.front();  // plan_profile checked it is there
    meta.shape[0] = options.batch;
    inputs.push_back(meta);
  }

  const ThreadCountRestorer restore_threads;
  LayerTimer timer(options.warmup, options.repetitions);
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    PlannedLayer& layer = plan.layers[i];
    if (options.progress)
      options.progress(str_cat("layer ", i + 1, "/", plan.layers.size(), ": ", layer.table.layer));
    const std::shared_ptr<nn::Module> module = graph_module.module(layer.table.layer);
    for (int64_t threads = 1; threads <= options.max_threads; ++threads) {
      omp_set_num_threads(static_cast<int>(threads));
      layer.table.ms.push_back(time_table(timer, *module, layer));
    }
    profile.layers.push_back(layer.table);
  }

  if (options.progress) options.progress("the whole dense model");
  const std::map<std::string, int64_t> dense = profile.dense_widths();
  for (int64_t threads = 1; threads <= options.max_threads; ++threads) {
    omp_set_num_threads(static_cast<int>(threads));
    const double whole =
        time_compiled_ms(graph_module, inputs, options.warmup, options.repetitions);
    profile.dense_ms.push_back(whole);
    // rest: what the layers alone do not explain (pools, reorders, interpreted nodes). Clamped
    // at 0: a layer alone runs in the plain layout, without the blocked layout and Winograd
    // kernel the model's compile may give it, and may take longer than inside the model.
    profile.rest_ms.push_back(std::max(0.0, whole - profile.layers_ms(dense, threads)));
  }
  if (options.calibrate && !options.present_widths_only)
    profile.calibration = calibrate_prediction(graph_module, profile, inputs, options);
  return profile;
}

double measure_model_ms(ir::GraphModule& graph_module, int64_t batch, int64_t threads,
                        int64_t warmup, int64_t repetitions) {
  ProfileOptions checked;
  checked.batch = batch;
  checked.max_threads = threads;
  checked.warmup = warmup;
  checked.repetitions = repetitions;
  check_options(checked);
  NoGradGuard no_grad;
  graph_module.eval();
  std::vector<ir::TensorMeta> inputs;
  for (const ir::Node* placeholder : graph_module.graph().placeholders()) {
    PARE_CHECK(!placeholder->meta.empty() && !placeholder->meta.front().shape.empty(),
               "measuring latency: input '", placeholder->name(),
               "' has no recorded shape with a batch dimension");
    ir::TensorMeta meta = placeholder->meta.front();
    meta.shape[0] = batch;
    inputs.push_back(meta);
  }
  const ThreadCountRestorer restore_threads;
  omp_set_num_threads(static_cast<int>(threads));
  return time_compiled_ms(graph_module, inputs, warmup, repetitions);
}

}  // namespace pare::latency
