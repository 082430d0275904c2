#include "pare/kernels/conv2d.h"

#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnnl_context.h"
#include "dnnl_dims.h"

namespace pare::kernels::cpu {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

std::string key_for(const char* op, const Conv2dParams& p, bool with_bias) {
  return cache_key(op, {p.batch, p.in_channels, p.in_h, p.in_w, p.out_channels, p.kernel_h,
                        p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dilation_h,
                        p.dilation_w, p.groups, with_bias});
}

// One primitive argument as the caller holds it (`user`, plain PyTorch layout, bound to the
// caller's pointer per call) and as the primitive wants it (`inner`). When oneDNN picked another
// layout, `inner` is a buffer owned by the entry and `reorder` converts between the two: user to
// inner for inputs, inner to user for outputs. Otherwise `inner` is `user` and nothing is copied.
struct Argument {
  memory user;
  memory inner;
  std::optional<dnnl::reorder> reorder;

  static Argument input(const memory::desc& user_desc, const memory::desc& chosen) {
    Argument argument = plain(user_desc, chosen);
    if (argument.reorder_needed()) argument.reorder = dnnl::reorder(argument.user, argument.inner);
    return argument;
  }

  static Argument output(const memory::desc& user_desc, const memory::desc& chosen) {
    Argument argument = plain(user_desc, chosen);
    if (argument.reorder_needed()) argument.reorder = dnnl::reorder(argument.inner, argument.user);
    return argument;
  }

  void bind(const float* data) { user.set_data_handle(const_cast<float*>(data)); }

  void convert_input() {
    if (reorder) reorder->execute(cpu_stream(), user, inner);
  }

  void convert_output() {
    if (reorder) reorder->execute(cpu_stream(), inner, user);
  }

 private:
  static Argument plain(const memory::desc& user_desc, const memory::desc& chosen) {
    Argument argument;
    argument.user = memory(user_desc, cpu_engine(), DNNL_MEMORY_NONE);
    argument.inner = chosen == user_desc ? argument.user : memory(chosen, cpu_engine());
    return argument;
  }

  bool reorder_needed() const { return inner != user; }
};

// A convolution primitive with its arguments; `mutex` guards the bound pointers and the entry's
// layout buffers while one call runs.
struct ConvEntry {
  dnnl::primitive primitive;
  std::unordered_map<int, Argument> arguments;
  std::unordered_map<int, memory> primitive_args;
  std::mutex mutex;

  void finish_setup() {
    for (auto& [id, argument] : arguments) primitive_args.emplace(id, argument.inner);
  }

  // Binds the caller's buffers (id -> pointer), converts the inputs, runs, converts the outputs.
  void run(std::initializer_list<std::pair<int, const float*>> inputs,
           std::initializer_list<std::pair<int, float*>> outputs) {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& [id, data] : inputs) {
      Argument& argument = arguments.at(id);
      argument.bind(data);
      argument.convert_input();
    }
    for (const auto& [id, data] : outputs) arguments.at(id).bind(data);
    primitive.execute(cpu_stream(), primitive_args);
    for (const auto& [id, data] : outputs) arguments.at(id).convert_output();
    cpu_stream().wait();
  }
};

// The caller's plain layouts and the layout-free (format_tag::any) descriptors oneDNN chooses
// from, plus the geometry in oneDNN's conventions.
struct ConvDescs {
  ConvDims dims;
  memory::desc user_src, user_weight, user_bias, user_dst;
  memory::desc any_src, any_weight, any_dst;

  explicit ConvDescs(const Conv2dParams& p) : dims(conv_dims(p)) {
    const auto f32 = memory::data_type::f32;
    user_src = memory::desc(dims.src, f32, tag::nchw);
    user_weight = memory::desc(dims.weight, f32, dims.weight_tag);
    user_bias = memory::desc({p.out_channels}, f32, tag::x);
    user_dst = memory::desc(dims.dst, f32, tag::nchw);
    any_src = memory::desc(dims.src, f32, tag::any);
    any_weight = memory::desc(dims.weight, f32, tag::any);
    any_dst = memory::desc(dims.dst, f32, tag::any);
  }
};

dnnl::convolution_forward::primitive_desc forward_pd(const ConvDescs& d, bool with_bias) {
  return dnnl::convolution_forward::primitive_desc(
      conv_forward_desc(dnnl::prop_kind::forward_training, d.any_src, d.any_weight,
                        with_bias ? &d.user_bias : nullptr, d.any_dst, d.dims),
      cpu_engine());
}

std::shared_ptr<ConvEntry> make_forward(const Conv2dParams& params, bool with_bias) {
  auto entry = std::make_shared<ConvEntry>();
  const ConvDescs d(params);
  const auto pd = forward_pd(d, with_bias);
  entry->primitive = dnnl::convolution_forward(pd);
  entry->arguments.emplace(DNNL_ARG_SRC, Argument::input(d.user_src, pd.src_desc()));
  entry->arguments.emplace(DNNL_ARG_WEIGHTS, Argument::input(d.user_weight, pd.weights_desc()));
  entry->arguments.emplace(DNNL_ARG_DST, Argument::output(d.user_dst, pd.dst_desc()));
  if (with_bias) {
    entry->arguments.emplace(DNNL_ARG_BIAS, Argument::input(d.user_bias, pd.bias_desc()));
  }
  entry->finish_setup();
  return entry;
}

