// Reading and applying `pare prune --masks` (prune_masks.h).
#include "prune_masks.h"

#include <algorithm>

#include "pare/error.h"
#include "pare/passes/pruning/structured.h"
#include "pare/safetensors.h"

namespace pare::cli {

namespace {

bool takes_row_mask(nn::ModuleKind kind, const std::string& tensor_name) {
  if (kind == nn::ModuleKind::linear || kind == nn::ModuleKind::conv2d)
    return tensor_name == "weight";
  if (kind == nn::ModuleKind::lstm)
    return tensor_name.rfind("weight_ih_l", 0) == 0 || tensor_name.rfind("weight_hh_l", 0) == 0;
  return false;
}

std::vector<uint8_t> mask_values(const std::string& name, const Tensor& mask) {
  const Tensor contiguous = mask.contiguous();
  std::vector<uint8_t> keep(static_cast<size_t>(contiguous.numel()));
  if (contiguous.dtype() == kBool) {
    const bool* bits = contiguous.data_ptr<bool>();
    for (size_t row = 0; row < keep.size(); ++row) keep[row] = bits[row] ? 1 : 0;
    return keep;
  }
  const uint8_t* bytes = contiguous.data_ptr<uint8_t>();
  for (size_t row = 0; row < keep.size(); ++row) {
    PARE_CHECK(bytes[row] <= 1, "mask '", name, "' holds ", static_cast<int>(bytes[row]),
               " at row ", row, "; a U8 mask holds 0 (prune) or 1 (keep)");
    keep[row] = bytes[row];
  }
  return keep;
}

}  // namespace

ExplicitMasks read_masks(const std::string& path, nn::Module& model) {
  return masks_from_file(read_safetensors(path), model);
}

ExplicitMasks masks_from_file(const SafetensorsFile& file, nn::Module& model) {
  const nn::NamedList<Tensor> parameters = model.named_parameters();
  ExplicitMasks masks;
  for (const auto& named_mask : file.tensors) {
    // Named references, not structured bindings: clang before 16 (the fuzz build's) cannot
    // capture bindings in a lambda.
    const std::string& name = named_mask.first;
    const Tensor& mask = named_mask.second;
    auto found = std::find_if(parameters.begin(), parameters.end(),
                              [&](const auto& parameter) { return parameter.first == name; });
    PARE_CHECK(found != parameters.end(), "mask '", name, "': the model has no tensor '", name,
               "'");
    const size_t dot = name.rfind('.');
    const std::string module_fqn = dot == std::string::npos ? "" : name.substr(0, dot);
    const std::string tensor_name = dot == std::string::npos ? name : name.substr(dot + 1);
    const std::shared_ptr<nn::Module> module = model.get_submodule(module_fqn);
    const std::string& type = module->type_name();
    PARE_CHECK(takes_row_mask(module->kind(), tensor_name), "mask '", name, "': '", tensor_name,
               "' of a ", type,
               " takes no row mask (only a Linear's or Conv2d's weight and an LSTM's "
               "weight_ih_l<k> / weight_hh_l<k> do)");
    PARE_CHECK(mask.dtype() == kBool || mask.dtype() == kUInt8, "mask '", name, "' is ",
               safetensors_dtype_name(mask.dtype()), "; a mask is BOOL or U8");
    const Tensor& weight = found->second;
    PARE_CHECK(mask.dim() == 1 && mask.size(0) == weight.size(0), "mask '", name, "' has shape ",
               mask.sizes(), " but ", name, " has ", weight.size(0), " rows (shape ",
               weight.sizes(), "), so its mask must have shape [", weight.size(0), "]");
    masks.push_back({name, mask_values(name, mask)});
  }
  return masks;
}

void add_mask_groups(std::vector<nlohmann::json>& config, const ExplicitMasks& masks) {
  for (const ExplicitMask& mask : masks) {
    auto entry = std::find_if(config.begin(), config.end(), [&](const nlohmann::json& group) {
      return group.value("tensor_fqn", std::string()) == mask.tensor_fqn;
    });
    if (entry == config.end()) {
      config.push_back({{"tensor_fqn", mask.tensor_fqn}});
      entry = config.end() - 1;
    }
    (*entry)["mask"] = mask.keep;
  }
}

void apply_masks(pruning::BaseSparsifier& sparsifier, const ExplicitMasks& masks) {
  for (const ExplicitMask& mask : masks) {
    for (size_t index = 0; index < sparsifier.groups.size(); ++index) {
      if (sparsifier.groups[index]["tensor_fqn"] != mask.tensor_fqn) continue;
      const std::string tensor_name = sparsifier.groups[index]["tensor_name"].get<std::string>();
      Tensor target = pruning::structured_mask(*sparsifier.group_modules[index], tensor_name);
      PARE_CHECK(target.is_contiguous() && target.numel() == static_cast<int64_t>(mask.keep.size()),
                 "mask '", mask.tensor_fqn, "' does not fit the prepared mask of shape ",
                 target.sizes());
      bool* bits = target.data_ptr<bool>();
      for (size_t row = 0; row < mask.keep.size(); ++row) bits[row] = mask.keep[row] != 0;
    }
  }
}

}  // namespace pare::cli
