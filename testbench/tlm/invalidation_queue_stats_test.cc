// Statistics of the invalidation queue: the latency record's exact nearest-rank percentiles (checked
// against values worked out by hand), its log2 buckets and its JSON.
#include "tlm/invalidation_queue_stats.h"

#include <gtest/gtest.h>

#include <initializer_list>

namespace iommusim {
namespace {

invalidation_queue_stats::histogram record_of(std::initializer_list<uint64_t> values) {
    invalidation_queue_stats::histogram h;
    for (uint64_t v : values) {
        h.add(v);
    }
    return h;
}

TEST(InvalidationQueueStats, PercentilesWithoutSamplesAreZero) {
    const invalidation_queue_stats::histogram h;
    EXPECT_EQ(h.percentile_ns(50), 0u);
    EXPECT_EQ(h.percentile_ns(99), 0u);
}

// Five samples: rank = ceil(p * 5 / 100) of the sorted values 1 2 3 4 5.
TEST(InvalidationQueueStats, NearestRankOnFiveSamples) {
    const auto h = record_of({5, 1, 4, 2, 3});
    EXPECT_EQ(h.percentile_ns(0), 1u);    // the smallest
    EXPECT_EQ(h.percentile_ns(20), 1u);   // rank 1
    EXPECT_EQ(h.percentile_ns(21), 2u);   // rank ceil(1.05) = 2
    EXPECT_EQ(h.percentile_ns(50), 3u);   // rank ceil(2.5) = 3
    EXPECT_EQ(h.percentile_ns(99), 5u);   // rank ceil(4.95) = 5
    EXPECT_EQ(h.percentile_ns(100), 5u);  // the largest
    EXPECT_EQ(h.percentile_ns(250), 5u);  // above 100 counts as 100
}

TEST(InvalidationQueueStats, NearestRankWithRepeatedValues) {
    const auto h = record_of({9, 7, 7, 7});
    EXPECT_EQ(h.percentile_ns(50), 7u);  // rank 2 of 7 7 7 9
    EXPECT_EQ(h.percentile_ns(75), 7u);  // rank 3
    EXPECT_EQ(h.percentile_ns(76), 9u);  // rank ceil(3.04) = 4
    EXPECT_EQ(h.percentile_ns(99), 9u);
}

// 100 latencies 1000, 1010, ..., 1990 ns in a scrambled order, nearly all in one log2 bucket
// [1024, 2048): the percentiles are samples, not that bucket's bound.
TEST(InvalidationQueueStats, PercentilesAreSamplesNotBucketBounds) {
    invalidation_queue_stats::histogram h;
    for (uint64_t k = 0; k < 100; ++k) {
        h.add(1000 + 10 * ((k * 37) % 100));  // 37 is coprime to 100: every value once
    }
    EXPECT_EQ(h.samples, 100u);
    EXPECT_EQ(h.percentile_ns(50), 1490u);  // rank 50: 1000 + 10 * 49
    EXPECT_EQ(h.percentile_ns(99), 1980u);  // rank 99: 1000 + 10 * 98
    EXPECT_EQ(h.percentile_ns(100), 1990u);
    EXPECT_EQ(h.min_ns, 1000u);
    EXPECT_EQ(h.max_ns, 1990u);
    // The buckets still count for the picture: 1000, 1010, 1020 in [512, 1024), the rest above.
    EXPECT_EQ(h.counts[9], 3u);
    EXPECT_EQ(h.counts[10], 97u);
    EXPECT_EQ(invalidation_queue_stats::histogram::bucket_upper_bound_ns(9), 1023u);
    EXPECT_EQ(invalidation_queue_stats::histogram::bucket_upper_bound_ns(10), 2047u);
    const std::string json = h.to_json();
    EXPECT_NE(json.find("\"p50_ns\": 1490,"), std::string::npos) << json;
    EXPECT_NE(json.find("\"p99_ns\": 1980,"), std::string::npos) << json;
}

TEST(InvalidationQueueStats, ASingleSampleIsEveryPercentile) {
    const auto h = record_of({0});
    EXPECT_EQ(h.percentile_ns(1), 0u);
    EXPECT_EQ(h.percentile_ns(99), 0u);
    EXPECT_EQ(h.counts[0], 1u);
}

}  // namespace
}  // namespace iommusim
