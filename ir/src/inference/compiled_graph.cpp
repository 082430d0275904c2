// The inference compiler's driver. It takes every node's shape, dtype and tuple structure from
// shape inference (ir::infer_symbols), so that compiling runs nothing of the model, walks the
// graph once in order and hands each node to the first lowering (lowerings.h) that takes it:
//   - Conv2d [-> BatchNorm2d] [-> add(., shortcut)] [-> activation]: one PreparedConv2d (BN
//     folded, residual add and activation fused as post-ops)
//   - Linear [-> activation]: one PreparedLinear
//   - max / avg / adaptive pools oneDNN computes exactly: PreparedPool2d
//   - LSTM: PreparedLstm; getitem of its tuple is free
//   - activations that did not fuse: one elementwise pass
//   - flatten / reshape / view / dropout (eval) / identity of a contiguous value: free aliases
//   - anything else: GraphModule::run_node, as the interpreter would run it
// A value whose every reader accepts oneDNN's blocked layout (convolutions, pools) stays blocked;
// a LayoutReorder step converts it for any other reader. Arena buffers get their offsets from
// plan_memory over the steps' reads and writes.
#include "pare/inference/compiled_graph.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <sstream>

#include "compiler_state.h"
#include "lowerings.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/error.h"
#include "pare/inference/memory_plan.h"
#include "pare/ir/shape_inference.h"
#include "thread_tuner.h"

namespace pare::inference {

using detail::kNone;
using detail::Slot;
using detail::Step;
using detail::ValueTree;
using detail::WatchedTensor;

namespace {

// A zero of every tensor in `symbol`, with its tuple structure: the arguments of a node shape
// inference cannot type, run once to learn what it returns.
ir::Value zeros_like(const ir::Symbol& symbol) {
  if (symbol.is_tensor()) return ir::Value(zeros(symbol.meta.shape, symbol.meta.dtype));
  if (!symbol.is_tuple()) return ir::Value();
  std::vector<ir::Value> items;
  for (const ir::Symbol& item : symbol.items) items.push_back(zeros_like(item));
  return ir::Value(std::move(items));
}

ir::Symbol symbol_of(const ir::Value& value) {
  if (value.is_tensor()) {
    const Tensor& tensor = value.tensor();
    return tensor.defined() ? ir::Symbol::of(tensor.sizes(), tensor.dtype())
                            : ir::Symbol::of(Shape{});
  }
  std::vector<ir::Symbol> items;
  for (const ir::Value& item : value.items()) items.push_back(symbol_of(item));
  return ir::Symbol::tuple(std::move(items));
}

}  // namespace

struct CompiledGraph::Impl : detail::CompilerState {
  int threads = 1;
  ThreadChooser chooser;
  std::mutex mutex;
  // Every parameter and buffer of the whole model (storage identity) and which modules carry
  // hooks, when compiled: nodes the interpreter runs (a masked layer) and the shapes flowing
  // between steps depend on them too, so any change means compiling again.
  std::vector<std::pair<const TensorImpl*, const void*>> model_tensors;
  std::vector<bool> module_hooks;
  // nn::Module::structure_version() when the fingerprint above was last confirmed: while it has
  // not moved, nothing in any model was swapped and the check costs one load. Atomic: callers
  // may ask weights_unchanged() from several threads.
  std::atomic<uint64_t> confirmed_version{0};

  Impl(ir::GraphModule& source, const std::vector<ir::TensorMeta>& inputs,
       const InferenceOptions& opts, ThreadChooser thread_chooser)
      : CompilerState(source, inputs, opts),
        threads(omp_get_max_threads()),
        chooser(std::move(thread_chooser)) {}

  // Shapes, dtypes and tuple structure of every node, from shape inference. A node it cannot
  // type (a user's registered module type has no shape rule; or the inputs are wrong for it) runs
  // once on zeros of its inputs' shapes: that either types it or reports the interpreter's own
  // error, as running the graph would.
  void infer_node_symbols() {
    const size_t placeholders = graph_module.graph().placeholders().size();
    PARE_CHECK(placeholders <= input_meta.size(), "CompiledGraph: the graph has more than ",
               input_meta.size(), " placeholder(s)");
    PARE_CHECK(placeholders == input_meta.size(), "CompiledGraph: expected ", placeholders,
               " input(s) (one per placeholder), got ", input_meta.size());
    symbols =
        ir::infer_symbols(graph_module, input_meta,
                          [this](const ir::Node& node, const std::vector<ir::Symbol>& arg_symbols) {
                            std::vector<ir::Value> args;
                            for (const ir::Symbol& symbol : arg_symbols)
                              args.push_back(zeros_like(symbol));
                            return symbol_of(graph_module.run_node(node, args));
                          });
  }

