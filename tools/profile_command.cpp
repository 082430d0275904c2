// `pare profile MODEL.pare [--batch B] [--threads T] [--round-to N] [--max-ratio R]
// [--ignore NAME ...] [--warmup N] [--reps N] -o PROFILE.json`: measures the model's latency
// profile (pare/passes/latency/latency_profile.h), each Conv2d / Linear / LSTM timed alone at the
// candidate widths of the groups it reads and writes, and writes it as JSON for
// `pare prune --target-latency`. Prints one row per layer and the totals.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "command.h"
#include "file_identity.h"
#include "pare/ir/pare_file.h"
#include "pare/passes/latency/latency_profile.h"

namespace pare::cli {

namespace {

// Limits that catch typos, not machines: 1024 threads is omp_set_num_threads' practical range.
constexpr int64_t kMaxBatch = 65536;
constexpr int64_t kMaxThreads = 1024;
constexpr int64_t kMaxRoundTo = 65536;
constexpr int64_t kMaxRuns = 100000;

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

int64_t checked_int(const ParsedArgs& args, const std::string& name, int64_t fallback, int64_t min,
                    int64_t max) {
  const int64_t value = args.get_int(name).value_or(fallback);
  if (value < min || value > max)
    throw UsageError("--" + name + " expects an integer from " + std::to_string(min) + " to " +
                     std::to_string(max) + ", got " + std::to_string(value));
  return value;
}

latency::ProfileOptions read_options(const ParsedArgs& args) {
  latency::ProfileOptions options;
  options.batch = checked_int(args, "batch", 1, 1, kMaxBatch);
  options.max_threads = checked_int(args, "threads", 1, 1, kMaxThreads);
  options.round_to = checked_int(args, "round-to", 1, 1, kMaxRoundTo);
  options.max_ratio = args.get_double("max-ratio").value_or(options.max_ratio);
  if (!(options.max_ratio >= 0.0 && options.max_ratio < 1.0))
    throw UsageError("--max-ratio expects a number in [0, 1), got " + *args.get("max-ratio"));
  options.warmup = checked_int(args, "warmup", options.warmup, 0, kMaxRuns);
  options.repetitions = checked_int(args, "reps", options.repetitions, 1, kMaxRuns);
  options.ignored_layers = args.get_all("ignore");
  return options;
}

// A side of a layer for the table: its group, or its fixed width.
std::string side_text(const std::string& group, const std::vector<int64_t>& widths) {
  return group.empty() ? "fixed " + std::to_string(widths.front()) : group;
}

void print_profile(const latency::LatencyProfile& profile, std::ostream& stream) {
  const std::map<std::string, int64_t> dense = profile.dense_widths();
  std::vector<std::string> header = {"layer", "type", "in", "out", "widths"};
  std::vector<size_t> numbers = {4};
  for (int64_t threads = 1; threads <= profile.machine.max_threads; ++threads) {
    numbers.push_back(header.size());
    header.push_back("dense ms @" + std::to_string(threads));
  }
  Table rows = {header};
  for (const latency::LayerLatency& layer : profile.layers) {
    const size_t widths = layer.same_group() ? layer.in_widths.size()
                                             : layer.in_widths.size() * layer.out_widths.size();
    std::vector<std::string> row = {
        layer.layer, layer.type, side_text(layer.in_group, layer.in_widths),
        side_text(layer.out_group, layer.out_widths), std::to_string(widths)};
    auto width_of = [&](const std::string& group, const std::vector<int64_t>& fixed_widths) {
      return group.empty() ? fixed_widths.front() : dense.at(group);
    };
    for (int64_t threads = 1; threads <= profile.machine.max_threads; ++threads)
      row.push_back(fixed(layer.time_ms(width_of(layer.in_group, layer.in_widths),
                                        width_of(layer.out_group, layer.out_widths), threads),
                          4));
    rows.push_back(row);
  }
  auto total_row = [&](const std::string& label, auto value_at) {
    std::vector<std::string> row = {label, "", "", "", ""};
    for (int64_t threads = 1; threads <= profile.machine.max_threads; ++threads)
      row.push_back(fixed(value_at(threads), 4));
    rows.push_back(row);
  };
  total_row("layers (dense)", [&](int64_t threads) { return profile.layers_ms(dense, threads); });
  total_row("rest", [&](int64_t threads) { return profile.rest_ms[threads - 1]; });
  total_row("measured (dense)", [&](int64_t threads) { return profile.dense_ms[threads - 1]; });
  print_table(rows, numbers, "  ", stream);
}

int profile_model(const ParsedArgs& args) {
  const std::string& model_path = args.positionals()[0];
  const std::optional<std::string> output = args.get("output");
  if (!output || output->empty()) throw UsageError("-o PROFILE.json is required");
  latency::ProfileOptions options = read_options(args);
  PARE_CHECK(!same_file(*output, model_path), *output, ": is the model file; choose another -o");
  const std::filesystem::path folder = std::filesystem::path(*output).parent_path();
  std::error_code ignored;
  PARE_CHECK(folder.empty() || std::filesystem::is_directory(folder, ignored), *output,
             ": no such folder ", folder.string());

  latency::LatencyProfile profile;
  {
    // The progress line goes away (this scope) before the table is printed.
    Progress progress;
    progress.show("loading " + model_path);
    ir::GraphModule model = about_file(model_path, [&] {
      check_not_directory(model_path);
      return ir::load(model_path);
    });
    model.eval();
    std::set<std::string> modules;
    for (const auto& [name, module] : model.root().named_modules()) modules.insert(name);
    for (const std::string& name : options.ignored_layers)
      PARE_CHECK(modules.count(name) == 1, model_path, ": --ignore '", name,
                 "' names no module of the model (`pare info` lists them)");
    options.progress = [&](const std::string& step) {
      progress.show("profiling " + model_path + ": " + step);
    };
    profile = about_file(model_path, [&] { return latency::measure_profile(model, options); });
  }
  profile.model = std::filesystem::path(model_path).filename().string();
  about_file(*output, [&] { latency::write_latency_profile(profile, *output); });

  std::cout << "pare profile: " << model_path << " at batch " << profile.batch << " on "
            << profile.machine.describe() << "; median of " << options.repetitions << " runs after "
            << options.warmup << " warm-up runs\n";
  print_profile(profile, std::cout);
  std::cout << profile.groups.size() << " prunable groups, " << profile.layers.size()
            << " layers; wrote " << *output << "\n";
  return 0;
}

}  // namespace

Subcommand profile_command() {
  ArgParser parser("pare profile",
                   "Measures each layer's latency at the widths pruning may give it.");
  parser.positional("MODEL.pare", "the model to profile")
      .option("output", "PROFILE.json", "where to write the profile (required)", 'o')
      .option("batch", "B", "batch size the layers are timed at (default 1)")
      .option("threads", "T", "time at 1 .. T OpenMP threads (default 1)")
      .option("round-to", "N",
              "only widths that are multiples of N, as `pare prune --round-to` keeps (default 1)")
      .option("max-ratio", "R",
              "no width narrower than what removing the share R keeps (default 0.9)")
      .repeatable_option("ignore", "NAME", "a layer that is no root of a group (repeatable)")
      .option("warmup", "N", "untimed runs before timing each point (default 3)")
      .option("reps", "N", "timed runs per point; the median is kept (default 10)")
      .epilog(
          "Each Conv2d, Linear and LSTM is rebuilt alone at every pair of candidate widths of "
          "the groups it reads and writes (multiples of the kernels' channel block, the widths "
          "the ratios 0.1 .. 0.9 keep, the dense width), compiled as the model would be and timed "
          "on random inputs of its shape in the model at the batch given. 'rest' is the whole "
          "dense model's time minus its layers' dense times: pools, reorders, other nodes. "
          "The profile holds for this machine only (its CPU, instruction set and thread counts "
          "are recorded). See docs/pruning.md, 'Latency profiles'.");
  return {"profile", std::move(parser), profile_model};
}

}  // namespace pare::cli
