// Parametrizations (torch.nn.utils.parametrize): after register_parametrization(module, "weight",
// p), reading the module's weight returns p(original), where `original` is the parameter that
// used to be `weight`, now reachable as `parametrizations.weight.original` (PyTorch's key).
// The sparsifier uses this to apply structured masks on every forward.
//
//   auto mask = pare::ones({out_features}, pare::kBool);
//   pare::nn::register_parametrization(linear.ptr(), "weight",
//       pare::nn::make_parametrization("Scale", [](const pare::Tensor& w) { return w * 0.5; }));
//   auto w = linear->weight();        // 0.5 * original, differentiable w.r.t. the original
//   pare::nn::remove_parametrizations(linear.ptr(), "weight", /*leave_parametrized=*/true);
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "pare/nn/module.h"

namespace pare::nn {

// One parametrization: a module (so it can own buffers such as a mask) mapping a tensor to a
// tensor.
class Parametrization : public Module {
 public:
  using Module::Module;
  virtual Tensor apply(const Tensor& original) = 0;
};

// The chain of parametrizations of one tensor (children "0", "1", ...) and its `original`.
class ParametrizationList : public Module {
 public:
  ParametrizationList();
  Tensor original() const;
  // original -> p0 -> p1 -> ...
  Tensor evaluate() const;
  size_t size() const { return chain_.size(); }
  std::shared_ptr<Parametrization> at(size_t index) const;
  void append(std::shared_ptr<Parametrization> parametrization);

 private:
  std::vector<std::shared_ptr<Parametrization>> chain_;
};

// Wraps a function as a Parametrization named `type_name`.
std::shared_ptr<Parametrization> make_parametrization(std::string type_name,
                                                      std::function<Tensor(const Tensor&)> fn);

// Adds `parametrization` to the chain of `module`'s parameter `name` (creating the chain and
// moving the parameter to `parametrizations.<name>.original` on first use).
void register_parametrization(const std::shared_ptr<Module>& module, const std::string& name,
                              std::shared_ptr<Parametrization> parametrization);
// Removes every parametrization of `name`. With leave_parametrized the parameter becomes the
// current parametrized value; otherwise the original comes back.
void remove_parametrizations(const std::shared_ptr<Module>& module, const std::string& name,
                             bool leave_parametrized = true);
bool is_parametrized(const Module& module, const std::string& name = "");

}  // namespace pare::nn
