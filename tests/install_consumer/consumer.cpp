// The README's snippet, built against an installed pare: it must compile, train a step and
// print a finite loss.
#include <pare/pare.h>

#include <cmath>
#include <iostream>

struct Net : pare::nn::Module {
  Net() {
    conv = register_module("conv", pare::nn::Conv2d(pare::nn::Conv2dOptions(1, 8, 3).padding(1)));
    fc = register_module("fc", pare::nn::Linear(8 * 14 * 14, 10));
  }
  pare::Tensor forward(const pare::Tensor& x) {
    auto h = pare::max_pool2d(pare::relu(conv(x)), 2);
    return fc(pare::flatten(h, 1));
  }
  pare::nn::Conv2d conv{nullptr};
  pare::nn::Linear fc{nullptr};
};

int main() {
  pare::manual_seed(0);
  auto net = std::make_shared<Net>();
  pare::optim::SGD optimizer(net->parameters(), pare::optim::SGDOptions(0.05).momentum(0.9));
  auto x = pare::randn({4, 1, 28, 28});
  auto y = pare::randint(0, 10, {4});
  float first = 0, last = 0;
  for (int step = 0; step < 5; ++step) {
    optimizer.zero_grad();
    auto loss = pare::cross_entropy(net->forward(x), y);
    loss.backward();
    optimizer.step();
    (step == 0 ? first : last) = loss.item<float>();
  }
  std::cout << "consumer: loss " << first << " -> " << last << "\n";
  return std::isfinite(last) && last < first ? 0 : 1;
}
