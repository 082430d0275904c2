// Explicit row masks for `pare prune --masks` (docs/format.md, "Masks file"): one BOOL or U8
// tensor per tensor qualified name, of the weight's row count; 1 keeps a row, 0 prunes it. They
// join the group list and, after the pruner's step(), replace whatever its update_mask chose.
//
//   pare::cli::ExplicitMasks masks = pare::cli::read_masks("masks.safetensors", *gm.root_ptr());
//   pare::cli::add_mask_groups(config, masks);   // a group per named tensor, with "mask"
//   pruner.prepare(gm.root_ptr(), config);
//   pruner.step();
//   pare::cli::apply_masks(pruner, masks);       // the file's masks win over update_mask
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "pare/nn/module.h"
#include "pare/passes/pruning/base_sparsifier.h"
#include "pare/safetensors.h"

namespace pare::cli {

struct ExplicitMask {
  std::string tensor_fqn;
  std::vector<uint8_t> keep;  // 0 or 1 per row
};
using ExplicitMasks = std::vector<ExplicitMask>;

// Reads and checks the file against `model`: every name must be a prunable weight (a Linear's or
// Conv2d's weight, an LSTM's weight_ih_l{k} / weight_hh_l{k}) and every mask a 1-d BOOL / U8 of
// its row count holding 0 and 1 only. Errors name the tensor; the caller prefixes the file.
ExplicitMasks read_masks(const std::string& path, nn::Module& model);
// The same checks on a file already read (the fuzz target feeds it decoded bytes).
ExplicitMasks masks_from_file(const SafetensorsFile& file, nn::Module& model);

// Sets "mask" in the config entry of every masked tensor, appending an entry where none exists.
void add_mask_groups(std::vector<nlohmann::json>& config, const ExplicitMasks& masks);

// Writes the masks into the prepared sparsifier's parametrizations (in place, after step()).
void apply_masks(pruning::BaseSparsifier& sparsifier, const ExplicitMasks& masks);

}  // namespace pare::cli
