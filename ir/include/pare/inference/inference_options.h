// Switches of the inference path (compiled_graph.h): each optimisation can be turned off alone,
// to measure what it brings or to rule it out when chasing a difference. With all of them off the
// compiled graph still runs every node through pare's ordinary kernels, minus the interpreter's
// per-call bookkeeping.
//
//   pare::inference::InferenceOptions options;
//   options.blocked_layout = false;                 // every tensor plain NCHW between ops
//   pare::inference::enable(graph_module, options);
#pragma once

namespace pare::inference {

struct InferenceOptions {
  // Conv2d -> BatchNorm2d (evaluation mode, running statistics) becomes one Conv2d whose weight
  // and bias absorb the normalisation.
  bool fold_batchnorm = true;
  // Conv2d / Linear -> activation becomes one oneDNN primitive with the activation as a post-op
  // (for the activations oneDNN computes exactly: fused_activation.h); the bias is always fused.
  bool fuse_activations = true;
  // A residual add, Conv2d [-> BatchNorm2d] -> add(., shortcut) [-> activation], becomes one
  // primitive: oneDNN's sum post-op accumulates the convolution into the shortcut's buffer
  // (in place when nothing reads the shortcut afterwards, else into a copy of it).
  bool fuse_residual_add = true;
  // Conv2d / Linear / LSTM weights are reordered once into the layout the primitive prefers.
  // Off: they run through pare's ordinary kernels (which convert the weights on every call), and
  // with it fusion and blocked layouts, which need the prepared primitives.
  bool prepack_weights = true;
  // Activations stay in oneDNN's blocked layout between consecutive convolutions and pools: one
  // reorder into the chain, one out of it.
  bool blocked_layout = true;
  // Intermediate buffers share one arena, a buffer being reused once its last reader has run.
  // Off: every intermediate value keeps its own region of the arena.
  bool memory_plan = true;
  // The LSTM runs on a prepared oneDNN RNN primitive (weights reordered, biases summed once).
  bool rnn_primitive = true;
  // 3x3 stride-1 convolutions of 32 or more input and output channels (at batch 1, 16 or more
  // input channels once the graph is in Winograd's layout) run oneDNN's Winograd algorithm where it
  // has one (AVX-512): about half the multiplications, rounded differently from the direct kernel
  // (both within a few 1e-6 of the largest output). Every conv of such a graph then reads and
  // writes Winograd's blocked layout (needs prepack_weights and blocked_layout). Off: the direct
  // kernels only, in the layouts oneDNN prefers for them.
  bool winograd = true;
  // Each prepared primitive (conv, linear, pool, LSTM) runs at the OpenMP thread count that was
  // fastest for it when compiled (1, 2, 4, ... up to the session's count, each timed on the
  // compiled arena; thread_tuning.h): more threads are not always faster (oneDNN 2.6's LSTM at
  // batch 1 takes almost twice as long on 2 threads as on 1), so a model is then never slower with
  // more threads than with fewer. Costs a few builds and timed runs per primitive at compile time
  // when the session has more than one thread. Off: every primitive at the session's count.
  bool thread_tuning = true;

  bool operator==(const InferenceOptions&) const = default;
};

}  // namespace pare::inference
