#include "tlm/invalidation_queue_stats.h"

#include <algorithm>
#include <bit>
#include <cstddef>

namespace iommusim {

void invalidation_queue_stats::histogram::add(uint64_t ns) {
    const unsigned b = ns == 0 ? 0 : static_cast<unsigned>(std::bit_width(ns)) - 1;
    ++counts[b < buckets ? b : buckets - 1];
    min_ns = samples == 0 ? ns : std::min(min_ns, ns);
    max_ns = samples == 0 ? ns : std::max(max_ns, ns);
    ++samples;
    sum_ns += ns;
    values_ns.push_back(ns);
}

uint64_t invalidation_queue_stats::histogram::bucket_upper_bound_ns(unsigned i) {
    return (uint64_t{2} << i) - 1;
}

uint64_t invalidation_queue_stats::histogram::percentile_ns(unsigned percent) const {
    if (values_ns.empty()) {
        return 0;
    }
    const uint64_t n = values_ns.size();
    const uint64_t rank = std::max<uint64_t>(1, (std::min(percent, 100u) * n + 99) / 100);  // 1-based
    std::vector<uint64_t> sorted = values_ns;
    const auto nth = sorted.begin() + static_cast<std::ptrdiff_t>(rank - 1);
    std::nth_element(sorted.begin(), nth, sorted.end());
    return *nth;
}

void invalidation_queue_stats::histogram::register_stats(stats_group& g) const {
    g.counter("samples", "latencies recorded", samples);
    g.counter("sum_ns", "sum of the latencies", sum_ns);
    g.counter("min_ns", "smallest latency", min_ns);
    g.counter("max_ns", "largest latency", max_ns);
    g.value("p50_ns", "median (nearest rank)", [this] { return percentile_ns(50); });
    g.value("p99_ns", "99th percentile (nearest rank)", [this] { return percentile_ns(99); });
    g.counters("log2_buckets", "bucket i counts latencies in [2^i, 2^(i+1)) ns", counts);
}

std::string invalidation_queue_stats::histogram::to_json() const {
    stats_group g;
    register_stats(g);
    return g.to_json();
}

void invalidation_queue_stats::register_stats(stats_group& g) const {
    g.counter("descriptors", "descriptors fetched, validated and applied", descriptors);
    g.named_counters("per_type", "descriptors by type (the types seen)", per_type,
                     [](std::size_t t, uint64_t n) { return t != 0 && n != 0 ? std::to_string(t) : std::string(); });
    g.named_counters("per_scope", "cache descriptors by invalidation scope", per_scope, [](std::size_t i, uint64_t) {
        return i == 0 ? std::string() : std::string(scope_kind_name(static_cast<scope_kind>(i)));
    });
    g.counter("entries_dropped", "cache entries the scopes removed", entries_dropped);
    g.counters("iqe_by_iqei", "invalidation queue errors by IQEI code", iqe_by_iqei);
    g.counter("ite", "device-TLB invalidation time-outs", ite);
    g.counter("ice", "unexpected device-TLB completions", ice);
    g.counter("devtlb_sent", "device-TLB invalidations sent", devtlb_sent);
    g.counter("devtlb_completed", "device-TLB invalidations completed", devtlb_completed);
    g.counter("devtlb_no_device", "device-TLB invalidations without a registered device", devtlb_no_device);
    g.counter("page_responses_sent", "page group responses delivered to a device", page_responses_sent);
    g.counter("page_responses_no_device", "page group responses without a registered device", page_responses_no_device);
    g.counter("waits_completed", "wait descriptors completed", waits_completed);
    g.counter("waits_aborted", "wait descriptors dropped by a time-out", waits_aborted);
    g.counter("status_writes", "wait status writes", status_writes);
    g.counter("completion_interrupts", "completion MSIs sent", completion_interrupts);
    g.counter("fences", "wait descriptors with FN=1", fences);
    g.counter("disable_refused", "QIE cleared while busy (refused)", disable_refused);
    g.counter("waits_held", "completions held after requests served ahead of time", waits_held);
    iqt_to_wait_ns.register_stats(g.subgroup("iqt_to_wait_ns", "IQT write that published a wait to its completion"));
}

std::string invalidation_queue_stats::to_json() const {
    stats_group g;
    register_stats(g);
    return g.to_json();
}

}  // namespace iommusim