std::shared_ptr<ConvEntry> make_backward_data(const Conv2dParams& params) {
  auto entry = std::make_shared<ConvEntry>();
  const ConvDescs d(params);
  const dnnl::convolution_backward_data::primitive_desc pd(
      dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, d.any_src,
                                            d.any_weight, d.any_dst, d.dims.strides, d.dims.dilates,
                                            d.dims.padding, d.dims.padding),
      cpu_engine(), forward_pd(d, false));
  entry->primitive = dnnl::convolution_backward_data(pd);
  entry->arguments.emplace(DNNL_ARG_DIFF_DST, Argument::input(d.user_dst, pd.diff_dst_desc()));
  entry->arguments.emplace(DNNL_ARG_WEIGHTS, Argument::input(d.user_weight, pd.weights_desc()));
  entry->arguments.emplace(DNNL_ARG_DIFF_SRC, Argument::output(d.user_src, pd.diff_src_desc()));
  entry->finish_setup();
  return entry;
}

std::shared_ptr<ConvEntry> make_backward_weights(const Conv2dParams& params, bool with_bias) {
  auto entry = std::make_shared<ConvEntry>();
  const ConvDescs d(params);
  const auto algorithm = dnnl::algorithm::convolution_direct;
  const auto desc = with_bias ? dnnl::convolution_backward_weights::desc(
                                    algorithm, d.any_src, d.any_weight, d.user_bias, d.any_dst,
                                    d.dims.strides, d.dims.dilates, d.dims.padding, d.dims.padding)
                              : dnnl::convolution_backward_weights::desc(
                                    algorithm, d.any_src, d.any_weight, d.any_dst, d.dims.strides,
                                    d.dims.dilates, d.dims.padding, d.dims.padding);
  const dnnl::convolution_backward_weights::primitive_desc pd(desc, cpu_engine(),
                                                              forward_pd(d, with_bias));
  entry->primitive = dnnl::convolution_backward_weights(pd);
  entry->arguments.emplace(DNNL_ARG_SRC, Argument::input(d.user_src, pd.src_desc()));
  entry->arguments.emplace(DNNL_ARG_DIFF_DST, Argument::input(d.user_dst, pd.diff_dst_desc()));
  entry->arguments.emplace(DNNL_ARG_DIFF_WEIGHTS,
                           Argument::output(d.user_weight, pd.diff_weights_desc()));
  if (with_bias) {
    entry->arguments.emplace(DNNL_ARG_DIFF_BIAS,
                             Argument::output(d.user_bias, pd.diff_bias_desc()));
  }
  entry->finish_setup();
  return entry;
}

}  // namespace

void conv2d_forward(const Conv2dParams& params, const float* src, const float* weight,
                    const float* bias, float* dst) {
  params.validate();
  with_dnnl_errors("conv2d_forward", [&] {
    const bool with_bias = bias != nullptr;
    ConvEntry& entry =
        primitive_cache().get_or_create<ConvEntry>(key_for("conv2d_forward", params, with_bias),
                                                   [&] { return make_forward(params, with_bias); });
    if (with_bias) {
      entry.run({{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weight}, {DNNL_ARG_BIAS, bias}},
                {{DNNL_ARG_DST, dst}});
    } else {
      entry.run({{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weight}}, {{DNNL_ARG_DST, dst}});
    }
  });
}

void conv2d_backward_data(const Conv2dParams& params, const float* diff_dst, const float* weight,
                          float* diff_src) {
  params.validate();
  with_dnnl_errors("conv2d_backward_data", [&] {
    ConvEntry& entry = primitive_cache().get_or_create<ConvEntry>(
        key_for("conv2d_backward_data", params, false), [&] { return make_backward_data(params); });
    entry.run({{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, weight}},
              {{DNNL_ARG_DIFF_SRC, diff_src}});
  });
}

void conv2d_backward_weights(const Conv2dParams& params, const float* src, const float* diff_dst,
                             float* diff_weight, float* diff_bias) {
  params.validate();
  with_dnnl_errors("conv2d_backward_weights", [&] {
    const bool with_bias = diff_bias != nullptr;
    ConvEntry& entry = primitive_cache().get_or_create<ConvEntry>(
        key_for("conv2d_backward_weights", params, with_bias),
        [&] { return make_backward_weights(params, with_bias); });
    if (with_bias) {
      entry.run({{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}},
                {{DNNL_ARG_DIFF_WEIGHTS, diff_weight}, {DNNL_ARG_DIFF_BIAS, diff_bias}});
    } else {
      entry.run({{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}},
                {{DNNL_ARG_DIFF_WEIGHTS, diff_weight}});
    }
  });
}

}  // namespace pare::kernels::cpu
