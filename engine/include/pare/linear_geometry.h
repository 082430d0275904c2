// The shape rule of linear from shapes alone, shared by the engine's linear, shape inference and
// the op definition, so that their checks and messages are one rule.
//
//   pare::linear_output_shape({8, 5, 64}, {10, 64}, /*bias=*/nullptr);   // [8, 5, 10]
#pragma once

#include "pare/tensor.h"

namespace pare {

// Checks x [..., in] against weight [out, in] and bias [out] (nullptr: none); returns [..., out].
Shape linear_output_shape(const Shape& input, const Shape& weight, const Shape* bias);

}  // namespace pare
