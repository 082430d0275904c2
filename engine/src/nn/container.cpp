// nn::Sequential.
#include "pare/nn/container.h"

#include <string>

namespace pare::nn {

void SequentialImpl::push_back(std::shared_ptr<Module> module) {
  register_module(std::to_string(size_), std::move(module));
  ++size_;
}

std::shared_ptr<Module> SequentialImpl::operator[](size_t index) const {
  PARE_CHECK(index < size_, "Sequential: index ", index, " is out of range for ", size_,
             " modules");
  std::shared_ptr<Module> module = get_child(std::to_string(index));
  PARE_CHECK(module != nullptr, "Sequential: module ", index, " was unregistered");
  return module;
}

Tensor SequentialImpl::forward(const Tensor& input) {
  Tensor output = input;
  for (size_t index = 0; index < size_; ++index) output = (*this)[index]->call(output);
  return output;
}

}  // namespace pare::nn
