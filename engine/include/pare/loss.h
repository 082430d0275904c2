// Losses (torch.nn.functional's contracts).
//
//   auto loss = pare::cross_entropy(logits, labels);                 // mean over the batch
//   auto smooth = pare::cross_entropy(logits, labels, pare::Reduction::mean, 0.1);
//   auto mse = pare::mse_loss(prediction, target, pare::Reduction::sum);
#pragma once

#include "pare/tensor.h"

namespace pare {

enum class Reduction { none, mean, sum };

// logits [N, C] (or [N, C, d...]) and int64 class indices [N] (or [N, d...]).
Tensor cross_entropy(const Tensor& logits, const Tensor& target,
                     Reduction reduction = Reduction::mean, double label_smoothing = 0.0);
// log_probs [N, C] and int64 class indices [N].
Tensor nll_loss(const Tensor& log_probs, const Tensor& target,
                Reduction reduction = Reduction::mean);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);

}  // namespace pare
