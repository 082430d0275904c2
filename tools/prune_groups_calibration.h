// --calibration FILE of `pare prune --groups --importance taylor` (docs/cli.md): a safetensors file
// holding the model's input as tensor `input` (batch first) and, optionally, int64 class indices
// as `target` (one per sample). It is split into batches of --batch-size samples, each run through
// the model and its loss back-propagated with pruning::accumulate_gradients, so that the
// parameters hold the summed gradients taylor scores. The loss is cross_entropy(output, target)
// with a target, else the sum of the squares of the output. Errors name the tensor at fault; the
// caller prefixes the file (about_file).
//
//   pare::cli::Calibration calibration = pare::cli::read_calibration("calib.safetensors", model,
//   32); pare::cli::accumulate_calibration_gradients(model, calibration); pruner.step();  //
//   importance taylor reads the gradients
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pare/ir/graph_module.h"

namespace pare::cli {

struct Calibration {
  std::vector<Tensor> inputs;   // the batches, in file order
  std::vector<Tensor> targets;  // one per batch; empty without `target`
};

// Reads and checks the file against `model`'s one input (its recorded shape and dtype, any batch
// size).
Calibration read_calibration(const std::string& path, const ir::GraphModule& model,
                             int64_t batch_size);
// Zeroes the gradients, then sums every batch's loss gradient into the parameters.
void accumulate_calibration_gradients(ir::GraphModule& model, const Calibration& calibration);

}  // namespace pare::cli
