// pare's graph IR in one include: trace a model, inspect and transform its graph, infer shapes,
// count parameters and MACs, save and load .pare files.
//
//   auto graph_module = pare::ir::trace(net, {pare::randn({1, 1, 28, 28})});
//   std::cout << graph_module.graph();
//   pare::ir::save(graph_module, "net.pare");
//   auto loaded = pare::ir::load("net.pare");
//   pare::Tensor y = loaded.forward({x});
#pragma once

#include "pare/ir/graph.h"
#include "pare/ir/graph_module.h"
#include "pare/ir/model_stats.h"
#include "pare/ir/module_registry.h"
#include "pare/ir/op_definition.h"
#include "pare/ir/pare_file.h"
#include "pare/ir/shape_inference.h"
#include "pare/ir/tracer.h"
