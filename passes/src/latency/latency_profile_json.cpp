// The latency profile as JSON (what `pare profile` writes, what `pare prune --target-latency`
// reads). The reader takes untrusted input: every field's type, every table's size against its
// widths and every count is checked before use, and nothing is sized from a count the file
// claims, only from the arrays it holds.
#include <cmath>
#include <set>
#include <string>

#include "pare/bounded_json.h"
#include "pare/error.h"
#include "pare/passes/latency/latency_profile.h"

namespace pare::latency {

namespace {

constexpr const char* kFormat = "pare-latency-profile";
constexpr int64_t kVersion = 1;
// Bounds no honest profile comes near: a model of 100,000 layers, 4096 candidate widths of a
// group (ratios and channel blocks give a few dozen), 1024 threads, groups of 2^31 channels.
constexpr size_t kMaxGroups = 100000;
constexpr size_t kMaxLayers = 100000;
constexpr size_t kMaxCandidates = 4096;
constexpr size_t kMaxRoots = 100000;
constexpr int64_t kMaxThreads = 1024;
constexpr int64_t kMaxWidth = int64_t{1} << 31;
constexpr int64_t kMaxBatch = int64_t{1} << 20;

nlohmann::json widths_json(const std::vector<int64_t>& widths) { return widths; }

// Reads one JSON document, naming `source` and the field path in every error.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw Error(str_cat(source_, ": latency profile field '", field, "' ", problem));
  }

  const nlohmann::json& member(const nlohmann::json& object, const std::string& field,
                               const std::string& key) const {
    const std::string path = field.empty() ? key : field + "." + key;
    if (!object.contains(key)) fail(path, "is missing");
    return object.at(key);
  }

  void expect_object(const nlohmann::json& value, const std::string& field) const {
    if (!value.is_object()) fail(field, "must be an object, got " + json_excerpt(value));
  }

  const nlohmann::json& array(const nlohmann::json& value, const std::string& field,
                              size_t max_size) const {
    if (!value.is_array()) fail(field, "must be an array, got " + json_excerpt(value));
    if (value.size() > max_size)
      fail(field,
           str_cat("holds ", value.size(), " entries, more than the ", max_size, " allowed"));
    return value;
  }

  std::string string(const nlohmann::json& value, const std::string& field) const {
    if (!value.is_string()) fail(field, "must be a string, got " + json_excerpt(value));
    return value.get<std::string>();
  }

