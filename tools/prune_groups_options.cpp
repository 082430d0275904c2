// The options of `pare prune --groups` (prune_groups_options.h).
#include "prune_groups_options.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pare/bounded_json.h"
#include "pare/error.h"

namespace pare::cli {

namespace {

// The criteria of pruning::Importance; taylor also needs --calibration (its gradients).
const std::vector<std::string>& importance_names() {
  static const std::vector<std::string> names = {"l1",   "l2",     "fpgm",  "bn_scale",
                                                 "lamp", "random", "taylor"};
  return names;
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (size_t index = 0; index < names.size(); ++index)
    text += (index == 0 ? "" : index + 1 == names.size() ? " or " : ", ") + names[index];
  return text;
}

// The group flow's options (and flags) by name, for the checks that pair them with --groups.
const std::vector<std::string>& group_option_names() {
  static const std::vector<std::string> names = {"importance",
                                                 "ratio",
                                                 "target-macs",
                                                 "global",
                                                 "max-ratio",
                                                 "round-to",
                                                 "ignore",
                                                 "ratios",
                                                 "report",
                                                 "explain",
                                                 "allow-output-change",
                                                 "seed",
                                                 "calibration",
                                                 "batch-size",
                                                 "target-latency",
                                                 "batch",
                                                 "threads",
                                                 "profile"};
  return names;
}

// The chain flow's options, which mean nothing to the group flow.
const std::vector<std::string>& chain_option_names() {
  static const std::vector<std::string> names = {"pruner", "sparsity", "config", "masks",
                                                 "prune-bias"};
  return names;
}

double number_in(const ParsedArgs& args, const std::string& name, double low, double high,
                 bool high_included, double fallback) {
  const std::optional<double> value = args.get_double(name);
  if (!value) return fallback;
  if (!(*value >= low && (high_included ? *value <= high : *value < high)))
    throw UsageError(str_cat("--", name, " expects a number in [", low, ", ", high,
                             high_included ? "]" : ")", ", got ", *args.get(name)));
  return *value;
}

}  // namespace

pruning::GroupPrunerOptions GroupPruneOptions::pruner_options() const {
  pruning::GroupPrunerOptions options;
  options.importance(pruning::Importance::named(importance, seed.value_or(0)))
      .round_to(round_to)
      .ignore(ignored)
      .global(global)
      .allow_output_change(allow_output_change);
  if (ratio) options.ratio(*ratio);
  if (target_macs) options.target_macs(*target_macs);
  if (max_ratio) options.max_ratio(*max_ratio);
  for (const auto& [layer, value] : layer_ratios) options.layer_ratio(layer, value);
  return options;
}

void add_group_options(ArgParser& parser) {
  parser
      .flag("groups",
            "dependency-group pruning: every layer coupled to a pruned channel space "
            "(BatchNorm, residual adds, concats, depthwise convs, flatten) shrinks "
            "with it; the options below belong to it")
      .option("importance", "NAME",
              "how channels are scored: " + joined(importance_names()) +
                  " (l2); taylor needs --calibration")
      .option("ratio", "R", "the share of each group's channels that goes, in [0, 1) (0.5)")
      .option("target-macs", "R",
              "global pruning until the Conv2d / Linear MACs are at most R of the dense model's, "
              "in (0, 1] (instead of --ratio)")
      .flag("global", "rank all groups' normalised scores together instead of per group")
      .option("max-ratio", "R", "global pruning: the most any group may lose, in (0, 1) (0.9)")
      .option("round-to", "N", "kept channel counts are multiples of N (1)")
      .repeatable_option("ignore", "NAME",
                         "a layer that is never pruned (its inputs may still shrink); repeat "
                         "it or separate names with commas")
      .option("ratios", "FILE", "per-layer ratios: a JSON object {\"layer\": ratio, ...}")
      .option("report", "FILE",
              "writes the JSON report: params, MACs, groups, changed tensors with their kept "
              "indices, layers not prunable")
      .flag("explain",
            "prints the groups and why each other layer cannot be pruned; writes nothing")
      .flag("allow-output-change", "let the graph's outputs lose channels too")
      .option("seed", "N", "the seed of --importance random (0)")
      .option("calibration", "FILE",
              "--importance taylor's data: a safetensors file with tensor 'input' (the model's "
              "input, batch first) and optional 'target' (int64 class indices, one per sample); "
              "the loss is cross_entropy(output, target), or without 'target' the sum of squares "
              "of the output")
      .option("batch-size", "B", "--calibration's samples per batch (32)")
      .option("target-latency", "F|Nms",
              "latency-aware widths: each group keeps the measured width that keeps the most "
              "importance while the predicted latency is at most F of the dense model's (in "
              "(0, 1]) or N milliseconds (instead of --ratio)")
      .option("batch", "B", "--target-latency: the batch size it is measured at (1)")
      .option("threads", "T", "--target-latency: the thread count it is measured at (1)")
      .option("profile", "FILE",
              "--target-latency: a profile `pare profile` wrote on this machine (without it, "
              "one is measured now)");
}

bool wants_groups(const ParsedArgs& args) { return args.flag("groups"); }

void reject_group_options(const ParsedArgs& args) {
  for (const std::string& name : group_option_names())
    if (args.has(name)) throw UsageError("--" + name + " belongs to --groups; add --groups");
}

GroupPruneOptions parse_group_options(const ParsedArgs& args) {
  for (const std::string& name : chain_option_names())
    if (args.has(name))
      throw UsageError("--" + name + " belongs to the chain flow; drop it or drop --groups");
  GroupPruneOptions options;
  options.model = args.positionals()[0];
  options.explain = args.flag("explain");
  const std::optional<std::string> output = args.get("output");
  if (output && output->empty()) throw UsageError("-o/--output needs a file name");
  if (!output && !options.explain)
    throw UsageError("-o/--output OUT.pare is required (or --explain)");
  options.output = output;

  options.importance = args.get("importance").value_or("l2");
  const std::vector<std::string>& names = importance_names();
  if (std::find(names.begin(), names.end(), options.importance) == names.end())
    throw UsageError("--importance expects " + joined(names) + ", got '" + options.importance +
                     "'");
  options.calibration = args.get("calibration");
  if (options.calibration && options.calibration->empty())
    throw UsageError("--calibration needs a file name");
  if (options.importance == "taylor" && !options.calibration && !options.explain)
    throw UsageError(
        "--importance taylor needs --calibration FILE: a safetensors file with the model's "
        "input as tensor 'input' (and optional int64 class indices as 'target'), whose loss "
        "gradients it scores");
  if (options.calibration && options.importance != "taylor")
    throw UsageError("--calibration applies to --importance taylor only");
  if (const std::optional<int64_t> batch_size = args.get_int("batch-size")) {
    if (!options.calibration) throw UsageError("--batch-size applies to --calibration");
    if (*batch_size < 1)
      throw UsageError("--batch-size expects a positive integer, got " + *args.get("batch-size"));
    options.batch_size = *batch_size;
  }
  if (const std::optional<int64_t> seed = args.get_int("seed")) {
    if (options.importance != "random")
      throw UsageError("--seed applies to --importance random only");
    if (*seed < 0)
      throw UsageError("--seed expects a non-negative integer, got " + *args.get("seed"));
    options.seed = static_cast<uint64_t>(*seed);
  }

  if (const std::optional<std::string> target = args.get("target-latency")) {
    if (args.has("ratio") || args.has("target-macs") || args.has("global") || args.has("ratios"))
      throw UsageError(
          "--target-latency chooses every width itself; drop --ratio, --target-macs, --global "
          "and --ratios");
    parse_target_latency(*target, options);
    if (const std::optional<int64_t> batch = args.get_int("batch")) {
      if (*batch < 1)
        throw UsageError("--batch expects a positive integer, got " + *args.get("batch"));
      options.latency_batch = *batch;
    }
    if (const std::optional<int64_t> threads = args.get_int("threads")) {
      if (*threads < 1 || *threads > 1024)
        throw UsageError("--threads expects an integer in [1, 1024], got " + *args.get("threads"));
      options.latency_threads = *threads;
    }
    options.profile = args.get("profile");
    if (options.profile && options.profile->empty())
      throw UsageError("--profile needs a file name");
  } else {
    for (const char* name : {"batch", "threads", "profile"})
      if (args.has(name)) throw UsageError(str_cat("--", name, " applies to --target-latency"));
  }
  if (args.has("ratio") && args.has("target-macs"))
    throw UsageError("--ratio and --target-macs are two targets; give one");
  if (args.has("ratio")) options.ratio = number_in(args, "ratio", 0.0, 1.0, false, 0.5);
  if (args.has("target-macs"))
    options.target_macs = number_in(args, "target-macs", 0.0, 1.0, true, 1.0);
  if (options.target_macs && *options.target_macs == 0.0)
    throw UsageError("--target-macs expects a number in (0, 1], got " + *args.get("target-macs"));
  options.global = args.flag("global") || options.target_macs.has_value();
  if (args.has("max-ratio")) {
    if (!options.global && !options.target_latency_share && !options.target_latency_ms)
      throw UsageError("--max-ratio applies to --global, --target-macs or --target-latency");
    options.max_ratio = number_in(args, "max-ratio", 0.0, 1.0, false, 0.9);
    if (*options.max_ratio == 0.0)
      throw UsageError("--max-ratio expects a number in (0, 1), got " + *args.get("max-ratio"));
  }
  if (const std::optional<int64_t> round_to = args.get_int("round-to")) {
    if (*round_to < 1)
      throw UsageError("--round-to expects a positive integer, got " + *args.get("round-to"));
    options.round_to = *round_to;
  }
  for (const std::string& value : args.get_all("ignore")) {
    std::istringstream names_given(value);
    for (std::string name; std::getline(names_given, name, ',');) {
      if (name.empty()) throw UsageError("--ignore expects layer names, got '" + value + "'");
      options.ignored.push_back(name);
    }
  }
  options.ratios_file = args.get("ratios");
  options.report = args.get("report");
  if (options.report && options.report->empty()) throw UsageError("--report needs a file name");
  options.allow_output_change = args.flag("allow-output-change");
  options.verify = !args.flag("no-verify");
  return options;
}

void parse_target_latency(const std::string& text, GroupPruneOptions& options) {
  const bool in_ms = text.size() > 2 && text.compare(text.size() - 2, 2, "ms") == 0;
  const std::string number = in_ms ? text.substr(0, text.size() - 2) : text;
  double value = 0.0;
  size_t used = 0;
  try {
    value = std::stod(number, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != number.size() || !std::isfinite(value))
    throw UsageError(
        "--target-latency expects a share of the dense latency in (0, 1] or "
        "milliseconds such as 2.5ms, got '" +
        text + "'");
  if (in_ms) {
    if (value <= 0.0)
      throw UsageError("--target-latency expects positive milliseconds, got '" + text + "'");
    options.target_latency_ms = value;
  } else {
    if (!(value > 0.0 && value <= 1.0))
      throw UsageError(
          "--target-latency expects a share in (0, 1] (or milliseconds: 2.5ms), got '" + text +
          "'");
    options.target_latency_share = value;
  }
}

std::map<std::string, double> read_layer_ratios(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  PARE_CHECK(stream.good(), "cannot open the ratios file");
  std::ostringstream text;
  text << stream.rdbuf();
  const nlohmann::json ratios = parse_bounded_json<nlohmann::json>(text.str(), "the ratios file");
  PARE_CHECK(ratios.is_object(),
             "expected a JSON object of layer -> ratio such as {\"layer1.0.conv1\": 0.3}, got a "
             "JSON ",
             ratios.type_name());
  std::map<std::string, double> result;
  for (const auto& [layer, value] : ratios.items()) {
    PARE_CHECK(value.is_number() && value.get<double>() >= 0.0 && value.get<double>() < 1.0,
               "layer '", layer, "': the ratio must be a number in [0, 1), got ", value.dump());
    result[layer] = value.get<double>();
  }
  return result;
}

}  // namespace pare::cli
