// Internal: picks the kernels/ref or kernels/cpu twin of a kernel at run time, so every engine op
// can be checked against the naive oracle by flipping set_reference_kernels(true).
//
//   PARE_KERNEL(conv2d_forward)(params, src, weight, bias, dst);
#pragma once

#include "pare/functional.h"

#define PARE_KERNEL(name) \
  (::pare::reference_kernels_enabled() ? &::pare::kernels::ref::name : &::pare::kernels::cpu::name)
