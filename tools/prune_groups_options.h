// The options of `pare prune --groups` (docs/cli.md, dependency-group pruning): declared on the
// `pare prune` parser next to the chain flow's, read and checked here, and the --ratios file.
// Malformed or out-of-range values on the command line are usage errors (exit 2); a bad --ratios
// file is a pare::Error naming the file (exit 1).
//
//   pare::cli::ArgParser parser("pare prune", "...");
//   pare::cli::add_group_options(parser);
//   pare::cli::ParsedArgs args = parser.parse({"net.pare", "--groups", "--ratio", "0.3"});
//   pare::cli::GroupPruneOptions options = pare::cli::parse_group_options(args);
//   pare::pruning::GroupPrunerOptions pruner_options = options.pruner_options();
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli_args.h"
#include "pare/passes/pruning/group_pruner.h"

namespace pare::cli {

struct GroupPruneOptions {
  std::string model;
  std::optional<std::string> output;  // not needed with --explain
  std::string importance = "l2";
  std::optional<uint64_t> seed;
  // --importance taylor's calibration file and its batch size (prune_groups_calibration.h).
  std::optional<std::string> calibration;
  int64_t batch_size = 32;
  std::optional<double> ratio;
  std::optional<double> target_macs;
  bool global = false;
  std::optional<double> max_ratio;
  int64_t round_to = 1;
  std::vector<std::string> ignored;
  std::optional<std::string> ratios_file;
  std::map<std::string, double> layer_ratios;  // read from ratios_file by read_layer_ratios
  std::optional<std::string> report;
  bool explain = false;
  bool allow_output_change = false;
  bool verify = true;
  // --target-latency F (a share of the dense latency, in (0, 1]) or Nms, at --batch and
  // --threads, predicted by --profile FILE or by a profile measured now.
  std::optional<double> target_latency_share;
  std::optional<double> target_latency_ms;
  int64_t latency_batch = 1;
  int64_t latency_threads = 1;
  std::optional<std::string> profile;

  // The pruner's options (layer_ratios included once read).
  pruning::GroupPrunerOptions pruner_options() const;
};

// Declares --groups and its options on the `pare prune` parser.
void add_group_options(ArgParser& parser);
// True when `args` asks for the group flow.
bool wants_groups(const ParsedArgs& args);
// The chain flow's own check: no option of the group flow without --groups.
void reject_group_options(const ParsedArgs& args);
// Reads and checks the options of the group flow (UsageError for wrong usage).
GroupPruneOptions parse_group_options(const ParsedArgs& args);
// "0.3" -> share 0.3; "2.5ms" -> 2.5 ms (UsageError otherwise).
void parse_target_latency(const std::string& text, GroupPruneOptions& options);
// --ratios FILE: a JSON object {"layer": ratio in [0, 1), ...}; errors name the file.
std::map<std::string, double> read_layer_ratios(const std::string& path);

}  // namespace pare::cli
