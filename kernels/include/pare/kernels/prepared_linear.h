// A fully connected layer prepared once for inference (oneDNN inner product): the weight in the
// layout the primitive prefers, the bias and an optional activation fused (post-ops). src and dst
// are plain row-major; no allocation happens in run().
//
//   pare::kernels::LinearParams params{/*rows=*/32, /*in_features=*/784, /*out_features=*/512};
//   pare::kernels::cpu::PreparedLinear fc(params, weight, bias,
//       pare::kernels::default_activation_params(pare::kernels::Activation::relu));
//   fc.run(x, y);                                // x [32, 784] -> y [32, 512]
#pragma once

#include <memory>
#include <optional>

#include "pare/kernels/activation.h"
#include "pare/kernels/linear.h"

namespace pare::kernels::cpu {

// Contract: requires params.validate(); weight [out, in] and bias [out] (may be null) are copied;
// the activation must pass can_fuse_activation. run() is not re-entrant.
class PreparedLinear {
 public:
  PreparedLinear(const LinearParams& params, const float* weight, const float* bias,
                 const std::optional<ActivationParams>& activation = std::nullopt);
  ~PreparedLinear();
  PreparedLinear(PreparedLinear&&) noexcept;
  PreparedLinear& operator=(PreparedLinear&&) noexcept;

  void run(const float* src, float* dst);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace pare::kernels::cpu