  void compile() {
    nodes = graph_module.graph().nodes();
    for (size_t i = 0; i < nodes.size(); ++i) index_of[nodes[i]] = i;
    trees.resize(nodes.size());
    infer_node_symbols();
    for (ir::Node* node : nodes) {
      if (absorbed.count(node)) continue;
      try {
        compile_node(*node);
      } catch (const std::exception& error) {
        throw Error(str_cat("CompiledGraph: node ", detail::node_label(*node), ": ", error.what()));
      }
    }
    place_buffers();
    detail::tune_thread_counts(*this, chooser);
    chooser = nullptr;
    symbols.clear();
  }

  void compile_node(const ir::Node& node) {
    switch (node.op()) {
      case ir::OpKind::placeholder: {
        const ir::TensorMeta& meta = input_meta[input_slots.size()];
        const int slot = external_slot(meta.shape, meta.dtype);
        input_slots.push_back(slot);
        tree(&node) = {slot, {}};
        return;
      }
      case ir::OpKind::output:
        output = node.args().empty() ? ValueTree{} : output_tree(node.args()[0]);
        return;
      default:
        break;
    }
    using namespace detail;  // the lowerings, in the order they are tried
    if (lower_conv2d(*this, node) || lower_linear(*this, node) || lower_lstm(*this, node) ||
        lower_pool2d(*this, node) || lower_getitem(*this, node) || lower_alias(*this, node) ||
        lower_activation(*this, node))
      return;
    lower_interpreted(*this, node);
  }

  ValueTree output_tree(const ir::Argument& argument) {
    if (argument.is_node()) return plain_tree(tree(argument.to_node()));
    ValueTree result;
    if (argument.is_list())
      for (const ir::Argument& item : argument.to_list()) result.items.push_back(output_tree(item));
    return result;
  }

  // Liveness over the steps, the memory plan, the arena and the slots' addresses.
  void place_buffers() {
    const size_t end = steps.size();
    std::vector<size_t> last_read(slots.size(), 0);
    std::vector<bool> read(slots.size(), false);
    for (size_t s = 0; s < steps.size(); ++s) {
      for (int slot : steps[s].reads) {
        last_read[slot] = s;
        read[slot] = true;
      }
    }
    std::vector<int> outputs;
    collect_slots(output, outputs);
    for (int slot : outputs) {
      last_read[slot] = end;
      read[slot] = true;
    }
    std::vector<BufferLifetime> lifetimes(buffers.size());
    std::vector<InPlaceUpdate> in_place;
    for (size_t b = 0; b < buffers.size(); ++b) {
      lifetimes[b] = {buffers[b].bytes, buffers[b].first_step, buffers[b].first_step};
      if (buffers[b].accumulates_into != kNone)
        in_place.push_back({b, static_cast<size_t>(buffers[b].accumulates_into)});
    }
    for (size_t slot = 0; slot < slots.size(); ++slot) {
      if (!read[slot]) continue;
      for (int b : slots[slot].may_alias)
        lifetimes[b].last_step = std::max(lifetimes[b].last_step, last_read[slot]);
    }
    const MemoryPlan plan = plan_memory(lifetimes, options.memory_plan, in_place);
    stats.arena_bytes = plan.arena_bytes;
    stats.unshared_bytes = plan.unshared_bytes;
    // A fused residual add updates its shortcut where the plan put both in one place; the step
    // copies the shortcut otherwise (it checks the addresses itself).
    for (const InPlaceUpdate& update : in_place) {
      const bool shared = plan.offsets[update.buffer] == plan.offsets[update.into];
      if (shared) ++stats.in_place_adds;
      steps[buffers[update.buffer].first_step].description +=
          shared ? " [in place]" : " [shortcut copied]";
    }
    // A pare tensor, so that pare's memory statistics (pare bench's peak) count the arena.
    arena = empty({static_cast<int64_t>((plan.arena_bytes + sizeof(float) - 1) / sizeof(float))});
    auto* base = static_cast<std::byte*>(arena.raw_data());
    for (Slot& slot : slots) {
      if (slot.buffer == kNone) continue;
      slot.fixed = base + plan.offsets[slot.buffer];
      if (slot.blocked()) continue;
      auto impl = std::make_shared<TensorImpl>();
      impl->storage = Storage::wrap(slot.fixed, shape_numel(slot.shape) * sizeof(float));
      impl->sizes = slot.shape;
      impl->strides = contiguous_strides(slot.shape);
      slot.tensor = Tensor(impl);
    }
  }

  bool in_arena(const Tensor& tensor) const {
    if (!arena.defined() || !tensor.defined()) return false;
    const auto* begin = static_cast<const std::byte*>(arena.raw_data());
    const auto* data = static_cast<const std::byte*>(tensor.storage().data());
    return data >= begin && data < begin + arena.nbytes();
  }

