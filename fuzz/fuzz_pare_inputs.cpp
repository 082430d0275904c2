// libFuzzer entry point for everything pare reads from outside: any byte string must either be
// accepted or be refused with a pare::Error; anything else (a crash, another exception, a
// sanitizer report, a hang, a huge allocation) is a bug. See docs/fuzzing.md and scripts/fuzz.sh.
//
// The first byte picks what the rest is fed to, so that one run covers every reader and the
// corpus keeps each kind of seed apart:
//   'P' a whole .pare file (pare::ir::decode_pare), then its params and MACs;
//   'G' the graph JSON, wrapped into a .pare file beside the tensors of a small MLP (fc1: 3 -> 4,
//       fc2: 4 -> 2), so that mutations of a valid graph get past the container checks;
//   'C' a `pare prune --config` file, parsed and then prepared on that MLP;
//   'M' a `pare prune --masks` file, decoded and checked against that MLP.
// Any other first byte is treated as 'P'.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_inputs.h"
#include "pare/error.h"
#include "pare/ir/model_stats.h"
#include "pare/ir/pare_file.h"
#include "pare/passes/pruning/pruners.h"
#include "pare/safetensors.h"
#include "prune_config.h"
#include "prune_masks.h"

namespace {

void load_and_count(const std::string& bytes) {
  pare::ir::GraphModule graph_module = pare::ir::decode_pare(bytes, "fuzz.pare");
  pare::ir::model_stats(graph_module);
}

void prepare_config(std::string_view text) {
  const std::vector<nlohmann::json> config = pare::cli::parse_prune_config(text);
  pare::ir::GraphModule model = pare::fuzz::small_mlp();
  pare::pruning::SaliencyPruner pruner(nlohmann::json{{"sparsity_level", 0.5}});
  pruner.prepare(model.root_ptr(), config);
  pruner.step();
}

void check_masks(const std::string& bytes) {
  pare::ir::GraphModule model = pare::fuzz::small_mlp();
  pare::cli::masks_from_file(pare::decode_safetensors(bytes, "fuzz.safetensors"), model.root());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const char kind = static_cast<char>(data[0]);
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (kind) {
      case 'G':
        load_and_count(pare::fuzz::pare_file_with_graph(rest));
        break;
      case 'C':
        prepare_config(rest);
        break;
      case 'M':
        check_masks(rest);
        break;
      default:
        load_and_count(rest);
        break;
    }
  } catch (const pare::Error&) {
    // Refusing bad input with a clear message is the expected outcome.
  }
  return 0;
}
