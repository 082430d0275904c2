// Saving and loading a module's state dict as a safetensors file with PyTorch's key names, so
// the same file loads in Python with safetensors.torch.load_file().
//
//   pare::save(*net, "net.safetensors");
//   auto fresh = std::make_shared<Net>();
//   pare::load(*fresh, "net.safetensors");        // strict: keys and shapes must match
#pragma once

#include <string>

#include "pare/nn/module.h"

namespace pare {

void save(const nn::Module& module, const std::string& path);
// Errors name the file and the offending key (missing, unexpected or of another shape).
void load(nn::Module& module, const std::string& path, bool strict = true);

}  // namespace pare
