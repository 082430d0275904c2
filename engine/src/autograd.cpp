// The backward engine: a reverse topological walk over GradNodes from the roots.
#include "pare/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "pare/creation.h"
#include "pare/elementwise.h"
#include "pare/reduction.h"

namespace pare {

namespace {
thread_local bool grad_mode = true;

// A leaf's grad() is owned by the user (optimisers zero it in place), so the first gradient is
// copied rather than aliased, and later ones are added in place.
void accumulate_into_leaf(Tensor& slot, const Tensor& gradient) {
  if (!gradient.defined()) return;
  if (!slot.defined()) {
    slot = gradient.detach().clone();
  } else {
    slot.add_(gradient);
  }
}

// Gradients flowing between nodes may alias each other (add's backward hands the same tensor to
// both inputs), so they are summed out of place and never copied needlessly.
void accumulate_pending(Tensor& slot, const Tensor& gradient) {
  if (!gradient.defined()) return;
  slot = slot.defined() ? add(slot, gradient) : gradient;
}
}  // namespace

bool grad_mode_enabled() { return grad_mode; }

NoGradGuard::NoGradGuard() : previous_(grad_mode) { grad_mode = false; }
NoGradGuard::~NoGradGuard() { grad_mode = previous_; }
EnableGradGuard::EnableGradGuard() : previous_(grad_mode) { grad_mode = true; }
EnableGradGuard::~EnableGradGuard() { grad_mode = previous_; }

namespace autograd {

GradNode::~GradNode() {
  std::vector<std::shared_ptr<GradNode>> orphans;
  auto adopt_orphans = [&orphans](std::vector<Tensor>& inputs) {
    for (Tensor& input : inputs) {
      // Only a node that this input alone keeps alive is detached here; shared ones live on.
      if (!input.defined() || input.impl_ptr().use_count() != 1) continue;
      std::shared_ptr<GradNode>& child = input.impl()->grad_fn;
      if (child && child.use_count() == 1) orphans.push_back(std::move(child));
    }
    inputs.clear();
  };
  adopt_orphans(inputs);
  while (!orphans.empty()) {
    std::shared_ptr<GradNode> node = std::move(orphans.back());
    orphans.pop_back();
    adopt_orphans(node->inputs);
  }
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!grad_mode) return false;
  for (const Tensor& input : inputs)
    if (input.defined() && input.requires_grad()) return true;
  return false;
}

void record(const std::string& name, const std::vector<Tensor>& inputs,
            const std::vector<Tensor>& outputs, BackwardFunction backward) {
  if (!needs_grad(inputs)) return;
  auto node = std::make_shared<GradNode>();
  node->name = name;
  node->inputs.reserve(inputs.size());
  for (const Tensor& input : inputs) {
    // Inputs that need no gradient are dropped so the node keeps only history it needs.
    node->inputs.push_back(input.defined() && input.requires_grad() ? input : Tensor());
  }
  node->backward = std::move(backward);
  for (size_t i = 0; i < outputs.size(); ++i) {
    node->output_shapes.push_back(outputs[i].sizes());
    TensorImpl* impl = outputs[i].impl();
    if (outputs[i].dtype() != DType::f32) continue;  // integer outputs (indices) carry no grad
    impl->grad_fn = node;
    impl->output_index = static_cast<int>(i);
  }
}

Tensor reduce_to_shape(const Tensor& gradient, const Shape& shape) {
  if (gradient.sizes() == shape) return gradient;
  const int64_t lead = gradient.dim() - static_cast<int64_t>(shape.size());
  PARE_CHECK(lead >= 0, "reduce_to_shape: gradient of shape ", gradient.sizes(),
             " cannot be reduced to ", shape);
  Shape dims;
  for (int64_t i = 0; i < gradient.dim(); ++i) {
    if (i < lead || (shape[i - lead] == 1 && gradient.size(i) != 1)) dims.push_back(i);
  }
  Tensor reduced = dims.empty() ? gradient : sum(gradient, dims, /*keepdim=*/true);
  return reduced.reshape(shape);
}

void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& root_gradients,
                  bool retain_graph) {
  PARE_CHECK(roots.size() == root_gradients.size(), "backward: got ", roots.size(), " roots but ",
             root_gradients.size(), " gradients");
  // Gradients waiting at each node, one slot per output.
  std::unordered_map<GradNode*, std::vector<Tensor>> pending;
  std::vector<GradNode*> order;  // topological: a node before the nodes it depends on
  std::unordered_map<GradNode*, std::shared_ptr<GradNode>> owners;

  NoGradGuard no_grad;
  for (size_t r = 0; r < roots.size(); ++r) {
    const Tensor& root = roots[r];
    PARE_CHECK(root.defined(), "backward: the tensor is undefined");
    PARE_CHECK(root.requires_grad(), "backward: tensor of shape ", root.sizes(),
               " does not require grad and has no grad_fn");
    Tensor seed = root_gradients[r];
    if (!seed.defined()) {
      PARE_CHECK(root.numel() == 1, "backward: a gradient must be given for a non-scalar ",
                 "output of shape ", root.sizes());
      seed = ones(root.sizes());
    }
    PARE_CHECK(seed.sizes() == root.sizes(), "backward: gradient of shape ", seed.sizes(),
               " does not match the output shape ", root.sizes());
    if (root.is_leaf()) {
      accumulate_into_leaf(root.mutable_grad(), seed);
      continue;
    }
    const auto& node = root.grad_fn();
    auto& slots = pending[node.get()];
    slots.resize(node->output_shapes.size());
    accumulate_pending(slots[root.impl()->output_index], seed);
    owners[node.get()] = node;
  }

  // Depth-first post-order from every root node, reversed, is a valid topological order.
  std::unordered_set<GradNode*> visited;
  std::vector<std::pair<GradNode*, size_t>> stack;
  std::vector<GradNode*> post_order;
  for (auto& [node, unused] : owners) {
    if (visited.count(node)) continue;
    visited.insert(node);
    stack.push_back({node, 0});
    while (!stack.empty()) {
      auto& [current, next_input] = stack.back();
      if (next_input < current->inputs.size()) {
        const Tensor& input = current->inputs[next_input++];
        if (!input.defined() || input.is_leaf()) continue;
        GradNode* child = input.grad_fn().get();
        owners[child] = input.grad_fn();
        if (visited.insert(child).second) stack.push_back({child, 0});
      } else {
        post_order.push_back(current);
        stack.pop_back();
      }
    }
  }
  order.assign(post_order.rbegin(), post_order.rend());

  for (GradNode* node : order) {
    PARE_CHECK(!node->released, "backward: trying to backward through the graph a second time ",
               "(through '", node->name, "'); pass retain_graph=true to the first backward");
    auto found = pending.find(node);
    if (found == pending.end()) continue;  // no gradient flows into this node
    std::vector<Tensor> grad_outputs = std::move(found->second);
    pending.erase(found);
    grad_outputs.resize(node->output_shapes.size());
    std::vector<Tensor> grad_inputs = node->backward(grad_outputs);
    PARE_CHECK(grad_inputs.size() == node->inputs.size(), "backward of '", node->name,
               "' returned ", grad_inputs.size(), " gradients for ", node->inputs.size(),
               " inputs");
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      const Tensor& input = node->inputs[i];
      if (!input.defined() || !grad_inputs[i].defined()) continue;
      PARE_CHECK(grad_inputs[i].sizes() == input.sizes(), "backward of '", node->name,
                 "': gradient of shape ", grad_inputs[i].sizes(), " for input ", i, " of shape ",
                 input.sizes());
      if (input.is_leaf()) {
        accumulate_into_leaf(input.mutable_grad(), grad_inputs[i]);
      } else {
        GradNode* child = input.grad_fn().get();
        auto& slots = pending[child];
        slots.resize(child->output_shapes.size());
        accumulate_pending(slots[input.impl()->output_index], grad_inputs[i]);
      }
    }
    if (!retain_graph) {
      node->released = true;
      node->inputs.clear();
      node->backward = nullptr;
    }
  }
}

}  // namespace autograd
}  // namespace pare
