// The contract's parity anchor: torchvision's ResNet-18 at ratio 0.5, local, l2, fc ignored, as
// Torch-Pruning prunes it. Every conv keeps half its channels (the residual streams too), so the
// counts after follow from the architecture: 11,689,512 -> 3,055,880 parameters and
// 1,814,073,344 -> 483,149,824 conv + linear MACs at 224 x 224.
#include <doctest/doctest.h>

#include "pare/ir/ir.h"
#include "pare/models/models.h"
#include "pare/pare.h"
#include "pare/passes/pruning/group_pruner.h"

TEST_CASE("ResNet-18, ratio 0.5, local l2, fc ignored: half of every conv, the parity counts") {
  pare::manual_seed(0);  // real (seeded) initialisation, so that the scores are not ties
  auto net = pare::models::resnet18();
  net->eval();
  pare::ir::GraphModule gm = pare::ir::trace(net.ptr(), {pare::randn({1, 3, 32, 32})});
  std::map<std::string, pare::Shape> dense;
  for (const auto& [name, value] : gm.root().named_parameters()) dense[name] = value.sizes();

  pare::pruning::GroupPruner pruner(gm, pare::pruning::GroupPrunerOptions()
                                            .importance(pare::pruning::Importance::l2())
                                            .ratio(0.5)
                                            .ignore({"fc"}));
  pruner.prune();

  int64_t convs = 0;
  for (const auto& [name, module] : gm.root().named_modules()) {
    const auto* conv = pare::nn::as<pare::nn::Conv2dImpl>(module.get());
    if (conv == nullptr) continue;
    CAPTURE(name);
    const pare::Shape& before = dense.at(name + ".weight");
    const pare::Tensor weight = module->get_parameter("weight");
    CHECK(weight.size(0) == before[0] / 2);
    CHECK(conv->options().out_channels() == before[0] / 2);
    // The stem reads the image; every other conv reads a pruned stream.
    const int64_t in = name == "conv1" ? before[1] : before[1] / 2;
    CHECK(weight.size(1) == in);
    CHECK(conv->options().in_channels() == in);
    ++convs;
  }
  CHECK(convs == 20);
  CHECK(gm.attribute("fc.weight").sizes() == pare::Shape{1000, 256});

  const nlohmann::json report = pruner.report();
  CHECK(report["params"]["before"] == 11'689'512);
  CHECK(report["params"]["after"] == 3'055'880);
  const pare::ir::ModelStats at_224 =
      pare::ir::model_stats(gm, {pare::ir::TensorMeta{{1, 3, 224, 224}}});
  CHECK(at_224.params == 3'055'880);
  CHECK(at_224.macs == 483'149'824);
  // The pruned model still runs, at the new size.
  pare::NoGradGuard no_grad;
  CHECK(gm.interpret({pare::randn({1, 3, 224, 224})}).tensor().sizes() == pare::Shape{1, 1000});
}

TEST_CASE("ResNet-18's dense counts at 224 x 224, which the report's before holds") {
  auto net = pare::models::resnet18();
  net->eval();
  pare::ir::GraphModule gm = pare::ir::trace(net.ptr(), {pare::randn({1, 3, 224, 224})});
  pare::pruning::GroupPruner pruner(gm, pare::pruning::GroupPrunerOptions().ignore({"fc"}));
  const nlohmann::json report = pruner.report();
  CHECK(report["params"]["before"] == 11'689'512);
  CHECK(report["macs"]["before"] == 1'814'073'344);
}
