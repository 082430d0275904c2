// Agreement with PyTorch: three steps of SGD (plain; momentum + dampening + weight decay;
// Nesterov), Adam (weight decay; AMSGrad) and AdamW on a tiny Linear with an mse loss, and the
// StepLR / CosineAnnealingLR rate sequences, against scripts/make_goldens.py's PyTorch goldens.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "golden.h"
#include "pare/nn/linear.h"
#include "pare/pare.h"

namespace {

using nlohmann::json;
using pare::Tensor;
using pare::testing::check_close;
using pare::testing::GoldenFile;
using pare::testing::kElementwiseTolerance;
namespace nn = pare::nn;
namespace optim = pare::optim;

// The optimiser the golden arguments describe; options PyTorch was not given keep pare's
// defaults, so those defaults are checked against PyTorch's too.
std::unique_ptr<optim::Optimizer> make_optimizer(const json& a, std::vector<Tensor> parameters) {
  const std::string type = a.at("optimizer");
  const double lr = a.at("lr");
  if (type == "SGD") {
    return std::make_unique<optim::SGD>(parameters, optim::SGDOptions(lr)
                                                        .momentum(a.value("momentum", 0.0))
                                                        .dampening(a.value("dampening", 0.0))
                                                        .weight_decay(a.value("weight_decay", 0.0))
                                                        .nesterov(a.value("nesterov", false)));
  }
  auto configure = [&](auto options) {
    if (a.contains("betas")) options.betas(a["betas"].at(0), a["betas"].at(1));
    if (a.contains("eps")) options.eps(a["eps"]);
    if (a.contains("weight_decay")) options.weight_decay(a["weight_decay"]);
    if (a.contains("amsgrad")) options.amsgrad(a["amsgrad"].get<bool>());
    return options;
  };
  if (type == "Adam") {
    return std::make_unique<optim::Adam>(parameters, configure(optim::AdamOptions(lr)));
  }
  REQUIRE_MESSAGE(type == "AdamW", "no pare optimiser for golden type " << type);
  return std::make_unique<optim::AdamW>(parameters, configure(optim::AdamWOptions(lr)));
}

std::unique_ptr<optim::LRScheduler> make_scheduler(const json& a, optim::Optimizer& optimizer) {
  const std::string type = a.at("scheduler");
  if (type == "StepLR") {
    return std::make_unique<optim::StepLR>(optimizer, a.at("step_size").get<int64_t>(),
                                           a.at("gamma").get<double>());
  }
  REQUIRE_MESSAGE(type == "CosineAnnealingLR", "no pare scheduler for golden type " << type);
  return std::make_unique<optim::CosineAnnealingLR>(optimizer, a.at("T_max").get<int64_t>(),
                                                    a.at("eta_min").get<double>());
}

}  // namespace

TEST_CASE("golden optimisers: parameters after each of 3 steps of SGD, Adam, AdamW") {
  GoldenFile golden("optim");
  int count = 0;
  for (const std::string& name : golden.cases()) {
    const json a = golden.arguments(name);
    if (!a.contains("optimizer")) continue;
    ++count;
    INFO("case " << name);
    try {
      nn::Linear model(3, 2);
      model->load_state_dict(golden.group(name, "param."));
      auto optimizer = make_optimizer(a, model->parameters());
      const Tensor input = golden.get(name, "input");
      const Tensor target = golden.get(name, "target");
      const int64_t steps = a.at("steps");
      for (int64_t step = 1; step <= steps; ++step) {
        optimizer->zero_grad();
        pare::mse_loss(model(input), target).backward();
        optimizer->step();
        const std::string prefix = "step" + std::to_string(step) + ".";
        for (const auto& [key, expected] : golden.group(name, prefix)) {
          check_close(model->get_parameter(key), expected, name + "." + prefix + key,
                      kElementwiseTolerance);
        }
      }
    } catch (const std::exception& error) {
      FAIL_CHECK(name << ": threw " << error.what());
    }
  }
  CHECK(count == 7);
}

TEST_CASE("golden learning-rate schedules: StepLR and CosineAnnealingLR") {
  GoldenFile golden("optim");
  int count = 0;
  for (const std::string& name : golden.cases()) {
    const json a = golden.arguments(name);
    if (!a.contains("scheduler")) continue;
    ++count;
    Tensor parameter = pare::zeros({1});
    parameter.set_requires_grad(true);
    optim::SGD optimizer({parameter}, optim::SGDOptions(a.at("lr")));
    auto scheduler = make_scheduler(a, optimizer);
    std::vector<float> rates{static_cast<float>(scheduler->get_last_lr().at(0))};
    for (int64_t epoch = 0; epoch < a.at("epochs").get<int64_t>(); ++epoch) {
      scheduler->step();
      rates.push_back(static_cast<float>(scheduler->get_last_lr().at(0)));
      CHECK(optimizer.param_groups()[0].lr() == doctest::Approx(scheduler->get_last_lr()[0]));
    }
    const Tensor expected = golden.get(name, "lr");
    check_close(pare::tensor(rates, {static_cast<int64_t>(rates.size())}), expected, name + ".lr",
                kElementwiseTolerance);
  }
  CHECK(count == 2);
}
