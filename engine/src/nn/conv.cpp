// nn::Conv2d.
#include "pare/nn/conv.h"

#include <cmath>

#include "pare/creation.h"
#include "pare/nn/init.h"
#include "pare/nn/parametrize.h"
#include "pare/reduction.h"
#include "python_repr.h"

namespace pare::nn {

Conv2dImpl::Conv2dImpl(const Conv2dOptions& options) : options_(options) {
  const IntPair kernel = options.kernel_size();
  PARE_CHECK(options.groups() > 0, "Conv2d: groups must be positive, got ", options.groups());
  PARE_CHECK(options.in_channels() % options.groups() == 0 &&
                 options.out_channels() % options.groups() == 0,
             "Conv2d: in_channels (", options.in_channels(), ") and out_channels (",
             options.out_channels(), ") must be divisible by groups (", options.groups(), ")");
  PARE_CHECK(kernel.first > 0 && kernel.second > 0, "Conv2d: kernel_size must be positive, got ",
             kernel.vec());
  register_parameter("weight",
                     empty({options.out_channels(), options.in_channels() / options.groups(),
                            kernel.first, kernel.second}));
  register_parameter("bias", options.bias() ? empty({options.out_channels()}) : Tensor());
  reset_parameters();
}

Conv2dImpl::Conv2dImpl(int64_t in_channels, int64_t out_channels, IntPair kernel_size)
    : Conv2dImpl(Conv2dOptions(in_channels, out_channels, kernel_size)) {}

void Conv2dImpl::reset_parameters() {
  Tensor weight = get_parameter("weight");
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  Tensor bias = get_parameter("bias");
  if (bias.defined()) {
    const int64_t fan_in = init::calculate_fan_in_and_fan_out(weight).first;
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Conv2dImpl::forward(const Tensor& input) {
  const Tensor bias = get_parameter("bias");
  // As in LinearImpl::forward: a row-masked weight runs on the stored weight and its masked
  // output channels are cleared, for a finite input and no bias of the layer's own.
  if (auto masked = row_masked_parameter(*this, "weight");
      masked && !bias.defined() && all_finite(input)) {
    const Tensor output = conv2d(input, masked->stored, Tensor(), options_.stride(),
                                 options_.padding(), options_.dilation(), options_.groups());
    return clear_masked_channels(output, masked->mask, output.dim() - 3);
  }
  return conv2d(input, get_parameter("weight"), bias, options_.stride(), options_.padding(),
                options_.dilation(), options_.groups());
}

Attrs Conv2dImpl::config() const {
  return {{"in_channels", options_.in_channels()},
          {"out_channels", options_.out_channels()},
          {"kernel_size", options_.kernel_size().vec()},
          {"stride", options_.stride().vec()},
          {"padding", options_.padding().vec()},
          {"dilation", options_.dilation().vec()},
          {"groups", options_.groups()},
          {"bias", options_.bias()}};
}

// PyTorch prints the arguments that differ from their defaults, kernel and stride always.
std::string Conv2dImpl::extra_repr() const {
  std::string text = std::to_string(options_.in_channels()) + ", " +
                     std::to_string(options_.out_channels()) +
                     ", kernel_size=" + detail::python_repr(options_.kernel_size().vec()) +
                     ", stride=" + detail::python_repr(options_.stride().vec());
  if (options_.padding() != IntPair(0)) {
    text += ", padding=" + detail::python_repr(options_.padding().vec());
  }
  if (options_.dilation() != IntPair(1)) {
    text += ", dilation=" + detail::python_repr(options_.dilation().vec());
  }
  if (options_.groups() != 1) text += ", groups=" + std::to_string(options_.groups());
  if (!options_.bias()) text += ", bias=False";
  return text;
}

}  // namespace pare::nn
