// BaseSparsifier: groups, state, config building, squash and state_dict.
#include "pare/passes/pruning/base_sparsifier.h"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <utility>

#include "pare/bounded_json.h"
#include "pare/error.h"
#include "pare/nn/lstm.h"
#include "pare/nn/parametrize.h"

namespace pare::pruning {
namespace {

// The layers whose weights make_config_from_model configures.
bool supported(const nn::Module& module) {
  const nn::ModuleKind kind = module.kind();
  return kind == nn::ModuleKind::linear || kind == nn::ModuleKind::conv2d ||
         kind == nn::ModuleKind::lstm;
}

// Keys that name the model, left out of state_dict() as in PyTorch.
bool names_the_model(const std::string& key) { return key == "module_fqn" || key == "tensor_name"; }

}  // namespace

TensorInfo tensor_info_from_fqn(const std::shared_ptr<nn::Module>& model,
                                const std::string& tensor_fqn, const std::string& entry) {
  TensorInfo info;
  const size_t dot = tensor_fqn.rfind('.');
  info.module_fqn = dot == std::string::npos ? "" : tensor_fqn.substr(0, dot);
  info.tensor_name = dot == std::string::npos ? tensor_fqn : tensor_fqn.substr(dot + 1);
  PARE_CHECK(!info.tensor_name.empty(), "sparsifier config ", entry,
             ": tensor_fqn has no tensor name");
  std::shared_ptr<nn::Module> current = model;
  size_t start = 0;
  while (start < info.module_fqn.size()) {
    size_t end = info.module_fqn.find('.', start);
    if (end == std::string::npos) end = info.module_fqn.size();
    const std::string part = info.module_fqn.substr(start, end - start);
    current = current->get_child(part);
    PARE_CHECK(current != nullptr, "sparsifier config ", entry, ": the model has no module '",
               info.module_fqn, "' (no child '", part, "')");
    start = end + 1;
  }
  PARE_CHECK(current->has_parameter(info.tensor_name) &&
                 current->get_parameter(info.tensor_name).defined(),
             "sparsifier config ", entry, ": module '", info.module_fqn, "' (",
             current->type_name(), ") has no tensor '", info.tensor_name, "'");
  info.module = current;
  return info;
}

BaseSparsifier::BaseSparsifier(nlohmann::json defaults_in) : defaults(std::move(defaults_in)) {
  if (defaults.is_null()) defaults = nlohmann::json::object();
  PARE_CHECK(defaults.is_object(), "sparsifier: defaults must be a JSON object, got ",
             json_excerpt(defaults));
}

std::vector<nlohmann::json> BaseSparsifier::config_entries(const nlohmann::json& config) {
  if (config.is_null()) return {};
  PARE_CHECK(config.is_array(), "sparsifier config: expected a JSON array of entries, got ",
             json_excerpt(config));
  return std::vector<nlohmann::json>(config.begin(), config.end());
}

std::vector<nlohmann::json> BaseSparsifier::make_config_from_model(
    const std::shared_ptr<nn::Module>& model) const {
  // PyTorch names a module by its first qualified name in named_modules().
  std::unordered_map<const nn::Module*, std::string> fqn_of;
  for (const auto& [fqn, module] : model->named_modules()) fqn_of.emplace(module.get(), fqn);
  std::vector<nlohmann::json> config;
  std::vector<std::shared_ptr<nn::Module>> stack = {model};
  while (!stack.empty()) {
    std::shared_ptr<nn::Module> module = stack.back();
    stack.pop_back();
    for (const auto& [name, child] : module->named_children()) {
      if (!supported(*child)) {
        stack.push_back(child);
        continue;
      }
      const std::string& fqn = fqn_of.at(child.get());
      const std::string prefix = fqn.empty() ? "" : fqn + ".";
      if (auto* lstm = nn::as<nn::LSTMImpl>(child.get())) {
        for (int64_t layer = 0; layer < lstm->options().num_layers(); ++layer) {
          config.push_back({{"tensor_fqn", prefix + "weight_ih_l" + std::to_string(layer)}});
          config.push_back({{"tensor_fqn", prefix + "weight_hh_l" + std::to_string(layer)}});
        }
      } else {
        config.push_back({{"tensor_fqn", prefix + "weight"}});
      }
    }
  }
  return config;
}

nlohmann::json BaseSparsifier::make_group(const nlohmann::json& entry, TensorInfo& info) const {
  const std::string shown = json_excerpt(entry);
  PARE_CHECK(entry.is_object(), "sparsifier config ", shown, ": an entry must be a JSON object");
  PARE_CHECK(entry.contains("tensor_fqn") && entry["tensor_fqn"].is_string(), "sparsifier config ",
             shown, ": tensor_fqn (a string) is required");
  const std::string tensor_fqn = entry["tensor_fqn"].get<std::string>();
  info = tensor_info_from_fqn(model_, tensor_fqn, shown);
  for (const auto& [key, derived] :
       {std::pair<std::string, std::string>{"module_fqn", info.module_fqn},
        std::pair<std::string, std::string>{"tensor_name", info.tensor_name}}) {
    if (!entry.contains(key)) continue;
    PARE_CHECK(entry[key].is_string() && entry[key].get<std::string>() == derived,
               "sparsifier config ", shown, ": ", key, " contradicts tensor_fqn '", tensor_fqn,
               "', which gives '", derived, "'");
  }
  PARE_CHECK(!entry.contains("module"), "sparsifier config ", shown,
             ": 'module' is derived from tensor_fqn and cannot be given");
  nlohmann::json group = defaults;
  group.update(entry);
  group["tensor_fqn"] = tensor_fqn;
  group["module_fqn"] = info.module_fqn;
  group["tensor_name"] = info.tensor_name;
  return group;
}

void BaseSparsifier::prepare(const std::shared_ptr<nn::Module>& model,
                             const std::vector<nlohmann::json>& config) {
  PARE_CHECK(model != nullptr, name(), "::prepare: the model is empty");
  PARE_CHECK(!prepared_ || model_ != model, name(),
             "::prepare: this sparsifier has already prepared this model; call squash_mask() "
             "before preparing it again");
  PARE_CHECK(!prepared_, name(), "::prepare: this sparsifier is already prepared on another model");
  std::shared_ptr<nn::Module> previous_model = std::exchange(model_, model);
  try {
    const std::vector<nlohmann::json> entries =
        config.empty() ? make_config_from_model(model) : config;
    std::vector<nlohmann::json> new_groups;
    std::vector<std::shared_ptr<nn::Module>> new_modules;
    std::set<std::string> seen;
    for (const nlohmann::json& entry : entries) {
      TensorInfo info;
      nlohmann::json group = make_group(entry, info);
      const std::string tensor_fqn = group["tensor_fqn"].get<std::string>();
      PARE_CHECK(seen.insert(tensor_fqn).second, "sparsifier config ", json_excerpt(entry),
                 ": tensor '", tensor_fqn, "' is configured twice");
      PARE_CHECK(!info.module->is_parametrized(info.tensor_name), name(), "::prepare: '",
                 tensor_fqn,
                 "' already carries a parametrization (is the model prepared "
                 "already?); squash_mask() or prune() it first");
      new_groups.push_back(std::move(group));
      new_modules.push_back(info.module);
    }
    groups = std::move(new_groups);
    group_modules = std::move(new_modules);
    check_groups();
    std::vector<Tensor> masks;
    for (size_t index = 0; index < groups.size(); ++index) masks.push_back(make_mask(index));
    state.clear();
    for (size_t index = 0; index < groups.size(); ++index) {
      attach_mask(index, masks[index]);
      state[groups[index]["tensor_fqn"].get<std::string>()]["mask"] = masks[index];
    }
  } catch (...) {
    model_ = previous_model;
    groups.clear();
    group_modules.clear();
    throw;
  }
  prepared_ = true;
}

void BaseSparsifier::step() {
  if (!enable_mask_update) return;
  for (size_t index = 0; index < groups.size(); ++index)
    update_mask(group_modules[index], groups[index]["tensor_name"].get<std::string>(),
                groups[index]);
}

void BaseSparsifier::squash_group(size_t index) {
  const std::string tensor_name = groups[index]["tensor_name"].get<std::string>();
  if (group_modules[index]->is_parametrized(tensor_name))
    nn::remove_parametrizations(group_modules[index], tensor_name, /*leave_parametrized=*/true);
}

std::map<std::string, nlohmann::json> BaseSparsifier::squash_mask(
    const std::vector<std::string>& params_to_keep,
    const std::map<std::string, std::vector<std::string>>& params_to_keep_per_layer) {
  std::map<std::string, nlohmann::json> sparse_params;
  for (size_t index = 0; index < groups.size(); ++index) {
    squash_group(index);
    const nlohmann::json& group = groups[index];
    const std::string module_fqn = group["module_fqn"].get<std::string>();
    std::vector<std::string> keys = params_to_keep;
    auto per_layer = params_to_keep_per_layer.find(module_fqn);
    if (per_layer != params_to_keep_per_layer.end())
      keys.insert(keys.end(), per_layer->second.begin(), per_layer->second.end());
    if (keys.empty()) continue;
    nlohmann::json& kept = sparse_params[module_fqn];
    if (kept.is_null()) kept = nlohmann::json::object();
    for (const std::string& key : keys) {
      PARE_CHECK(group.contains(key), name(), "::squash_mask: group '",
                 group["tensor_fqn"].get<std::string>(), "' has no key '", key, "'");
      kept[key] = group[key];
    }
  }
  prepared_ = false;
  return sparse_params;
}

SparsifierStateDict BaseSparsifier::state_dict() const {
  SparsifierStateDict result;
  for (const auto& [tensor_fqn, entries] : state)
    for (const auto& [key, value] : entries)
      result.state[tensor_fqn][key] = value.defined() ? value.clone() : value;
  for (const nlohmann::json& group : groups) {
    nlohmann::json saved = nlohmann::json::object();
    for (const auto& [key, value] : group.items())
      if (!names_the_model(key)) saved[key] = value;
    result.groups.push_back(std::move(saved));
  }
  return result;
}

void BaseSparsifier::load_state_dict(const SparsifierStateDict& state_dict, bool strict) {
  PARE_CHECK(model_ != nullptr, name(),
             "::load_state_dict: prepare() a model first (the state is loaded into it)");
  std::vector<nlohmann::json> new_groups;
  std::vector<std::shared_ptr<nn::Module>> new_modules;
  for (const nlohmann::json& saved : state_dict.groups) {
    PARE_CHECK(saved.is_object() && saved.contains("tensor_fqn") && saved["tensor_fqn"].is_string(),
               name(), "::load_state_dict: group ", json_excerpt(saved), " has no tensor_fqn");
    const std::string tensor_fqn = saved["tensor_fqn"].get<std::string>();
    TensorInfo info;
    try {
      info = tensor_info_from_fqn(model_, tensor_fqn, json_excerpt(saved));
    } catch (const Error&) {
      if (strict) throw;
      continue;
    }
    nlohmann::json group = saved;
    group["module_fqn"] = info.module_fqn;
    group["tensor_name"] = info.tensor_name;
    new_groups.push_back(std::move(group));
    new_modules.push_back(info.module);
  }
  for (const auto& state_entry : state_dict.state) {
    // A named reference, not a structured binding: clang before 16 cannot capture bindings.
    const std::string& tensor_fqn = state_entry.first;
    auto has_group = std::any_of(new_groups.begin(), new_groups.end(), [&](const auto& group) {
      return group["tensor_fqn"].template get<std::string>() == tensor_fqn;
    });
    PARE_CHECK(has_group || !strict, name(), "::load_state_dict: state of '", tensor_fqn,
               "' has no group");
  }
  // Check every loaded mask, and the groups as a whole, before anything changes.
  for (size_t index = 0; index < new_groups.size(); ++index) {
    const std::string tensor_fqn = new_groups[index]["tensor_fqn"].get<std::string>();
    auto saved = state_dict.state.find(tensor_fqn);
    if (saved == state_dict.state.end() || !saved->second.count("mask")) continue;
    check_loaded_mask(*new_modules[index], new_groups[index]["tensor_name"].get<std::string>(),
                      tensor_fqn, saved->second.at("mask"));
  }
  std::swap(groups, new_groups);
  std::swap(group_modules, new_modules);
  try {
    check_groups();
  } catch (...) {
    std::swap(groups, new_groups);
    std::swap(group_modules, new_modules);
    throw;
  }
  SparsifierState loaded;
  for (size_t index = 0; index < groups.size(); ++index) {
    const std::string tensor_fqn = groups[index]["tensor_fqn"].get<std::string>();
    auto saved = state_dict.state.find(tensor_fqn);
    if (saved == state_dict.state.end()) continue;
    for (const auto& [key, value] : saved->second) {
      if (key != "mask") {
        loaded[tensor_fqn][key] = value;
        continue;
      }
      auto current = state.find(tensor_fqn);
      const bool attached =
          current != state.end() && current->second.count("mask") &&
          group_modules[index]->is_parametrized(groups[index]["tensor_name"].get<std::string>());
      if (attached) {
        Tensor mask = current->second.at("mask");
        PARE_CHECK(mask.sizes() == value.sizes(), name(), "::load_state_dict: mask of '",
                   tensor_fqn, "' has shape ", value.sizes(), " but the model's has shape ",
                   mask.sizes());
        mask.copy_(value);
        loaded[tensor_fqn]["mask"] = mask;
        reload_group(index);
      } else {
        Tensor mask = value.clone();
        attach_mask(index, mask);
        loaded[tensor_fqn]["mask"] = mask;
      }
    }
  }
  state = std::move(loaded);
  prepared_ = true;
}

std::ostream& operator<<(std::ostream& stream, const BaseSparsifier& sparsifier) {
  stream << sparsifier.name() << " (";
  for (size_t index = 0; index < sparsifier.groups.size(); ++index) {
    const nlohmann::json& group = sparsifier.groups[index];
    stream << "\n\tGroup " << index << "\n\t    module: ";
    sparsifier.group_modules[index]->pretty_print(stream, 1);
    stream << "\n";
    // nlohmann::json objects iterate in sorted key order, as PyTorch's repr sorts them.
    for (const auto& [key, value] : group.items()) {
      stream << "\t    " << key << ": ";
      if (value.is_string())
        stream << value.get<std::string>();
      else
        stream << value.dump();
      stream << "\n";
    }
  }
  return stream << ")";
}

}  // namespace pare::pruning
