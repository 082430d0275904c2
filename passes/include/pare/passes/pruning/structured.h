// Structured (row) masks: FakeStructuredSparsity, BiasHook and BaseStructuredSparsifier, the
// prepare half of PyTorch's torch.ao.pruning._experimental.pruner (docs/pruning.md, "The masked
// model").
//
//   class MyPruner : public pare::pruning::BaseStructuredSparsifier {
//    public:
//     using BaseStructuredSparsifier::BaseStructuredSparsifier;
//     std::string name() const override { return "MyPruner"; }
//     void update_mask(const std::shared_ptr<pare::nn::Module>& module,
//                      const std::string& tensor_name, nlohmann::json& group) override {
//       pare::Tensor mask = pare::pruning::structured_mask(*module, tensor_name);
//       mask.data_ptr<bool>()[0] = false;              // prune row 0
//     }
//   };
//   MyPruner pruner;
//   pruner.prepare(net, {{{"tensor_fqn", "fc.weight"}, {"prune_bias", false}}});
//   auto y = net->forward(x);     // fc's row 0 emits its bias only; parameters keep their shapes
//   pruner.squash_mask();         // plain Linear again, masked weight and resolved bias
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pare/ir/tracer.h"
#include "pare/nn/parametrize.h"
#include "pare/passes/pruning/base_sparsifier.h"
#include "pare/passes/pruning/patterns.h"

namespace pare::pruning {

// weight = mask[:, None, ...] * original, with the bool row mask as buffer "mask" (so the
// prepared model's state_dict has parametrizations.weight.0.mask).
class FakeStructuredSparsity : public nn::Parametrization {
 public:
  explicit FakeStructuredSparsity(const Tensor& mask);
  Tensor apply(const Tensor& original) override;
  Tensor row_mask() const override { return mask(); }
  Tensor mask() const { return get_buffer("mask"); }
};

// The forward hook (tag "BiasHook") that adds a Linear's or Conv2d's side bias `_bias` back
// along the channel axis of the output: the last axis for Linear (any rank), axis rank - 3 for
// Conv2d ([N, C, H, W] and unbatched [C, H, W]). With prune_bias the pruned rows' entries are
// zeroed first, so a pruned channel emits exactly 0.
class BiasHook {
 public:
  static constexpr const char* kTag = "BiasHook";
  BiasHook(std::shared_ptr<FakeStructuredSparsity> parametrization, bool prune_bias);
  void operator()(nn::Module& module, const std::vector<Tensor>& inputs,
                  std::vector<Tensor>& outputs) const;
  bool prune_bias() const { return prune_bias_; }
  const std::shared_ptr<FakeStructuredSparsity>& parametrization() const {
    return parametrization_;
  }

 private:
  std::shared_ptr<FakeStructuredSparsity> parametrization_;
  bool prune_bias_;
};

// The FakeStructuredSparsity of `module`'s `tensor_name`, or nullptr.
std::shared_ptr<FakeStructuredSparsity> find_structured_sparsity(const nn::Module& module,
                                                                 const std::string& tensor_name);
// Its mask (writable in place), or an error naming the module and tensor.
Tensor structured_mask(const nn::Module& module, const std::string& tensor_name);

// Groups get a bool row mask of weight.shape[0] (all true unless the config gives "mask", a list
// of bools or 0/1 of that length), the parametrization, and for Linear / Conv2d the bias moved to
// `_bias` behind a BiasHook (config "prune_bias", default true). An LSTM's weight_ih_l{k} and
// weight_hh_l{k} must be configured together.
//
// prune(example_inputs) traces the prepared model, converts every pattern match of `patterns`
// (docs/pruning.md; see prune.h) and returns the traced GraphModule. The model's own modules are
// the ones shrunk, so the user's model class keeps working at the new widths (create a new
// optimizer afterwards: the parameters are new tensors).
class BaseStructuredSparsifier : public BaseSparsifier {
 public:
  using BaseSparsifier::BaseSparsifier;
  using BaseSparsifier::prepare;

  // Remembers how to call the model's own forward (for prune's trace), then prepares it.
  template <typename Model>
  requires(std::derived_from<Model, nn::Module> && !std::same_as<Model, nn::Module>) void prepare(
      const std::shared_ptr<Model>& model, const std::vector<nlohmann::json>& config = {}) {
    BaseSparsifier::prepare(model, config);
    runner_ = ir::model_runner(model);
  }
  // The config as a JSON array (a template, like BaseSparsifier's, so that a braced list picks
  // the vector overload).
  template <typename Model, typename Json>
  requires(std::derived_from<Model, nn::Module> && !std::same_as<Model, nn::Module> &&
           std::same_as<Json, nlohmann::json>) void prepare(const std::shared_ptr<Model>& model,
                                                            const Json& config) {
    BaseSparsifier::prepare(model, config);
    runner_ = ir::model_runner(model);
  }

  // Traces the prepared model on `example_inputs` and prunes it. A model prepared through a
  // plain std::shared_ptr<nn::Module> is called through Module::call (one input).
  ir::GraphModule prune(const std::vector<Tensor>& example_inputs);

  // The patterns prune() uses: the default table; add your own (patterns.h).
  PatternTable patterns = default_pattern_table();

 protected:
  void check_groups() const override;
  Tensor make_mask(size_t index) const override;
  // A 1-d bool mask with one entry per row of the weight.
  void check_loaded_mask(const nn::Module& module, const std::string& tensor_name,
                         const std::string& tensor_fqn, const Tensor& mask) const override;
  void attach_mask(size_t index, const Tensor& mask) override;
  // Re-registers the BiasHook with the group's (loaded) prune_bias.
  void reload_group(size_t index) override;
  // Also resolves `_bias` back into `bias` (pruned entries zeroed with prune_bias) and removes
  // the BiasHook.
  void squash_group(size_t index) override;

 private:
  std::function<ir::Value(const std::vector<Tensor>&)> runner_;
};

}  // namespace pare::pruning
