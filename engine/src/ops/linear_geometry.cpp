#include "pare/linear_geometry.h"

#include "pare/error.h"

namespace pare {

Shape linear_output_shape(const Shape& input, const Shape& weight, const Shape* bias) {
  PARE_CHECK(weight.size() == 2, "linear: expected a 2-d weight [out_features, in_features], got ",
             "shape ", weight);
  PARE_CHECK(!input.empty() && input.back() == weight[1], "linear: input of shape ", input,
             " cannot be multiplied with weight of shape ", weight, " (expected ", weight[1],
             " input features in the last dim)");
  PARE_CHECK(bias == nullptr || *bias == Shape{weight[0]}, "linear: expected a bias of shape ",
             Shape{weight[0]}, " for weight of shape ", weight, ", got shape ",
             bias == nullptr ? Shape{} : *bias);
  Shape out = input;
  out.back() = weight[0];
  return out;
}

}  // namespace pare
