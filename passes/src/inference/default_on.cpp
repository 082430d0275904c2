// Makes the compiled inference path the default: every GraphModule of a program linked with
// pare::pare runs its eval-mode, no-grad forward() compiled (pare::inference::disable(gm) or
// disable_by_default() turn it off). Nothing references this file, so the `pare` CMake target
// pulls it out of the static library with the linker option --undefined=pare_inference_default_on.
#include "pare/passes/inference/inference_session.h"

extern "C" {
// NOLINTNEXTLINE: a C symbol the linker can be told to keep.
extern const int pare_inference_default_on;
const int pare_inference_default_on = [] {
  pare::inference::enable_by_default();
  return 1;
}();
}
