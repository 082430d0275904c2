#include "pare/inference/inference_session.h"

#include <omp.h>

#include <algorithm>
#include <optional>

#include "pare/autograd.h"
#include "pare/error.h"
#include "pare/reduction.h"

namespace pare::inference {

// One cached input shape: the compiled graphs for it that no caller holds. `mutex` guards `idle`
// and `cached`; it is taken alone (a Lease returning its graph) or inside the session's mutex,
// never the other way round.
struct InferenceSession::ShapeEntry {
  ShapeEntry(std::vector<ir::TensorMeta> shapes, int thread_count)
      : inputs(std::move(shapes)), threads(thread_count) {
    // Returning a graph then never allocates, so a Lease's destructor cannot throw.
    idle.reserve(kMaxInstancesPerShape);
  }

  const std::vector<ir::TensorMeta> inputs;
  // oneDNN's kernels keep the OpenMP thread count they were created for, and that count is per
  // thread (omp_set_num_threads): it is part of the key.
  const int threads;
  std::mutex mutex;
  std::vector<std::shared_ptr<CompiledGraph>> idle;
  // False once the session evicted this shape: graphs handed back are dropped.
  bool cached = true;
};

namespace {

void retire(InferenceSession::ShapeEntry& entry) {
  std::lock_guard<std::mutex> lock(entry.mutex);
  entry.cached = false;
  entry.idle.clear();
}

}  // namespace

InferenceSession::Lease::Lease(std::shared_ptr<ShapeEntry> entry,
                               std::shared_ptr<CompiledGraph> graph)
    : entry_(std::move(entry)), graph_(std::move(graph)) {}

InferenceSession::Lease::~Lease() {
  if (!entry_ || !graph_) return;  // moved from
  std::lock_guard<std::mutex> lock(entry_->mutex);
  // Beyond the bound (more callers ran this shape at once than are worth keeping graphs for) or
  // after eviction, the graph is freed with the lease, outside the lock.
  if (entry_->cached && entry_->idle.size() < kMaxInstancesPerShape)
    entry_->idle.push_back(std::move(graph_));
}

bool InferenceSession::graph_unchanged(const ir::Graph& graph) const {
  return graph_ == &graph && graph_version_ == graph.version();
}

void InferenceSession::evict_all() {
  for (const std::shared_ptr<ShapeEntry>& entry : entries_) retire(*entry);
  entries_.clear();
}

InferenceSession::Lease InferenceSession::checkout(ir::GraphModule& graph_module,
                                                   const std::vector<ir::TensorMeta>& inputs) {
  const int threads = omp_get_max_threads();
  auto matches = [&](const std::shared_ptr<ShapeEntry>& candidate) {
    return candidate->threads == threads && candidate->inputs == inputs;
  };
  std::shared_ptr<ShapeEntry> entry;
  std::shared_ptr<CompiledGraph> graph;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!graph_unchanged(graph_module.graph())) {
      evict_all();
      graph_ = &graph_module.graph();
      graph_version_ = graph_module.graph().version();
    }
    auto found = std::find_if(entries_.begin(), entries_.end(), matches);
    if (found != entries_.end()) {
      std::rotate(found, found + 1, entries_.end());  // now the most recently used
      entry = entries_.back();
      std::lock_guard<std::mutex> entry_lock(entry->mutex);
      if (!entry->idle.empty()) {
        graph = std::move(entry->idle.back());
        entry->idle.pop_back();
      }
    }
  }
  // The graph is this caller's alone from here, so neither the check (which updates the graph's
  // record of what it confirmed) nor compiling needs the session's lock: other callers go on.
  if (graph != nullptr && !graph->weights_unchanged()) graph.reset();
  // Inputs the graph cannot take throw here, before the cache is touched: they evict nothing.
  if (graph == nullptr) graph = std::make_shared<CompiledGraph>(graph_module, inputs, options_);
  if (entry == nullptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    // Another caller may have cached this shape while this one compiled.
    auto found = std::find_if(entries_.begin(), entries_.end(), matches);
    if (found != entries_.end()) {
      std::rotate(found, found + 1, entries_.end());
    } else {
      // A model fed ever new shapes would otherwise keep every compiled graph (and arena).
      if (entries_.size() >= kMaxCompiledShapes) {
        retire(*entries_.front());
        entries_.erase(entries_.begin());
      }
      entries_.push_back(std::make_shared<ShapeEntry>(inputs, threads));
    }
    entry = entries_.back();
  }
  return Lease(std::move(entry), std::move(graph));
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
  // Held until run() returns: the compiled graph and its arena are this call's alone.
  const Lease lease = checkout(graph_module, metas);
  return lease->run(inputs);
}

std::optional<ir::Value> InferenceSession::forward(ir::GraphModule& graph_module,
                                                   const std::vector<Tensor>& inputs) {
  for (const Tensor& input : inputs) {
    // Undefined or non-CPU inputs: the interpreter reports or handles them.
    if (!input.defined() || input.device() != kCPU) return std::nullopt;
    // A fused relu or clip turns NaN into a number (fused_activation_keeps_nan); the interpreter
    // propagates it as PyTorch does. One pass over the input, cheap beside the layers it feeds.
    if (!all_finite(input)) return std::nullopt;
  }
  return run(graph_module, inputs);
}

void InferenceSession::invalidate() {
  std::lock_guard<std::mutex> lock(mutex_);
  evict_all();
  graph_ = nullptr;
}

size_t InferenceSession::compiled_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

std::shared_ptr<InferenceSession> enable(ir::GraphModule& graph_module,
                                         const InferenceOptions& options) {
  auto session = std::make_shared<InferenceSession>(options);
  graph_module.set_forward_backend(session);
  return session;
}

void disable(ir::GraphModule& graph_module) { graph_module.set_forward_backend(nullptr); }

namespace {

// The process-wide default of enable_by_default / disable_by_default: on, with default options.
struct DefaultSessions {
  std::mutex mutex;
  std::optional<InferenceOptions> options = InferenceOptions{};
};

DefaultSessions& default_sessions() {
  static DefaultSessions defaults;
  return defaults;
}

}  // namespace

void enable_by_default(const InferenceOptions& options) {
  std::lock_guard<std::mutex> lock(default_sessions().mutex);
  default_sessions().options = options;
}

void disable_by_default() {
  std::lock_guard<std::mutex> lock(default_sessions().mutex);
  default_sessions().options.reset();
}

std::shared_ptr<InferenceSession> default_session() {
  std::lock_guard<std::mutex> lock(default_sessions().mutex);
  const std::optional<InferenceOptions>& options = default_sessions().options;
  return options ? std::make_shared<InferenceSession>(*options) : nullptr;
}

}  // namespace pare::inference
