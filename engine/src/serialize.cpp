#include "pare/serialize.h"

#include "pare/safetensors.h"

namespace pare {

void save(const nn::Module& module, const std::string& path) {
  write_safetensors(path, module.state_dict(), {{"format", "pt"}});
}

void load(nn::Module& module, const std::string& path, bool strict) {
  SafetensorsFile file = read_safetensors(path);
  try {
    module.load_state_dict(file.tensors, strict);
  } catch (const Error& error) {
    throw Error(str_cat(path, ": ", error.what()));
  }
}

}  // namespace pare
