// nn::MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d.
#include "pare/nn/pooling.h"

#include "python_repr.h"

namespace pare::nn {

Tensor MaxPool2dImpl::forward(const Tensor& input) {
  return max_pool2d(input, options_.kernel_size(), options_.stride(), options_.padding(),
                    options_.dilation(), options_.ceil_mode());
}

Attrs MaxPool2dImpl::config() const {
  return {{"kernel_size", options_.kernel_size().vec()},
          {"stride", options_.stride().vec()},
          {"padding", options_.padding().vec()},
          {"dilation", options_.dilation().vec()},
          {"ceil_mode", options_.ceil_mode()}};
}

std::string MaxPool2dImpl::extra_repr() const {
  return "kernel_size=" + detail::python_repr(options_.kernel_size()) +
         ", stride=" + detail::python_repr(options_.stride()) +
         ", padding=" + detail::python_repr(options_.padding()) +
         ", dilation=" + detail::python_repr(options_.dilation()) +
         ", ceil_mode=" + detail::python_repr(options_.ceil_mode());
}

Tensor AvgPool2dImpl::forward(const Tensor& input) {
  return avg_pool2d(input, options_.kernel_size(), options_.stride(), options_.padding(),
                    options_.ceil_mode(), options_.count_include_pad());
}

Attrs AvgPool2dImpl::config() const {
  return {{"kernel_size", options_.kernel_size().vec()},
          {"stride", options_.stride().vec()},
          {"padding", options_.padding().vec()},
          {"ceil_mode", options_.ceil_mode()},
          {"count_include_pad", options_.count_include_pad()}};
}

std::string AvgPool2dImpl::extra_repr() const {
  return "kernel_size=" + detail::python_repr(options_.kernel_size()) +
         ", stride=" + detail::python_repr(options_.stride()) +
         ", padding=" + detail::python_repr(options_.padding());
}

Tensor AdaptiveAvgPool2dImpl::forward(const Tensor& input) {
  return adaptive_avg_pool2d(input, output_size_);
}

Attrs AdaptiveAvgPool2dImpl::config() const { return {{"output_size", output_size_.vec()}}; }

std::string AdaptiveAvgPool2dImpl::extra_repr() const {
  return "output_size=" + detail::python_repr(output_size_);
}

Tensor AdaptiveMaxPool2dImpl::forward(const Tensor& input) {
  return adaptive_max_pool2d(input, output_size_);
}

Attrs AdaptiveMaxPool2dImpl::config() const { return {{"output_size", output_size_.vec()}}; }

std::string AdaptiveMaxPool2dImpl::extra_repr() const {
  return "output_size=" + detail::python_repr(output_size_);
}

}  // namespace pare::nn
