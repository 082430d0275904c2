// The hook through which ir/'s tracer sees what a model does, without engine/ knowing ir/.
// Every public functional op and every leaf module call opens an OpScope; only the outermost
// scope reports, so a Linear's internal matmul or cross_entropy's internal log_softmax never
// shows up as a separate op.
//
//   Tensor relu(const Tensor& x) {             // inside engine/, how an op reports itself
//     OpScope scope;
//     Tensor y = ...;
//     if (scope.should_report()) notify_function("relu", {x}, {}, {y});
//     return y;
//   }
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "pare/tensor.h"

namespace pare {

// An op's non-tensor arguments, named as in torch.nn.functional (e.g. {"negative_slope", 0.01}).
using AttrValue = std::variant<bool, int64_t, double, std::string, std::vector<int64_t>>;
using Attrs = std::vector<std::pair<std::string, AttrValue>>;

namespace nn {
class Module;
}

// Implemented by the tracer. Callbacks arrive only for outermost ops while installed.
class OpObserver {
 public:
  virtual ~OpObserver() = default;
  virtual void on_function(const std::string& name, const std::vector<Tensor>& inputs,
                           const Attrs& attrs, const std::vector<Tensor>& outputs) = 0;
  // A leaf module (built-in layer) ran `inputs -> outputs`.
  virtual void on_module(const nn::Module& module, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& outputs) = 0;
};

// Installs `observer` on this thread for the guard's lifetime (nullptr uninstalls).
class ObserverGuard {
 public:
  explicit ObserverGuard(OpObserver* observer);
  ~ObserverGuard();
  ObserverGuard(const ObserverGuard&) = delete;
  ObserverGuard& operator=(const ObserverGuard&) = delete;

 private:
  OpObserver* previous_;
};

OpObserver* current_observer();

// Marks the dynamic extent of one op; nested scopes do not report.
class OpScope {
 public:
  OpScope();
  ~OpScope();
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;
  // True for the outermost scope while an observer is installed.
  bool should_report() const;

 private:
  int depth_;
};

void notify_function(const std::string& name, const std::vector<Tensor>& inputs, const Attrs& attrs,
                     const std::vector<Tensor>& outputs);
void notify_module(const nn::Module& module, const std::vector<Tensor>& inputs,
                   const std::vector<Tensor>& outputs);

}  // namespace pare
