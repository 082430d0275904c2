// The measuring half of `pare prune --groups --target-latency`: the latency profile the choice
// predicts with (a --profile file checked against this machine, batch and model, or one measured
// now), then the dense and the pruned model measured on the compiled path, per group and whole,
// beside what was predicted, and the check that the pruned model is not slower than the model it
// came from.
//
//   auto profile = pare::cli::profile_for_target(model, options, progress);
//   const double dense_ms = pare::cli::measure_whole_ms(model, options);       // before pruning
//   ... GroupPruner with target_latency(profile ...), prune ...
//   nlohmann::json report = pruner.report();
//   pare::cli::add_measured_latency(model, options, dense_ms, report);   // report["latency"]
//   pare::cli::print_latency(report["latency"], std::cout);
#pragma once

#include <iosfwd>
#include <memory>
#include <nlohmann/json.hpp>

#include "command.h"
#include "pare/ir/graph_module.h"
#include "pare/passes/latency/latency_profile.h"
#include "prune_groups_options.h"

namespace pare::cli {

// Reads options.profile (errors name the file: another machine, batch or model) or measures a
// profile of `model` now, at options.latency_batch with tables up to options.latency_threads.
std::shared_ptr<const latency::LatencyProfile> profile_for_target(ir::GraphModule& model,
                                                                  const GroupPruneOptions& options,
                                                                  Progress& progress);

// The whole model on the compiled path at the target's batch and threads (median, ms).
double measure_whole_ms(ir::GraphModule& model, const GroupPruneOptions& options);

// Adds to report["latency"]: "measured_ms" (the pruned model), "dense_measured_ms",
// "prediction_error" (predicted / measured - 1), per group "measured_ms" (its layers timed alone
// at their pruned widths, as the profile times them), and "monotone" (the pruned model is not
// slower than the dense one).
void add_measured_latency(ir::GraphModule& pruned, const GroupPruneOptions& options,
                          double dense_measured_ms, nlohmann::json& report);

// Per group: width, predicted and measured ms; then the whole model predicted vs measured.
void print_latency(const nlohmann::json& latency, std::ostream& stream);

}  // namespace pare::cli
