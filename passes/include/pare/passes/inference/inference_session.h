// InferenceSession: the inference path of one GraphModule. It compiles the graph (compiled_graph.h)
// for each distinct set of input shapes it sees, keeps the compiled graphs, and compiles again
// when the graph is edited, when a parameter or buffer tensor is replaced, or after the module
// ran in training mode. enable() makes it the GraphModule's forward backend, so that forward() in
// evaluation mode under NoGradGuard goes through it; interpret() stays the plain interpreter.
//
//   pare::ir::GraphModule gm = pare::ir::load("cnn.pare");
//   gm.eval();
//   pare::inference::enable(gm);                 // or enable(gm, options); disable(gm)
//   pare::NoGradGuard no_grad;
//   pare::Tensor y = gm.forward({x});            // compiled on the first call for x's shape
//
//   pare::inference::enable_by_default();        // every GraphModule constructed from now on
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "pare/ir/graph_module.h"
#include "pare/passes/inference/compiled_graph.h"
#include "pare/passes/inference/inference_options.h"

namespace pare::inference {

class InferenceSession : public ir::ForwardBackend {
 public:
  explicit InferenceSession(InferenceOptions options = {}) : options_(options) {}

  // Compiles for these inputs' shapes when needed, then runs. Requires evaluation mode.
  ir::Value run(ir::GraphModule& graph_module, const std::vector<Tensor>& inputs);
  // The compiled graph for these input shapes (compiling it when needed).
  CompiledGraph& compiled(ir::GraphModule& graph_module, const std::vector<ir::TensorMeta>& inputs);

  std::optional<ir::Value> forward(ir::GraphModule& graph_module,
                                   const std::vector<Tensor>& inputs) override;
  void invalidate() override;

  const InferenceOptions& options() const { return options_; }
  size_t compiled_count() const;

 private:
  bool graph_unchanged(const ir::Graph& graph) const;

  InferenceOptions options_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<CompiledGraph>> compiled_;
  // The graph the compiled graphs were built from, and its version then.
  const ir::Graph* graph_ = nullptr;
  uint64_t graph_version_ = 0;
};

// Installs an InferenceSession with `options` as graph_module's forward backend; returns it.
std::shared_ptr<InferenceSession> enable(ir::GraphModule& graph_module,
                                         const InferenceOptions& options = {});
// Removes graph_module's forward backend: forward() interprets again.
void disable(ir::GraphModule& graph_module);
// Every GraphModule constructed afterwards (ir::load, ir::trace, ...) gets its own session.
void enable_by_default(const InferenceOptions& options = {});
void disable_by_default();

}  // namespace pare::inference
