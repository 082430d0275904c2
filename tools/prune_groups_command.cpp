// `pare prune --groups` (prune_groups_command.h).
#include "prune_groups_command.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "check_inputs.h"
#include "command.h"
#include "file_identity.h"
#include "pare/creation.h"
#include "pare/ir/model_stats.h"
#include "pare/ir/pare_file.h"
#include "pare/output_file.h"
#include "pare/passes/pruning/group_pruner.h"
#include "pare/random.h"
#include "prune_groups_calibration.h"
#include "prune_groups_check.h"
#include "prune_groups_latency.h"
#include "prune_groups_options.h"
#include "prune_groups_table.h"

namespace pare::cli {

namespace {

std::set<std::string> called_layers(const ir::GraphModule& model) {
  std::set<std::string> layers;
  for (const ir::Node* node : model.graph().nodes())
    if (node->op() == ir::OpKind::call_module) layers.insert(node->target());
  return layers;
}

// Names the file each problem belongs to: --ignore's names the model, --ratios' the ratios file.
void check_layer_names(const GroupPruneOptions& options, const ir::GraphModule& model) {
  const std::set<std::string> layers = called_layers(model);
  for (const std::string& name : options.ignored)
    PARE_CHECK(layers.count(name), options.model, ": --ignore '", name,
               "': the graph calls no layer of that name; pare info ", options.model,
               " lists the layers");
  for (const auto& [name, ratio] : options.layer_ratios)
    PARE_CHECK(layers.count(name), *options.ratios_file, ": layer '", name, "': the graph of ",
               options.model, " calls no layer of that name; pare info ", options.model,
               " lists the layers");
}

bool wants_latency(const GroupPruneOptions& options) {
  return options.target_latency_share || options.target_latency_ms;
}

std::string describe_target(const GroupPruneOptions& options) {
  if (options.target_latency_ms)
    return str_cat("target latency ", *options.target_latency_ms, " ms at batch ",
                   options.latency_batch, ", ", options.latency_threads, " thread(s)");
  if (options.target_latency_share)
    return str_cat("target latency ", *options.target_latency_share, " of the dense at batch ",
                   options.latency_batch, ", ", options.latency_threads, " thread(s)");
  if (options.target_macs) return str_cat("global, target MACs ", *options.target_macs);
  return str_cat(options.global ? "global" : "local", ", ratio ", options.ratio.value_or(0.5));
}

void print_not_pruned(const nlohmann::json& not_prunable, std::ostream& stream) {
  if (not_prunable.empty()) return;
  stream << "\nnot pruned (pare prune --groups --explain shows the paths):\n";
  Table rows;
  for (const nlohmann::json& layer : not_prunable)
    rows.push_back({layer.at("layer").get<std::string>(), layer.at("reason").get<std::string>()});
  print_table(rows, {}, "  ", stream);
}

// Prints one line per comparison; returns the first failure as text, "" when all pass.
std::string print_check(const GroupCheck& check, const std::string& inputs, std::ostream& stream) {
  stream << "\ncheck: pruned vs the dense file, its tensors sliced by the report's kept indices "
            "and its removed channels zeroed, on seeded inputs (seed "
         << kCheckSeed << ": " << inputs << "):\n";
  Table rows;
  const std::string failure = add_check_rows(check.results, rows);
  if (!check.outputs_not_compared.empty())
    rows.push_back({"outputs", "not compared: " + check.outputs_not_compared, "", ""});
  print_table(rows, {}, "  ", stream);
  return failure;
}

}  // namespace

int prune_groups(const ParsedArgs& args) {
  GroupPruneOptions options = parse_group_options(args);
  std::vector<std::pair<std::string, std::string>> inputs_of_command = {
      {options.model, "the model file"}};
  if (options.ratios_file) inputs_of_command.push_back({*options.ratios_file, "the --ratios file"});
  if (options.calibration)
    inputs_of_command.push_back({*options.calibration, "the --calibration file"});
  for (const std::optional<std::string>& written : {options.output, options.report}) {
    if (!written) continue;
    for (const auto& [path, what] : inputs_of_command)
      PARE_CHECK(!same_file(*written, path), *written, ": is ", what,
                 ", an input of this command; choose another name");
  }
  if (options.output && options.report)
    PARE_CHECK(*options.output != *options.report && !same_file(*options.output, *options.report),
               *options.report, ": is also the -o file; choose another --report");

  Progress progress;
  progress.show("loading " + options.model);
  ir::GraphModule model = about_file(options.model, [&] {
    check_not_directory(options.model);
    return ir::load(options.model);
  });
  model.eval();
  if (options.ratios_file)
    options.layer_ratios = about_file(*options.ratios_file, [&] {
      check_not_directory(*options.ratios_file);
      return read_layer_ratios(*options.ratios_file);
    });
  check_layer_names(options, model);
  std::string described_inputs;
  const std::vector<Tensor> inputs =
      about_file(options.model, [&] { return check_inputs(model, described_inputs); });
  const ir::ModelStats before = about_file(options.model, [&] { return ir::model_stats(model); });
  // Read (and checked) before the analysis, so that a wrong file fails fast; run before step().
  std::optional<Calibration> calibration;
  if (options.calibration && !options.explain)
    calibration = about_file(*options.calibration, [&] {
      return read_calibration(*options.calibration, model, options.batch_size);
    });

  pruning::GroupPrunerOptions pruner_options = options.pruner_options();
  double dense_measured_ms = 0.0;
  if (wants_latency(options) && !options.explain) {
    const auto profile = profile_for_target(model, options, progress);
    progress.show("measuring " + options.model);
    dense_measured_ms = measure_whole_ms(model, options);
    pruner_options.target_latency({profile, options.target_latency_share.value_or(1.0),
                                   options.target_latency_ms.value_or(0.0),
                                   options.latency_threads});
  }
  progress.show("analysing " + options.model);
  std::optional<pruning::GroupPruner> pruner;
  // Past the name checks above, the constructor's refusals are about a per-layer ratio (a layer
  // that cannot be pruned) when there are any, else about the model (or the profile).
  about_file(options.layer_ratios.empty() ? options.model : *options.ratios_file,
             [&] { pruner.emplace(model, pruner_options); });
  if (options.explain) {
    progress.show("");
    std::cout << pruner->graph().explain();
    return 0;
  }

  if (calibration) {
    progress.show("computing gradients on " + *options.calibration);
    about_file(*options.calibration,
               [&] { accumulate_calibration_gradients(model, *calibration); });
  }
  progress.show("choosing channels of " + options.model);
  about_file(options.model, [&] { pruner->step(); });
  size_t pruned_groups = 0, prunable_groups = 0;
  for (const pruning::Group& group : pruner->graph().groups()) prunable_groups += group.prunable;
  for (const pruning::GroupChoice& choice : pruner->choices())
    pruned_groups += !choice.removed.empty();
  if (pruned_groups == 0) {
    progress.show("");
    print_not_pruned(pruner->report().at("not_prunable"), std::cout);
    if (prunable_groups == 0)
      throw Error(options.model +
                  ": nothing to prune: no group of channels is prunable (see the list above; "
                  "--explain shows the paths); --allow-output-change lets the outputs shrink, "
                  "and an --ignore'd layer is never pruned");
    throw Error(str_cat(options.model, ": nothing to prune: every one of the ", prunable_groups,
                        " prunable groups keeps all its channels at ", describe_target(options),
                        wants_latency(options) ? "; lower --target-latency"
                                               : "; raise --ratio (or lower --round-to)"));
  }

  progress.show("pruning " + options.model);
  about_file(options.model, [&] { pruner->prune(); });
  nlohmann::json report = pruner->report();
  if (wants_latency(options)) {
    progress.show("measuring the pruned model");
    add_measured_latency(model, options, dense_measured_ms, report);
  }
  const ir::ModelStats after = about_file(options.model, [&] { return ir::model_stats(model); });
  std::optional<GroupCheck> check;
  if (options.verify) {
    progress.show("checking against " + options.model);
    check = about_file(options.model, [&] {
      return check_group_pruning(options.model, *pruner, report, model, inputs);
    });
  }
  progress.show("");

  std::cout << options.model << " -> " << *options.output << ": groups, importance "
            << report.value("importance", options.importance) << ", " << describe_target(options)
            << ", " << pruned_groups << " of " << prunable_groups << " prunable groups pruned\n\n";
  print_group_prune_table(before, after, std::cout);
  print_not_pruned(report.at("not_prunable"), std::cout);
  if (report.contains("latency")) print_latency(report["latency"], std::cout);
  if (check) {
    const std::string failure = print_check(*check, described_inputs, std::cout);
    std::cout.flush();
    PARE_CHECK(failure.empty(), options.model, ": the pruned model does not match the dense one (",
               failure, "); ", *options.output, " not written (--no-verify skips this check)");
  } else {
    std::cout << "\ncheck: skipped (--no-verify)\n";
  }

  progress.show("writing " + *options.output);
  // The report first: when the model then cannot be written, the report goes again, so that a
  // failure leaves neither.
  if (options.report)
    about_file(*options.report,
               [&] { write_file_atomically(*options.report, report.dump(2) + "\n"); });
  try {
    about_file(*options.output, [&] { ir::save(model, *options.output); });
  } catch (...) {
    std::error_code ignored;
    if (options.report) std::filesystem::remove(*options.report, ignored);
    throw;
  }
  progress.show("");
  std::cout << "\nwrote " << *options.output << (options.report ? " and " + *options.report : "")
            << "\n";
  return 0;
}

}  // namespace pare::cli
