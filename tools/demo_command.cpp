// `pare demo [--out DIR] [--model cnn|resnet] [flags]`: the README's main job (docs/cli.md).
// Trains a CNN (or a small ResNet-18) on Fashion-MNIST, prunes it, fine-tunes, prints dense vs
// pruned and writes summary.json, dense.pare and pruned.pare (tools/demo/ holds the demo itself).
#include <iostream>
#include <string>
#include <vector>

#include "command.h"
#include "fashion_mnist_demo.h"

namespace pare::cli {

Subcommand demo_command() {
  const demo::DemoOptions defaults;
  demo::DemoOptions resnet_defaults;
  resnet_defaults.model = "resnet";
  const demo::DemoOptions cnn = demo::resolved(defaults);
  const demo::DemoOptions resnet = demo::resolved(resnet_defaults);
  auto joined = [](const std::vector<std::string>& names) {
    std::string text;
    for (const std::string& name : names) text += (text.empty() ? "" : "|") + name;
    return text;
  };
  ArgParser parser("pare demo",
                   "Trains a CNN (or a small ResNet-18) on Fashion-MNIST, prunes it, fine-tunes it "
                   "and compares the two.");
  parser.option("out", "DIR", str_cat("output folder (default ", defaults.out_dir, ")"))
      .option("model", "cnn|resnet",
              "cnn (default): a plain CNN, pruned by the chain flow; resnet: a small ResNet-18, "
              "pruned by dependency groups (GroupPruner, fc kept)")
      .option("data", "DIR",
              "Fashion-MNIST IDX files (default /usr/share/datasets/fashion-mnist, from Debian's "
              "dataset-fashion-mnist, or $PARE_FASHION_MNIST_DIR)")
      .option(
          "epochs", "N",
          str_cat("dense training epochs (default ", *cnn.epochs, "; resnet ", *resnet.epochs, ")"))
      .option("finetune-epochs", "N",
              str_cat("fine-tuning epochs after pruning (default ", *cnn.finetune_epochs,
                      "; resnet ", *resnet.finetune_epochs, ")"))
      .option("sparsity", "S",
              str_cat("fraction of channels removed per layer (resnet: per dependency group; "
                      "default ",
                      defaults.sparsity, ")"))
      .option("target-latency", "F",
              "resnet: instead of --sparsity, the widths that keep the most importance within F "
              "of the dense model's batch-1 latency, by a latency profile measured after dense "
              "training (at --latency-threads); F in (0, 1]")
      .option("pruner", "NAME",
              str_cat("how channels are chosen: cnn ", joined(demo::cnn_pruners()), " (default ",
                      cnn.pruner, "); resnet ", joined(demo::resnet_pruners()), " (default ",
                      resnet.pruner, ")"))
      .option("width", "N",
              str_cat("resnet: base width, layer k has N * 2^(k-1) channels (default ",
                      defaults.resnet_width, ")"))
      .option("optimizer", "adamw|sgd", "optimizer with a cosine schedule (default adamw)")
      .option("lr", "LR", str_cat("learning rate (default ", defaults.lr, ")"))
      .option("finetune-lr", "LR",
              str_cat("fine-tuning learning rate (default ", defaults.finetune_lr, ")"))
      .option("batch-size", "B", str_cat("training batch size (default ", defaults.batch_size, ")"))
      .option("threads", "N",
              "OpenMP threads for training (default: every core; resnet 1; 0: every core)")
      .option("latency-threads", "N",
              str_cat("threads for the latency rows (default ", defaults.latency_threads,
                      "; 0: as for training)"))
      .option("seed", "S", str_cat("seed of weights and shuffling (default ", defaults.seed, ")"))
      .option("train-limit", "N", "train on the first N images only (quick runs)")
      .option("test-limit", "N", "evaluate on the first N test images only")
      .flag("quiet", "no progress lines");
  return {"demo", std::move(parser), [](const ParsedArgs& args) {
            demo::DemoOptions options;
            options.out_dir = args.get("out").value_or(options.out_dir);
            options.data_dir = args.get("data").value_or("");
            options.model = args.get("model").value_or(options.model);
            options.epochs = args.get_int("epochs");
            options.finetune_epochs = args.get_int("finetune-epochs");
            options.sparsity = args.get_double("sparsity").value_or(options.sparsity);
            options.target_latency = args.get_double("target-latency");
            options.pruner = args.get("pruner").value_or(options.pruner);
            options.resnet_width = args.get_int("width").value_or(options.resnet_width);
            options.optimizer = args.get("optimizer").value_or(options.optimizer);
            options.lr = args.get_double("lr").value_or(options.lr);
            options.finetune_lr = args.get_double("finetune-lr").value_or(options.finetune_lr);
            options.batch_size = args.get_int("batch-size").value_or(options.batch_size);
            options.threads = args.get_int("threads");
            options.latency_threads =
                args.get_int("latency-threads").value_or(options.latency_threads);
            options.seed = static_cast<uint64_t>(args.get_int("seed").value_or(1));
            options.train_limit = args.get_int("train-limit").value_or(0);
            options.test_limit = args.get_int("test-limit").value_or(0);
            options.progress = !args.flag("quiet");
            if (args.get("width") && options.model != "resnet")
              throw UsageError(
                  str_cat("--width sets the ResNet's base width; it needs "
                          "--model resnet (the cnn's widths are fixed)"));
            try {
              demo::validate_options(options);
            } catch (const Error& error) {
              throw UsageError(error.what());
            }
            demo::run_demo(options, std::cout);
            return 0;
          }};
}

}  // namespace pare::cli