  int64_t integer(const nlohmann::json& value, const std::string& field, int64_t low,
                  int64_t high) const {
    if (!value.is_number_integer()) fail(field, "must be an integer, got " + json_excerpt(value));
    // An unsigned value above INT64_MAX reads as negative: compare it as unsigned first.
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(high))
      fail(field, str_cat("must be at most ", high, ", got ", json_excerpt(value)));
    const int64_t number = value.get<int64_t>();
    if (number < low || number > high)
      fail(field, str_cat("must be in [", low, ", ", high, "], got ", number));
    return number;
  }

  // A time in milliseconds: finite and not negative.
  double time(const nlohmann::json& value, const std::string& field) const {
    if (!value.is_number()) fail(field, "must be a number, got " + json_excerpt(value));
    const double ms = value.get<double>();
    if (!std::isfinite(ms) || ms < 0.0)
      fail(field, str_cat("must be a finite time >= 0 ms, got ", json_excerpt(value)));
    return ms;
  }

  std::vector<double> times(const nlohmann::json& value, const std::string& field,
                            size_t expected) const {
    array(value, field, expected);
    if (value.size() != expected)
      fail(field, str_cat("holds ", value.size(), " times, expected ", expected));
    std::vector<double> result;
    result.reserve(expected);
    for (size_t i = 0; i < value.size(); ++i)
      result.push_back(time(value[i], str_cat(field, "[", i, "]")));
    return result;
  }

  // Positive, strictly ascending widths.
  std::vector<int64_t> widths(const nlohmann::json& value, const std::string& field) const {
    array(value, field, kMaxCandidates);
    if (value.empty()) fail(field, "is empty");
    std::vector<int64_t> result;
    for (size_t i = 0; i < value.size(); ++i) {
      const int64_t width = integer(value[i], str_cat(field, "[", i, "]"), 1, kMaxWidth);
      if (!result.empty() && width <= result.back())
        fail(field, str_cat("must ascend, but ", width, " follows ", result.back()));
      result.push_back(width);
    }
    return result;
  }

  MachineKey machine(const nlohmann::json& value) const {
    expect_object(value, "machine");
    MachineKey key;
    key.cpu = string(member(value, "machine", "cpu"), "machine.cpu");
    key.isa = string(member(value, "machine", "isa"), "machine.isa");
    key.backend = string(member(value, "machine", "backend"), "machine.backend");
    key.max_threads =
        integer(member(value, "machine", "max_threads"), "machine.max_threads", 1, kMaxThreads);
    key.channel_block =
        integer(member(value, "machine", "channel_block"), "machine.channel_block", 1, 1024);
    return key;
  }

  GroupWidths group(const nlohmann::json& value, const std::string& field) const {
    expect_object(value, field);
    GroupWidths group;
    group.key = string(member(value, field, "key"), field + ".key");
    if (group.key.empty()) fail(field + ".key", "is empty");
    const nlohmann::json& roots = array(member(value, field, "roots"), field + ".roots", kMaxRoots);
    for (size_t i = 0; i < roots.size(); ++i)
      group.roots.push_back(string(roots[i], str_cat(field, ".roots[", i, "]")));
    group.size = integer(member(value, field, "size"), field + ".size", 1, kMaxWidth);
    group.candidates = widths(member(value, field, "candidates"), field + ".candidates");
    if (group.candidates.back() != group.size)
      fail(field + ".candidates", str_cat("must end with the dense width ", group.size, ", not ",
                                          group.candidates.back()));
    return group;
  }

  // One side of a layer: a known group's candidates, or one fixed width.
  void side(const LatencyProfile& profile, const std::string& key,
            const std::vector<int64_t>& layer_widths, const std::string& field,
            const std::string& which) const {
    if (key.empty()) {
      if (layer_widths.size() != 1)
        fail(field + "." + which + "_widths",
             str_cat("must hold the one fixed width of a side without a group, not ",
                     layer_widths.size()));
      return;
    }
    const GroupWidths* group = profile.group(key);
    if (group == nullptr)
      fail(field + "." + which + "_group", "names group '" + key + "', which 'groups' lacks");
    if (layer_widths != group->candidates)
      fail(field + "." + which + "_widths", "must be the candidates of group '" + key + "' (" +
                                                widths_json(group->candidates).dump() + ")");
  }

  LayerLatency layer(const nlohmann::json& value, const std::string& field,
                     const LatencyProfile& profile) const {
    expect_object(value, field);
    LayerLatency layer;
    layer.layer = string(member(value, field, "layer"), field + ".layer");
    layer.type = string(member(value, field, "type"), field + ".type");
    if (layer.type != "Conv2d" && layer.type != "Linear" && layer.type != "LSTM")
      fail(field + ".type", "must be Conv2d, Linear or LSTM, got '" + layer.type + "'");
    layer.in_group = string(member(value, field, "in_group"), field + ".in_group");
    layer.out_group = string(member(value, field, "out_group"), field + ".out_group");
    layer.in_widths = widths(member(value, field, "in_widths"), field + ".in_widths");
    layer.out_widths = widths(member(value, field, "out_widths"), field + ".out_widths");
    side(profile, layer.in_group, layer.in_widths, field, "in");
    side(profile, layer.out_group, layer.out_widths, field, "out");
    const size_t per_thread = layer.same_group() ? layer.in_widths.size()
                                                 : layer.in_widths.size() * layer.out_widths.size();
    const nlohmann::json& ms = array(member(value, field, "ms"), field + ".ms",
                                     static_cast<size_t>(profile.machine.max_threads));
    if (ms.size() != static_cast<size_t>(profile.machine.max_threads))
      fail(field + ".ms", str_cat("holds ", ms.size(), " tables, expected one per thread count (",
                                  profile.machine.max_threads, ")"));
    for (size_t t = 0; t < ms.size(); ++t)
      layer.ms.push_back(times(ms[t], str_cat(field, ".ms[", t, "]"), per_thread));
    return layer;
  }

  LatencyProfile profile(const nlohmann::json& json) const {
    expect_object(json, "(top level)");
    const std::string format = string(member(json, "", "format"), "format");
    if (format != kFormat) fail("format", str_cat("must be '", kFormat, "', got '", format, "'"));
    integer(member(json, "", "version"), "version", kVersion, kVersion);
    LatencyProfile profile;
    profile.machine = machine(member(json, "", "machine"));
    profile.model = string(member(json, "", "model"), "model");
    profile.batch = integer(member(json, "", "batch"), "batch", 1, kMaxBatch);
    const nlohmann::json& groups = array(member(json, "", "groups"), "groups", kMaxGroups);
    std::set<std::string> keys;
    for (size_t i = 0; i < groups.size(); ++i) {
      const std::string field = str_cat("groups[", i, "]");
      profile.groups.push_back(group(groups[i], field));
      if (!keys.insert(profile.groups.back().key).second)
        fail(field + ".key", "repeats group '" + profile.groups.back().key + "'");
    }
    const nlohmann::json& layers = array(member(json, "", "layers"), "layers", kMaxLayers);
    for (size_t i = 0; i < layers.size(); ++i)
      profile.layers.push_back(layer(layers[i], str_cat("layers[", i, "]"), profile));
    const auto thread_count = static_cast<size_t>(profile.machine.max_threads);
    profile.rest_ms = times(member(json, "", "rest_ms"), "rest_ms", thread_count);
    profile.dense_ms = times(member(json, "", "dense_ms"), "dense_ms", thread_count);
    if (json.contains("calibration")) {
      const nlohmann::json& fitted = array(json["calibration"], "calibration", kMaxThreads);
      if (fitted.size() != thread_count)
        fail("calibration",
             str_cat("has ", fitted.size(), " entries; it needs one per thread count (",
                     thread_count, ")"));
      for (size_t t = 0; t < fitted.size(); ++t) {
        const std::string field = str_cat("calibration[", t, "]");
        expect_object(fitted[t], field);
        const double constant =
            time(member(fitted[t], field, "constant_ms"), field + ".constant_ms");
        const double scale = time(member(fitted[t], field, "layer_scale"), field + ".layer_scale");
        if (!(scale > 0.0)) fail(field + ".layer_scale", str_cat("must be above 0, got ", scale));
        profile.calibration.push_back({constant, scale});
      }
    }
    return profile;
  }

 private:
  std::string source_;
};

}  // namespace