  ir::Value output_value(const ValueTree& tree) {
    if (tree.is_slot()) {
      const Tensor& tensor = slots[tree.slot].tensor;
      return ir::Value(in_arena(tensor) ? tensor.clone() : tensor);
    }
    std::vector<ir::Value> items;
    for (const ValueTree& item : tree.items) items.push_back(output_value(item));
    return ir::Value(std::move(items));
  }

  ir::Value run(const std::vector<Tensor>& inputs) {
    std::lock_guard<std::mutex> lock(mutex);
    PARE_CHECK(inputs.size() == input_slots.size(), "CompiledGraph::run: expected ",
               input_slots.size(), " input(s), got ", inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      PARE_CHECK(inputs[i].defined() && inputs[i].sizes() == input_meta[i].shape &&
                     inputs[i].dtype() == input_meta[i].dtype,
                 "CompiledGraph::run: input ", i, " must be ", input_meta[i].shape, " ",
                 dtype_name(input_meta[i].dtype), ", got ",
                 inputs[i].defined() ? inputs[i].sizes() : Shape{});
      slots[input_slots[i]].tensor = inputs[i];
    }
    NoGradGuard no_grad;
    for (Step& step : steps) step.run();
    ir::Value result = output_value(output);
    for (Slot& slot : slots)
      if (slot.buffer == kNone && slot.fixed == nullptr) slot.tensor = Tensor();
    return result;
  }
};

namespace {

std::vector<std::pair<const TensorImpl*, const void*>> model_tensors(const nn::Module& root) {
  std::vector<std::pair<const TensorImpl*, const void*>> identities;
  auto add = [&](const Tensor& tensor) {
    identities.emplace_back(tensor.impl(), tensor.defined() ? tensor.raw_data() : nullptr);
  };
  for (const Tensor& tensor : root.parameters()) add(tensor);
  for (const Tensor& tensor : root.buffers()) add(tensor);
  return identities;
}

std::vector<bool> module_hooks(nn::Module& root) {
  std::vector<bool> hooks;
  for (const std::shared_ptr<nn::Module>& module : root.modules())
    hooks.push_back(module->has_hooks());
  return hooks;
}

}  // namespace

CompiledGraph::CompiledGraph(ir::GraphModule& graph_module,
                             const std::vector<ir::TensorMeta>& inputs,
                             const InferenceOptions& options, ThreadChooser chooser)
    : impl_(std::make_unique<Impl>(graph_module, inputs, options, std::move(chooser))) {
  PARE_CHECK(!graph_module.root().is_training(),
             "CompiledGraph: the GraphModule is in training mode; call eval() first");
  NoGradGuard no_grad;
  impl_->compile();
  impl_->confirmed_version = nn::Module::structure_version();
  impl_->model_tensors = model_tensors(graph_module.root());
  impl_->module_hooks = module_hooks(graph_module.root());
}

CompiledGraph::~CompiledGraph() = default;

ir::Value CompiledGraph::run(const std::vector<Tensor>& inputs) { return impl_->run(inputs); }

const std::vector<ir::TensorMeta>& CompiledGraph::input_meta() const { return impl_->input_meta; }

bool CompiledGraph::matches(const std::vector<ir::TensorMeta>& inputs) const {
  return impl_->input_meta == inputs && impl_->threads == omp_get_max_threads();
}

const InferenceOptions& CompiledGraph::options() const { return impl_->options; }
const CompileStats& CompiledGraph::stats() const { return impl_->stats; }

bool CompiledGraph::weights_unchanged() const {
  const uint64_t version = nn::Module::structure_version();
  if (version == impl_->confirmed_version.load(std::memory_order_relaxed)) return true;
  nn::Module& root = impl_->graph_module.root();
  if (model_tensors(root) != impl_->model_tensors || module_hooks(root) != impl_->module_hooks)
    return false;
  for (const WatchedTensor& watched : impl_->watched) {
    const nn::Module& owner = *watched.owner;
    const Tensor now = owner.has_parameter(watched.name) ? owner.get_parameter(watched.name)
                                                         : owner.get_buffer(watched.name);
    if (now.impl() != watched.impl || (now.defined() ? now.raw_data() : nullptr) != watched.data)
      return false;
  }
  // Another model changed, not this one.
  impl_->confirmed_version.store(version, std::memory_order_relaxed);
  return true;
}

std::string CompiledGraph::describe() const {
  std::ostringstream text;
  for (size_t s = 0; s < impl_->steps.size(); ++s) {
    const Step& step = impl_->steps[s];
    text << s << ": " << step.description << " [" << step.threads
         << (step.threads == 1 ? " thread]\n" : " threads]\n");
  }
  const CompileStats& stats = impl_->stats;
  text << "arena " << stats.arena_bytes << " bytes (" << stats.unshared_bytes
       << " without reuse)\n";
  return text.str();
}

}  // namespace pare::inference
