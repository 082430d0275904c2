// The before -> after table of `pare prune` (prune_report.h).
#include "prune_report.h"

#include <algorithm>
#include <cstdio>

#include "before_after.h"
#include "command.h"
#include "pare/nn/lstm.h"
#include "pare/passes/pruning/structured.h"

namespace pare::cli {

namespace {

int64_t count_kept(const Tensor& mask, int64_t first, int64_t count) {
  const Tensor contiguous = mask.contiguous();
  const bool* bits = contiguous.data_ptr<bool>();
  return std::count(bits + first, bits + first + count, true);
}

const ir::ModuleStats* find_module(const ir::ModelStats& stats, const std::string& name) {
  for (const ir::ModuleStats& module : stats.modules)
    if (module.name == name) return &module;
  return nullptr;
}

// Out features / out channels (weight rows), an LSTM's hidden units; -1 when neither applies.
int64_t width_of(const ir::ModuleStats& module) {
  const bool lstm = module.kind == nn::ModuleKind::lstm;
  const std::string key = module.name + (lstm ? ".weight_hh_l0" : ".weight");
  for (const auto& [name, shape] : module.tensors)
    if (name == key && shape.size() >= 2) return lstm ? shape[1] : shape[0];
  return -1;
}

}  // namespace

std::vector<MaskedModule> masked_modules(const pruning::BaseSparsifier& sparsifier) {
  std::vector<MaskedModule> masked;
  for (size_t index = 0; index < sparsifier.groups.size(); ++index) {
    const std::shared_ptr<nn::Module>& module = sparsifier.group_modules[index];
    const std::string name = sparsifier.groups[index]["module_fqn"].get<std::string>();
    if (std::any_of(masked.begin(), masked.end(),
                    [&](const MaskedModule& seen) { return seen.name == name; }))
      continue;
    MaskedModule entry{name, 0, 0};
    if (auto* lstm = nn::as<nn::LSTMImpl>(module.get())) {
      entry.rows = lstm->options().hidden_size();
      const std::string last_hh = "weight_hh_l" + std::to_string(lstm->options().num_layers() - 1);
      entry.kept =
          pruning::find_structured_sparsity(*module, last_hh)
              ? count_kept(pruning::structured_mask(*module, last_hh), 3 * entry.rows, entry.rows)
              : entry.rows;
    } else {
      const Tensor mask = pruning::structured_mask(
          *module, sparsifier.groups[index]["tensor_name"].get<std::string>());
      entry.rows = mask.numel();
      entry.kept = count_kept(mask, 0, entry.rows);
    }
    masked.push_back(entry);
  }
  return masked;
}

void print_prune_table(const ir::ModelStats& before, const ir::ModelStats& after,
                       const std::vector<MaskedModule>& masked, std::ostream& stream) {
  Table rows = {{"module", "type", "width", "params", "MACs", "note"}};
  for (const ir::ModuleStats& now : after.modules) {
    const ir::ModuleStats* was = find_module(before, now.name);
    if (was == nullptr) continue;
    auto mask = std::find_if(masked.begin(), masked.end(),
                             [&](const MaskedModule& entry) { return entry.name == now.name; });
    const bool is_masked = mask != masked.end();
    if (!is_masked && was->tensors == now.tensors) continue;
    const int64_t width_before = width_of(*was), width_after = width_of(now);
    std::string note;
    if (!is_masked) {
      note = "inputs sliced";
    } else if (mask->kept == mask->rows) {
      note = "nothing pruned (the mask keeps every row)";
    } else if (width_after == width_before) {
      note = "kept its shape (padded consumer): " + std::to_string(mask->rows - mask->kept) +
             " pruned filters zeroed";
    }
    rows.push_back({now.name, now.type, width_before < 0 ? "-" : change(width_before, width_after),
                    change(was->params, now.params), change(was->macs, now.macs), note});
  }
  rows.push_back({"total", "", "",
                  change(before.params, after.params) + ratio(before.params, after.params),
                  change(before.macs, after.macs) + ratio(before.macs, after.macs), ""});
  print_table(rows, {}, "  ", stream);
}

}  // namespace pare::cli
