// nn::Softmax and nn::LogSoftmax: softmax / log_softmax along `dim` as leaf layers, so that a
// trace records one call_module node and a .pare file stores the layer with its dim (they are not
// elementwise: every output depends on the whole axis).
//
//   pare::nn::Softmax softmax(1);                                  // or SoftmaxOptions(1)
//   pare::nn::LogSoftmax log_softmax(pare::nn::LogSoftmaxOptions(-1));
//   std::cout << *softmax;                                         // Softmax(dim=1)
#pragma once

#include <cstdint>

#include "pare/arg.h"
#include "pare/nn/module.h"

namespace pare::nn {

struct SoftmaxOptions {
  SoftmaxOptions(int64_t dim) : dim_(dim) {}  // NOLINT: implicit, as in libtorch
  PARE_ARG(int64_t, dim);
};

struct LogSoftmaxOptions {
  LogSoftmaxOptions(int64_t dim) : dim_(dim) {}  // NOLINT: implicit, as in libtorch
  PARE_ARG(int64_t, dim);
};

class SoftmaxImpl : public UnaryModule {
 public:
  explicit SoftmaxImpl(const SoftmaxOptions& options) : options_(options) {}
  Tensor forward(const Tensor& input) override;
  bool is_leaf_layer() const override { return true; }
  ModuleKind kind() const override { return ModuleKind::softmax; }
  Attrs config() const override { return {{"dim", options_.dim()}}; }
  const SoftmaxOptions& options() const { return options_; }

 private:
  SoftmaxOptions options_;
};
using Softmax = ModuleHolder<SoftmaxImpl>;

class LogSoftmaxImpl : public UnaryModule {
 public:
  explicit LogSoftmaxImpl(const LogSoftmaxOptions& options) : options_(options) {}
  Tensor forward(const Tensor& input) override;
  bool is_leaf_layer() const override { return true; }
  ModuleKind kind() const override { return ModuleKind::softmax; }
  Attrs config() const override { return {{"dim", options_.dim()}}; }
  const LogSoftmaxOptions& options() const { return options_; }

 private:
  LogSoftmaxOptions options_;
};
using LogSoftmax = ModuleHolder<LogSoftmaxImpl>;

}  // namespace pare::nn
