// The masked-vs-pruned self-check of `pare prune` (prune_check.h).
#include "prune_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/error.h"
#include "pare/functional.h"
#include "pare/indexing.h"
#include "pare/nn/lstm.h"
#include "pare/passes/pruning/structured.h"

namespace pare::cli {

namespace {

constexpr const char* kHookTag = "pare-prune-check";
constexpr double kRelativeTolerance = 1e-4;

std::vector<int64_t> kept_rows(const Tensor& mask, int64_t first = 0, int64_t count = -1) {
  const Tensor contiguous = mask.contiguous();
  const bool* bits = contiguous.data_ptr<bool>();
  if (count < 0) count = contiguous.numel() - first;
  std::vector<int64_t> kept;
  for (int64_t row = 0; row < count; ++row)
    if (bits[first + row]) kept.push_back(row);
  return kept;
}

// The output path of every node the output node returns directly, as Value::flatten names them.
void output_paths(const ir::Argument& argument, const std::string& path,
                  std::map<const ir::Node*, std::string>& paths) {
  if (argument.is_node()) {
    paths.emplace(argument.to_node(), path);
  } else if (argument.is_list()) {
    const ir::Argument::List& items = argument.to_list();
    for (size_t index = 0; index < items.size(); ++index)
      output_paths(items[index],
                   path.empty() ? std::to_string(index) : path + "." + std::to_string(index),
                   paths);
  }
}

std::string output_name(const std::string& path) {
  return path.empty() ? "output" : "output." + path;
}

Tensor select_indices(const Tensor& tensor, int64_t axis, const std::vector<int64_t>& indices) {
  return index_select(tensor, axis, pare::tensor(indices, {static_cast<int64_t>(indices.size())}));
}

CheckResult compare_tensors(const std::string& what, const Tensor& reference,
                            const Tensor& pruned) {
  CheckResult result;
  result.what = what;
  if (reference.sizes() != pruned.sizes()) {
    result.problem = str_cat("the masked model gives shape ", reference.sizes(),
                             " but the pruned one ", pruned.sizes());
    return result;
  }
  const std::vector<float> expected = to_float_vector(reference.contiguous());
  const std::vector<float> actual = to_float_vector(pruned.contiguous());
  double magnitude = 1.0;
  for (float value : expected) magnitude = std::max(magnitude, std::fabs(double{value}));
  result.tolerance = kRelativeTolerance * magnitude;
  for (size_t index = 0; index < expected.size(); ++index) {
    const double diff = std::fabs(double{expected[index]} - double{actual[index]});
    result.max_diff = std::isnan(diff) ? INFINITY : std::max(result.max_diff, diff);
  }
  return result;
}

// The first layer of `lstm` run alone on `input`, from a zero state: the output the
// masked and the pruned LSTM must agree on at the first step, on the kept units.
Tensor first_layer_output(const nn::LSTMImpl& lstm, const Tensor& input) {
  std::vector<Tensor> weights = {lstm.get_parameter("weight_ih_l0"),
                                 lstm.get_parameter("weight_hh_l0")};
  if (lstm.options().bias())
    for (const char* name : {"bias_ih_l0", "bias_hh_l0"})
      weights.push_back(lstm.get_parameter(name));
  NoGradGuard no_grad;
  return std::get<0>(pare::lstm(input, Tensor(), Tensor(), weights, lstm.options().bias(),
                                /*num_layers=*/1, lstm.options().batch_first()));
}

}  // namespace

PruneCheck::PruneCheck(ir::GraphModule& graph_module, const pruning::BaseSparsifier& sparsifier,
                       const pruning::PatternTable& patterns, const std::vector<Tensor>& inputs)
    : inputs_(inputs) {
  std::map<const ir::Node*, std::string> paths;
  if (const ir::Node* output = graph_module.graph().output_node();
      output && !output->args().empty())
    output_paths(output->args()[0], "", paths);

  for (size_t index = 0; index < sparsifier.groups.size(); ++index) {
    const std::shared_ptr<nn::Module>& module = sparsifier.group_modules[index];
    const std::string module_fqn = sparsifier.groups[index]["module_fqn"].get<std::string>();
    const std::string tensor_name = sparsifier.groups[index]["tensor_name"].get<std::string>();
    if (std::shared_ptr<nn::LSTMImpl> lstm = nn::as<nn::LSTMImpl>(module)) {
      const bool seen = std::any_of(lstms_.begin(), lstms_.end(),
                                    [&](const LstmProbe& probe) { return probe.lstm == module; });
      if (seen) continue;
      LstmProbe probe;
      probe.module = module_fqn;
      probe.lstm = lstm;
      probe.hidden = lstm->options().hidden_size();
      probe.layers = lstm->options().num_layers();
      probe.batch_first = lstm->options().batch_first();
      // The math makes the first layer's kept units agree at the first step (pruning.md); a
      // deeper layer also loses what the removed units of the layer below still emitted.
      if (pruning::find_structured_sparsity(*module, "weight_hh_l0") != nullptr) {
        probe.kept = kept_rows(pruning::structured_mask(*module, "weight_hh_l0"), 3 * probe.hidden,
                               probe.hidden);
      } else {
        for (int64_t unit = 0; unit < probe.hidden; ++unit) probe.kept.push_back(unit);
      }
      probe.captured = std::make_shared<Tensor>();
      std::shared_ptr<Tensor> slot = probe.captured;
      module->register_forward_hook(
          [slot](nn::Module&, const std::vector<Tensor>& inputs, std::vector<Tensor>&) {
            if (!inputs.empty()) *slot = inputs[0].detach().clone();
          },
          kHookTag);
      lstms_.push_back(std::move(probe));
      continue;
    }
    // A final layer: its chain ends at the output node, which returns the chain's last node.
    for (ir::Node* node : graph_module.graph().nodes()) {
      if (node->op() != ir::OpKind::call_module || node->target() != module_fqn) continue;
      std::vector<ir::Node*> chain;
      if (patterns.match(*node, graph_module, chain) == nullptr || chain.size() < 2 ||
          chain.back()->op() != ir::OpKind::output)
        continue;
      auto path = paths.find(chain[chain.size() - 2]);
      if (path == paths.end()) continue;
      const Tensor mask = pruning::structured_mask(*module, tensor_name);
      final_layers_[path->second] = {module_fqn, module->kind() == nn::ModuleKind::conv2d,
                                     kept_rows(mask), mask.numel()};
    }
  }

  NoGradGuard no_grad;
  masked_outputs_ = graph_module.interpret(inputs_).flatten();
  for (LstmProbe& probe : lstms_) {
    PARE_CHECK(probe.captured->defined(), "the check did not see LSTM '", probe.module, "' run");
    probe.masked = first_layer_output(*probe.lstm, *probe.captured);
  }
}

PruneCheck::~PruneCheck() {
  for (LstmProbe& probe : lstms_) probe.lstm->remove_hooks_with_tag(kHookTag);
}

std::vector<CheckResult> PruneCheck::compare(ir::GraphModule& graph_module) {
  std::vector<std::pair<std::string, Tensor>> pruned_outputs;
  {
    NoGradGuard no_grad;
    pruned_outputs = graph_module.interpret(inputs_).flatten();
  }
  std::vector<CheckResult> results;
  if (!lstms_.empty()) {
    for (LstmProbe& probe : lstms_) {
      const Tensor& masked = probe.masked;
      const Tensor pruned = first_layer_output(*probe.lstm, *probe.captured);
      // [N, T, H] with batch_first, else [T, N, H]; unbatched [T, H].
      const int64_t time_axis = masked.dim() == 3 && probe.batch_first ? 1 : 0;
      const Tensor first_masked = masked.select(time_axis, 0);
      const Tensor first_pruned = pruned.select(time_axis, 0);
      CheckResult result = compare_tensors(
          str_cat("LSTM '", probe.module, "' at step 0, kept ", probe.kept.size(), " of ",
                  probe.hidden, " units"),
          select_indices(first_masked, first_masked.dim() - 1, probe.kept), first_pruned);
      if (probe.layers > 1) result.what += str_cat(" (layer 0 of ", probe.layers, ")");
      results.push_back(result);
    }
    return results;
  }
  PARE_CHECK(pruned_outputs.size() == masked_outputs_.size(), "the pruned graph returns ",
             pruned_outputs.size(), " tensors, the masked one ", masked_outputs_.size());
  for (size_t index = 0; index < masked_outputs_.size(); ++index) {
    const auto& [path, masked] = masked_outputs_[index];
    const Tensor& pruned = pruned_outputs[index].second;
    auto final_layer = final_layers_.find(path);
    if (final_layer == final_layers_.end()) {
      results.push_back(compare_tensors(output_name(path), masked, pruned));
      continue;
    }
    const FinalLayer& layer = final_layer->second;
    const int64_t axis = layer.conv ? masked.dim() - 3 : masked.dim() - 1;
    CheckResult result;
    if (axis < 0 || masked.size(axis) != layer.rows) {
      result.what = output_name(path);
      result.problem = str_cat("its shape ", masked.sizes(), " has no axis of the ", layer.rows,
                               " channels of '", layer.module, "'");
    } else {
      result = compare_tensors(str_cat(output_name(path), ", kept ", layer.kept.size(), " of ",
                                       layer.rows, " channels of '", layer.module, "'"),
                               select_indices(masked, axis, layer.kept), pruned);
    }
    results.push_back(result);
  }
  return results;
}

namespace {

std::string scientific(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2e", value);
  return text;
}

}  // namespace

std::string add_check_rows(const std::vector<CheckResult>& results, Table& rows) {
  std::string failure;
  for (const CheckResult& result : results) {
    if (!result.problem.empty()) {
      rows.push_back({result.what, result.problem, "", "FAILED"});
    } else {
      rows.push_back({result.what, "max |diff| " + scientific(result.max_diff),
                      "tolerance " + scientific(result.tolerance),
                      result.passed() ? "ok" : "FAILED"});
    }
    if (!result.passed() && failure.empty())
      failure = result.what + ": " +
                (result.problem.empty() ? "max |diff| " + scientific(result.max_diff) +
                                              " > tolerance " + scientific(result.tolerance)
                                        : result.problem) +
                (result.hint.empty() ? "" : "; " + result.hint);
  }
  return failure;
}

}  // namespace pare::cli
