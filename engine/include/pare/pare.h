// pare: a C++20 tensor engine for structured pruning. Include this one header.
//
// The whole flow in a few lines (train a small CNN on random data):
//
//   #include <pare/pare.h>
//   struct Net : pare::nn::Module {
//     Net() {
//       conv = register_module("conv", pare::nn::Conv2d(pare::nn::Conv2dOptions(1, 8,
//       3).padding(1))); fc = register_module("fc", pare::nn::Linear(8 * 14 * 14, 10));
//     }
//     pare::Tensor forward(const pare::Tensor& x) {
//       auto h = pare::max_pool2d(pare::relu(conv(x)), 2);
//       return fc(pare::flatten(h, 1));
//     }
//     pare::nn::Conv2d conv{nullptr};
//     pare::nn::Linear fc{nullptr};
//   };
//
//   pare::manual_seed(0);
//   auto net = std::make_shared<Net>();
//   pare::optim::SGD optimizer(net->parameters(), pare::optim::SGDOptions(0.1).momentum(0.9));
//   auto x = pare::randn({32, 1, 28, 28});
//   auto y = pare::randint(0, 10, {32});
//   for (int step = 0; step < 10; ++step) {
//     optimizer.zero_grad();
//     auto loss = pare::cross_entropy(net->forward(x), y);
//     loss.backward();
//     optimizer.step();
//   }
//   pare::save(*net, "net.safetensors");
#pragma once

#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/data/data.h"
#include "pare/dtype.h"
#include "pare/elementwise.h"
#include "pare/error.h"
#include "pare/functional.h"
#include "pare/indexing.h"
#include "pare/linalg.h"
#include "pare/loss.h"
#include "pare/nn/clip_grad.h"
#include "pare/nn/nn.h"
#include "pare/observer.h"
#include "pare/optim/optim.h"
#include "pare/random.h"
#include "pare/reduction.h"
#include "pare/safetensors.h"
#include "pare/scalar.h"
#include "pare/serialize.h"
#include "pare/tensor.h"
#include "pare/tensor_options.h"
