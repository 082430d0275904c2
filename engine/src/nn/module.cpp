// Module: registration, traversal, state dicts, hooks and printing.
#include "pare/nn/module.h"

#include <cxxabi.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <sstream>
#include <unordered_set>

#include "pare/autograd.h"
#include "pare/nn/parametrize.h"

namespace pare::nn {

namespace {

template <typename Value>
typename NamedList<Value>::iterator find_named(NamedList<Value>& list, const std::string& name) {
  return std::find_if(list.begin(), list.end(),
                      [&](const auto& entry) { return entry.first == name; });
}

template <typename Value>
typename NamedList<Value>::const_iterator find_named(const NamedList<Value>& list,
                                                     const std::string& name) {
  return std::find_if(list.begin(), list.end(),
                      [&](const auto& entry) { return entry.first == name; });
}

// Takes the module rather than its type name: type_name() must not be computed (and cached)
// while a base-class constructor runs, when typeid still sees the base class.
void check_name(const std::string& name, const char* what, const Module& module) {
  PARE_CHECK(!name.empty() && name.find('.') == std::string::npos, module.type_name(), ": invalid ",
             what, " name '", name, "' (must be non-empty and contain no '.')");
}

std::string demangled_type_name(const Module& module) {
  int status = 0;
  char* raw = abi::__cxa_demangle(typeid(module).name(), nullptr, nullptr, &status);
  std::string name = status == 0 && raw ? raw : typeid(module).name();
  std::free(raw);
  // Strip template arguments and namespaces, then libtorch's "Impl" suffix.
  if (auto angle = name.find('<'); angle != std::string::npos) name.resize(angle);
  if (auto colon = name.rfind("::"); colon != std::string::npos) name = name.substr(colon + 2);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, "Impl") == 0)
    name.resize(name.size() - 4);
  return name;
}

std::string attr_to_string(const AttrValue& value) {
  std::ostringstream stream;
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          stream << (v ? "True" : "False");
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          stream << '(';
          for (size_t i = 0; i < v.size(); ++i) stream << (i ? ", " : "") << v[i];
          stream << ')';
        } else if constexpr (std::is_same_v<T, std::string>) {
          stream << "'" << v << "'";
        } else {
          stream << v;
        }
      },
      value);
  return stream.str();
}

}  // namespace

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}

const std::string& Module::type_name() const {
  if (type_name_.empty()) type_name_ = demangled_type_name(*this);
  return type_name_;
}

namespace {
// Bumped by every change to any module's parameters, buffers, children or hooks (see
// Module::structure_version()).
std::atomic<uint64_t> structure_changes{0};
void note_structure_change() { structure_changes.fetch_add(1, std::memory_order_relaxed); }
}  // namespace

uint64_t Module::structure_version() { return structure_changes.load(std::memory_order_relaxed); }

Tensor& Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  note_structure_change();
  check_name(name, "parameter", *this);
  PARE_CHECK(!is_parametrized(name), type_name(), ": parameter '", name,
             "' is parametrized; remove its parametrizations before replacing it");
  if (tensor.defined()) {
    // A parameter is a leaf of its own, whatever history the value had.
    if (!tensor.is_leaf()) tensor = tensor.detach();
    if (tensor.dtype() == kFloat32) tensor.set_requires_grad(requires_grad);
  }
  auto found = find_named(parameters_, name);
  if (found != parameters_.end()) {
    found->second = std::move(tensor);
    return found->second;
  }
  parameters_.emplace_back(name, std::move(tensor));
  return parameters_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor tensor) {
  note_structure_change();
  check_name(name, "buffer", *this);
  auto found = find_named(buffers_, name);
  if (found != buffers_.end()) {
    found->second = std::move(tensor);
    return found->second;
  }
  buffers_.emplace_back(name, std::move(tensor));
  return buffers_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  note_structure_change();
  check_name(name, "submodule", *this);
  PARE_CHECK(module != nullptr, type_name(), ": register_module('", name, "') got an empty module");
  auto position = child_positions_.find(name);
  if (position != child_positions_.end()) {
    children_[position->second].second = std::move(module);
  } else {
    child_positions_.emplace(name, children_.size());
    children_.emplace_back(name, std::move(module));
  }
}

void Module::unregister_parameter(const std::string& name) {
  note_structure_change();
  auto found = find_named(parameters_, name);
  PARE_CHECK(found != parameters_.end(), type_name(), ": no parameter named '", name, "'");
  parameters_.erase(found);
}

void Module::unregister_module(const std::string& name) {
  note_structure_change();
  auto position = child_positions_.find(name);
  PARE_CHECK(position != child_positions_.end(), type_name(), ": no submodule named '", name, "'");
  children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(position->second));
  child_positions_.clear();
  for (size_t index = 0; index < children_.size(); ++index)
    child_positions_.emplace(children_[index].first, index);
}

bool Module::has_parameter(const std::string& name) const {
  return find_named(parameters_, name) != parameters_.end() || is_parametrized(name);
}

bool Module::has_buffer(const std::string& name) const {
  return find_named(buffers_, name) != buffers_.end();
}

