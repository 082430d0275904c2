// The latency profile's queries (pare/passes/latency/latency_profile.h) and this machine's key.
// The JSON form lives in latency_profile_json.cpp, the measurement in measure_profile.cpp.
#include "pare/passes/latency/latency_profile.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "pare/error.h"

namespace pare::latency {

namespace {

// /proc/cpuinfo's first "model name" (x86 Linux); "unknown" where the file or the line is absent.
std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (!line.starts_with("model name")) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(colon + 1);
    const size_t first = name.find_first_not_of(" \t");
    const size_t last = name.find_last_not_of(" \t\r");
    if (first == std::string::npos) continue;
    return name.substr(first, last - first + 1);
  }
  return "unknown";
}

// oneDNN's name of the instruction set its kernels dispatch to (the `dnnl_cpu_isa_` suffix).
std::string isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41:
      return "sse41";
    case dnnl_cpu_isa_avx:
      return "avx";
    case dnnl_cpu_isa_avx2:
      return "avx2";
    case dnnl_cpu_isa_avx2_vnni:
      return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic:
      return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops:
      return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core:
      return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "any";
  }
}

// The channel block of oneDNN's blocked layouts on `isa`: one vector register of floats (nChw16c
// with AVX-512, nChw8c with AVX / AVX2, nChw4c / plain on older ones).
int64_t channel_block_of(const std::string& isa) {
  if (isa.starts_with("avx512")) return 16;
  if (isa.starts_with("avx")) return 8;
  return 4;
}

std::string join_widths(const std::vector<int64_t>& widths) {
  std::string text;
  for (int64_t width : widths) text += (text.empty() ? "" : ", ") + std::to_string(width);
  return text;
}

size_t index_of(const std::vector<int64_t>& widths, int64_t width) {
  return static_cast<size_t>(std::find(widths.begin(), widths.end(), width) - widths.begin());
}

}  // namespace

MachineKey MachineKey::current(int64_t max_threads) {
  PARE_CHECK(max_threads >= 1, "latency profile: max_threads must be at least 1, got ",
             max_threads);
  MachineKey key;
  key.cpu = cpu_model_name();
  key.isa = isa_name(dnnl_get_effective_cpu_isa());
  key.backend = "onednn";
  key.max_threads = max_threads;
  key.channel_block = channel_block_of(key.isa);
  return key;
}

std::string MachineKey::describe() const {
  return str_cat(cpu, ", ", isa, ", ", backend, ", block ", channel_block, ", 1..", max_threads,
                 " threads");
}

double LayerLatency::time_ms(int64_t in_width, int64_t out_width, int64_t threads) const {
  PARE_CHECK(threads >= 1 && static_cast<size_t>(threads) <= ms.size(), "latency profile: layer '",
             layer, "' has times for 1..", ms.size(), " threads, not ", threads);
  const size_t in_index = index_of(in_widths, in_width);
  const size_t out_index = index_of(out_widths, out_width);
  PARE_CHECK(in_index < in_widths.size(), "latency profile: layer '", layer,
             "' was not measured at input width ", in_width, " (measured: ", join_widths(in_widths),
             ")");
  PARE_CHECK(out_index < out_widths.size(), "latency profile: layer '", layer,
             "' was not measured at output width ", out_width,
             " (measured: ", join_widths(out_widths), ")");
  const std::vector<double>& table = ms[static_cast<size_t>(threads - 1)];
  if (same_group()) {
    PARE_CHECK(in_width == out_width, "latency profile: layer '", layer,
               "' reads and writes group '", in_group, "', so its widths are equal, not ", in_width,
               " and ", out_width);
    return table.at(in_index);
  }
  return table.at(in_index * out_widths.size() + out_index);
}

std::map<std::string, int64_t> LatencyProfile::dense_widths() const {
  std::map<std::string, int64_t> widths;
  for (const GroupWidths& group : groups) widths[group.key] = group.size;
  return widths;
}

const GroupWidths* LatencyProfile::group(const std::string& key) const {
  for (const GroupWidths& candidate : groups)
    if (candidate.key == key) return &candidate;
  return nullptr;
}

double LatencyProfile::layers_ms(const std::map<std::string, int64_t>& widths,
                                 int64_t threads) const {
  PARE_CHECK(threads >= 1 && threads <= machine.max_threads, "latency profile of '", model,
             "': measured at 1..", machine.max_threads, " threads, not ", threads,
             "; profile again with --threads ", threads);
  for (const auto& [key, width] : widths) {
    const GroupWidths* named = group(key);
    PARE_CHECK(named != nullptr, "latency profile of '", model, "': no group '", key,
               "' (its groups are named by their first root)");
    PARE_CHECK(std::find(named->candidates.begin(), named->candidates.end(), width) !=
                   named->candidates.end(),
               "latency profile of '", model, "': group '", key, "' was not measured at width ",
               width, " (candidates: ", join_widths(named->candidates), ")");
  }
  // A side's width: the group's chosen one, its dense width when not chosen, or the fixed one.
  auto width_of = [&](const std::string& key, const std::vector<int64_t>& layer_widths) {
    if (key.empty()) return layer_widths.front();
    auto chosen = widths.find(key);
    if (chosen != widths.end()) return chosen->second;
    const GroupWidths* named = group(key);
    PARE_CHECK(named != nullptr, "latency profile of '", model, "': a layer names group '", key,
               "', which it does not hold");
    return named->size;
  };
  double total = 0.0;
  for (const LayerLatency& layer : layers)
    total += layer.time_ms(width_of(layer.in_group, layer.in_widths),
                           width_of(layer.out_group, layer.out_widths), threads);
  return total;
}

LatencyProfile::Linear LatencyProfile::prediction(int64_t threads) const {
  const double at_dense = layers_ms({}, threads);  // checks the thread count first
  if (!calibration.empty()) return calibration.at(static_cast<size_t>(threads - 1));
  const double dense = dense_ms.at(static_cast<size_t>(threads - 1));
  // No layer time to scale by (no layers): the model's time is all rest and does not change.
  if (at_dense <= 0.0) return {dense, 0.0};
  return {0.0, dense / at_dense};
}

double LatencyProfile::predict_ms(const std::map<std::string, int64_t>& widths,
                                  int64_t threads) const {
  const Linear linear = prediction(threads);
  return linear.constant_ms + linear.layer_scale * layers_ms(widths, threads);
}

}  // namespace pare::latency
