// Gradient clipping by total norm (torch.nn.utils.clip_grad_norm_).
//
//   loss.backward();
//   double total = pare::nn::utils::clip_grad_norm_(net->parameters(), /*max_norm=*/1.0);
//   optimizer.step();
#pragma once

#include <vector>

#include "pare/tensor.h"

namespace pare::nn::utils {

// Scales every gradient by max_norm / (total_norm + 1e-6) when that is below 1, where
// total_norm is the norm_type-norm of all gradients together (INFINITY for the max norm).
// Returns total_norm. Parameters without a gradient are skipped.
double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm,
                       double norm_type = 2.0);

}  // namespace pare::nn::utils
