// SkipInitGuard: build modules without initialising their parameters, for a caller that replaces
// every tensor right after (a model loader), the way PyTorch's torch.nn.utils.skip_init does.
//
//   {
//     pare::nn::SkipInitGuard skip_init;
//     auto layer = pare::nn::Linear(8192, 8192);  // weight allocated, never written
//   }
//   layer->register_parameter("weight", weight_from_file);  // adopt the real values
//
// While a guard lives on this thread, the nn::init fills (uniform_, normal_, constant_ and
// everything built on them: kaiming_*, xavier_*, zeros_, ones_) check their argument and return
// it untouched, so reset_parameters allocates each tensor but writes none of it. A large
// allocation's untouched pages are never faulted in: building an 8192 x 8192 Linear costs address
// space, not resident memory or the seconds its kaiming fill takes. The values are whatever the
// allocator returned: read none of them before replacing the tensor. Guards nest; the previous
// state comes back when a guard ends.
#pragma once

namespace pare::nn {

class SkipInitGuard {
 public:
  SkipInitGuard();
  ~SkipInitGuard();
  SkipInitGuard(const SkipInitGuard&) = delete;
  SkipInitGuard& operator=(const SkipInitGuard&) = delete;

 private:
  bool previous_;
};

// True while a SkipInitGuard lives on this thread.
bool skip_init_enabled();

}  // namespace pare::nn
