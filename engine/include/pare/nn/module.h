// pare::nn::Module: the base of every layer and of user models, shaped like libtorch's.
// Parameters, buffers and submodules are registered by name; the names compose into PyTorch's
// state_dict keys ("features.0.weight").
//
//   struct Net : pare::nn::Module {
//     Net() {
//       fc = register_module("fc", pare::nn::Linear(4, 2));
//       scale = register_parameter("scale", pare::ones({2}));
//     }
//     pare::Tensor forward(const pare::Tensor& x) { return fc(x) * scale; }
//     pare::nn::Linear fc{nullptr};
//     pare::Tensor scale;
//   };
//   auto net = std::make_shared<Net>();
//   for (auto& [name, p] : net->named_parameters()) std::cout << name << p.sizes()[0] << "\n";
//   net->eval();
//   std::cout << *net;                       // the module tree, PyTorch style
//
// Contract: names are unique per module and contain no '.'; registering an existing name
// replaces the entry in place (keeping its position), which is how pruning swaps in smaller
// weights. A parameter that has a parametrization (see parametrize.h) is read through
// get_parameter(), which applies it.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "pare/nn/module_kind.h"
#include "pare/observer.h"
#include "pare/tensor.h"

namespace pare::nn {

class Module;
class ParametrizationList;
class Parametrization;

// An ordered list of (name, value) pairs, like PyTorch's OrderedDict.
template <typename Value>
using NamedList = std::vector<std::pair<std::string, Value>>;

using StateDict = NamedList<Tensor>;

// Forward hooks may replace the inputs (pre-hooks) or the outputs (hooks). A module with one
// tensor output sees one entry in `outputs`; an LSTM sees output, h_n, c_n.
using ForwardPreHook = std::function<void(Module&, std::vector<Tensor>& inputs)>;
using ForwardHook =
    std::function<void(Module&, const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs)>;

class Module : public std::enable_shared_from_this<Module> {
 public:
  Module() = default;
  // `type_name` overrides the name printed and recorded in graphs (default: the C++ class name
  // without namespaces and without a trailing "Impl").
  explicit Module(std::string type_name);
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& type_name() const;

  // Registration. Returns the stored handle.
  Tensor& register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  // An undefined tensor registers an absent buffer (skipped by state_dict()).
  Tensor& register_buffer(const std::string& name, Tensor tensor);
  template <typename ModuleType>
  std::shared_ptr<ModuleType> register_module(const std::string& name,
                                              std::shared_ptr<ModuleType> module) {
    add_child(name, module);
    return module;
  }
  // Overload for holders (pare::nn::Linear etc.): returns the holder.
  template <typename Holder>
  requires requires(Holder holder) { holder.ptr(); }
  Holder register_module(const std::string& name, Holder holder) {
    add_child(name, holder.ptr());
    return holder;
  }
  void unregister_parameter(const std::string& name);
  void unregister_module(const std::string& name);

  // Lookup. get_parameter applies a registered parametrization.
  bool has_parameter(const std::string& name) const;
  bool has_buffer(const std::string& name) const;
  Tensor get_parameter(const std::string& name) const;
  Tensor get_buffer(const std::string& name) const;
  std::shared_ptr<Module> get_child(const std::string& name) const;
  // The submodule at a qualified name ("features.0"); "" is this module.
  std::shared_ptr<Module> get_submodule(const std::string& qualified_name);

  // Traversal (pre-order, registration order, qualified names).
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedList<Tensor> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  NamedList<Tensor> named_buffers(bool recurse = true) const;
  NamedList<std::shared_ptr<Module>> named_children() const;
  std::vector<std::shared_ptr<Module>> children() const;
  // Includes this module first, under `prefix` (default "").
  NamedList<std::shared_ptr<Module>> named_modules(const std::string& prefix = "");
  std::vector<std::shared_ptr<Module>> modules();

  // Parameters and buffers under PyTorch's keys. load_state_dict copies values into the existing
  // tensors; with strict, missing and unexpected keys are errors (listed in the message), and a
  // shape mismatch is always an error naming the key and both shapes.
  StateDict state_dict() const;
  void load_state_dict(const StateDict& state, bool strict = true);

  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Drops (set_to_none) or zeroes every parameter's gradient.
  void zero_grad(bool set_to_none = true);

  // Hooks; the returned id removes the hook. `tag` lets a pass find its own hooks again.
  int register_forward_pre_hook(ForwardPreHook hook, std::string tag = "");
  int register_forward_hook(ForwardHook hook, std::string tag = "");
  void remove_hook(int id);
  bool has_hook_with_tag(const std::string& tag) const;
  // The first forward hook registered with `tag`, or nullptr; hook->target<T>() recovers a
  // hook object of type T (how the pruning pass reads its BiasHook's prune_bias).
  const ForwardHook* forward_hook_with_tag(const std::string& tag) const;
  void remove_hooks_with_tag(const std::string& tag);
  bool has_hooks() const { return !pre_hooks_.empty() || !hooks_.empty(); }
  // A process-wide counter that changes whenever any module gains, loses or replaces a
  // parameter, buffer, child or hook. Caches derived from a model (a compiled inference graph)
  // compare it to know in O(1) that nothing was swapped since they were built. In-place writes to
  // a tensor's values do not count.
  static uint64_t structure_version();

  // The parametrizations of parameter `name`, or nullptr (see parametrize.h).
  std::shared_ptr<ParametrizationList> parametrization(const std::string& name) const;
  bool is_parametrized(const std::string& name = "") const;

