// The inference path (passes/inference): compile a GraphModule for fixed input shapes onto
// prepared oneDNN primitives with BatchNorm folding, fused activations, prepacked weights, blocked
// layouts and a static memory plan, and make GraphModule::forward use it in evaluation mode.
//
//   #include <pare/passes/inference/inference.h>
//   pare::inference::enable(graph_module);         // forward() in eval + NoGradGuard is compiled
#pragma once

#include "pare/passes/inference/compiled_graph.h"
#include "pare/passes/inference/inference_options.h"
#include "pare/passes/inference/inference_session.h"
#include "pare/passes/inference/memory_plan.h"
