// Statistics of the invalidation queue engine (tlm/invalidation_queue.h), registered into a stats_group.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tlm/descriptor_decoder.h"
#include "tlm/stats_group.h"

namespace iommusim {

struct invalidation_queue_stats {
    // Power-of-two buckets for the picture: bucket i counts values in [2^i, 2^(i+1)) ns, bucket 0
    // also holds 0. Every sample is kept as well, so percentiles are exact, not bucket bounds.
    struct histogram {
        static constexpr unsigned buckets = 32;
        std::array<uint64_t, buckets> counts{};
        uint64_t samples = 0;
        uint64_t sum_ns = 0;
        uint64_t min_ns = 0;
        uint64_t max_ns = 0;
        std::vector<uint64_t> values_ns;  // every sample, in arrival order
        void add(uint64_t ns);
        // 2^(i+1) - 1: the largest value bucket i counts (the last one also holds all larger values).
        static uint64_t bucket_upper_bound_ns(unsigned i);
        // Nearest-rank percentile: the smallest sample such that at least `percent` % of all
        // samples are <= it, i.e. the ceil(percent * samples / 100)-th smallest (the smallest for
        // percent 0). 0 without samples; percent above 100 counts as 100.
        uint64_t percentile_ns(unsigned percent) const;
        // samples, sum_ns, min_ns, max_ns, p50_ns, p99_ns, log2_buckets.
        void register_stats(stats_group& group) const;
        std::string to_json() const;
    };

    uint64_t descriptors = 0;                            // descriptors fetched, validated and applied
    std::array<uint64_t, 16> per_type{};                 // index = descriptor type (hw::inv_type)
    std::array<uint64_t, scope_kind_count> per_scope{};  // index = scope_kind
    uint64_t entries_dropped = 0;                        // sum of what the cache scopes reported
    std::array<uint64_t, 8> iqe_by_iqei{};               // index = IQEI code (1..7)
    uint64_t ite = 0;                                    // device-TLB time-outs
    uint64_t ice = 0;                                    // unexpected device-TLB completions
    uint64_t devtlb_sent = 0;                            // requests sent to a registered device
    uint64_t devtlb_completed = 0;                       // requests completed by their device
    uint64_t devtlb_no_device = 0;                       // type 3/8 for a requester id with no port: completes at once
    uint64_t page_responses_sent = 0;                    // type-9 (and the unit's own) responses delivered to a device
    uint64_t page_responses_no_device = 0;               // ... for a requester id with no port: dropped
    uint64_t waits_completed = 0;
    uint64_t waits_aborted = 0;  // wait descriptors dropped by a time-out (ITE)
    uint64_t status_writes = 0;
    uint64_t completion_interrupts = 0;  // MSIs sent (IWC newly set and IM=0, or IM cleared)
    uint64_t fences = 0;                 // wait descriptors with FN=1
    uint64_t disable_refused = 0;        // QIE cleared while the queue was not idle
    uint64_t waits_held = 0;             // completions postponed to after requests served ahead of time
    histogram iqt_to_wait_ns;            // IQT write that published a wait -> its completion

    // Every field by its name; per_type lists the types seen, per_scope every scope by name.
    void register_stats(stats_group& group) const;
    std::string to_json() const;
};

}  // namespace iommusim