  // Built-in layers are leaves: the tracer records them as one call_module node.
  virtual bool is_leaf_layer() const { return false; }
  // Which built-in layer this is, or custom (module_kind.h: a subclass keeps its base's kind
  // unless it overrides this to return custom).
  virtual ModuleKind kind() const { return ModuleKind::custom; }
  // The constructor arguments under PyTorch's names (e.g. in_features, out_features, bias).
  virtual Attrs config() const { return {}; }
  // The text inside the parentheses when printing (PyTorch's extra_repr).
  virtual std::string extra_repr() const;
  void pretty_print(std::ostream& stream, int indent = 0) const;

  // Runs one tensor through the module (used by Sequential). Layers with a one-tensor forward
  // implement it; others throw a pare::Error naming the module type.
  virtual Tensor call(const Tensor& input);

 protected:
  // Runs `body` with this module's hooks, and reports a leaf layer to the tracer.
  std::vector<Tensor> run_with_hooks(
      std::vector<Tensor> inputs,
      const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& body);

 private:
  friend class ParametrizationList;
  friend void register_parametrization(const std::shared_ptr<Module>&, const std::string&,
                                       std::shared_ptr<Parametrization>, bool);
  friend void remove_parametrizations(const std::shared_ptr<Module>&, const std::string&, bool);
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void collect_named_modules(const std::string& prefix, NamedList<std::shared_ptr<Module>>& out,
                             std::unordered_set<const Module*>& seen);

  mutable std::string type_name_;
  bool training_ = true;
  NamedList<Tensor> parameters_;
  NamedList<Tensor> buffers_;
  NamedList<std::shared_ptr<Module>> children_;
  // Name -> position in children_, so that get_child (and so every qualified-name lookup, e.g.
  // the interpreter's per-node module walk) is O(1) even for a Sequential of 1000s of layers.
  std::unordered_map<std::string, size_t> child_positions_;
  struct PreHookEntry {
    int id;
    std::string tag;
    ForwardPreHook hook;
  };
  struct HookEntry {
    int id;
    std::string tag;
    ForwardHook hook;
  };
  std::vector<PreHookEntry> pre_hooks_;
  std::vector<HookEntry> hooks_;
  int next_hook_id_ = 0;
};

std::ostream& operator<<(std::ostream& stream, const Module& module);

// `module` as the built-in layer class `Layer` when its kind() is Layer::kKind, else nullptr: the
// typed access to a layer's options once a consumer has recognised it by kind.
//
//   if (auto* conv = pare::nn::as<pare::nn::Conv2dImpl>(module.get())) conv->options().bias(false);
//   std::shared_ptr<pare::nn::LSTMImpl> lstm = pare::nn::as<pare::nn::LSTMImpl>(module);
template <typename Layer>
Layer* as(Module* module) {
  return module != nullptr && module->kind() == Layer::kKind ? static_cast<Layer*>(module)
                                                             : nullptr;
}
template <typename Layer>
const Layer* as(const Module* module) {
  return module != nullptr && module->kind() == Layer::kKind ? static_cast<const Layer*>(module)
                                                             : nullptr;
}
template <typename Layer>
std::shared_ptr<Layer> as(const std::shared_ptr<Module>& module) {
  return as<Layer>(module.get()) != nullptr ? std::static_pointer_cast<Layer>(module) : nullptr;
}

// A module whose forward takes and returns one tensor. `module(x)` runs the hooks and, for a
// leaf layer, reports the call to the tracer.
class UnaryModule : public Module {
 public:
  using Module::Module;
  virtual Tensor forward(const Tensor& input) = 0;
  Tensor operator()(const Tensor& input) { return call(input); }
  Tensor call(const Tensor& input) override;
};

// A shared handle to a module implementation, as in libtorch (`pare::nn::Linear` holds a
// `LinearImpl`). Default-constructible only from nullptr; constructing from arguments creates
// the module; `holder(x)` forwards to the module's operator().
template <typename Impl>
class ModuleHolder {
 public:
  using ImplType = Impl;
  ModuleHolder(std::nullptr_t) {}  // NOLINT: implicit, as in libtorch
  ModuleHolder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}  // NOLINT
  template <typename First, typename... Rest>
  requires((sizeof...(Rest) > 0 || (!std::is_same_v<std::decay_t<First>, ModuleHolder> &&
                                    !std::is_same_v<std::decay_t<First>, std::nullptr_t> &&
                                    !std::is_same_v<std::decay_t<First>, std::shared_ptr<Impl>>)) &&
           std::is_constructible_v<Impl, First, Rest...>) explicit ModuleHolder(First&& first,
                                                                                Rest&&... rest)
      : impl_(std::make_shared<Impl>(std::forward<First>(first), std::forward<Rest>(rest)...)) {}
  // Default-constructs the module when Impl allows it (e.g. pare::nn::ReLU()).
  ModuleHolder() requires std::is_default_constructible_v<Impl> : impl_(std::make_shared<Impl>()) {}

  Impl* operator->() const { return checked(); }
  Impl& operator*() const { return *checked(); }
  Impl* get() const { return impl_.get(); }
  const std::shared_ptr<Impl>& ptr() const { return impl_; }
  bool is_empty() const { return impl_ == nullptr; }
  explicit operator bool() const { return impl_ != nullptr; }

  template <typename... Args>
  decltype(auto) operator()(Args&&... args) const {
    return (*checked())(std::forward<Args>(args)...);
  }

 private:
  Impl* checked() const {
    PARE_CHECK(impl_ != nullptr, "accessing an empty module holder (constructed from nullptr)");
    return impl_.get();
  }
  std::shared_ptr<Impl> impl_;
};

}  // namespace pare::nn
