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
#include <optional>
#include <string>

#include "pare/nn/module.h"

namespace pare::nn {

// One parametrization: a module (so it can own buffers such as a mask) mapping a tensor to a
// tensor.
class Parametrization : public Module {
 public:
  using Module::Module;
  virtual Tensor apply(const Tensor& original) = 0;
  // A parametrization that multiplies each row (index along dim 0) of its input by a 0/1 float
  // and does nothing else returns those factors as a 1-d bool mask; every other one returns an
  // undefined tensor. A layer can then compute with the stored weight and clear the outputs of
  // the masked rows instead of materialising the masked copy (see row_masked_parameter).
  virtual Tensor row_mask() const { return Tensor(); }
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
//
// Like PyTorch, registration evaluates the chain with the new parametrization once, to refuse a
// parametrization that changes the tensor's shape. `unsafe` skips that evaluation (PyTorch's
// unsafe=True): the check costs a full-size product of the tensor, which for a parametrization
// that keeps the shape by construction (a row mask) proves nothing and, on a large layer, is the
// peak memory of the whole pruning run. With `unsafe`, a parametrization may also change the
// shape; reading the parameter then returns the new shape.
void register_parametrization(const std::shared_ptr<Module>& module, const std::string& name,
                              std::shared_ptr<Parametrization> parametrization,
                              bool unsafe = false);
// Removes every parametrization of `name`. With leave_parametrized the parameter becomes the
// current parametrized value; otherwise the original comes back.
void remove_parametrizations(const std::shared_ptr<Module>& module, const std::string& name,
                             bool leave_parametrized = true);
bool is_parametrized(const Module& module, const std::string& name = "");

// What a layer needs to run a row-masked weight without materialising it: the stored weight and
// its row mask. For a finite input x, x (W * m)^T equals x W^T with the outputs of masked rows
// set to +0, bit for bit, when W * m holds exact zeros: every masked row of W is finite (0 * inf
// is NaN in the product; the kept rows are W * 1 = W). A kept output depends only on its own row,
// and a masked one sums signed zeros into an accumulator that starts at +0, so it is +0
// (tests/engine/test_nn_parametrize_row_mask.cpp compares the bits). Empty unless grad mode is off
// (training reads the weight through the parametrization, so its gradient flows as before),
// parameter `name` is a float32 tensor whose only parametrization has a row_mask() of its rows, and
// the masked rows are finite. The caller still has to check its input and its bias.
//
//   // LinearImpl::forward, for a layer without a bias of its own:
//   if (auto masked = pare::nn::row_masked_parameter(*this, "weight"); masked && all_finite(x))
//     return pare::nn::clear_masked_channels(linear(x, masked->stored), masked->mask, -1);
struct RowMaskedParameter {
  Tensor stored;
  Tensor mask;
};
std::optional<RowMaskedParameter> row_masked_parameter(const Module& module,
                                                       const std::string& name);

// `output` with the entries of the channels where `mask` (1-d bool) is false set to 0 along
// `axis`: the value a masked row of zeros produces from a finite input.
Tensor clear_masked_channels(const Tensor& output, const Tensor& mask, int64_t axis);

}  // namespace pare::nn
