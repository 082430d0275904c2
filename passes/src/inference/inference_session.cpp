#include "pare/passes/inference/inference_session.h"

#include "pare/autograd.h"
#include "pare/error.h"

namespace pare::inference {

namespace {
constexpr size_t kMaxCompiledShapes = 8;
}  // namespace

bool InferenceSession::graph_unchanged(const ir::Graph& graph) const {
  return graph_ == &graph && graph_version_ == graph.version();
}

CompiledGraph& InferenceSession::compiled(ir::GraphModule& graph_module,
                                          const std::vector<ir::TensorMeta>& inputs) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!graph_unchanged(graph_module.graph())) {
    compiled_.clear();
    graph_ = &graph_module.graph();
    graph_version_ = graph_module.graph().version();
  }
  for (auto it = compiled_.begin(); it != compiled_.end(); ++it) {
    if (!(*it)->matches(inputs)) continue;
    if ((*it)->weights_unchanged()) return **it;
    compiled_.erase(it);
    break;
  }
  // A model fed ever new shapes would otherwise keep every compiled graph (and arena).
  if (compiled_.size() >= kMaxCompiledShapes) compiled_.erase(compiled_.begin());
  compiled_.push_back(std::make_unique<CompiledGraph>(graph_module, inputs, options_));
  return *compiled_.back();
}

ir::Value InferenceSession::run(ir::GraphModule& graph_module, const std::vector<Tensor>& inputs) {
  PARE_CHECK(!graph_module.root().is_training(),
             "InferenceSession: the GraphModule is in training mode; call eval() first");
  std::vector<ir::TensorMeta> metas;
  metas.reserve(inputs.size());
  for (const Tensor& input : inputs) {
    PARE_CHECK(input.defined(), "InferenceSession: input ", metas.size(), " is undefined");
    metas.push_back({input.sizes(), input.dtype()});
  }
  return compiled(graph_module, metas).run(inputs);
}

std::optional<ir::Value> InferenceSession::forward(ir::GraphModule& graph_module,
                                                   const std::vector<Tensor>& inputs) {
  for (const Tensor& input : inputs) {
    // Undefined or non-CPU inputs: the interpreter reports or handles them.
    if (!input.defined() || input.device() != kCPU) return std::nullopt;
  }
  return run(graph_module, inputs);
}

void InferenceSession::invalidate() {
  std::lock_guard<std::mutex> lock(mutex_);
  compiled_.clear();
  graph_ = nullptr;
}

size_t InferenceSession::compiled_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return compiled_.size();
}

std::shared_ptr<InferenceSession> enable(ir::GraphModule& graph_module,
                                         const InferenceOptions& options) {
  auto session = std::make_shared<InferenceSession>(options);
  graph_module.set_forward_backend(session);
  return session;
}

void disable(ir::GraphModule& graph_module) { graph_module.set_forward_backend(nullptr); }

void enable_by_default(const InferenceOptions& options) {
  ir::GraphModule::set_default_forward_backend(
      [options] { return std::make_shared<InferenceSession>(options); });
}

void disable_by_default() { ir::GraphModule::set_default_forward_backend({}); }

}  // namespace pare::inference
