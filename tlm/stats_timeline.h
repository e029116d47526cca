// Samples of chosen counters of a stats_group over simulated time (the IOTLB's hits and misses for
// `iommusim plot`), kept at most one per interval and written as records of that group's kind:
// [{"t_ns": t, "<column>": value, ...}, ...].
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tlm/stats_group.h"

namespace iommusim {

class stats_timeline {
  public:
    // `columns`: (name in a sample, dotted path of a counter in `source`). interval_ns 0: no samples.
    stats_timeline(const stats_group& source, std::vector<std::pair<std::string, std::string>> columns,
                   uint64_t interval_ns);

    // A sample at `now_ns` unless the last one is less than an interval old.
    void sample(uint64_t now_ns);
    std::size_t size() const { return m_samples.size(); }
    // The samples as a records entry `name` of `group`.
    void register_stats(stats_group& group, std::string name, std::string description) const;

  private:
    const stats_group& m_source;
    std::vector<std::pair<std::string, std::string>> m_columns;
    uint64_t m_interval_ns;
    std::vector<std::vector<uint64_t>> m_samples;  // t_ns, then one value per column
};

}  // namespace iommusim
