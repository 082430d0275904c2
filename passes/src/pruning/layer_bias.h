// The bias of a Linear or Conv2d as the pruning passes move it: the structured prepare parks it in
// `_bias` behind a BiasHook, and the folds (the chain pass, the masked group flow) add to it the
// constant that removed input channels used to contribute, giving a layer a bias it did not have.
// One place for those moves, so that a module's `bias` option always says whether it has one.
#pragma once

#include <string>
#include <vector>

#include "pare/nn/module.h"
#include "pare/tensor.h"

namespace pare::pruning {

// Linear and Conv2d: the layers whose bias the structured prepare moves behind a BiasHook.
bool moves_bias(const nn::Module& module);
void set_bias_option(nn::Module& module, bool has_bias);
// A parameter slot that exists and holds a tensor (a layer without bias keeps an undefined one).
bool has_defined_parameter(const nn::Module& module, const std::string& name);

// What a Linear or a Conv2d with groups = 1 adds to its output channels when input channel p holds
// the constant constants[p] at every position (and every other channel is 0): W summed over the
// kernel taps times the constants, shape [out]. For a conv this is exact only where every tap
// reads the constant (no padding).
Tensor constant_input_response(const nn::Module& consumer, const std::vector<float>& constants);

// Adds `delta` ([out]) to the consumer's bias: the side slot when it is masked itself, else `bias`,
// which it gains if it had none.
void add_to_bias(nn::Module& consumer, const Tensor& delta);

}  // namespace pare::pruning
