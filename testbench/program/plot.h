// `iommusim plot STATS.json OUT.{png,svg,pdf}`: turns a statistics file into a picture with
// gnuplot: the invalidation latency histogram with its p50 and p99 marked, and the IOTLB hit rate
// over simulated time. The title names the run's scenario and seed (top-level "scenario" and
// "seed" of the statistics), or the statistics file's name when it has neither.
#pragma once

#include <optional>
#include <string>

namespace iommusim::program {

// The gnuplot terminal that writes the format OUT's extension names (.png, .svg or .pdf, in any
// letter case); std::nullopt for any other name.
std::optional<std::string> plot_terminal_for(const std::string& out_path);

// Returns "" on success, else a message; OUT is written whole or not at all.
std::string plot_stats(const std::string& stats_json_path, const std::string& out_path);

}  // namespace iommusim::program
