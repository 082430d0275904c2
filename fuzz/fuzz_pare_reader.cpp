// libFuzzer entry point for the .pare reader: any byte string must either load or be refused with
// a pare::Error; anything else (a crash, another exception, a sanitizer report, a hang, a huge
// allocation) is a bug. See docs/fuzzing.md and scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "pare/error.h"
#include "pare/ir/pare_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    pare::ir::decode_pare(bytes, "fuzz.pare");
  } catch (const pare::Error&) {
    // Refusing bad input with a clear message is the expected outcome.
  }
  return 0;
}
