// The module registry: maps each module type name of the .pare format ("Linear", "Conv2d", ...)
// to a factory that builds the module from its attributes, so a graph can be rebuilt from JSON
// with no model class. Every built-in layer is registered; users may add their own.
//
//   auto linear = pare::ir::create_module("Linear",
//       {{"in_features", int64_t{4}}, {"out_features", int64_t{2}}, {"bias", true}}, "fc");
//   pare::ir::register_module_type("MyBlock", [](const pare::ir::AttrReader& attrs) {
//     return std::make_shared<MyBlock>(attrs.get_int("width"));
//   });
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pare/nn/module.h"
#include "pare/observer.h"

namespace pare::ir {

// Typed access to one module's attributes; every error names the module and the attribute.
class AttrReader {
 public:
  AttrReader(const Attrs& attrs, std::string type_name, std::string module_name);
  bool has(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_double(const std::string& key) const;  // ints convert
  bool get_bool(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  std::vector<int64_t> get_ints(const std::string& key) const;
  // A height/width pair: [h, w], or one integer (or [v]) meaning [v, v], as PyTorch accepts.
  std::vector<int64_t> get_pair(const std::string& key) const;
  // Fails on attributes the type does not know (a typo must not be silently ignored).
  void check_only(const std::vector<std::string>& known) const;
  const std::string& module_name() const { return module_name_; }

 private:
  const AttrValue& get(const std::string& key) const;
  const Attrs& attrs_;
  std::string type_name_;
  std::string module_name_;
};

using ModuleFactory = std::function<std::shared_ptr<nn::Module>(const AttrReader&)>;

void register_module_type(const std::string& type_name, ModuleFactory factory);
bool is_registered_module_type(const std::string& type_name);
// The kind of the modules the factory of `type_name` builds: the built-in layer's kind for a
// built-in type, custom for a type a user registered (even under a built-in's name) or an
// unknown one. The reader of a .pare file needs it before it builds the module.
nn::ModuleKind registered_module_kind(const std::string& type_name);
std::vector<std::string> registered_module_types();
// Builds a module; an unknown type or a bad attribute is a pare::Error naming `module_name`.
std::shared_ptr<nn::Module> create_module(const std::string& type_name, const Attrs& attrs,
                                          const std::string& module_name);

}  // namespace pare::ir
