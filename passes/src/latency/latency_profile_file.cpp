// The latency profile file (read_latency_profile, write_latency_profile).
#include <filesystem>
#include <fstream>
#include <string>

#include "pare/bounded_json.h"
#include "pare/error.h"
#include "pare/output_file.h"
#include "pare/passes/latency/latency_profile.h"

namespace pare::latency {
namespace {

constexpr size_t kMaxProfileBytes = size_t{256} << 20;

}  // namespace

LatencyProfile read_latency_profile(const std::string& path) {
  std::error_code ignored;
  PARE_CHECK(!std::filesystem::is_directory(path, ignored), path,
             ": is a directory, not a latency profile");
  std::ifstream stream(path, std::ios::binary);
  PARE_CHECK(stream.good(), path, ": cannot open the latency profile");
  // Read in chunks up to a bound: the path may be a FIFO or a device that never ends, and a
  // profile's tables are the only large part (ResNet-18 at one thread: about 0.2 MiB).
  std::string text;
  char chunk[1 << 16];
  while (stream.read(chunk, sizeof(chunk)) || stream.gcount() > 0) {
    text.append(chunk, static_cast<size_t>(stream.gcount()));
    PARE_CHECK(text.size() <= kMaxProfileBytes, path, ": the latency profile is larger than ",
               kMaxProfileBytes >> 20, " MiB; no profile pare writes is");
  }
  PARE_CHECK(!stream.bad(), path, ": cannot read the latency profile");
  const nlohmann::json json =
      parse_bounded_json<nlohmann::json>(text, path + ": the latency profile");
  return LatencyProfile::from_json(json, path);
}

void write_latency_profile(const LatencyProfile& profile, const std::string& path) {
  write_file_atomically(path, profile.to_json().dump(1) + "\n");
}

}  // namespace pare::latency
