// Internal: an empty batch (N = 0) through the kernels' parameter checks, which require a
// positive batch. The ops run no kernel on an empty batch, so the checks that matter are the
// per-sample ones: a batch of 0 is checked as a batch of 1.
//
//   validate_per_sample(params);   // instead of params.validate()
#pragma once

namespace pare::detail {

template <typename KernelParams>
void validate_per_sample(KernelParams params) {
  if (params.batch == 0) params.batch = 1;
  params.validate();
}

}  // namespace pare::detail
