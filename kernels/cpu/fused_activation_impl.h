// Internal to kernels/cpu: the oneDNN post-op chain of a fusable activation.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <optional>

#include "pare/kernels/fused_activation.h"

namespace pare::kernels::cpu {

// An attribute with a user-managed scratchpad and, when `activation` is set, its post-ops;
// `accumulate` puts oneDNN's sum post-op (dst = result + dst) first, before the activation.
// Throws pare::Error when the activation cannot be fused (check can_fuse_activation first).
dnnl::primitive_attr fused_attr(const std::optional<ActivationParams>& activation,
                                bool accumulate = false);

}  // namespace pare::kernels::cpu
