#include "tlm/qi_stats.h"

#include <algorithm>
#include <bit>
#include <cstddef>

namespace iommusim {

namespace {

template <std::size_t N>
std::string json_array(const std::array<uint64_t, N>& a) {
    std::string s = "[";
    for (std::size_t i = 0; i < N; ++i) {
        if (i != 0)
            s += ",";
        s += std::to_string(a[i]);
    }
    return s + "]";
}

}  // namespace

void qi_stats::histogram::add(uint64_t ns) {
    const unsigned b = ns == 0 ? 0 : static_cast<unsigned>(std::bit_width(ns)) - 1;
    ++counts[b < buckets ? b : buckets - 1];
    min_ns = samples == 0 ? ns : std::min(min_ns, ns);
    max_ns = samples == 0 ? ns : std::max(max_ns, ns);
    ++samples;
    sum_ns += ns;
    values_ns.push_back(ns);
}

uint64_t qi_stats::histogram::bucket_upper_bound_ns(unsigned i) {
    return (uint64_t{2} << i) - 1;
}

uint64_t qi_stats::histogram::percentile_ns(unsigned percent) const {
    if (values_ns.empty())
        return 0;
    const uint64_t n = values_ns.size();
    const uint64_t rank = std::max<uint64_t>(1, (std::min(percent, 100u) * n + 99) / 100);  // 1-based
    std::vector<uint64_t> sorted = values_ns;
    const auto nth = sorted.begin() + static_cast<std::ptrdiff_t>(rank - 1);
    std::nth_element(sorted.begin(), nth, sorted.end());
    return *nth;
}

std::string qi_stats::histogram::to_json() const {
    return "{\"samples\":" + std::to_string(samples) + ",\"sum_ns\":" + std::to_string(sum_ns) +
           ",\"min_ns\":" + std::to_string(min_ns) + ",\"max_ns\":" + std::to_string(max_ns) +
           ",\"p50_ns\":" + std::to_string(percentile_ns(50)) + ",\"p99_ns\":" + std::to_string(percentile_ns(99)) +
           ",\"log2_buckets\":" + json_array(counts) + "}";
}

std::string qi_stats::to_json() const {
    std::string s = "{\"descriptors\":" + std::to_string(descriptors);
    s += ",\"per_type\":{";
    bool first = true;
    for (std::size_t t = 1; t < per_type.size(); ++t) {
        if (per_type[t] == 0)
            continue;
        s += (first ? "\"" : ",\"") + std::to_string(t) + "\":" + std::to_string(per_type[t]);
        first = false;
    }
    s += "},\"per_scope\":{";
    first = true;
    for (unsigned i = 1; i < scope_kind_count; ++i) {
        s += (first ? "\"" : ",\"") + std::string(scope_kind_name(static_cast<scope_kind>(i))) +
             "\":" + std::to_string(per_scope[i]);
        first = false;
    }
    s += "},\"entries_dropped\":" + std::to_string(entries_dropped);
    s += ",\"iqe_by_iqei\":" + json_array(iqe_by_iqei);
    s += ",\"ite\":" + std::to_string(ite) + ",\"ice\":" + std::to_string(ice);
    s +=
        ",\"devtlb_sent\":" + std::to_string(devtlb_sent) + ",\"devtlb_completed\":" + std::to_string(devtlb_completed);
    s += ",\"devtlb_no_device\":" + std::to_string(devtlb_no_device);
    s += ",\"waits_completed\":" + std::to_string(waits_completed) +
         ",\"waits_aborted\":" + std::to_string(waits_aborted);
    s += ",\"status_writes\":" + std::to_string(status_writes) +
         ",\"completion_interrupts\":" + std::to_string(completion_interrupts);
    s += ",\"fences\":" + std::to_string(fences) + ",\"disable_refused\":" + std::to_string(disable_refused);
    s += ",\"waits_held\":" + std::to_string(waits_held);
    s += ",\"iqt_to_wait_ns\":" + iqt_to_wait_ns.to_json() + "}";
    return s;
}

}  // namespace iommusim
