// Internal to kernels/cpu: one oneDNN primitive with everything but its src and dst bound once,
// the common core of the prepared conv, inner product and pooling. The constant arguments
// (weights, bias) are owned here, the scratchpad is the thread's shared one (thread_scratchpad);
// a src or dst whose user layout differs from the primitive's goes through an owned buffer and a
// reorder made once.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <unordered_map>

#include "dnnl_context.h"

namespace pare::kernels::cpu {

class PreparedPrimitive {
 public:
  // `scratchpad` is the primitive descriptor's scratchpad (user mode): the constructing thread's
  // shared scratchpad grows to it here, so that run() on that thread allocates nothing.
  PreparedPrimitive(dnnl::primitive primitive, const dnnl::memory::desc& scratchpad)
      : primitive_(std::move(primitive)), scratchpad_bytes_(scratchpad.get_size()) {
    if (scratchpad_bytes_ == 0) return;
    scratchpad_ = dnnl::memory(scratchpad, cpu_engine(), thread_scratchpad(scratchpad_bytes_));
    args_.emplace(DNNL_ARG_SCRATCHPAD, scratchpad_);
  }

  // Copies `data` (in layout `user`) into an owned buffer in the primitive's layout `wanted`.
  void add_constant(int arg, const dnnl::memory::desc& user, const void* data,
                    const dnnl::memory::desc& wanted) {
    dnnl::memory owned(wanted, cpu_engine());
    dnnl::memory source = wrap(user, data);
    dnnl::reorder(source, owned).execute(cpu_stream(), source, owned);
    cpu_stream().wait();
    args_.emplace(arg, owned);
  }

  void set_src(const dnnl::memory::desc& user, const dnnl::memory::desc& wanted) {
    src_ = Converted(user, wanted, true);
    args_.emplace(DNNL_ARG_SRC, src_.primitive_side);
  }

  void set_dst(const dnnl::memory::desc& user, const dnnl::memory::desc& produced) {
    dst_ = Converted(user, produced, false);
    args_.emplace(DNNL_ARG_DST, dst_.primitive_side);
  }

  // Not re-entrant: the bound handles are shared state.
  void run(const void* src, void* dst) {
    dnnl::stream& stream = cpu_stream();
    if (scratchpad_bytes_ > 0) scratchpad_.set_data_handle(thread_scratchpad(scratchpad_bytes_));
    src_.user.set_data_handle(const_cast<void*>(src));
    if (src_.reorder) src_.reorder->execute(stream, src_.user, src_.primitive_side);
    dst_.user.set_data_handle(dst);
    primitive_.execute(stream, args_);
    if (dst_.reorder) dst_.reorder->execute(stream, dst_.primitive_side, dst_.user);
    stream.wait();
  }

 private:
  // The user-side memory (re-pointed per call) and what the primitive reads or writes: the same
  // memory, or an owned buffer in the primitive's layout with the reorder between the two.
  struct Converted {
    dnnl::memory user, primitive_side;
    std::optional<dnnl::reorder> reorder;

    Converted() = default;
    Converted(const dnnl::memory::desc& user_desc, const dnnl::memory::desc& primitive_desc,
              bool is_input)
        : user(user_desc, cpu_engine(), DNNL_MEMORY_NONE) {
      if (user_desc == primitive_desc) {
        primitive_side = user;
        return;
      }
      primitive_side = dnnl::memory(primitive_desc, cpu_engine());
      reorder =
          is_input ? dnnl::reorder(user, primitive_side) : dnnl::reorder(primitive_side, user);
    }
  };

  dnnl::primitive primitive_;
  size_t scratchpad_bytes_ = 0;
  dnnl::memory scratchpad_;  // re-pointed per call at the running thread's shared scratchpad
  std::unordered_map<int, dnnl::memory> args_;
  Converted src_, dst_;
};

}  // namespace pare::kernels::cpu
