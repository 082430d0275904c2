// The measuring half of `pare bench`: loads .pare models and times their forward pass on seeded
// random inputs at several batch sizes, in this process, with the thread count OpenMP has now.
// bench_command.cpp calls it once per thread count, each time in a fresh process.
//
//   omp_set_num_threads(2);
//   std::vector<pare::cli::BenchRow> rows = pare::cli::measure_models(
//       {"mlp.pare", "mlp_pruned.pare"}, {1, 32}, /*threads=*/2, {.warmup = 5, .iters = 50});
//   // rows: mlp.pare at 1 and 32, then mlp_pruned.pare at 1 and 32
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench_stats.h"

namespace pare::cli {

struct BenchSettings {
  int64_t warmup = 5;        // untimed forwards before the timed ones
  int64_t iters = 50;        // timed forwards, at least
  double min_seconds = 0.5;  // and keep timing until this much time was measured
  bool optimize = true;      // the compiled inference path (passes/inference); false: interpreter
};

// One model at one batch size and thread count. Latencies are per forward pass, in ms.
struct BenchRow {
  std::string model;
  size_t model_index = 0;  // which of the models given; 0 is the baseline (not in the JSON)
  int64_t batch = 0;
  int64_t threads = 0;
  LatencyStats latency_ms;
  int64_t iterations = 0;   // timed forwards behind latency_ms
  double throughput = 0.0;  // samples/s: batch / median
  int64_t params = 0;
  int64_t macs = 0;     // for this batch size
  double gflops = 0.0;  // 2 * macs / median
  // The most bytes of pare tensor storage alive at once during one forward: weights, inputs,
  // temporaries and outputs.
  int64_t peak_bytes = 0;
  // Against the first model at the same batch and threads; rows of the first model have none.
  std::optional<double> speedup;       // baseline median / this median
  std::optional<double> mac_ratio;     // macs / baseline macs
  std::optional<double> dense_gflops;  // 2 * baseline macs / this median
};

// Loads every model first (so that a bad file fails before any timing), then measures each at
// each batch size. Rows come model by model, each model's batches in the order given. Errors
// name the model file.
std::vector<BenchRow> measure_models(const std::vector<std::string>& paths,
                                     const std::vector<int64_t>& batches, int64_t threads,
                                     const BenchSettings& settings);

// Fills speedup, mac_ratio and dense_gflops of every row whose model_index is not 0, from the
// model 0 row of the same batch and threads.
void compare_with_baseline(std::vector<BenchRow>& rows);

// The row as `pare bench --json` writes it (docs/cli.md), and back.
nlohmann::ordered_json row_to_json(const BenchRow& row);
BenchRow row_from_json(const nlohmann::ordered_json& json);

}  // namespace pare::cli
