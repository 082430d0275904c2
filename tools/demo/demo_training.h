// The demo's training and evaluation loops, shared by its models: the eager CNN trains through its
// own forward, the group-pruned ResNet through its traced GraphModule (so one loop takes a forward
// function and the module whose train/eval mode it sets).
//
//   pare::demo::train(*net, [&](const pare::Tensor& x) { return net->forward(x); }, loader,
//                     *optimizer, options.epochs, 0, "dense", options, log);
//   double percent = pare::demo::accuracy([&](const pare::Tensor& x) { ... }, test_set);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "fashion_mnist_demo.h"
#include "pare/data/data.h"
#include "pare/pare.h"

namespace pare::demo {

using Forward = std::function<Tensor(const Tensor&)>;

// Trains `epochs` epochs (the loader's epochs first_epoch, first_epoch + 1, ...) with a cosine
// schedule over them, `model` in training mode; prints a progress line per epoch.
void train(nn::Module& model, const Forward& forward, const data::DataLoader& loader,
           optim::Optimizer& optimizer, int64_t epochs, int64_t first_epoch,
           const std::string& phase, const DemoOptions& options, std::ostream& log);

// Top-1 accuracy in percent of `forward` over `dataset` (normalised like training), grad off.
double accuracy(const Forward& forward, const data::FashionMNIST& dataset);

// options.optimizer (adamw, or sgd with momentum 0.9) over `parameters` at rate `lr`.
std::unique_ptr<optim::Optimizer> make_optimizer(std::vector<Tensor> parameters,
                                                 const DemoOptions& options, double lr);

}  // namespace pare::demo