nlohmann::json LatencyProfile::to_json() const {
  nlohmann::json groups_json = nlohmann::json::array();
  for (const GroupWidths& group : groups)
    groups_json.push_back({{"key", group.key},
                           {"roots", group.roots},
                           {"size", group.size},
                           {"candidates", widths_json(group.candidates)}});
  nlohmann::json layers_json = nlohmann::json::array();
  for (const LayerLatency& layer : layers)
    layers_json.push_back({{"layer", layer.layer},
                           {"type", layer.type},
                           {"in_group", layer.in_group},
                           {"out_group", layer.out_group},
                           {"in_widths", widths_json(layer.in_widths)},
                           {"out_widths", widths_json(layer.out_widths)},
                           {"ms", layer.ms}});
  nlohmann::json json = {{"format", kFormat},
                         {"version", kVersion},
                         {"machine",
                          {{"cpu", machine.cpu},
                           {"isa", machine.isa},
                           {"backend", machine.backend},
                           {"max_threads", machine.max_threads},
                           {"channel_block", machine.channel_block}}},
                         {"model", model},
                         {"batch", batch},
                         {"groups", groups_json},
                         {"layers", layers_json},
                         {"rest_ms", rest_ms},
                         {"dense_ms", dense_ms}};
  if (!calibration.empty()) {
    nlohmann::json fitted = nlohmann::json::array();
    for (const Linear& linear : calibration)
      fitted.push_back({{"constant_ms", linear.constant_ms}, {"layer_scale", linear.layer_scale}});
    json["calibration"] = fitted;
  }
  return json;
}

LatencyProfile LatencyProfile::from_json(const nlohmann::json& json, const std::string& source) {
  return Reader(source).profile(json);
}

}  // namespace pare::latency
