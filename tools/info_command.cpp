// `pare info MODEL.pare [--json]`: the graph, then per module its type, tensors, parameters and
// MACs for the recorded input shapes, then the totals.
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "command.h"
#include "pare/ir/model_stats.h"
#include "pare/ir/pare_file.h"

namespace pare::cli {

namespace {

using Json = nlohmann::ordered_json;
// "features.0.weight" -> "weight" under module "features.0".
std::string local_name(const std::string& module, const std::string& key) {
  return key.rfind(module + ".", 0) == 0 ? key.substr(module.size() + 1) : key;
}

void print_text(const std::string& path, const ir::GraphModule& model, const ir::ModelStats& stats,
                std::ostream& stream) {
  stream << path << "\n\ninputs:\n";
  Table inputs;
  for (const ir::GraphInput& input : stats.inputs)
    inputs.push_back({input.name, ir::format_meta({input.meta})});
  print_table(inputs, {}, "  ", stream);

  stream << "\ngraph:\n";
  Table graph = {{"name", "op", "target", "output"}};
  for (const ir::NodeLine& line : ir::node_lines(model.graph()))
    graph.push_back({line.name, line.op, line.target, line.output});
  print_table(graph, {}, "  ", stream);

  stream << "\nmodules:\n";
  Table modules = {{"module", "type", "params", "MACs", "tensors"}};
  for (const ir::ModuleStats& module : stats.modules) {
    std::vector<std::string> row = {module.name, module.type, std::to_string(module.params),
                                    std::to_string(module.macs), ""};
    if (module.tensors.empty()) modules.push_back(row);
    for (size_t index = 0; index < module.tensors.size(); ++index) {
      const auto& [key, shape] = module.tensors[index];
      if (index > 0) row = {"", "", "", "", ""};
      row[4] = local_name(module.name, key) + " " + to_string(shape);
      modules.push_back(row);
    }
  }
  print_table(modules, {2, 3}, "  ", stream);

  if (!stats.functions.empty()) {
    stream << "\nfunctions:\n";
    Table functions = {{"node", "target", "MACs"}};
    for (const ir::FunctionStats& function : stats.functions)
      functions.push_back({function.node, function.target, std::to_string(function.macs)});
    print_table(functions, {2}, "  ", stream);
  }

  stream << "\ntotal:\n";
  print_table({{"params", std::to_string(stats.params)}, {"MACs", std::to_string(stats.macs)}}, {1},
              "  ", stream);
}

Json stats_json(const ir::ModelStats& stats) {
  Json inputs = Json::array();
  for (const ir::GraphInput& input : stats.inputs)
    inputs.push_back({{"name", input.name}, {"shape", input.meta.shape}});
  Json modules = Json::object();
  for (const ir::ModuleStats& module : stats.modules) {
    Json tensors = Json::object();
    for (const auto& [key, shape] : module.tensors) tensors[key] = shape;
    modules[module.name] = {{"type", module.type},
                            {"params", module.params},
                            {"macs", module.macs},
                            {"tensors", std::move(tensors)}};
  }
  return {{"params", stats.params},
          {"macs", stats.macs},
          {"inputs", std::move(inputs)},
          {"modules", std::move(modules)}};
}

int info(const ParsedArgs& args) {
  const std::string model_path = args.positionals()[0];
  Progress progress;
  progress.show("loading " + model_path);
  ir::GraphModule model = about_file(model_path, [&] {
    check_not_directory(model_path);
    return ir::load(model_path);
  });
  progress.show("counting " + model_path);
  const ir::ModelStats stats = about_file(model_path, [&] { return ir::model_stats(model); });
  progress.show("");
  if (args.flag("json")) {
    std::cout << stats_json(stats).dump() << "\n";
  } else {
    print_text(model_path, model, stats, std::cout);
  }
  return 0;
}

}  // namespace

Subcommand info_command() {
  ArgParser parser("pare info", "Prints a model's graph, its modules, parameters and MACs.");
  parser.positional("MODEL.pare", "the model file")
      .flag("json",
            "print one JSON object instead: {\"params\", \"macs\", \"inputs\", \"modules\"}")
      .epilog(
          "Prints one line per graph node (name, op, target, output shape), then per module its "
          "type, parameters, MACs for the recorded input shapes and tensor shapes, then the "
          "totals. MACs count one multiply-accumulate per weight tap per output element of "
          "Linear, Conv2d and LSTM; other ops count 0.");
  return {"info", std::move(parser), info};
}

}  // namespace pare::cli
