// Define-by-run autograd: every differentiable op that sees an input needing a gradient attaches
// a GradNode (its inputs and a backward closure) to its outputs; Tensor::backward() walks the
// nodes in reverse topological order and accumulates into the leaves' grad().
//
//   {
//     pare::NoGradGuard no_grad;        // e.g. inside an optimiser step or evaluation
//     w.add_(w.grad(), -0.1);
//   }
//   // An op author records history like this (see engine/src for many examples):
//   Tensor y = ...;                     // computed from x without autograd
//   autograd::record("my_op", {x}, {y}, [](const std::vector<Tensor>& grad_outputs) {
//     return std::vector<Tensor>{grad_outputs[0] * 2.0};   // d(my_op)/dx applied to dy
//   });
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pare/tensor.h"

namespace pare {

// Whether ops record history on this thread (true by default).
bool grad_mode_enabled();

// Disables history recording for its scope (like torch::NoGradGuard).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Re-enables history recording inside a NoGradGuard scope.
class EnableGradGuard {
 public:
  EnableGradGuard();
  ~EnableGradGuard();
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

namespace autograd {

// Maps the gradients of a node's outputs (an undefined Tensor where an output got none; treat it
// as zeros) to the gradients of its inputs (undefined where an input needs none). Each returned
// gradient must have its input's shape.
using BackwardFunction = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

// One recorded op. Holds its inputs (keeping their history alive) until it has run backward
// without retain_graph.
struct GradNode {
  std::string name;
  std::vector<Tensor> inputs;
  std::vector<Shape> output_shapes;
  BackwardFunction backward;
  bool released = false;
  // Frees long chains iteratively: a recursive teardown of a 100k-op history would overflow the
  // stack.
  ~GradNode();
};

// True when grad mode is on and any of `inputs` requires a gradient.
bool needs_grad(const std::vector<Tensor>& inputs);

// Attaches a GradNode to `outputs` when needs_grad(inputs); a no-op otherwise. The closure must
// not capture the outputs themselves by handle (that would form a cycle): capture
// output.detach() instead.
void record(const std::string& name, const std::vector<Tensor>& inputs,
            const std::vector<Tensor>& outputs, BackwardFunction backward);

// Runs backward from `roots` seeded with `root_gradients` (same count; undefined = ones for a
// one-element root).
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& root_gradients,
                  bool retain_graph);

// Sums `gradient` down to `shape`: undoes broadcasting for ops that broadcast their inputs.
Tensor reduce_to_shape(const Tensor& gradient, const Shape& shape);

}  // namespace autograd
}  // namespace pare
