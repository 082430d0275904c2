// GraphModule: a Graph plus the modules it calls; forward() interprets the graph node by node.
// It is what the tracer and the pruning pass return and what a .pare file loads into. It shares
// its modules with the model it was traced from, so a pass that resizes a module changes both.
//
//   pare::ir::GraphModule gm = pare::ir::trace(net, {pare::randn({1, 1, 28, 28})});
//   pare::Tensor y = gm.forward({x});            // one tensor output converts implicitly
//   pare::ir::Value all = gm.forward({x});       // or inspect a tuple: all.items()[1].tensor()
//
// Threads. Safe: forward() and interpret() called from several threads at once on one
// GraphModule (or on copies of it, which share its modules), with the model in evaluation mode
// and grad mode off in each calling thread (NoGradGuard is per thread), each thread with its own
// input tensors; likewise separate GraphModules in separate threads. The interpreter keeps no
// per-call state in the GraphModule (its execution plan is immutable and shared under a lock),
// and the compiled inference path (pare/inference/) gives every concurrent call its own compiled
// graph and arena. Not safe while another thread runs forward() on the same model: train() /
// eval(), forward() in training mode or with grad mode on (it updates BatchNorm statistics and
// invalidates the backend), editing the graph, record_meta(), replacing or writing parameters or
// buffers (load_state_dict, pruning, an optimizer step), adding hooks or parametrizations, and
// set_forward_backend() (pare::inference::enable / disable). Finish those first, then share the
// model. A module's pre/post hooks run in the calling thread and must be thread-safe themselves.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pare/ir/graph.h"
#include "pare/nn/module.h"

namespace pare::ir {

// A runtime value of the interpreter: a tensor, or a tuple of values (LSTM's (h_n, c_n),
// several graph outputs).
class Value {
 public:
  Value() = default;
  Value(Tensor tensor) : tensor_(std::move(tensor)), is_tensor_(true) {}  // NOLINT
  Value(std::vector<Value> items) : items_(std::move(items)) {}           // NOLINT
  bool is_tensor() const { return is_tensor_; }
  // The tensor; a pare::Error when this is a tuple.
  const Tensor& tensor() const;
  const std::vector<Value>& items() const;
  operator Tensor() const { return tensor(); }  // NOLINT: y = gm.forward({x})
  // Every tensor, depth first, with its path ("0", "1.0", ...; "" for a lone tensor).
  std::vector<std::pair<std::string, Tensor>> flatten() const;

 private:
  Tensor tensor_;
  std::vector<Value> items_;
  bool is_tensor_ = false;
};

namespace detail {
struct ExecutionPlanCache;
}

// Every call_function target GraphModule::forward can run (the format's list, the tensor-method
// targets the tracer records, and the elementwise ops), sorted.
const std::vector<std::string>& function_targets();
bool is_function_target(const std::string& target);

class GraphModule;

// Another way to run a GraphModule's forward(): the compiled inference path
// (pare/inference/inference_session.h) is one, and a new GraphModule starts with it. forward()
// hands it the calls made in evaluation mode with grad mode off; it returns std::nullopt to let
// the interpreter run them instead.
class ForwardBackend {
 public:
  virtual ~ForwardBackend() = default;
  virtual std::optional<Value> forward(GraphModule& graph_module,
                                       const std::vector<Tensor>& inputs) = 0;
  // forward() ran in training mode or with grad mode on, so the weights may change: anything the
  // backend derived from them is stale.
  virtual void invalidate() {}
};

class GraphModule {
 public:
  GraphModule(std::shared_ptr<nn::Module> root, std::shared_ptr<Graph> graph);

  Graph& graph() { return *graph_; }
  const Graph& graph() const { return *graph_; }
  nn::Module& root() { return *root_; }
  const std::shared_ptr<nn::Module>& root_ptr() const { return root_; }

  // Runs the graph with one tensor per placeholder (in order). Errors name the node, its op and
  // target, and the shapes of its inputs. Each node's function and kwargs are resolved once and
  // cached; the cache notices any change to the graph's nodes, args, kwargs or targets.
  // In evaluation mode with grad mode off, the forward backend runs the call when one is set: by
  // default the compiled inference path (fused, prepacked kernels, a static memory plan).
  // pare::inference::disable(gm) (or disable_by_default() before constructing) makes forward()
  // interpret always; enable(gm, options) sets other options.
  Value forward(const std::vector<Tensor>& inputs);
  // The plain interpreter, whatever backend is set.
  Value interpret(const std::vector<Tensor>& inputs);
  // Called with each node (placeholders, get_attr and calls) and the value it produced, in
  // execution order, while that value is alive: the interpreter frees every value after its last
  // use, so a pass that needs intermediate values (the masked group flow measuring what removed
  // channels emit) reads them here instead of keeping the whole run.
  using NodeVisitor = std::function<void(const Node& node, const Value& value)>;
  Value interpret(const std::vector<Tensor>& inputs, const NodeVisitor& visit);
  // Sets (or, with nullptr, removes) the backend forward() uses in evaluation mode. Copies of this
  // GraphModule made afterwards share it.
  void set_forward_backend(std::shared_ptr<ForwardBackend> backend) {
    forward_backend_ = std::move(backend);
  }
  const std::shared_ptr<ForwardBackend>& forward_backend() const { return forward_backend_; }
  // Runs one call_module, call_function or get_attr node on `args`, the runtime values of its
  // positional arguments in order (an empty Value where the node's argument is a literal, which
  // the node supplies itself). Passes use it to push probe values through a node.
  Value run_node(const Node& node, const std::vector<Value>& args);
  // The module a call_module target names.
  std::shared_ptr<nn::Module> module(const std::string& qualified_name) const;
  // The tensor a get_attr target names (a parameter or buffer of root, by qualified name).
  Tensor attribute(const std::string& qualified_name) const;
  // Re-runs the graph on `inputs` and records every node's output shapes and dtypes in meta.
  void record_meta(const std::vector<Tensor>& inputs);

  void train(bool on = true) { root_->train(on); }
  void eval() { root_->train(false); }

 private:
  Value run(const std::vector<Tensor>& inputs, bool record, const NodeVisitor* visit = nullptr);

  std::shared_ptr<nn::Module> root_;
  std::shared_ptr<Graph> graph_;
  std::shared_ptr<detail::ExecutionPlanCache> plan_cache_;
  std::shared_ptr<ForwardBackend> forward_backend_;
};

}  // namespace pare::ir
