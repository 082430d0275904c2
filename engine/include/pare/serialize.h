// Saving and loading a module's state dict as a safetensors file with PyTorch's key names, so
// the same file loads in Python with safetensors.torch.load_file().
//
//   auto net = std::make_shared<Net>();
//   pare::save(net, "net.safetensors");          // or pare::save(*net, ...), as in libtorch
//   auto fresh = std::make_shared<Net>();
//   pare::load(fresh, "net.safetensors");        // strict: keys and shapes must match
#pragma once

#include <concepts>
#include <string>

#include "pare/nn/module.h"

namespace pare {

void save(const nn::Module& module, const std::string& path);
// Errors name the file and the offending key (missing, unexpected or of another shape).
void load(nn::Module& module, const std::string& path, bool strict = true);

// A module holder as libtorch's torch::save / torch::load take it: a std::shared_ptr of a user
// model or a built-in layer's holder (pare::nn::Linear). An empty holder is refused.
template <typename Holder>
requires requires(const Holder& holder) {
  { holder.get() } -> std::convertible_to<const nn::Module*>;
}
void save(const Holder& module, const std::string& path) {
  PARE_CHECK(module.get() != nullptr, "save: the module holder for '", path,
             "' is empty; construct the module first");
  save(*module.get(), path);
}
template <typename Holder>
requires requires(const Holder& holder) {
  { holder.get() } -> std::convertible_to<nn::Module*>;
}
void load(const Holder& module, const std::string& path, bool strict = true) {
  PARE_CHECK(module.get() != nullptr, "load: the module holder for '", path,
             "' is empty; construct the module first, then load its state into it");
  load(*module.get(), path, strict);
}

}  // namespace pare
