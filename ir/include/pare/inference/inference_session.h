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
//   pare::inference::disable_by_default();       // GraphModules constructed from now on interpret
//
// Threads: run() / forward() may be called from several threads at once on one session (and so
// concurrent GraphModule::forward in evaluation mode under NoGradGuard is safe; the contract is on
// GraphModule). A compiled graph runs in one preallocated arena, so each call checks one out for
// itself (a Lease) and holds it, alive and unshared, for the whole call: no lock is held while it
// runs, and a shape evicted meanwhile is freed only when the last caller using it returns it. A
// caller that finds every compiled graph of its shape checked out compiles another one (its own
// arena and prepacked weights; memory grows with the number of callers running one shape at the
// same moment). At most 8 shapes stay cached (least recently used goes first), each with at most
// kMaxInstancesPerShape idle compiled graphs. A single thread reuses one compiled graph per shape
// and allocates nothing per call for it. Not safe concurrently with forward(): editing the graph or
// the parameters, train()/eval(), enable()/disable() (see GraphModule).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "pare/inference/compiled_graph.h"
#include "pare/inference/inference_options.h"
#include "pare/ir/graph_module.h"

namespace pare::inference {

class InferenceSession : public ir::ForwardBackend {
 public:
  // Shapes cached at once (least recently used evicted first), and idle compiled graphs kept per
  // shape (one per caller that ran that shape concurrently with others, up to this many).
  static constexpr size_t kMaxCompiledShapes = 8;
  static constexpr size_t kMaxInstancesPerShape = 16;

  struct ShapeEntry;

  // A compiled graph checked out by one caller: nobody else gets it from the session until the
  // lease is destroyed, and it stays alive while held even if the session evicts its shape or
  // is invalidated meanwhile (then it is dropped instead of returned).
  class Lease {
   public:
    Lease(std::shared_ptr<ShapeEntry> entry, std::shared_ptr<CompiledGraph> graph);
    ~Lease();
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    CompiledGraph& operator*() const { return *graph_; }
    CompiledGraph* operator->() const { return graph_.get(); }

   private:
    std::shared_ptr<ShapeEntry> entry_;
    std::shared_ptr<CompiledGraph> graph_;
  };

  explicit InferenceSession(InferenceOptions options = {}) : options_(options) {}

  // Compiles for these inputs' shapes when needed, then runs. Requires evaluation mode.
  ir::Value run(ir::GraphModule& graph_module, const std::vector<Tensor>& inputs);
  // A compiled graph for these input shapes, for this caller alone while the lease lives (an idle
  // cached one, else a new one compiled outside the session's lock).
  Lease checkout(ir::GraphModule& graph_module, const std::vector<ir::TensorMeta>& inputs);

  std::optional<ir::Value> forward(ir::GraphModule& graph_module,
                                   const std::vector<Tensor>& inputs) override;
  void invalidate() override;

  const InferenceOptions& options() const { return options_; }
  // Shapes cached.
  size_t compiled_count() const;

 private:
  bool graph_unchanged(const ir::Graph& graph) const;
  void evict_all();

  InferenceOptions options_;
  mutable std::mutex mutex_;
  // Least recently used first.
  std::vector<std::shared_ptr<ShapeEntry>> entries_;
  // The graph the compiled graphs were built from, and its version then.
  const ir::Graph* graph_ = nullptr;
  uint64_t graph_version_ = 0;
};

// Installs an InferenceSession with `options` as graph_module's forward backend; returns it.
std::shared_ptr<InferenceSession> enable(ir::GraphModule& graph_module,
                                         const InferenceOptions& options = {});
// Removes graph_module's forward backend: forward() interprets again.
void disable(ir::GraphModule& graph_module);
// The process-wide default: every GraphModule constructed afterwards (ir::load, ir::trace, ...)
// starts with its own session with `options` (the default at start-up: InferenceOptions{}), or,
// after disable_by_default(), with none (forward() interprets).
void enable_by_default(const InferenceOptions& options = {});
void disable_by_default();
// The session a GraphModule constructed now starts with: a new one, or nullptr when disabled.
std::shared_ptr<InferenceSession> default_session();

}  // namespace pare::inference
