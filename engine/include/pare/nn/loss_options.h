// The options of the losses, libtorch's names: nn::CrossEntropyLoss(options) takes them, and so
// does nn::functional::cross_entropy (its CrossEntropyFuncOptions is the same struct, as in
// libtorch).
//
//   auto options = pare::nn::CrossEntropyLossOptions().reduction(pare::kSum)
//                      .label_smoothing(0.1).weight(class_weights).ignore_index(0);
#pragma once

#include <cstdint>

#include "pare/arg.h"
#include "pare/loss.h"

namespace pare::nn {

// weight: [C] per-class scale (undefined: every class 1); targets equal to ignore_index count
// for nothing (pare/loss.h).
struct CrossEntropyLossOptions {
  PARE_ARG(Tensor, weight);
  PARE_ARG(int64_t, ignore_index) = kDefaultIgnoreIndex;
  PARE_ARG(Reduction, reduction) = Reduction::mean;
  PARE_ARG(double, label_smoothing) = 0.0;
};

struct NLLLossOptions {
  PARE_ARG(Tensor, weight);
  PARE_ARG(int64_t, ignore_index) = kDefaultIgnoreIndex;
  PARE_ARG(Reduction, reduction) = Reduction::mean;
};

struct MSELossOptions {
  PARE_ARG(Reduction, reduction) = Reduction::mean;
};

struct L1LossOptions {
  PARE_ARG(Reduction, reduction) = Reduction::mean;
};

}  // namespace pare::nn
