// The seeded inputs `pare prune` checks a pruned model on (both flows), the same ones `pare run`
// draws without --input: one tensor per graph input, of its recorded shape, from seed kCheckSeed;
// and how a recorded input shape is written in messages about inputs from a file.
//
//   std::string described;
//   std::vector<pare::Tensor> inputs = pare::cli::check_inputs(model, described);
//   // described: "x [1, 3, 224, 224]"
//   pare::cli::shape_with_free_batch({1, 3, 224, 224});  // "[N, 3, 224, 224]"
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pare/ir/graph_module.h"

namespace pare::cli {

inline constexpr uint64_t kCheckSeed = 0;

// Throws naming an input without a recorded shape.
std::vector<Tensor> check_inputs(const ir::GraphModule& model, std::string& described);

// "[N, 3, 32, 32]": a recorded input shape with its batch dimension free (for messages about
// inputs read from a file).
std::string shape_with_free_batch(const Shape& shape);

}  // namespace pare::cli
