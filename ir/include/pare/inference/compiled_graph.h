// CompiledGraph: a GraphModule compiled for inference at fixed input shapes. Recognised nodes run
// on prepared oneDNN primitives (kernels/prepared_*.h): Conv2d with a folded BatchNorm2d, a fused
// residual add and a fused activation, Linear with a fused activation, pools, the LSTM, with
// activations kept in the blocked layout between convolutions and every intermediate buffer
// placed in one arena by a static memory plan (memory_plan.h), each primitive on the OpenMP thread
// count that was fastest for it (thread_tuning.h). Any other node runs through the interpreter's
// own code (GraphModule::run_node), so every graph compiles. InferenceSession
// (inference_session.h) keeps one per input shape and is what GraphModule::forward uses.
//
//   pare::NoGradGuard no_grad;
//   graph_module.eval();
//   pare::inference::CompiledGraph compiled(graph_module, {{{32, 3, 32, 32}, pare::kFloat32}});
//   pare::ir::Value y = compiled.run({x});          // same outputs as graph_module.interpret({x})
//   std::cout << compiled.describe();               // one line per step
//
// Contract: requires evaluation mode (dropout, BatchNorm and RReLU read it at compile time) and
// inputs of exactly the compiled shapes and dtypes. The weights are copied when compiled: after
// changing a parameter or buffer in place, compile again (InferenceSession notices replaced
// tensors and graph edits itself). run() allocates nothing but the returned tensors once the first
// call has run, unless the graph holds nodes that run through the interpreter. Calls are
// serialised by a lock (one arena, prepared primitives bound to it per call): threads sharing one
// CompiledGraph wait for each other. InferenceSession, which GraphModule::forward uses, avoids
// that wait by checking a compiled graph out to one caller at a time and compiling another one for
// a second concurrent caller of the same shape.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "pare/inference/inference_options.h"
#include "pare/inference/thread_tuning.h"
#include "pare/ir/graph_module.h"

namespace pare::inference {

// What the compiler did, to test and report it.
struct CompileStats {
  int folded_batchnorms = 0;
  int fused_activations = 0;
  int fused_residual_adds = 0;  // adds computed by a conv's sum post-op (fuse_residual_add)
  int in_place_adds = 0;        // those accumulating into the shortcut's own buffer (no copy)
  int prepared_convs = 0;
  int winograd_convs = 0;  // those computed by oneDNN's Winograd algorithm (winograd)
  // Prepared convs oneDNN runs with its reference kernel (no optimised one for their layouts):
  // hundreds of times slower, so the compiler avoids them; nonzero means it could not.
  int reference_convs = 0;
  int prepared_linears = 0;
  int prepared_pools = 0;
  int prepared_lstms = 0;
  int layout_reorders = 0;    // blocked -> plain conversions the plan runs per call
  int blocked_values = 0;     // intermediate values kept in a blocked layout
  int interpreted_nodes = 0;  // nodes run through GraphModule::run_node
  // Prepared primitives that run on fewer OpenMP threads than the session's (thread_tuning).
  int fewer_thread_primitives = 0;
  size_t arena_bytes = 0;
  size_t unshared_bytes = 0;  // the arena without buffer reuse
};

class CompiledGraph {
 public:
  // `chooser` picks each prepared primitive's thread count from its timings (thread_tuning.h);
  // empty: the fastest.
  CompiledGraph(ir::GraphModule& graph_module, const std::vector<ir::TensorMeta>& inputs,
                const InferenceOptions& options = {}, ThreadChooser chooser = {});
  ~CompiledGraph();
  CompiledGraph(const CompiledGraph&) = delete;
  CompiledGraph& operator=(const CompiledGraph&) = delete;

  // One tensor per placeholder, of the compiled shapes. Returns what forward() would.
  ir::Value run(const std::vector<Tensor>& inputs);

  const std::vector<ir::TensorMeta>& input_meta() const;
  // True when compiled for these inputs at the current OpenMP thread count (oneDNN's kernels keep
  // the thread count they were created for).
  bool matches(const std::vector<ir::TensorMeta>& inputs) const;
  const InferenceOptions& options() const;
  const CompileStats& stats() const;
  // True while every parameter and buffer the compiled steps copied is still the tensor it was
  // (not replaced by another one, e.g. by load_state_dict or a pruning pass).
  bool weights_unchanged() const;
  // One line per step: what runs, on which nodes, in which layout, on how many threads.
  std::string describe() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pare::inference
