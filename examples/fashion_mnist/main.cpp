// The Fashion-MNIST demo as a program of its own: train a CNN, prune half of its channels,
// fine-tune, and print dense vs pruned. `pare demo --help` lists every flag; this program takes
// the output folder and the number of epochs only, to show how little the API needs.
//
//   fashion_mnist_demo [OUT_DIR [EPOCHS [FINETUNE_EPOCHS]]]
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include "fashion_mnist_demo.h"

int main(int argc, char** argv) {
  pare::demo::DemoOptions options;
  try {
    if (argc > 1) options.out_dir = argv[1];
    if (argc > 2) options.epochs = std::stoll(argv[2]);
    if (argc > 3) options.finetune_epochs = std::stoll(argv[3]);
    if (argc > 4) throw std::invalid_argument("too many arguments");
  } catch (const std::exception& error) {
    std::cerr << "usage: fashion_mnist_demo [OUT_DIR [EPOCHS [FINETUNE_EPOCHS]]] (" << error.what()
              << ")\n";
    return 2;
  }
  try {
    pare::demo::run_demo(options, std::cout);
  } catch (const std::exception& error) {
    std::cerr << "fashion_mnist_demo: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
