// An OpObserver (pare/observer.h) that records the call_function reports it receives, so a test
// can check what the tracer would see without the ir layer.
//
//   pare::testing::RecordingObserver recorder;
//   {
//     pare::ObserverGuard guard(&recorder);
//     pare::leaky_relu(x, 0.2);
//   }
//   CHECK(recorder.calls.at(0).name == "leaky_relu");  // attrs: {{"negative_slope", 0.2}}
#pragma once

#include <string>
#include <vector>

#include "pare/nn/module.h"
#include "pare/observer.h"

namespace pare::testing {

class RecordingObserver : public OpObserver {
 public:
  struct Call {
    std::string name;
    Attrs attrs;
    size_t input_count = 0;
    size_t output_count = 0;
  };

  void on_function(const std::string& name, const std::vector<Tensor>& inputs, const Attrs& attrs,
                   const std::vector<Tensor>& outputs) override {
    calls.push_back({name, attrs, inputs.size(), outputs.size()});
  }
  void on_module(const nn::Module&, const std::vector<Tensor>&,
                 const std::vector<Tensor>&) override {}

  std::vector<Call> calls;
};

}  // namespace pare::testing