Tensor Module::get_parameter(const std::string& name) const {
  if (auto list = parametrization(name)) return list->evaluate();
  auto found = find_named(parameters_, name);
  PARE_CHECK(found != parameters_.end(), type_name(), ": no parameter named '", name, "'");
  return found->second;
}

Tensor Module::get_buffer(const std::string& name) const {
  auto found = find_named(buffers_, name);
  PARE_CHECK(found != buffers_.end(), type_name(), ": no buffer named '", name, "'");
  return found->second;
}

std::shared_ptr<Module> Module::get_child(const std::string& name) const {
  auto position = child_positions_.find(name);
  return position == child_positions_.end() ? nullptr : children_[position->second].second;
}

std::shared_ptr<Module> Module::get_submodule(const std::string& qualified_name) {
  std::shared_ptr<Module> current = shared_from_this();
  if (qualified_name.empty()) return current;
  std::string walked;
  std::stringstream parts(qualified_name);
  std::string part;
  while (std::getline(parts, part, '.')) {
    auto next = current->get_child(part);
    PARE_CHECK(next != nullptr, type_name(), ": no submodule '", part, "' under '", walked,
               "' (looking up '", qualified_name, "')");
    walked += walked.empty() ? part : "." + part;
    current = next;
  }
  return current;
}

NamedList<Tensor> Module::named_parameters(bool recurse) const {
  NamedList<Tensor> result;
  std::unordered_set<const TensorImpl*> seen;
  auto add = [&](const std::string& name, const Tensor& tensor) {
    if (tensor.defined() && seen.insert(tensor.impl()).second) result.emplace_back(name, tensor);
  };
  for (const auto& [name, tensor] : parameters_) add(name, tensor);
  if (recurse) {
    for (const auto& [child_name, child] : children_)
      for (const auto& [name, tensor] : child->named_parameters(true))
        add(child_name + "." + name, tensor);
  }
  return result;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> result;
  for (auto& [name, tensor] : named_parameters(recurse)) result.push_back(tensor);
  return result;
}

NamedList<Tensor> Module::named_buffers(bool recurse) const {
  NamedList<Tensor> result;
  std::unordered_set<const TensorImpl*> seen;  // a shared module's buffers are listed once
  auto add = [&](const std::string& name, const Tensor& tensor) {
    if (tensor.defined() && seen.insert(tensor.impl()).second) result.emplace_back(name, tensor);
  };
  for (const auto& [name, tensor] : buffers_) add(name, tensor);
  if (recurse) {
    for (const auto& [child_name, child] : children_)
      for (const auto& [name, tensor] : child->named_buffers(true))
        add(child_name + "." + name, tensor);
  }
  return result;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> result;
  for (auto& [name, tensor] : named_buffers(recurse)) result.push_back(tensor);
  return result;
}

NamedList<std::shared_ptr<Module>> Module::named_children() const {
  NamedList<std::shared_ptr<Module>> result;
  std::unordered_set<const Module*> seen;  // a module registered twice is listed once
  for (const auto& [name, child] : children_)
    if (seen.insert(child.get()).second) result.emplace_back(name, child);
  return result;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> result;
  for (const auto& [name, child] : named_children()) result.push_back(child);
  return result;
}

void Module::collect_named_modules(const std::string& prefix,
                                   NamedList<std::shared_ptr<Module>>& out,
                                   std::unordered_set<const Module*>& seen) {
  if (!seen.insert(this).second) return;  // a shared submodule is listed once
  out.emplace_back(prefix, shared_from_this());
  for (const auto& [name, child] : children_)
    child->collect_named_modules(prefix.empty() ? name : prefix + "." + name, out, seen);
}

NamedList<std::shared_ptr<Module>> Module::named_modules(const std::string& prefix) {
  NamedList<std::shared_ptr<Module>> result;
  std::unordered_set<const Module*> seen;
  collect_named_modules(prefix, result, seen);
  return result;
}

std::vector<std::shared_ptr<Module>> Module::modules() {
  std::vector<std::shared_ptr<Module>> result;
  for (auto& [name, module] : named_modules()) result.push_back(module);
  return result;
}

StateDict Module::state_dict() const {
  StateDict result;
  for (const auto& [name, tensor] : parameters_)
    if (tensor.defined()) result.emplace_back(name, tensor.detach());
  for (const auto& [name, tensor] : buffers_)
    if (tensor.defined()) result.emplace_back(name, tensor.detach());
  for (const auto& [child_name, child] : children_)
    for (const auto& [name, tensor] : child->state_dict())
      result.emplace_back(child_name + "." + name, tensor);
  return result;
}

