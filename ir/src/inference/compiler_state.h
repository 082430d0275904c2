// Internal to the inference compiler (ir/src/inference): what the inference compiler builds (slots,
// steps, arena buffers) and what it knows while building it (every node's Symbol from shape
// inference, the value tree each node compiled to). The lowerings (lowerings.h) each add steps and
// slots through it; CompiledGraph (compiled_graph.cpp) drives them, places the buffers and runs the
// steps.
#pragma once

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pare/inference/compiled_graph.h"
#include "pare/ir/graph_module.h"
#include "pare/ir/op_definition.h"
#include "pare/kernels/activation.h"
#include "pare/kernels/memory_layout.h"
#include "pare/nn/module.h"
#include "rebuildable_primitive.h"

namespace pare::inference::detail {

constexpr int kNone = -1;

// One runtime tensor of the compiled graph.
struct Slot {
  Shape shape;
  // What an interpreted step must return into it (shape inference's dtype).
  DType dtype = kFloat32;
  kernels::MemoryLayout layout;  // undefined: plain row-major
  int buffer = kNone;  // the arena buffer it lives in; kNone: external (input, interpreted)
  // Arena buffers this slot's memory may lie in: its own, or (interpreted outputs, which may be
  // views) those of the inputs of the node that made it.
  std::vector<int> may_alias;
  // Run time.
  Tensor tensor;  // external: set per call; arena and plain: a wrapper made once
  std::byte* fixed = nullptr;

  bool blocked() const { return layout.defined() && !layout.is_plain(); }
};

// A node's value: one slot, or a tuple of values (the LSTM's (output, (h_n, c_n))).
struct ValueTree {
  int slot = kNone;
  std::vector<ValueTree> items;
  bool is_slot() const { return slot != kNone; }
};

struct Step {
  std::string description;
  std::vector<int> reads;
  std::function<void()> run;
  // Set on a step that runs one prepared oneDNN primitive: thread tuning rebuilds it at other
  // counts (thread_tuner.h).
  std::shared_ptr<RebuildablePrimitive> primitive;
  // The OpenMP thread count the step runs at (0 until thread tuning has set it).
  int threads = 0;
};

struct Buffer {
  size_t bytes = 0;
  size_t first_step = 0;
  // The buffer its writer adds its result to (a fused residual add's shortcut): the memory plan
  // places both in one block when that step reads it last (InPlaceUpdate).
  int accumulates_into = kNone;
};

// A parameter or buffer a step copied, to notice when it is replaced.
struct WatchedTensor {
  std::shared_ptr<nn::Module> owner;
  std::string name;
  const TensorImpl* impl = nullptr;
  const void* data = nullptr;
};

std::string node_label(const ir::Node& node);

// Whether a module runs as its plain forward: no hooks, no parametrized tensors among `names`.
bool unhooked(const nn::Module& module, std::initializer_list<const char*> names);

// `tensor` contiguous, or undefined when it is.
Tensor float_contiguous(const Tensor& tensor);

struct CompilerState {
  CompilerState(ir::GraphModule& source, const std::vector<ir::TensorMeta>& inputs,
                const InferenceOptions& opts);

  ir::GraphModule graph_module;  // a copy without forward backend: runs interpreted nodes
  std::vector<ir::TensorMeta> input_meta;
  InferenceOptions options;
  CompileStats stats;

  // The compiled program.
  std::vector<Slot> slots;
  std::vector<Buffer> buffers;
  std::vector<Step> steps;
  std::vector<int> input_slots;
  ValueTree output;
  std::vector<WatchedTensor> watched;
  Tensor arena;
  std::unordered_map<int, int> plain_copy_of;  // blocked slot -> its plain conversion

  // Compile-time state, in graph order.
  std::vector<ir::Node*> nodes;
  std::unordered_map<const ir::Node*, size_t> index_of;
  std::vector<ir::Symbol> symbols;  // shape inference's, for the compiled input shapes
  std::vector<ValueTree> trees;
  std::unordered_set<const ir::Node*> absorbed;  // fused into an earlier node's step
  std::optional<bool> model_finite;              // model_is_finite(), computed on first use
  std::optional<bool> winograd_in_graph;         // uses_winograd_layout(), on first use

  // ---- Slots and steps ----
  int add_slot(Slot slot);
  // A slot with its own arena buffer, written by the next step.
  int arena_slot(const Shape& shape, const kernels::MemoryLayout& layout = {});
  int alias_slot(int source, const Shape& shape);
  int external_slot(const Shape& shape, DType dtype = kFloat32, std::vector<int> may_alias = {});
  void add_step(std::string description, std::vector<int> reads, std::function<void()> run);
  // `index` in plain layout: itself, or a slot a reorder step fills (made once per slot).
  int plain(int index);
  ValueTree plain_tree(const ValueTree& tree);
  void collect_slots(const ValueTree& tree, std::vector<int>& out) const;
  void watch(const std::shared_ptr<nn::Module>& owner, const std::string& name);

  // ---- Run time ----
  // The address of a slot's first element (external ones made contiguous).
  void* address(int index);
  float* floats(int index) { return static_cast<float*>(address(index)); }

  // ---- Compile-time queries ----
  const ir::Symbol& symbol(const ir::Node* node) const { return symbols[index_of.at(node)]; }
  ValueTree& tree(const ir::Node* node) { return trees[index_of.at(node)]; }
  bool is_float_tensor(const ir::Node* node) const;
  ir::Node* single_user(const ir::Node* node) const;
  ir::Node* first_input(const ir::Node& node) const;
  std::shared_ptr<nn::Module> module_of(const ir::Node& node) const;
  // The node's module as built-in layer `Layer`, or nullptr when its kind() is another (a
  // subclass that computes something else reports custom, and runs interpreted).
  template <typename Layer>
  std::shared_ptr<Layer> layer_of(const ir::Node& node) const {
    return nn::as<Layer>(module_of(node));
  }
  // Whether every parameter and buffer is finite. A NaN weight makes NaN that flows on through
  // every later layer, which a fused relu or clip (fused_activation_keeps_nan) would turn into a
  // number; finite inputs are the session's check.
  bool model_is_finite();
  // Whether every user of `node` reads it through a step that accepts a blocked layout.
  bool all_users_read_blocked(const ir::Node* node) const;
};

}  // namespace pare::inference::detail
