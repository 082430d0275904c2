#include "layer_macs.h"

#include "pare/checked_math.h"
#include "pare/error.h"

namespace pare::ir::ops {

int64_t linear_macs(const Shape& input, const Shape& weight) {
  PARE_CHECK(weight.size() == 2, "linear: expected a 2-d weight, got ", weight);
  return checked_mul(shape_numel(input), weight[0], "linear: MACs of input ", input, " and weight ",
                     weight);
}

int64_t conv2d_macs(const Shape& output, const Shape& weight) {
  PARE_CHECK(weight.size() == 4, "conv2d: expected a 4-d weight, got ", weight);
  int64_t macs = shape_numel(output);
  for (size_t i = 1; i < 4; ++i)
    macs = checked_mul(macs, weight[i], "conv2d: MACs of output ", output, " and weight ", weight);
  return macs;
}

int64_t lstm_macs(const Shape& input, bool batch_first, const std::vector<Shape>& layer_weights) {
  PARE_CHECK(input.size() == 2 || input.size() == 3,
             "lstm: expected a 2-d or 3-d input, got shape ", input);
  const int64_t steps = input.size() == 3 && batch_first ? input[1] : input[0];
  const int64_t batch = input.size() == 3 ? (batch_first ? input[0] : input[1]) : 1;
  int64_t per_step = 0;
  for (const Shape& weight : layer_weights)
    per_step = checked_add(per_step, shape_numel(weight), "lstm: MACs per step of input ", input);
  const char* what = "lstm: MACs of input";
  return checked_mul(checked_mul(steps, batch, what, " ", input), per_step, what, " ", input);
}

}  // namespace pare::ir::ops
