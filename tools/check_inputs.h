// The seeded inputs `pare prune` checks a pruned model on (both flows), the same ones `pare run`
// draws without --input: one tensor per graph input, of its recorded shape, from seed kCheckSeed.
//
//   std::string described;
//   std::vector<pare::Tensor> inputs = pare::cli::check_inputs(model, described);
//   // described: "x [1, 3, 224, 224]"
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pare/ir/graph_module.h"

namespace pare::cli {

inline constexpr uint64_t kCheckSeed = 0;

// Throws naming an input without a recorded shape.
std::vector<Tensor> check_inputs(const ir::GraphModule& model, std::string& described);

}  // namespace pare::cli
