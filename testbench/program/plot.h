// `iommusim plot STATS.json OUT.png`: turns a statistics file into a picture with gnuplot: the
// invalidation latency histogram and the IOTLB hit rate over simulated time.
#pragma once

#include <string>

namespace iommusim::program {

// Returns "" on success, else a message.
std::string plot_stats(const std::string& stats_json_path, const std::string& png_path);

}  // namespace iommusim::program
