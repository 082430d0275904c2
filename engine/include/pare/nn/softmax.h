// nn::Softmax and nn::LogSoftmax: softmax / log_softmax along `dim` as modules. They are not leaf
// layers: a trace records the softmax / log_softmax call_function they compute, with its dim, the
// graph tools/pare_export.py writes for torch's nn.Softmax, so a .pare file holds that op.
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
  Attrs config() const override { return {{"dim", options_.dim()}}; }
  const LogSoftmaxOptions& options() const { return options_; }

 private:
  LogSoftmaxOptions options_;
};
using LogSoftmax = ModuleHolder<LogSoftmaxImpl>;

}  // namespace pare::nn
