// nn::Sequential: runs its modules in order, each on the previous one's output. Children are
// named "0", "1", ... so that state_dict keys match PyTorch's ("features.0.weight").
//
//   pare::nn::Sequential features(
//       pare::nn::Conv2d(pare::nn::Conv2dOptions(3, 16, 3).padding(1)),
//       pare::nn::BatchNorm2d(16), pare::nn::ReLU(), pare::nn::MaxPool2d(2));
//   features->push_back(pare::nn::Flatten());
//   auto y = features(x);
//   auto& conv = features->at<pare::nn::Conv2dImpl>(0);
//   for (const auto& layer : features->children()) std::cout << layer->type_name() << "\n";
//
// A pass that replaces child "1" (e.g. with an Identity) changes what forward runs. A module
// inside a Sequential must have a one-tensor forward (Module::call); an LSTM
// contributes its output sequence.
#pragma once

#include <concepts>
#include <memory>
#include <utility>
#include <vector>

#include "pare/nn/module.h"

namespace pare::nn {

// A std::shared_ptr to a module, or a ModuleHolder.
template <typename T>
concept ModuleHandle = std::convertible_to<T, std::shared_ptr<Module>> || requires(const T& h) {
  { h.ptr() } -> std::convertible_to<std::shared_ptr<Module>>;
};

class SequentialImpl : public UnaryModule {
 public:
  static constexpr ModuleKind kKind = ModuleKind::sequential;
  ModuleKind kind() const override { return kKind; }
  SequentialImpl() = default;
  template <ModuleHandle... Modules>
  explicit SequentialImpl(Modules&&... modules) {
    (push_back(std::forward<Modules>(modules)), ...);
  }

  // Appends `module` as child "<size()>".
  void push_back(std::shared_ptr<Module> module);
  template <typename Holder>
  requires requires(const Holder& holder) {
    { holder.ptr() } -> std::convertible_to<std::shared_ptr<Module>>;
  }
  void push_back(const Holder& holder) { push_back(std::shared_ptr<Module>(holder.ptr())); }

  size_t size() const { return size_; }
  bool is_empty() const { return size_ == 0; }
  // The module at `index` (bounds-checked).
  std::shared_ptr<Module> operator[](size_t index) const;
  // The module at `index` as its concrete type; throws if it is not a T.
  template <typename T>
  T& at(size_t index) const {
    T* typed = dynamic_cast<T*>((*this)[index].get());
    PARE_CHECK(typed != nullptr, "Sequential: module ", index, " is a ",
               (*this)[index]->type_name(), ", not the requested type");
    return *typed;
  }

  Tensor forward(const Tensor& input) override;

 private:
  // Children are looked up by their names "0" .. "size_ - 1" (not kept in a list of their own),
  // so a replaced child is seen and a module added twice runs twice, as in PyTorch.
  size_t size_ = 0;
};

using Sequential = ModuleHolder<SequentialImpl>;

}  // namespace pare::nn
