// `pare prune MODEL.pare -o OUT.pare [options]`: masks a saved model with a structured pruner
// (or explicit masks), checks that the pruned graph reproduces the masked one, prints the
// before -> after table and writes the smaller model.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "check_inputs.h"
#include "command.h"
#include "file_identity.h"
#include "pare/creation.h"
#include "pare/ir/model_stats.h"
#include "pare/ir/pare_file.h"
#include "pare/passes/pruning/prune.h"
#include "pare/passes/pruning/pruners.h"
#include "pare/random.h"
#include "prune_check.h"
#include "prune_config.h"
#include "prune_groups_command.h"
#include "prune_groups_options.h"
#include "prune_masks.h"
#include "prune_report.h"

namespace pare::cli {

namespace {

using Json = nlohmann::json;

struct PruneOptions {
  std::string model;
  std::string output;
  std::string pruner = "saliency";
  double sparsity = 0.5;
  std::optional<bool> prune_bias;
  std::optional<std::string> config;
  std::optional<std::string> masks;
  bool verify = true;
};

PruneOptions parse_options(const ParsedArgs& args) {
  PruneOptions options;
  options.model = args.positionals()[0];
  const std::optional<std::string> output = args.get("output");
  if (!output || output->empty()) throw UsageError("-o/--output OUT.pare is required");
  options.output = *output;
  options.pruner = args.get("pruner").value_or("saliency");
  if (options.pruner != "saliency" && options.pruner != "lstm_saliency" && options.pruner != "fpgm")
    throw UsageError("--pruner expects saliency, lstm_saliency or fpgm, got '" + options.pruner +
                     "'");
  options.sparsity = args.get_double("sparsity").value_or(0.5);
  if (!(options.sparsity >= 0.0 && options.sparsity < 1.0))
    throw UsageError("--sparsity expects a number in [0, 1), got " + *args.get("sparsity"));
  if (const std::optional<std::string> text = args.get("prune-bias")) {
    if (*text != "true" && *text != "false")
      throw UsageError("--prune-bias expects true or false, got '" + *text + "'");
    options.prune_bias = *text == "true";
  }
  options.config = args.get("config");
  options.masks = args.get("masks");
  options.verify = !args.flag("no-verify");
  return options;
}

std::unique_ptr<pruning::BaseStructuredSparsifier> make_pruner(const PruneOptions& options) {
  Json defaults = {{"sparsity_level", options.sparsity}};
  if (options.prune_bias) defaults["prune_bias"] = *options.prune_bias;
  if (options.pruner == "lstm_saliency")
    return std::make_unique<pruning::LSTMSaliencyPruner>(defaults);
  if (options.pruner == "fpgm") return std::make_unique<pruning::FPGMPruner>(defaults);
  return std::make_unique<pruning::SaliencyPruner>(defaults);
}

// The group list: --config's, or the default one with the layers it leaves out; then the
// explicit masks join it.
struct Groups {
  std::vector<Json> config;
  std::vector<LeftOut> left_out;
  ExplicitMasks masks;
};

std::string module_of(const std::string& tensor_fqn) {
  const size_t dot = tensor_fqn.rfind('.');
  return dot == std::string::npos ? "" : tensor_fqn.substr(0, dot);
}

Groups build_groups(const PruneOptions& options, ir::GraphModule& model,
                    const pruning::BaseStructuredSparsifier& pruner) {
  Groups groups;
  if (options.config) {
    groups.config = about_file(*options.config, [&] {
      check_not_directory(*options.config);
      return read_prune_config(*options.config);
    });
  } else {
    DefaultConfig found = about_file(
        options.model, [&] { return default_prune_config(model, pruner, pruner.patterns); });
    groups.config = std::move(found.entries);
    groups.left_out = std::move(found.left_out);
  }
  if (!options.masks) return groups;
  groups.masks = about_file(*options.masks, [&] {
    check_not_directory(*options.masks);
    return read_masks(*options.masks, model.root());
  });
  add_mask_groups(groups.config, groups.masks);
  // A layer the masks name is pruned after all.
  std::erase_if(groups.left_out, [&](const LeftOut& layer) {
    return std::any_of(groups.masks.begin(), groups.masks.end(), [&](const ExplicitMask& mask) {
      return module_of(mask.tensor_fqn) == layer.module;
    });
  });
  return groups;
}

void print_left_out(const std::vector<LeftOut>& left_out, std::ostream& stream) {
  if (left_out.empty()) return;
  stream << "left out of the default config:\n";
  Table rows;
  for (const LeftOut& layer : left_out) rows.push_back({layer.module, layer.type, layer.reason});
  print_table(rows, {}, "  ", stream);
  stream << "\n";
}

// Prints one line per comparison; returns the first failure as text, "" when all pass.
std::string print_check(const std::vector<CheckResult>& results, const std::string& inputs,
                        std::ostream& stream) {
  stream << "\ncheck: masked vs pruned on seeded inputs (seed " << kCheckSeed << ": " << inputs
         << "):\n";
  Table rows;
  const std::string failure = add_check_rows(results, rows);
  print_table(rows, {}, "  ", stream);
  return failure;
}

int prune(const ParsedArgs& args) {
  if (wants_groups(args)) return prune_groups(args);
  reject_group_options(args);
  const PruneOptions options = parse_options(args);
  PARE_CHECK(!same_file(options.output, options.model), options.output,
             ": is the model file; choose another -o");
  for (const std::optional<std::string>& other : {options.config, options.masks})
    PARE_CHECK(!other || !same_file(options.output, *other), options.output, ": is ", *other,
               ", an input of this command; choose another -o");

  Progress progress;
  progress.show("loading " + options.model);
  ir::GraphModule model = about_file(options.model, [&] {
    check_not_directory(options.model);
    return ir::load(options.model);
  });
  model.eval();
  std::string described_inputs;
  const std::vector<Tensor> inputs =
      about_file(options.model, [&] { return check_inputs(model, described_inputs); });
  const ir::ModelStats before = about_file(options.model, [&] { return ir::model_stats(model); });

  std::unique_ptr<pruning::BaseStructuredSparsifier> pruner = make_pruner(options);
  Groups groups = build_groups(options, model, *pruner);
  if (groups.config.empty()) {
    print_left_out(groups.left_out, std::cout);
    throw Error(options.model +
                ": nothing to prune: no layer qualifies for the default config (see the list "
                "above); name the layers with --config");
  }

  progress.show("masking " + options.model);
  about_file(options.config ? *options.config : options.model,
             [&] { pruner->prepare(model.root_ptr(), groups.config); });
  about_file(options.model, [&] {
    pruner->step();
    apply_masks(*pruner, groups.masks);
  });
  const std::vector<MaskedModule> masked = masked_modules(*pruner);

  std::optional<PruneCheck> check;
  if (options.verify) {
    progress.show("running the masked model");
    about_file(options.model, [&] { check.emplace(model, *pruner, pruner->patterns, inputs); });
  }
  progress.show("pruning " + options.model);
  // No example inputs: every node's meta already holds the shapes of `inputs` (model_stats above
  // inferred them from the same placeholder meta), and recording them again would run the masked
  // model, materialising each masked weight, a full copy of the layer, for shapes already known.
  // model_stats below infers the pruned graph's shapes.
  about_file(options.model, [&] { pruning::prune_graph(model, pruner->patterns, {}); });
  std::vector<CheckResult> results;
  if (check) {
    progress.show("running the pruned model");
    results = about_file(options.model, [&] { return check->compare(model); });
    check.reset();  // removes its hooks before the model is saved
  }
  const ir::ModelStats after = about_file(options.model, [&] { return ir::model_stats(model); });
  progress.show("");

  std::cout << options.model << " -> " << options.output << ": " << pruner->name()
            << ", default sparsity_level " << options.sparsity << ", " << pruner->groups.size()
            << (pruner->groups.size() == 1 ? " group" : " groups")
            << (options.masks
                    ? str_cat(", ", groups.masks.size(),
                              groups.masks.size() == 1 ? " explicit mask" : " explicit masks")
                    : "")
            << "\n\n";
  print_left_out(groups.left_out, std::cout);
  print_prune_table(before, after, masked, std::cout);
  if (options.verify) {
    const std::string failure = print_check(results, described_inputs, std::cout);
    std::cout.flush();
    PARE_CHECK(failure.empty(), options.model,
               ": the pruned model does not reproduce the masked model (", failure, "); ",
               options.output, " not written (--no-verify skips this check)");
  } else {
    std::cout << "\ncheck: skipped (--no-verify)\n";
  }

  progress.show("writing " + options.output);
  about_file(options.output, [&] { ir::save(model, options.output); });
  progress.show("");
  std::cout << "\nwrote " << options.output << "\n";
  return 0;
}

}  // namespace

Subcommand prune_command() {
  ArgParser parser("pare prune",
                   "Prunes a model's Linear, Conv2d and LSTM layers and writes the smaller model.");
  parser.positional("MODEL.pare", "the model to prune")
      .option("output", "OUT.pare", "the pruned model (required)", 'o')
      .option("pruner", "NAME", "saliency (default), lstm_saliency or fpgm")
      .option("sparsity", "S", "the default sparsity_level of every group, in [0, 1) (0.5)")
      .option("config", "CONFIG.json",
              "the group list, as in PyTorch: [{\"tensor_fqn\": \"conv1.weight\", "
              "\"sparsity_level\": 0.3, \"prune_bias\": false}, ...]")
      .option("masks", "MASKS.safetensors",
              "explicit row masks (BOOL or U8, one per tensor_fqn, 1 keeps a row): they replace "
              "the pruner's choice for the tensors they name, which join the group list")
      .option("prune-bias", "true|false", "the prune_bias of groups that do not say (true)")
      .flag("no-verify", "skip the masked-vs-pruned check (with --groups: the dense-model check)")
      .epilog(
          "Without --config, every Linear, Conv2d and LSTM that a pattern can prune and whose "
          "output is not a graph output is pruned (the model's output width only changes for "
          "a layer that --config or --masks names); the layers left out are listed with the "
          "reason. Before writing, the pruned graph must reproduce the masked model on a seeded "
          "random input: on every output, on a pruned final layer's kept channels, and for an "
          "LSTM on its kept units at the first time step (the graph outputs are then not "
          "compared). Prints per pruned module the width, "
          "parameters and MACs before -> after, then the totals. With --groups, channels are "
          "pruned by dependency group instead: every layer tied to a pruned channel shrinks "
          "with it, and the pruned model must match the dense one with those channels removed.");
  add_group_options(parser);
  return {"prune", std::move(parser), prune};
}

}  // namespace pare::cli
