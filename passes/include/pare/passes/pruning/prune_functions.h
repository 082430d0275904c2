// The prune functions of the default pattern table (docs/pruning.md, "prune functions: the
// math"). Each takes a PatternMatch whose first module carries a FakeStructuredSparsity and
// physically removes the pruned rows: it shrinks the first layer A, slices whatever sits between
// A and the next layer B per channel (a per-channel PReLU), folds the constant the pruned
// channels emit in the masked model into B's bias, and removes B's input columns.
//
//   pare::pruning::PatternTable table = pare::pruning::default_pattern_table();
//   table.add({"linear_identity_linear",
//              {pare::pruning::module_type("Linear"), pare::pruning::module_type("Identity"),
//               pare::pruning::module_type("Linear")},
//              pare::pruning::prune_producer_chain});      // the general rule fits this chain
//
// The general rule, prune_producer_chain, handles any chain A -> ops... -> B where A is a
// Linear or Conv2d, B a Linear, a Conv2d or the output, and every op in between acts on each
// channel independently and keeps channels in order (activations, pools, adaptive pools,
// dropout/identity in eval mode) or flattens [N, C, h, w] channel-major. It finds the constant a
// pruned channel emits by running those ops on a probe (the constant c_p in channel p), so a
// functional activation is folded with its own arguments and a per-channel PReLU with its own
// slope. When B cannot absorb the constant exactly (B has padding, or an average pool with
// padding sits in between, and some constant is not 0), A keeps its shape instead: its pruned
// rows are zeroed and its bias keeps the constants (the padded-consumer rule).
#pragma once

#include "pare/passes/pruning/patterns.h"

namespace pare::pruning {

// (Linear|Conv2d, ops..., Linear|Conv2d|output).
void prune_producer_chain(PatternMatch& match);
// (LSTM, getitem, [LayerNorm,] Linear).
void prune_lstm_chain(PatternMatch& match);

// PyTorch's names, each checking that the match has its pattern's shape.
void prune_linear(PatternMatch& match);                         // (Linear, output)
void prune_linear_linear(PatternMatch& match);                  // (Linear, Linear)
void prune_linear_activation_linear(PatternMatch& match);       // (Linear, act, Linear)
void prune_conv2d(PatternMatch& match);                         // (Conv2d, output)
void prune_conv2d_conv2d(PatternMatch& match);                  // (Conv2d, Conv2d)
void prune_conv2d_activation_conv2d(PatternMatch& match);       // (Conv2d, act, Conv2d)
void prune_conv2d_activation_pool_conv2d(PatternMatch& match);  // (Conv2d, act, pool, Conv2d)
void prune_conv2d_pool_activation_conv2d(PatternMatch& match);  // (Conv2d, pool, act, Conv2d)
// (Conv2d, adaptive pool, flatten, Linear)
void prune_conv2d_pool_flatten_linear(PatternMatch& match);
void prune_lstm_output_linear(PatternMatch& match);            // (LSTM, getitem, Linear)
void prune_lstm_output_layernorm_linear(PatternMatch& match);  // (LSTM, getitem, LayerNorm, Linear)

// pare's additions.
void prune_linear_activation(PatternMatch& match);  // (Linear, act, output)
void prune_conv2d_activation(PatternMatch& match);  // (Conv2d, act, output)
// (Conv2d, act, adaptive pool, flatten, Linear)
void prune_conv2d_activation_pool_flatten_linear(PatternMatch& match);

}  // namespace pare::pruning
