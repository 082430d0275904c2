// The latency profile file (read_latency_profile, write_latency_profile).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "pare/bounded_json.h"
#include "pare/error.h"
#include "pare/output_file.h"
#include "pare/passes/latency/latency_profile.h"

namespace pare::latency {

LatencyProfile read_latency_profile(const std::string& path) {
  std::error_code ignored;
  PARE_CHECK(!std::filesystem::is_directory(path, ignored), path,
             ": is a directory, not a latency profile");
  std::ifstream stream(path, std::ios::binary);
  PARE_CHECK(stream.good(), path, ": cannot open the latency profile");
  std::ostringstream text;
  text << stream.rdbuf();
  PARE_CHECK(!stream.bad(), path, ": cannot read the latency profile");
  const nlohmann::json json =
      parse_bounded_json<nlohmann::json>(text.str(), path + ": the latency profile");
  return LatencyProfile::from_json(json, path);
}

void write_latency_profile(const LatencyProfile& profile, const std::string& path) {
  write_file_atomically(path, profile.to_json().dump(1) + "\n");
}

}  // namespace pare::latency
