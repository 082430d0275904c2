// The .pare model file (docs/format.md): a safetensors file whose metadata holds the graph
// as JSON and whose tensors are the modules' state_dict entries. An edge app loads and runs it
// with no model class.
//
//   pare::ir::save(graph_module, "net.pare");
//   pare::ir::GraphModule loaded = pare::ir::load("net.pare");
//   pare::Tensor y = loaded.forward({x});
#pragma once

#include <string>

#include "pare/ir/graph_module.h"

namespace pare::ir {

// Streams the file through pare::OutputFile (pare/output_file.h): a regular file is replaced
// atomically, a FIFO or character device is written into.
void save(const GraphModule& graph_module, const std::string& path);
// Validates everything the format lists; errors name the file and the node, module or tensor.
// Reads through pare::read_safetensors: a regular file is mapped and the modules' tensors point
// into the mapping (no copy of the weights); a pipe or device is read as a bounded stream.
GraphModule load(const std::string& path);

// The same, in memory (the fuzz target and tests use these).
std::string encode_pare(const GraphModule& graph_module);
GraphModule decode_pare(const std::string& bytes, const std::string& source);

}  // namespace pare::ir
