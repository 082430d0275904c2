// Internal to kernels/cpu: one oneDNN primitive with everything but its src and dst bound once,
// the common core of the prepared conv, inner product and pooling. The constant arguments
// (weights, bias) are owned here, the scratchpad is the thread's shared one (thread_scratchpad);
// a src or dst whose user layout differs from the primitive's goes through an owned buffer and a
// reorder made once.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <unordered_map>
#include <vector>

#include "dnnl_context.h"

namespace pare::kernels::cpu {

class PreparedPrimitive {
 public:
  // `scratchpad` is the primitive descriptor's scratchpad (user mode): the constructing thread's
  // shared scratchpad grows to it here, so that run() on that thread allocates nothing.
  PreparedPrimitive(dnnl::primitive primitive, const dnnl::memory::desc& scratchpad)
      : primitive_(std::move(primitive)), scratchpad_bytes_(scratchpad.get_size()) {
    if (scratchpad_bytes_ == 0) return;
    scratchpad_ = Handle(dnnl::memory(scratchpad, cpu_engine(), nullptr));
    scratchpad_.point(thread_scratchpad(scratchpad_bytes_));
    args_.emplace(DNNL_ARG_SCRATCHPAD, scratchpad_.memory);
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
    if (exec_args_.empty()) bind_exec_args();
    if (scratchpad_bytes_ > 0) scratchpad_.point(thread_scratchpad(scratchpad_bytes_));
    src_.user.point(const_cast<void*>(src));
    if (src_.reorder) execute(*src_.reorder, stream, src_.reorder_args);
    dst_.user.point(dst);
    execute(primitive_, stream, exec_args_);
    if (dst_.reorder) execute(*dst_.reorder, stream, dst_.reorder_args);
    stream.wait();
  }

 private:
  // A memory the caller re-points per call. oneDNN's set_data_handle builds an argument map and
  // zero-fills the padding of a padded layout on every call: it is skipped where the address did
  // not move (an arena buffer: the same every call) and the layout has no padding to refill (a
  // padded one is re-pointed every call, as another value sharing its bytes may have written them).
  struct Handle {
    dnnl::memory memory;
    void* current = nullptr;
    bool padded = false;

    Handle() = default;
    explicit Handle(dnnl::memory bound) : memory(std::move(bound)), padded(has_padding(memory)) {}
    void point(void* address) {
      if (address == current && !padded) return;
      memory.set_data_handle(address);
      current = address;
    }
    static bool has_padding(const dnnl::memory& memory) {
      const dnnl_memory_desc_t& desc = memory.get_desc().data;
      for (int d = 0; d < desc.ndims; ++d)
        if (desc.padded_dims[d] != desc.dims[d]) return true;
      return false;
    }
  };

  // The user-side memory (re-pointed per call) and what the primitive reads or writes: the same
  // memory, or an owned buffer in the primitive's layout with the reorder between the two.
  struct Converted {
    Handle user;
    dnnl::memory primitive_side;
    std::optional<dnnl::reorder> reorder;
    std::vector<dnnl_exec_arg_t> reorder_args;

    Converted() = default;
    Converted(const dnnl::memory::desc& user_desc, const dnnl::memory::desc& primitive_desc,
              bool is_input)
        : user(dnnl::memory(user_desc, cpu_engine(), DNNL_MEMORY_NONE)) {
      if (user_desc == primitive_desc) {
        primitive_side = user.memory;
        return;
      }
      primitive_side = dnnl::memory(primitive_desc, cpu_engine());
      const dnnl::memory& from = is_input ? user.memory : primitive_side;
      const dnnl::memory& to = is_input ? primitive_side : user.memory;
      reorder = dnnl::reorder(from, to);
      reorder_args = {{DNNL_ARG_FROM, from.get()}, {DNNL_ARG_TO, to.get()}};
    }
  };

  // The arguments as oneDNN's C API takes them, made once: dnnl::primitive::execute converts its
  // map into a new vector on every call.
  void bind_exec_args() {
    for (const auto& [arg, memory] : args_) exec_args_.push_back({arg, memory.get()});
  }

  static void execute(const dnnl::primitive& primitive, dnnl::stream& stream,
                      const std::vector<dnnl_exec_arg_t>& args) {
    dnnl::error::wrap_c_api(dnnl_primitive_execute(primitive.get(), stream.get(),
                                                   static_cast<int>(args.size()), args.data()),
                            "could not execute a primitive");
  }

  dnnl::primitive primitive_;
  size_t scratchpad_bytes_ = 0;
  Handle scratchpad_;  // re-pointed per call at the running thread's shared scratchpad
  std::unordered_map<int, dnnl::memory> args_;
  std::vector<dnnl_exec_arg_t> exec_args_;  // args_, bound on the first run
  Converted src_, dst_;
};

}  // namespace pare::kernels::cpu
