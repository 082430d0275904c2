// The calibration batches of `pare prune --groups --importance taylor`
// (prune_groups_calibration.h).
#include "prune_groups_calibration.h"

#include <algorithm>

#include "check_inputs.h"
#include "command.h"
#include "pare/creation.h"
#include "pare/elementwise.h"
#include "pare/error.h"
#include "pare/loss.h"
#include "pare/passes/pruning/importance.h"
#include "pare/reduction.h"
#include "pare/safetensors.h"

namespace pare::cli {

namespace {

// The loss needs one output tensor; a model returning a tuple (an LSTM's output and state, say)
// has none to take, which the graph's output node says before anything runs.
void check_single_output(const ir::GraphModule& model) {
  const ir::Node* output = model.graph().output_node();
  if (output == nullptr || output->args().empty()) return;
  const ir::Argument& result = output->args()[0];
  const bool single = result.is_node() && result.to_node()->meta.size() <= 1;
  PARE_CHECK(single,
             "the model returns several tensors; --calibration's loss needs a model with one "
             "output tensor");
}

void check_input(const Tensor& input, const ir::Node& placeholder) {
  PARE_CHECK(input.dim() >= 1 && input.size(0) >= 1, "tensor 'input' has shape ", input.sizes(),
             ": it needs a batch dimension first with at least one sample");
  if (placeholder.meta.size() != 1) return;
  const ir::TensorMeta& expected = placeholder.meta[0];
  PARE_CHECK(input.dtype() == expected.dtype, "tensor 'input' is ",
             safetensors_dtype_name(input.dtype()), " but the model's input '", placeholder.name(),
             "' is ", safetensors_dtype_name(expected.dtype));
  bool fits = input.dim() == static_cast<int64_t>(expected.shape.size());
  for (size_t dim = 1; fits && dim < expected.shape.size(); ++dim)
    fits = input.size(static_cast<int64_t>(dim)) == expected.shape[dim];
  PARE_CHECK(fits, "tensor 'input' has shape ", input.sizes(), " but the model's input '",
             placeholder.name(), "' is ", shape_with_free_batch(expected.shape),
             " (any batch size N)");
}

void check_target(const Tensor& target, int64_t samples) {
  PARE_CHECK(target.dtype() == kInt64, "tensor 'target' is ",
             safetensors_dtype_name(target.dtype()), "; class indices are I64");
  PARE_CHECK(target.dim() == 1 && target.size(0) == samples, "tensor 'target' has shape ",
             target.sizes(), " but 'input' holds ", samples,
             " samples: one class index per sample, shape [", samples, "]");
}

// The class indices of one batch against the output's classes, before cross_entropy sees them.
void check_classes(const Tensor& output, const Tensor& target, int64_t first_sample) {
  PARE_CHECK(output.dim() == 2 && output.size(0) == target.size(0),
             "with tensor 'target' the loss is cross_entropy, which needs the model's output to "
             "be [N, classes], but it is ",
             output.sizes(), "; leave 'target' out for the sum of squares of the output");
  const std::vector<int64_t> classes = to_int64_vector(target);
  for (size_t sample = 0; sample < classes.size(); ++sample)
    PARE_CHECK(classes[sample] >= 0 && classes[sample] < output.size(1),
               "tensor 'target' holds class ", classes[sample], " at sample ",
               first_sample + static_cast<int64_t>(sample), ", but the model's output has ",
               output.size(1), " classes (0 to ", output.size(1) - 1, ")");
}

}  // namespace

Calibration read_calibration(const std::string& path, const ir::GraphModule& model,
                             int64_t batch_size) {
  const std::vector<ir::Node*> placeholders = model.graph().placeholders();
  PARE_CHECK(placeholders.size() == 1, "the model takes ", placeholders.size(),
             " inputs; --calibration feeds models of one input (its tensor 'input')");
  check_single_output(model);
  check_not_directory(path);
  const SafetensorsFile file = read_safetensors(path);
  std::vector<std::string> names;
  for (const auto& [name, tensor] : file.tensors) {
    names.push_back(name);
    PARE_CHECK(name == "input" || name == "target", "tensor '", name,
               "' is neither 'input' (the model's input, batch first) nor 'target' (int64 class "
               "indices, one per sample)");
  }
  PARE_CHECK(file.contains("input"),
             "no tensor 'input' (the model's input, batch first); the file "
             "holds ",
             names);
  const Tensor input = file.get("input");
  check_input(input, *placeholders[0]);
  const int64_t samples = input.size(0);
  Tensor target;
  if (file.contains("target")) {
    target = file.get("target");
    check_target(target, samples);
  }
  Calibration calibration;
  for (int64_t start = 0; start < samples; start += batch_size) {
    const int64_t length = std::min(batch_size, samples - start);
    calibration.inputs.push_back(input.narrow(0, start, length).contiguous());
    if (target.defined())
      calibration.targets.push_back(target.narrow(0, start, length).contiguous());
  }
  return calibration;
}

void accumulate_calibration_gradients(ir::GraphModule& model, const Calibration& calibration) {
  // accumulate_gradients runs the batches in order: the loss of batch k takes target k.
  size_t batch = 0;
  int64_t first_sample = 0;
  pruning::accumulate_gradients(model, calibration.inputs, [&](const Tensor& output) {
    if (calibration.targets.empty()) {
      ++batch;
      return sum(output * output);
    }
    const Tensor& target = calibration.targets.at(batch++);
    check_classes(output, target, first_sample);
    first_sample += target.size(0);
    return cross_entropy(output, target);
  });
}

}  // namespace pare::cli
