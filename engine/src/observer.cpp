#include "pare/observer.h"

namespace pare {
namespace {
thread_local OpObserver* installed_observer = nullptr;
thread_local int op_depth = 0;
}  // namespace

ObserverGuard::ObserverGuard(OpObserver* observer) : previous_(installed_observer) {
  installed_observer = observer;
}
ObserverGuard::~ObserverGuard() { installed_observer = previous_; }

OpObserver* current_observer() { return installed_observer; }

OpScope::OpScope() : depth_(++op_depth) {}
OpScope::~OpScope() { --op_depth; }
bool OpScope::should_report() const { return depth_ == 1 && installed_observer != nullptr; }

void notify_function(const std::string& name, const std::vector<Tensor>& inputs, const Attrs& attrs,
                     const std::vector<Tensor>& outputs) {
  if (installed_observer) installed_observer->on_function(name, inputs, attrs, outputs);
}

void notify_module(const nn::Module& module, const std::vector<Tensor>& inputs,
                   const std::vector<Tensor>& outputs) {
  if (installed_observer) installed_observer->on_module(module, inputs, outputs);
}

}  // namespace pare
