// `pare bench MODEL.pare [MORE.pare ...] [--batch 1,32] [--threads 1,2] [--warmup N]
// [--iters N] [--min-time S] [--json FILE]`: latency, throughput, MACs, GFLOP/s and peak memory
// of each model at each batch size and thread count; later models against the first.
#include <omp.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_child_process.h"
#include "bench_measure.h"
#include "bench_stats.h"
#include "command.h"
#include "file_identity.h"
#include "pare/output_file.h"

namespace pare::cli {

namespace {

using Json = nlohmann::ordered_json;

constexpr int64_t kMaxBatch = 1 << 20;
constexpr int64_t kMaxThreads = 4096;
constexpr int64_t kMaxRuns = 1'000'000;
constexpr double kMaxMinSeconds = 3600.0;

// 669706 -> "669.7K": four significant digits, so that the columns stay narrow.
std::string scaled(double value, const std::vector<std::string>& units, double step) {
  size_t unit = 0;
  while (unit + 1 < units.size() && value >= step) {
    value /= step;
    ++unit;
  }
  char text[64];
  if (unit == 0)
    std::snprintf(text, sizeof(text), "%.0f%s", value, units[0].c_str());
  else
    std::snprintf(text, sizeof(text), "%.4g%s", value, units[unit].c_str());
  return text;
}

std::string count_text(int64_t count) {
  return scaled(static_cast<double>(count), {"", "K", "M", "G", "T"}, 1000.0);
}

std::string bytes_text(int64_t bytes) {
  return scaled(static_cast<double>(bytes), {" B", " KiB", " MiB", " GiB"}, 1024.0);
}

std::string rate_text(double value) { return fixed(value, value < 100.0 ? 2 : 1); }

void print_rows(const std::vector<BenchRow>& rows, bool compare, std::ostream& stream) {
  std::vector<std::string> header = {"model",     "batch",   "threads",   "min ms",
                                     "median ms", "p90 ms",  "samples/s", "params",
                                     "MACs",      "GFLOP/s", "peak mem"};
  if (compare) {
    header.push_back("speedup");
    header.push_back("MAC ratio");
    header.push_back("dense GFLOP/s");
  }
  Table table = {header};
  for (const BenchRow& row : rows) {
    std::vector<std::string> cells = {row.model,
                                      std::to_string(row.batch),
                                      std::to_string(row.threads),
                                      fixed(row.latency_ms.min, 3),
                                      fixed(row.latency_ms.median, 3),
                                      fixed(row.latency_ms.p90, 3),
                                      fixed(row.throughput, row.throughput < 100.0 ? 1 : 0),
                                      count_text(row.params),
                                      count_text(row.macs),
                                      rate_text(row.gflops),
                                      bytes_text(row.peak_bytes)};
    if (compare) {
      cells.push_back(row.speedup ? fixed(*row.speedup, 2) + "x" : "-");
      cells.push_back(row.mac_ratio ? fixed(*row.mac_ratio, 3) : "-");
      cells.push_back(row.dense_gflops ? rate_text(*row.dense_gflops) : "-");
    }
    table.push_back(std::move(cells));
  }
  std::vector<size_t> numeric;
  for (size_t column = 1; column < header.size(); ++column) numeric.push_back(column);
  print_table(table, numeric, "", stream);
}

int64_t checked_count(const ParsedArgs& args, const std::string& name, int64_t fallback,
                      int64_t min) {
  const int64_t value = args.get_int(name).value_or(fallback);
  if (value < min || value > kMaxRuns)
    throw UsageError("--" + name + " expects an integer from " + std::to_string(min) + " to " +
                     std::to_string(kMaxRuns) + ", got " + std::to_string(value));
  return value;
}

int bench(const ParsedArgs& args) {
  const std::vector<std::string>& models = args.positionals();
  const std::vector<int64_t> batches =
      parse_positive_list("batch", args.get("batch").value_or("1,32"), kMaxBatch);
  const std::vector<int64_t> thread_counts =
      parse_positive_list("threads", args.get("threads").value_or("1,2"), kMaxThreads);
  BenchSettings settings;
  settings.warmup = checked_count(args, "warmup", settings.warmup, 0);
  settings.iters = checked_count(args, "iters", settings.iters, 1);
  settings.min_seconds = args.get_double("min-time").value_or(settings.min_seconds);
  settings.optimize = !args.flag("no-optimize");
  if (!(settings.min_seconds >= 0.0 && settings.min_seconds <= kMaxMinSeconds))
    throw UsageError("--min-time expects seconds from 0 to " + fixed(kMaxMinSeconds, 0) + ", got " +
                     *args.get("min-time"));
  const std::optional<std::string> json_path = args.get("json");
  if (json_path) {
    for (const std::string& model : models)
      PARE_CHECK(!same_file(*json_path, model), *json_path,
                 ": is a model file; choose another --json");
    const std::filesystem::path folder = std::filesystem::path(*json_path).parent_path();
    std::error_code ignored;
    PARE_CHECK(folder.empty() || std::filesystem::is_directory(folder, ignored), *json_path,
               ": no such folder ", folder.string());
  }

  std::vector<std::vector<BenchRow>> by_threads;
  for (int64_t threads : thread_counts) {
    const std::string rows_json = run_in_child_process([&] {
      omp_set_num_threads(static_cast<int>(threads));
      Json rows = Json::array();
      for (const BenchRow& row : measure_models(models, batches, threads, settings))
        rows.push_back(row_to_json(row));
      return rows.dump();
    });
    std::vector<BenchRow> rows;
    const Json parsed = Json::parse(rows_json);
    for (size_t index = 0; index < parsed.size(); ++index) {
      rows.push_back(row_from_json(parsed[index]));
      rows.back().model_index = index / batches.size();
    }
    by_threads.push_back(std::move(rows));
  }

  // Model by model, then batch, then threads, as the options list them.
  std::vector<BenchRow> rows;
  for (size_t model_row = 0; model_row < by_threads.front().size(); ++model_row)
    for (const std::vector<BenchRow>& thread_rows : by_threads)
      rows.push_back(thread_rows[model_row]);
  compare_with_baseline(rows);

  std::cout << "pare bench: warm-up " << settings.warmup << ", then at least " << settings.iters
            << " timed runs and " << settings.min_seconds
            << " s per row; latency per forward pass\n";
  print_rows(rows, models.size() > 1, std::cout);

  if (json_path) {
    Json out_rows = Json::array();
    for (const BenchRow& row : rows) out_rows.push_back(row_to_json(row));
    write_file_atomically(*json_path, Json{{"rows", std::move(out_rows)}}.dump(2) + "\n");
  }
  return 0;
}

}  // namespace

Subcommand bench_command() {
  ArgParser parser("pare bench",
                   "Times models at several batch sizes and thread counts, against the first.");
  parser.positional("MODEL.pare", "the model to time; the baseline when more follow")
      .trailing_positionals("MORE.pare", "models to compare with the first")
      .option("batch", "LIST", "batch sizes, comma-separated (default 1,32)")
      .option("threads", "LIST", "OpenMP thread counts, comma-separated (default 1,2)")
      .option("warmup", "N", "untimed forward passes before timing (default 5)")
      .option("iters", "N", "timed forward passes, at least (default 50)")
      .option("min-time", "S",
              "keep timing until S seconds were measured, so that fast models get enough runs "
              "(default 0.5)")
      .flag("no-optimize", "time the plain interpreter, not the compiled inference path")
      .option("json", "FILE",
              "also write every row: {\"rows\": [{\"model\", \"batch\", \"threads\", "
              "\"latency_ms\": {\"min\", \"median\", \"p90\"}, \"iterations\", \"throughput\", "
              "\"params\", \"macs\", \"gflops\", \"peak_bytes\", and after the first model "
              "\"speedup\", \"mac_ratio\", \"dense_gflops\"}]}")
      .epilog(
          "Each model runs in evaluation mode without gradients on seeded random inputs of its "
          "recorded shapes, the leading (batch) dimension replaced. Latency is per forward pass "
          "in ms: min, median and 90th percentile (linear interpolation). samples/s = batch / "
          "median; GFLOP/s = 2 x MACs / median (MACs as `pare info` counts them, for this "
          "batch). Peak mem: the most bytes of pare tensor storage alive at once during one "
          "forward pass after the warm-up: weights, inputs, temporaries and outputs (oneDNN's "
          "own scratchpads and weight copies are not counted). With several models, speedup = "
          "the first model's median / this one's, MAC ratio = MACs / the first model's MACs, "
          "and dense GFLOP/s = 2 x the first model's MACs / this median (the rate the first "
          "model would need to match). Each thread count runs in a fresh process, because "
          "oneDNN keeps the thread count a primitive was created with.");
  return {"bench", std::move(parser), bench};
}

}  // namespace pare::cli
