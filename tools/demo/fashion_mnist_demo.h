// The end-to-end demo behind the README's main command and `pare demo`: train a small network on
// Fashion-MNIST with pare's C++ API, prune it, fine-tune, and compare dense and pruned (accuracy,
// parameters, MACs, file size, latency). Two models: "cnn" (the default), a plain CNN whose convs
// and hidden Linear the chain flow prunes (prepare -> step -> prune), and "resnet", a small
// ResNet-18 whose residual blocks only the dependency-group flow (GroupPruner) can prune.
//
//   pare::demo::DemoOptions options;                 // defaults finish in minutes on 2 cores
//   options.out_dir = "demo-out";
//   options.model = "resnet";                        // or leave "cnn"
//   pare::demo::DemoSummary summary = pare::demo::run_demo(options, std::cout);
//   std::cout << pare::demo::summary_json(summary).dump(2);
//
// It writes dense.pare, pruned.pare and summary.json into out_dir.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace pare::demo {

struct DemoOptions {
  std::string out_dir = "demo-out";
  std::string data_dir;       // empty: Debian's folder (or $PARE_FASHION_MNIST_DIR)
  std::string model = "cnn";  // or "resnet"
  // Unset: the model's default (resolved() fills them in).
  std::optional<int64_t> epochs;           // dense training
  std::optional<int64_t> finetune_epochs;  // after pruning
  double sparsity = 0.5;  // fraction of channels / units removed per layer (resnet: per group)
  // Empty: the model's default. cnn (chain pruners): "saliency" (default) or "fpgm"; resnet
  // (group importance criteria): "l2" (default), "l1", "fpgm", "bn_scale", "lamp" or "random".
  std::string pruner;
  // resnet: instead of `sparsity`, widths chosen by measured latency (GroupPrunerOptions::
  // target_latency): the share, in (0, 1], of the dense model's batch-1 latency that the pruned
  // one may take, as the latency profile measured after dense training predicts it (at
  // latency_threads). Unset: prune by `sparsity`.
  std::optional<double> target_latency;
  int64_t resnet_width = 4;         // the ResNet's base width (layer k has width * 2^(k-1))
  std::string optimizer = "adamw";  // or "sgd" (momentum 0.9)
  double lr = 2e-3;                 // AdamW's rate (SGD: 0.05 is a good start)
  double finetune_lr = 1e-3;
  int64_t batch_size = 64;
  // Training threads; unset: the model's default (cnn: every core; resnet: 1, see resolved()).
  // 0: every core.
  std::optional<int64_t> threads;
  uint64_t seed = 1;
  int64_t train_limit = 0;      // > 0: use only the first N training images (smoke runs)
  int64_t test_limit = 0;       // > 0: evaluate on the first N test images
  int64_t latency_iters = 100;  // timed runs per model and batch, dense and pruned in turn
  // Threads for the latency rows: 1 by default, the edge-device case, and the one a shared
  // 2-core machine measures reliably (0: the training thread count).
  int64_t latency_threads = 1;
  bool progress = true;  // a progress line per epoch
};

// The chain pruners `--model cnn` takes and the group criteria `--model resnet` takes.
const std::vector<std::string>& cnn_pruners();
const std::vector<std::string>& resnet_pruners();

// `options` with the model's defaults filled in (epochs, fine-tune epochs, pruner, threads).
DemoOptions resolved(const DemoOptions& options);

struct ModelReport {
  double accuracy = 0;  // test accuracy, percent
  int64_t params = 0;
  int64_t macs = 0;                      // per image
  int64_t bytes = 0;                     // size of the .pare file
  std::map<int64_t, double> latency_ms;  // batch size -> median latency (eval, no grad)
  int64_t latency_threads = 0;
};

// What --target-latency chose and predicted: the profile's prediction beside the batch-1 latency
// the demo then measures (ModelReport::latency_ms[1]). The profile times each layer alone, so its
// sum carries every layer's call overhead and may exceed the whole model's measured time.
struct LatencyTargetReport {
  double fraction = 0;  // the target, a share of dense_predicted_ms
  int64_t batch = 1;
  int64_t threads = 1;
  double dense_predicted_ms = 0;
  double budget_ms = 0;     // fraction * dense_predicted_ms
  double predicted_ms = 0;  // the chosen widths, by the profile
  double profile_seconds = 0;
  std::map<std::string, int64_t> widths;  // group key (its first root) -> kept channels
};

struct DemoSummary {
  ModelReport dense;
  ModelReport pruned;
  std::string model;
  double sparsity = 0;
  std::optional<LatencyTargetReport> target_latency;  // set when pruned to a latency target
  std::string pruner;
  int64_t epochs = 0;
  int64_t finetune_epochs = 0;
  double seconds = 0;
};

// Throws pare::Error naming the flag when an option is out of range or unknown ("--sparsity
// must be in [0, 1), got 1.5"), or names a pruner the model cannot use (a chain pruner for the
// resnet); `pare demo` turns that into a usage error (exit 2).
void validate_options(const DemoOptions& options);

// Runs the whole demo, printing progress and the final table to `log`. Throws pare::Error for
// bad options (validate_options) or missing data (the message says how to get it).
DemoSummary run_demo(const DemoOptions& options, std::ostream& log);

// {"dense": {"accuracy", "params", "macs", "bytes", "latency_ms": {"1", "64"}}, "pruned": {...},
//  "model", "sparsity", "target_latency", "pruner", "epochs", "finetune_epochs", "seconds"};
// "target_latency" is null, or {"fraction", "batch", "threads", "dense_predicted_ms",
// "budget_ms", "predicted_ms", "measured_ms", "dense_measured_ms", "profile_seconds", "widths"}
// (measured: the latency rows' batch-1 medians).
nlohmann::json summary_json(const DemoSummary& summary);

// The dense vs pruned table (accuracy, params, MACs, file size, latencies, speedups).
void print_summary_table(const DemoSummary& summary, std::ostream& out);

}  // namespace pare::demo
