// The group list of `pare prune`: read from --config, or the default one (prune_config.h).
#include "prune_config.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "pare/bounded_json.h"
#include "pare/error.h"

namespace pare::cli {

namespace {

using Json = nlohmann::json;

std::string entry_label(size_t index, const Json& entry) {
  return str_cat("entry ", index, " (", json_excerpt(entry), ")");
}

std::string chain_text(const std::vector<ir::Node*>& chain) {
  std::string text;
  for (size_t i = 0; i < chain.size(); ++i) text += (i ? " -> " : "") + chain[i]->name();
  return text;
}

// True when the output node uses `node`, directly or through other nodes.
bool reaches_output(const ir::Node& node) {
  std::vector<const ir::Node*> pending = {&node};
  std::set<const ir::Node*> seen;
  while (!pending.empty()) {
    const ir::Node* current = pending.back();
    pending.pop_back();
    if (current->op() == ir::OpKind::output) return true;
    if (!seen.insert(current).second) continue;
    pending.insert(pending.end(), current->users().begin(), current->users().end());
  }
  return false;
}

// Why prune_graph could not convert the module at `module_fqn`, or why converting it would change
// a graph output's width; "" when it can be pruned.
std::string why_left_out(const std::vector<ir::Node*>& calls, ir::GraphModule& graph_module,
                         const pruning::PatternTable& patterns) {
  if (calls.empty()) return "the graph never calls it";
  if (calls.size() > 1)
    return str_cat("it is called ", calls.size(), " times in the graph ('", calls[0]->name(),
                   "', '", calls[1]->name(), "'), so it cannot change width for one call only");
  ir::Node& node = *calls[0];
  std::vector<ir::Node*> chain;
  const pruning::Pattern* pattern = patterns.match(node, graph_module, chain);
  if (pattern == nullptr)
    return "no pattern matches: " + chain_text(pruning::first_user_chain(node, 5));
  if (chain.back()->op() == ir::OpKind::output) return "its output is a graph output";
  // As prune_graph's leak check, and a direct use by the output node counts too.
  for (size_t i = 0; i + 1 < chain.size(); ++i) {
    for (const ir::Node* user : chain[i]->users()) {
      if (user == chain[i + 1]) continue;
      if (user->op() == ir::OpKind::output)
        return i == 0 ? "its output is a graph output"
                      : str_cat("its output is a graph output through '", chain[i]->name(), "'");
      if (user->users().empty()) continue;
      if (reaches_output(*user))
        return str_cat("its output is a graph output through '", user->name(), "'");
      return str_cat("its output also reaches '", user->name(), "', outside the chain ",
                     pattern->describe(), " (", chain_text(chain), ")");
    }
  }
  return "";
}

}  // namespace

std::vector<Json> read_prune_config(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  PARE_CHECK(stream.good(), "cannot open the config file");
  std::ostringstream text;
  text << stream.rdbuf();
  return parse_prune_config(text.str());
}

std::vector<Json> parse_prune_config(std::string_view text) {
  const Json config = parse_bounded_json<Json>(text, "the config");
  PARE_CHECK(config.is_array(),
             "expected a JSON array of groups such as [{\"tensor_fqn\": \"conv1.weight\", "
             "\"sparsity_level\": 0.3}], got a JSON ",
             config.type_name());
  PARE_CHECK(!config.empty(), "the group list is empty; name at least one tensor_fqn");
  std::vector<Json> entries;
  for (size_t index = 0; index < config.size(); ++index) {
    const Json& entry = config[index];
    const std::string label = entry_label(index, entry);
    PARE_CHECK(entry.is_object(), label, ": a group must be a JSON object");
    PARE_CHECK(entry.contains("tensor_fqn") && entry["tensor_fqn"].is_string() &&
                   !entry["tensor_fqn"].get<std::string>().empty(),
               label, ": \"tensor_fqn\" (a string such as \"conv1.weight\") is required");
    if (entry.contains("sparsity_level")) {
      const Json& level = entry["sparsity_level"];
      PARE_CHECK(level.is_number() && level.get<double>() >= 0.0 && level.get<double>() < 1.0,
                 label, ": \"sparsity_level\" must be a number in [0, 1)");
    }
    if (entry.contains("prune_bias"))
      PARE_CHECK(entry["prune_bias"].is_boolean(), label, ": \"prune_bias\" must be true or false");
    for (const Json& other : entries)
      PARE_CHECK(other["tensor_fqn"] != entry["tensor_fqn"], label, ": tensor '",
                 entry["tensor_fqn"].get<std::string>(), "' is configured twice");
    entries.push_back(entry);
  }
  return entries;
}

DefaultConfig default_prune_config(ir::GraphModule& graph_module,
                                   const pruning::BaseSparsifier& sparsifier,
                                   const pruning::PatternTable& patterns) {
  std::map<std::string, std::vector<ir::Node*>> calls;
  for (ir::Node* node : graph_module.graph().nodes())
    if (node->op() == ir::OpKind::call_module) calls[node->target()].push_back(node);

  DefaultConfig result;
  std::map<std::string, std::string> reason_of;  // module_fqn -> why left out ("" when kept)
  for (const Json& entry : sparsifier.make_config_from_model(graph_module.root_ptr())) {
    const std::string tensor_fqn = entry["tensor_fqn"].get<std::string>();
    const size_t dot = tensor_fqn.rfind('.');
    const std::string module_fqn = dot == std::string::npos ? "" : tensor_fqn.substr(0, dot);
    auto found = reason_of.find(module_fqn);
    if (found == reason_of.end()) {
      const std::string reason = why_left_out(calls[module_fqn], graph_module, patterns);
      found = reason_of.emplace(module_fqn, reason).first;
      if (!reason.empty())
        result.left_out.push_back(
            {module_fqn, graph_module.module(module_fqn)->type_name(), reason});
    }
    if (found->second.empty()) result.entries.push_back(entry);
  }
  return result;
}

}  // namespace pare::cli
