// The invalidation-storm scenario exercises every invalidation shape (its summary counts them), is
// deterministic for a seed, and catches a driver whose flush builder is wrong: a range that loses
// its last page, a non-leaf invalidation sent as leaf (driver/cache.h seeded_flush_bug).
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

#include "driver/vtd_iommu.h"
#include "platform/platform.h"
#include "program/scenario.h"

namespace iommusim::program {
namespace {

void configure_once() {
    if (platform::exists()) {
        return;
    }
    platform_config cfg;
    cfg.iommu.stale_check = true;  // as the program runs its scenarios
    cfg.seed = 11;
    std::string err;
    ASSERT_TRUE(platform::configure(cfg, &err)) << err;
}

struct storm_run {
    bool failed = false;
    std::string output;
    std::vector<std::string> failures;
    std::map<std::string, std::string> summary;
    uint64_t stale_hits = 0;  // during this run
    uint64_t faults = 0;      // translation faults during this run (the model's own count)
};

uint64_t translation_faults() {
    return std::stoull(platform::instance().statistic("model.translation.faults"));
}

storm_run run_storm() {
    configure_once();
    const uint64_t stale_before = platform::instance().stale_hits();
    const uint64_t faults_before = translation_faults();
    std::ostringstream out;
    scenario_log log(out, verbosity::quiet);
    run_invalidation_storm(log, cli_options{});
    storm_run r;
    r.failed = log.failed();
    r.output = out.str();
    r.failures = log.failures();
    for (const auto& [key, value] : log.summary()) {
        r.summary[key] = value;
    }
    r.stale_hits = platform::instance().stale_hits() - stale_before;
    r.faults = translation_faults() - faults_before;
    return r;
}

// The numbers of a summary value ("70 (37)", "28 / 24", "911").
std::vector<uint64_t> numbers(const std::string& value) {
    std::vector<uint64_t> out;
    std::istringstream s(value);
    std::string word;
    while (s >> word) {
        const std::size_t digit = word.find_first_of("0123456789");
        if (digit != std::string::npos) {
            out.push_back(std::stoull(word.substr(digit)));
        }
    }
    return out;
}

// Switches a seeded flush bug on for one scope.
class seeded_bug {
  public:
    explicit seeded_bug(driver::seeded_flush_bug bug) {
        configure_once();  // before instance() would create the platform with the default configuration
        platform::instance().vtd_driver().seed_flush_bug(bug);
    }
    ~seeded_bug() { platform::instance().vtd_driver().seed_flush_bug(driver::seeded_flush_bug::none); }
    seeded_bug(const seeded_bug&) = delete;
    seeded_bug& operator=(const seeded_bug&) = delete;
};

bool mentions(const std::vector<std::string>& failures, const std::string& text) {
    for (const std::string& f : failures) {
        if (f.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

TEST(InvalidationStorm, ExercisesEveryShapeWithoutStaleTranslations) {
    const storm_run r = run_storm();
    ASSERT_FALSE(r.failed) << r.output;
    EXPECT_EQ(r.stale_hits, 0u);
    // Every shape at least once, with its own counter; the default devices include ATS ones.
    for (const char* row : {"shape: single-page leaf entries", "shape: leaf ranges rounded up",
                            "shape: non-leaf, table replaced", "shape: non-leaf, directory unmapped",
                            "faults expected (unmapped directory)", "shape: PASID-tagged DMA checks"}) {
        ASSERT_EQ(r.summary.count(row), 1u) << row;
        const std::vector<uint64_t> n = numbers(r.summary.at(row));
        ASSERT_EQ(n.size(), 1u) << row << ": " << r.summary.at(row);
        EXPECT_GT(n[0], 0u) << row;
    }
    for (const char* row : {"shape: 2 MiB remaps (range inside)", "shape: 1 GiB remaps (range inside)",
                            "shape: ATS translations 2 MiB / 1 GiB", "shape: device-TLB drops 4 KiB / large"}) {
        ASSERT_EQ(r.summary.count(row), 1u) << row;
        const std::vector<uint64_t> n = numbers(r.summary.at(row));
        ASSERT_EQ(n.size(), 2u) << row << ": " << r.summary.at(row);
        EXPECT_GT(n[0], 0u) << row;
        EXPECT_GT(n[1], 0u) << row;
    }
    // The IOMMU counted a fault for each DMA into an unmapped directory, and no other.
    EXPECT_EQ(r.faults, numbers(r.summary.at("shape: non-leaf, directory unmapped"))[0]);
}

TEST(InvalidationStorm, IsDeterministicForASeed) {
    const storm_run a = run_storm();
    const storm_run b = run_storm();
    ASSERT_FALSE(a.failed) << a.output;
    ASSERT_FALSE(b.failed) << b.output;
    for (const auto& [key, value] : a.summary) {
        if (key.rfind("shape: ", 0) == 0 || key.rfind("DMAs", 0) == 0 || key.rfind("HWPT_INVALIDATE", 0) == 0) {
            EXPECT_EQ(b.summary.at(key), value) << key;
        }
    }
}

TEST(InvalidationStorm, CatchesARangeThatLosesItsLastPage) {
    const seeded_bug bug(driver::seeded_flush_bug::drop_last_page);
    const storm_run r = run_storm();
    EXPECT_TRUE(r.failed) << r.output;
    // The page the rounding missed keeps its old translation: the data check reads the old page,
    // the stale checker sees the cached translation used.
    EXPECT_TRUE(mentions(r.failures, "every DMA read what its device's stage 1 maps")) << r.output;
    EXPECT_GT(r.stale_hits, 0u) << r.output;
}

TEST(InvalidationStorm, CatchesANonLeafInvalidationSentAsLeaf) {
    const seeded_bug bug(driver::seeded_flush_bug::nonleaf_as_leaf);
    const storm_run r = run_storm();
    EXPECT_TRUE(r.failed) << r.output;
    // IH=1 keeps the paging-structure caches: walks go through the replaced or unmapped directory
    // entry, so DMA reads the old table's pages or translates where nothing is mapped.
    EXPECT_TRUE(mentions(r.failures, "first: non-leaf entry after a")) << r.output;
}

}  // namespace
}  // namespace iommusim::program
