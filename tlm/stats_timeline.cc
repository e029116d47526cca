#include "tlm/stats_timeline.h"

namespace iommusim {

stats_timeline::stats_timeline(const stats_group& source, std::vector<std::pair<std::string, std::string>> columns,
                               uint64_t interval_ns)
    : m_source(source), m_columns(std::move(columns)), m_interval_ns(interval_ns) {}

void stats_timeline::sample(uint64_t now_ns) {
    if (m_interval_ns == 0) {
        return;
    }
    if (!m_samples.empty() && now_ns < m_samples.back().front() + m_interval_ns) {
        return;
    }
    std::vector<uint64_t> row{now_ns};
    for (const auto& [name, path] : m_columns) {
        row.push_back(m_source.counter_at(path).value_or(0));
    }
    m_samples.push_back(std::move(row));
}

void stats_timeline::register_stats(stats_group& group, std::string name, std::string description) const {
    group.records(
        std::move(name), std::move(description), [this] { return m_samples.size(); },
        [this](std::size_t i, stats_group& record) {
            const std::vector<uint64_t>& row = m_samples[i];
            record.counter("t_ns", "simulated time of the sample", row[0]);
            for (std::size_t c = 0; c < m_columns.size(); ++c) {
                record.counter(m_columns[c].first, m_columns[c].second, row[c + 1]);
            }
            return true;
        });
}

}  // namespace iommusim
