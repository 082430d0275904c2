// The end-to-end demo behind the README's main command and `pare demo`: train a small CNN on
// Fashion-MNIST with pare's C++ API, prune every conv and hidden Linear with prepare -> step ->
// prune, fine-tune, and compare dense and pruned (accuracy, parameters, MACs, file size,
// latency).
//
//   pare::demo::DemoOptions options;                 // defaults finish in minutes on 2 cores
//   options.out_dir = "demo-out";
//   pare::demo::DemoSummary summary = pare::demo::run_demo(options, std::cout);
//   std::cout << pare::demo::summary_json(summary).dump(2);
//
// It writes dense.pare, pruned.pare and summary.json into out_dir.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace pare::demo {

struct DemoOptions {
  std::string out_dir = "demo-out";
  std::string data_dir;             // empty: Debian's folder (or $PARE_FASHION_MNIST_DIR)
  int64_t epochs = 5;               // dense training
  int64_t finetune_epochs = 2;      // after pruning
  double sparsity = 0.5;            // fraction of channels / units removed per layer
  std::string pruner = "saliency";  // or "fpgm"
  std::string optimizer = "adamw";  // or "sgd" (momentum 0.9)
  double lr = 2e-3;                 // AdamW's rate (SGD: 0.05 is a good start)
  double finetune_lr = 1e-3;
  int64_t batch_size = 64;
  int64_t threads = 0;  // 0: every core
  uint64_t seed = 1;
  int64_t train_limit = 0;      // > 0: use only the first N training images (smoke runs)
  int64_t test_limit = 0;       // > 0: evaluate on the first N test images
  int64_t latency_iters = 100;  // timed runs per model and batch, dense and pruned in turn
  // Threads for the latency rows: 1 by default, the edge-device case, and the one a shared
  // 2-core machine measures reliably (0: the training thread count).
  int64_t latency_threads = 1;
  bool progress = true;  // a progress line per epoch
};

struct ModelReport {
  double accuracy = 0;  // test accuracy, percent
  int64_t params = 0;
  int64_t macs = 0;                      // per image
  int64_t bytes = 0;                     // size of the .pare file
  std::map<int64_t, double> latency_ms;  // batch size -> median latency (eval, no grad)
  int64_t latency_threads = 0;
};

struct DemoSummary {
  ModelReport dense;
  ModelReport pruned;
  double sparsity = 0;
  std::string pruner;
  int64_t epochs = 0;
  int64_t finetune_epochs = 0;
  double seconds = 0;
};

// Throws pare::Error naming the flag when an option is out of range or unknown ("--sparsity
// must be in [0, 1), got 1.5"); `pare demo` turns that into a usage error (exit 2).
void validate_options(const DemoOptions& options);

// Runs the whole demo, printing progress and the final table to `log`. Throws pare::Error for
// bad options (validate_options) or missing data (the message says how to get it).
DemoSummary run_demo(const DemoOptions& options, std::ostream& log);

// {"dense": {"accuracy", "params", "macs", "bytes", "latency_ms": {"1", "64"}}, "pruned": {...},
//  "sparsity", "pruner", "epochs", "finetune_epochs", "seconds"}.
nlohmann::json summary_json(const DemoSummary& summary);

// The dense vs pruned table (accuracy, params, MACs, file size, latencies, speedups).
void print_summary_table(const DemoSummary& summary, std::ostream& out);

}  // namespace pare::demo
