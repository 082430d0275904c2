// The module registry: type name -> factory, with every built-in layer of the .pare format
// registered from its definition (pare/ir/layer_definition.h; docs/format.md, "Module types").
#include "pare/ir/module_registry.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <sstream>

#include "pare/error.h"
#include "pare/ir/layer_definition.h"

namespace pare::ir {

namespace {

std::string describe(const AttrValue& value) {
  std::ostringstream stream;
  std::visit(
      [&](const auto& held) {
        using T = std::decay_t<decltype(held)>;
        if constexpr (std::is_same_v<T, bool>) {
          stream << "the bool " << (held ? "true" : "false");
        } else if constexpr (std::is_same_v<T, int64_t>) {
          stream << "the integer " << held;
        } else if constexpr (std::is_same_v<T, double>) {
          stream << "the number " << held;
        } else if constexpr (std::is_same_v<T, std::string>) {
          stream << "the string \"" << held << '"';
        } else {
          stream << "the list " << str_cat(held);
        }
      },
      value);
  return stream.str();
}

std::string join(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

// A registered type: its factory, and the kind of the modules it builds (custom for a type a user
// registers), which the reader of a file knows before it builds anything.
struct RegisteredType {
  nn::ModuleKind kind = nn::ModuleKind::custom;
  ModuleFactory factory;
};

// Every built-in layer a file can declare, from its definition: the attributes are checked against
// the definition's before its factory reads them.
std::map<std::string, RegisteredType> builtin_types() {
  std::map<std::string, RegisteredType> types;
  for (const LayerDefinition* definition : layer_definitions()) {
    if (definition->factory == nullptr) continue;
    types[definition->type_name] = {
        definition->kind, [definition](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
          attrs.check_only(definition->attributes);
          return definition->factory(attrs);
        }};
  }
  return types;
}

struct Registry {
  std::mutex mutex;
  std::map<std::string, RegisteredType> types = builtin_types();
};

Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace

AttrReader::AttrReader(const Attrs& attrs, std::string type_name, std::string module_name)
    : attrs_(attrs), type_name_(std::move(type_name)), module_name_(std::move(module_name)) {}

bool AttrReader::has(const std::string& key) const {
  return std::any_of(attrs_.begin(), attrs_.end(),
                     [&](const auto& entry) { return entry.first == key; });
}

const AttrValue& AttrReader::get(const std::string& key) const {
  for (const auto& [name, value] : attrs_)
    if (name == key) return value;
  throw Error(
      str_cat("module '", module_name_, "' (", type_name_, "): missing attribute '", key, "'"));
}

int64_t AttrReader::get_int(const std::string& key) const {
  const AttrValue& value = get(key);
  PARE_CHECK(std::holds_alternative<int64_t>(value), "module '", module_name_, "' (", type_name_,
             "): attribute '", key, "' must be an integer, got ", describe(value));
  return std::get<int64_t>(value);
}

double AttrReader::get_double(const std::string& key) const {
  const AttrValue& value = get(key);
  if (std::holds_alternative<int64_t>(value)) return static_cast<double>(std::get<int64_t>(value));
  PARE_CHECK(std::holds_alternative<double>(value), "module '", module_name_, "' (", type_name_,
             "): attribute '", key, "' must be a number, got ", describe(value));
  return std::get<double>(value);
}

bool AttrReader::get_bool(const std::string& key) const {
  const AttrValue& value = get(key);
  PARE_CHECK(std::holds_alternative<bool>(value), "module '", module_name_, "' (", type_name_,
             "): attribute '", key, "' must be a bool, got ", describe(value));
  return std::get<bool>(value);
}

std::string AttrReader::get_string(const std::string& key) const {
  const AttrValue& value = get(key);
  PARE_CHECK(std::holds_alternative<std::string>(value), "module '", module_name_, "' (",
             type_name_, "): attribute '", key, "' must be a string, got ", describe(value));
  return std::get<std::string>(value);
}

std::vector<int64_t> AttrReader::get_ints(const std::string& key) const {
  const AttrValue& value = get(key);
  PARE_CHECK(std::holds_alternative<std::vector<int64_t>>(value), "module '", module_name_, "' (",
             type_name_, "): attribute '", key, "' must be a list of integers, got ",
             describe(value));
  return std::get<std::vector<int64_t>>(value);
}

std::vector<int64_t> AttrReader::get_pair(const std::string& key) const {
  const AttrValue& value = get(key);
  if (std::holds_alternative<int64_t>(value)) {
    int64_t single = std::get<int64_t>(value);
    return {single, single};
  }
  const auto* list = std::get_if<std::vector<int64_t>>(&value);
  PARE_CHECK(list != nullptr && (list->size() == 1 || list->size() == 2), "module '", module_name_,
             "' (", type_name_, "): attribute '", key, "' must be a list of 2 integers, got ",
             describe(value));
  if (list->size() == 1) return {(*list)[0], (*list)[0]};
  return *list;
}

void AttrReader::check_only(const std::vector<std::string>& known) const {
  for (const auto& [name, value] : attrs_) {
    PARE_CHECK(std::find(known.begin(), known.end(), name) != known.end(), "module '", module_name_,
               "' (", type_name_, "): unknown attribute '", name, "' (", type_name_, " takes ",
               join(known), ")");
  }
}

void register_module_type(const std::string& type_name, ModuleFactory factory) {
  PARE_CHECK(!type_name.empty(), "register_module_type: the type name is empty");
  PARE_CHECK(factory != nullptr, "register_module_type: the factory for '", type_name,
             "' is empty");
  Registry& instance = registry();
  std::lock_guard<std::mutex> lock(instance.mutex);
  instance.types[type_name] = {nn::ModuleKind::custom, std::move(factory)};
}

bool is_registered_module_type(const std::string& type_name) {
  Registry& instance = registry();
  std::lock_guard<std::mutex> lock(instance.mutex);
  return instance.types.count(type_name) > 0;
}

nn::ModuleKind registered_module_kind(const std::string& type_name) {
  Registry& instance = registry();
  std::lock_guard<std::mutex> lock(instance.mutex);
  auto found = instance.types.find(type_name);
  return found == instance.types.end() ? nn::ModuleKind::custom : found->second.kind;
}

std::vector<std::string> registered_module_types() {
  Registry& instance = registry();
  std::lock_guard<std::mutex> lock(instance.mutex);
  std::vector<std::string> names;
  for (const auto& [name, type] : instance.types) names.push_back(name);
  return names;
}

std::shared_ptr<nn::Module> create_module(const std::string& type_name, const Attrs& attrs,
                                          const std::string& module_name) {
  RegisteredType type;
  {
    Registry& instance = registry();
    std::lock_guard<std::mutex> lock(instance.mutex);
    auto found = instance.types.find(type_name);
    if (found != instance.types.end()) type = found->second;
  }
  PARE_CHECK(type.factory != nullptr, "module '", module_name, "': unknown module type '",
             type_name, "' (known: ", join(registered_module_types()), ")");
  const std::string prefix = "module '" + module_name + "'";
  std::shared_ptr<nn::Module> module;
  try {
    module = type.factory(AttrReader(attrs, type_name, module_name));
  } catch (const Error& error) {
    // Layer constructors name only their type; the reader of a file needs the module's name.
    const std::string message = error.what();
    if (message.rfind(prefix, 0) == 0) throw;
    throw Error(str_cat(prefix, " (", type_name, "): ", message));
  }
  PARE_CHECK(module != nullptr, prefix, ": the factory for '", type_name, "' returned no module");
  // The reader trusts the registered kind before building (registered_module_kind): hold the
  // built-in entries to it.
  PARE_CHECK(type.kind == nn::ModuleKind::custom || module->kind() == type.kind, prefix,
             ": the factory for '", type_name, "' built a ", module->kind(), " module, not a ",
             type.kind);
  return module;
}

}  // namespace pare::ir