void Module::load_state_dict(const StateDict& state, bool strict) {
  StateDict own = state_dict();
  std::vector<std::string> missing, unexpected;
  std::unordered_set<std::string> own_keys;
  for (const auto& [name, tensor] : own) own_keys.insert(name);
  for (const auto& [name, tensor] : state)
    if (!own_keys.count(name)) unexpected.push_back(name);
  for (const auto& [name, target] : own) {
    auto found = find_named(state, name);
    if (found == state.end()) {
      missing.push_back(name);
      continue;
    }
    PARE_CHECK(found->second.defined(), type_name(), ".load_state_dict: entry '", name,
               "' is undefined");
    PARE_CHECK(found->second.sizes() == target.sizes(), type_name(),
               ".load_state_dict: size mismatch for '", name, "': the checkpoint has shape ",
               found->second.sizes(), ", the module has shape ", target.sizes());
  }
  if (strict && (!missing.empty() || !unexpected.empty())) {
    std::string message = type_name() + ".load_state_dict: ";
    if (!missing.empty()) message += str_cat("missing keys ", missing);
    if (!unexpected.empty())
      message += str_cat(missing.empty() ? "" : "; ", "unexpected keys ", unexpected);
    throw Error(message);
  }
  NoGradGuard no_grad;
  for (const auto& [name, target] : own) {
    auto found = find_named(state, name);
    if (found == state.end()) continue;
    Tensor destination = target;
    destination.copy_(found->second);
  }
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (Tensor& parameter : parameters()) {
    Tensor& grad = parameter.mutable_grad();
    if (!grad.defined()) continue;
    if (set_to_none) {
      grad = Tensor();
    } else {
      grad.zero_();
    }
  }
}

int Module::register_forward_pre_hook(ForwardPreHook hook, std::string tag) {
  note_structure_change();
  pre_hooks_.push_back({next_hook_id_, std::move(tag), std::move(hook)});
  return next_hook_id_++;
}

int Module::register_forward_hook(ForwardHook hook, std::string tag) {
  note_structure_change();
  hooks_.push_back({next_hook_id_, std::move(tag), std::move(hook)});
  return next_hook_id_++;
}

void Module::remove_hook(int id) {
  note_structure_change();
  std::erase_if(pre_hooks_, [id](const auto& entry) { return entry.id == id; });
  std::erase_if(hooks_, [id](const auto& entry) { return entry.id == id; });
}

bool Module::has_hook_with_tag(const std::string& tag) const {
  auto matches = [&](const auto& entry) { return entry.tag == tag; };
  return std::any_of(pre_hooks_.begin(), pre_hooks_.end(), matches) ||
         std::any_of(hooks_.begin(), hooks_.end(), matches);
}

const ForwardHook* Module::forward_hook_with_tag(const std::string& tag) const {
  for (const auto& entry : hooks_)
    if (entry.tag == tag) return &entry.hook;
  return nullptr;
}

void Module::remove_hooks_with_tag(const std::string& tag) {
  note_structure_change();
  std::erase_if(pre_hooks_, [&](const auto& entry) { return entry.tag == tag; });
  std::erase_if(hooks_, [&](const auto& entry) { return entry.tag == tag; });
}

std::shared_ptr<ParametrizationList> Module::parametrization(const std::string& name) const {
  auto container = get_child("parametrizations");
  if (!container) return nullptr;
  return std::dynamic_pointer_cast<ParametrizationList>(container->get_child(name));
}

bool Module::is_parametrized(const std::string& name) const {
  auto container = get_child("parametrizations");
  if (!container) return false;
  if (name.empty()) return !container->children_.empty();
  return container->get_child(name) != nullptr;
}

std::string Module::extra_repr() const {
  std::string text;
  for (const auto& [name, value] : config()) {
    if (!text.empty()) text += ", ";
    text += name + "=" + attr_to_string(value);
  }
  return text;
}

void Module::pretty_print(std::ostream& stream, int indent) const {
  stream << type_name() << "(" << extra_repr();
  if (!children_.empty()) {
    stream << "\n";
    for (const auto& [name, child] : children_) {
      stream << std::string(indent + 2, ' ') << "(" << name << "): ";
      child->pretty_print(stream, indent + 2);
      stream << "\n";
    }
    stream << std::string(indent, ' ');
  }
  stream << ")";
}

std::ostream& operator<<(std::ostream& stream, const Module& module) {
  module.pretty_print(stream);
  return stream;
}

Tensor Module::call(const Tensor& input) {
  throw Error(str_cat(type_name(), ": this module has no one-tensor forward, so it cannot be ",
                      "called with one tensor (e.g. inside Sequential); input shape ",
                      input.defined() ? input.sizes() : Shape{}));
}

std::vector<Tensor> Module::run_with_hooks(
    std::vector<Tensor> inputs,
    const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& body) {
  auto run = [&]() {
    for (auto& entry : pre_hooks_) entry.hook(*this, inputs);
    std::vector<Tensor> outputs = body(inputs);
    for (auto& entry : hooks_) entry.hook(*this, inputs, outputs);
    return outputs;
  };
  if (!is_leaf_layer()) return run();
  // A leaf layer is one op for the tracer: nothing inside it (including hooks) reports.
  OpScope scope;
  const std::vector<Tensor> received = inputs;  // pre-hooks may replace `inputs`
  std::vector<Tensor> outputs = run();
  if (scope.should_report()) notify_module(*this, received, outputs);
  return outputs;
}

Tensor UnaryModule::call(const Tensor& input) {
  return run_with_hooks({input}, [this](const std::vector<Tensor>& inputs) {
    return std::vector<Tensor>{forward(inputs[0])};
  })[0];
}

}  // namespace pare::nn
