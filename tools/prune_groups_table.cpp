// The before -> after table of `pare prune --groups` (prune_groups_table.h).
#include "prune_groups_table.h"

#include <cstdio>
#include <string>

#include "before_after.h"
#include "command.h"

namespace pare::cli {

namespace {

const ir::ModuleStats* find_module(const ir::ModelStats& stats, const std::string& name) {
  for (const ir::ModuleStats& module : stats.modules)
    if (module.name == name) return &module;
  return nullptr;
}

// The first axis of the module's weight; -1 without one.
int64_t width_of(const ir::ModuleStats& module) {
  for (const auto& [name, shape] : module.tensors)
    if (name == module.name + ".weight" && !shape.empty()) return shape[0];
  return -1;
}

}  // namespace

void print_group_prune_table(const ir::ModelStats& before, const ir::ModelStats& after,
                             std::ostream& stream) {
  Table rows = {{"module", "type", "width", "params", "MACs", "note"}};
  for (const ir::ModuleStats& now : after.modules) {
    const ir::ModuleStats* was = find_module(before, now.name);
    if (was == nullptr || was->tensors == now.tensors) continue;
    const int64_t width_before = width_of(*was), width_after = width_of(now);
    rows.push_back({now.name, now.type, width_before < 0 ? "-" : change(width_before, width_after),
                    change(was->params, now.params), change(was->macs, now.macs),
                    width_after < width_before ? "" : "inputs sliced"});
  }
  rows.push_back({"total", "", "",
                  change(before.params, after.params) + ratio(before.params, after.params),
                  change(before.macs, after.macs) + ratio(before.macs, after.macs), ""});
  print_table(rows, {}, "  ", stream);
}

}  // namespace pare::cli
