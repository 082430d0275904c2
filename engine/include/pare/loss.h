// Losses (torch.nn.functional's contracts).
//
//   auto loss = pare::cross_entropy(logits, labels);                 // mean over the batch
//   auto smooth = pare::cross_entropy(logits, labels, pare::Reduction::mean, 0.1);
//   auto weighted = pare::cross_entropy(logits, labels, pare::kMean, 0.0, class_weights,
//                                       /*ignore_index=*/0);
//   auto mse = pare::mse_loss(prediction, target, pare::kSum);      // or pare::Reduction::sum
#pragma once

#include <cstdint>

#include "pare/tensor.h"

namespace pare {

enum class Reduction { none, mean, sum };
// libtorch's spellings: F::MSELossFuncOptions().reduction(pare::kSum).
inline constexpr Reduction kNone = Reduction::none;
inline constexpr Reduction kMean = Reduction::mean;
inline constexpr Reduction kSum = Reduction::sum;

// PyTorch's default ignore_index: no class has it.
inline constexpr int64_t kDefaultIgnoreIndex = -100;

// logits [N, C] (or [N, C, d...]) and int64 class indices [N] (or [N, d...]). `weight` ([C],
// optional) scales each class's loss; targets equal to `ignore_index` add nothing. With either,
// the mean is over the weights of the counted targets, as in PyTorch.
Tensor cross_entropy(const Tensor& logits, const Tensor& target,
                     Reduction reduction = Reduction::mean, double label_smoothing = 0.0,
                     const Tensor& weight = Tensor(), int64_t ignore_index = kDefaultIgnoreIndex);
// log_probs [N, C] (or [N, C, d...]) and int64 class indices [N] (or [N, d...]); `weight` and
// `ignore_index` as for cross_entropy.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target,
                Reduction reduction = Reduction::mean, const Tensor& weight = Tensor(),
                int64_t ignore_index = kDefaultIgnoreIndex);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);

}  // namespace pare
