// The options of the losses, libtorch's names: nn::CrossEntropyLoss(options) takes them, and so
// does nn::functional::cross_entropy (its CrossEntropyFuncOptions is the same struct, as in
// libtorch).
//
//   auto options = pare::nn::CrossEntropyLossOptions().reduction(pare::Reduction::sum)
//                      .label_smoothing(0.1);
#pragma once

#include "pare/arg.h"
#include "pare/loss.h"

namespace pare::nn {

struct CrossEntropyLossOptions {
  PARE_ARG(Reduction, reduction) = Reduction::mean;
  PARE_ARG(double, label_smoothing) = 0.0;
};

struct NLLLossOptions {
  PARE_ARG(Reduction, reduction) = Reduction::mean;
};

struct MSELossOptions {
  PARE_ARG(Reduction, reduction) = Reduction::mean;
};

struct L1LossOptions {
  PARE_ARG(Reduction, reduction) = Reduction::mean;
};

}  // namespace pare::nn
