// `pare prune --groups --target-latency`'s measurements (prune_groups_latency.h).
#include "prune_groups_latency.h"

#include <map>
#include <ostream>

#include "pare/error.h"

namespace pare::cli {

namespace {

// Measurements at the target's settings; the layer tables read their width at the present one.
latency::ProfileOptions profile_options(const GroupPruneOptions& options) {
  latency::ProfileOptions profile;
  profile.batch = options.latency_batch;
  profile.max_threads = options.latency_threads;
  profile.round_to = options.round_to;
  profile.max_ratio = options.max_ratio.value_or(0.9);
  profile.ignored_layers = options.ignored;
  return profile;
}

}  // namespace

std::shared_ptr<const latency::LatencyProfile> profile_for_target(ir::GraphModule& model,
                                                                  const GroupPruneOptions& options,
                                                                  Progress& progress) {
  if (!options.profile) {
    latency::ProfileOptions measuring = profile_options(options);
    measuring.progress = [&](const std::string& step) { progress.show("profiling " + step); };
    return std::make_shared<const latency::LatencyProfile>(
        about_file(options.model, [&] { return latency::measure_profile(model, measuring); }));
  }
  const std::string& path = *options.profile;
  auto profile =
      std::make_shared<const latency::LatencyProfile>(latency::read_latency_profile(path));
  const latency::MachineKey here = latency::MachineKey::current(profile->machine.max_threads);
  PARE_CHECK(profile->machine == here, path, ": measured on ", profile->machine.describe(),
             ", but this machine is ", here.describe(),
             "; a profile only predicts the machine it was measured on (pare profile again)");
  PARE_CHECK(profile->batch == options.latency_batch, path, ": measured at batch ", profile->batch,
             ", not --batch ", options.latency_batch,
             "; profile at this batch (pare profile --batch ", options.latency_batch, ")");
  PARE_CHECK(profile->machine.max_threads >= options.latency_threads, path, ": has tables up to ",
             profile->machine.max_threads, " thread(s), not --threads ", options.latency_threads,
             "; profile with --threads ", options.latency_threads);
  return profile;
}

double measure_whole_ms(ir::GraphModule& model, const GroupPruneOptions& options) {
  return about_file(options.model, [&] {
    return latency::measure_model_ms(model, options.latency_batch, options.latency_threads);
  });
}

void add_measured_latency(ir::GraphModule& pruned, const GroupPruneOptions& options,
                          double dense_measured_ms, nlohmann::json& report) {
  nlohmann::json& latency = report.at("latency");
  // The pruned model's layers at their present widths only: what each group's layers now take.
  latency::ProfileOptions measuring = profile_options(options);
  measuring.max_threads = options.latency_threads;
  measuring.present_widths_only = true;
  const latency::LatencyProfile now =
      about_file(*options.output, [&] { return latency::measure_profile(pruned, measuring); });
  const int64_t threads = options.latency_threads;
  std::map<std::string, double> measured_of_group;
  for (const latency::LayerLatency& layer : now.layers) {
    if (layer.out_group.empty()) continue;
    measured_of_group[layer.out_group] += layer.ms.at(static_cast<size_t>(threads - 1)).front();
  }
  for (nlohmann::json& group : latency.at("groups"))
    group["measured_ms"] = measured_of_group[group.at("key").get<std::string>()];
  const double measured = now.dense_ms.at(static_cast<size_t>(threads - 1));
  latency["measured_ms"] = measured;
  latency["dense_measured_ms"] = dense_measured_ms;
  latency["prediction_error"] = latency.at("predicted_ms").get<double>() / measured - 1.0;
  latency["monotone"] = measured <= dense_measured_ms;
}

void print_latency(const nlohmann::json& latency, std::ostream& stream) {
  stream << "\nlatency at " << latency.at("threads").get<int64_t>()
         << " thread(s), per group (its layers: predicted, then timed alone at the new widths):\n";
  Table rows{{"group", "width", "predicted ms", "measured ms"}};
  for (const nlohmann::json& group : latency.at("groups"))
    rows.push_back(
        {group.at("key").get<std::string>(), str_cat(group.at("width").get<int64_t>()),
         fixed(group.at("predicted_ms").get<double>(), 4),
         group.contains("measured_ms") ? fixed(group["measured_ms"].get<double>(), 4) : "-"});
  print_table(rows, {1, 2, 3}, "  ", stream);
  stream << "  whole model: budget " << fixed(latency.at("budget_ms").get<double>(), 4)
         << " ms, predicted " << fixed(latency.at("predicted_ms").get<double>(), 4) << " ms";
  if (latency.contains("measured_ms"))
    stream << ", measured " << fixed(latency["measured_ms"].get<double>(), 4) << " ms (dense "
           << fixed(latency.at("dense_measured_ms").get<double>(), 4) << " ms measured, "
           << fixed(latency.at("dense_predicted_ms").get<double>(), 4) << " ms predicted)";
  stream << "\n";
  if (latency.contains("monotone") && !latency["monotone"].get<bool>())
    stream << "  warning: the pruned model measured slower than the dense one\n";
}

}  // namespace pare::cli
