// The compiled inference path (ir/src/inference): compile a GraphModule for fixed input shapes onto
// prepared oneDNN primitives with BatchNorm folding, fused activations, prepacked weights, blocked
// layouts and a static memory plan, and make GraphModule::forward use it in evaluation mode.
//
//   #include <pare/inference/inference.h>
//   pare::inference::enable(graph_module);         // forward() in eval + NoGradGuard is compiled
#pragma once

#include "pare/inference/compiled_graph.h"
#include "pare/inference/inference_options.h"
#include "pare/inference/inference_session.h"
#include "pare/inference/memory_plan.h"
#include "pare/inference/thread_tuning.h"
