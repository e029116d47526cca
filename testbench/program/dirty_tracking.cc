// Scenario dirty-tracking: live migration of the memory a device writes, over VT-d second-stage
// A/D (ECAP.SSADS). The VMM maps guest RAM, allocates a paging HWPT with
// IOMMU_HWPT_ALLOC_DIRTY_TRACKING, enables tracking and copies all of RAM to the "destination";
// then, each round, the device writes a seeded set of pages (and reads others), the VMM reads and
// clears the dirty bitmap, compares it with what was written, and copies the pages it reports.
// After the last round the destination must equal the source: a dirty page the bitmap missed is
// memory a migrated guest would have lost.
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "iommusim/iommufd.h"
#include "platform/platform.h"
#include "program/dirty_tracking.h"
#include "program/nested_setup.h"
#include "program/op_trace.h"
#include "program/scenario.h"
#include "program/vmm.h"

namespace iommusim::program {

namespace {

constexpr uint64_t page_bytes = 4096;
// Guest RAM starts one page above a 2 MiB boundary: no 2 MiB block of IOVA is wholly mapped, so
// the driver maps it with 4 KiB leaves and the bitmap is exact per page (a 2 MiB leaf would
// report all of its 512 pages for one write, as on hardware).
constexpr uint64_t ram_iova = 0x20'1000;

// Anonymous host memory, page aligned, for guest RAM and the destination's copy.
class host_pages {
  public:
    explicit host_pages(std::size_t bytes) : m_bytes(bytes) {
        void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            throw std::runtime_error("dirty-tracking: cannot map " + std::to_string(bytes) + " bytes of guest RAM");
        }
        m_data = static_cast<uint8_t*>(p);
    }
    ~host_pages() { ::munmap(m_data, m_bytes); }
    host_pages(const host_pages&) = delete;
    host_pages& operator=(const host_pages&) = delete;
    uint8_t* page(uint64_t i) const { return m_data + i * page_bytes; }
    uint8_t* data() const { return m_data; }
    std::size_t size() const { return m_bytes; }

  private:
    uint8_t* m_data = nullptr;
    std::size_t m_bytes;
};

std::set<uint64_t> bitmap_pages(const std::vector<uint64_t>& bitmap, uint64_t pages) {
    std::set<uint64_t> out;
    for (uint64_t i = 0; i < pages; ++i) {
        if ((bitmap[i / 64] >> (i % 64)) & 1) {
            out.insert(i);
        }
    }
    return out;
}

std::string count_list(const std::vector<uint64_t>& v) {
    std::string s;
    for (const uint64_t n : v) {
        s += (s.empty() ? "" : " ") + std::to_string(n);
    }
    return s;
}

}  // namespace

void run_dirty_tracking(scenario_log& log, const cli_options&) {
    const platform_config& config = platform::instance().config();
    const scenario& self = *find_scenario("dirty-tracking");
    run_dirty_migration(
        log, config.seed,
        {param_value(self, config, "rounds"), param_value(self, config, "pages"), param_value(self, config, "writes")});
}

void run_dirty_migration(scenario_log& log, uint64_t seed, const dirty_tracking_params& params) {
    const uint64_t pages = params.pages;
    const uint64_t rounds = params.rounds;
    const uint64_t writes = params.writes;
    std::mt19937_64 rng(seed);
    const auto random = [&](uint64_t n) { return rng() % n; };

    vmm v;
    trace_operations(v, log);
    const unsigned dev = v.open_device(0);
    if (!log.expect((v.hw_capabilities(dev) & IOMMU_HW_CAP_DIRTY_TRACKING) != 0,
                    "IOMMU_GET_HW_INFO reports IOMMU_HW_CAP_DIRTY_TRACKING (ECAP.SSADS, iommu.ssads)")) {
        return;
    }
    host_pages source(pages * page_bytes);
    host_pages destination(pages * page_bytes);
    const uint32_t ioas = v.ioas_alloc();
    v.ioas_map(ioas, source.data(), source.size(), ram_iova);
    const uint32_t hwpt = v.hwpt_alloc_paging(dev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
    v.attach(dev, hwpt);
    v.set_dirty_tracking(hwpt, true);
    std::memcpy(destination.data(), source.data(), source.size());
    log.step("VMM: " + std::to_string(pages) +
             " pages of guest RAM at IOVA 0x201000 in a dirty-tracking HWPT, "
             "tracking on, the whole of RAM copied to the destination; " +
             std::to_string(rounds) + " rounds of " + std::to_string(writes) + " device writes, seed " +
             std::to_string(seed));

    std::vector<uint64_t> bitmap((pages + 63) / 64);
    std::vector<uint64_t> written_per_round;
    std::vector<uint64_t> reported_per_round;
    uint64_t missed = 0;
    uint64_t extra = 0;
    uint64_t dma_errors = 0;
    uint64_t copied = 0;
    const auto read_bitmap = [&](bool no_clear) {
        std::fill(bitmap.begin(), bitmap.end(), 0);
        v.get_dirty_bitmap(hwpt, ram_iova, pages * page_bytes, page_bytes, no_clear, bitmap);
        return bitmap_pages(bitmap, pages);
    };
    for (uint64_t r = 0; r < rounds; ++r) {
        log.checkpoint();
        std::set<uint64_t> written;
        std::vector<uint8_t> buf(256);
        for (uint64_t w = 0; w < writes; ++w) {
            // Mostly small writes inside a page; one in eight crosses into the next page.
            const uint64_t first = random(pages);
            const bool crossing = first + 1 < pages && random(8) == 0;
            const uint64_t len = crossing ? 64 : 8 * (1 + random(32));
            const uint64_t offset = crossing ? page_bytes - 32 : 8 * random((page_bytes - len) / 8 + 1);
            for (uint64_t i = 0; i < len; ++i) {
                buf[i] = static_cast<uint8_t>(rng());
            }
            dma_errors += v.dma(dev, ram_iova + first * page_bytes + offset, buf.data(), len, true) != 0;
            written.insert(first);
            if (crossing) {
                written.insert(first + 1);
            }
            // A read of another page: reads set no D.
            dma_errors += v.dma(dev, ram_iova + random(pages) * page_bytes, buf.data(), 64, false) != 0;
        }
        // The first round also reads without clearing: the same pages, twice.
        if (r == 0) {
            const std::set<uint64_t> kept = read_bitmap(true);
            log.expect(kept == written, "GET_DIRTY_BITMAP with NO_CLEAR reports the written pages (" +
                                            std::to_string(kept.size()) + " of " + std::to_string(written.size()) +
                                            ")");
        }
        const std::set<uint64_t> reported = read_bitmap(false);
        for (const uint64_t i : written) {
            missed += reported.count(i) == 0;
        }
        for (const uint64_t i : reported) {
            extra += written.count(i) == 0;
            std::memcpy(destination.page(i), source.page(i), page_bytes);
        }
        copied += reported.size();
        written_per_round.push_back(written.size());
        reported_per_round.push_back(reported.size());
        log.expect_each(reported == written, "round " + std::to_string(r + 1) + ": " + std::to_string(written.size()) +
                                                 " pages written, " + std::to_string(reported.size()) +
                                                 " reported dirty and copied");
    }
    // Stop-and-copy: the device is quiet, so nothing is dirty any more and the copy is complete.
    log.checkpoint();
    const std::set<uint64_t> left = read_bitmap(false);
    log.expect(left.empty(),
               "after the last round's read-and-clear no page is dirty (" + std::to_string(left.size()) + ")");
    log.expect(missed == 0, "no written page was missing from its round's bitmap (" + std::to_string(missed) + ")");
    log.expect(extra == 0, "no page was reported that the device did not write (" + std::to_string(extra) + ")");
    log.expect(dma_errors == 0, "every DMA completed (" + std::to_string(dma_errors) + " errors)");
    log.expect(std::memcmp(destination.data(), source.data(), source.size()) == 0,
               "the destination's copy equals guest RAM: every written page was migrated");
    v.set_dirty_tracking(hwpt, false);
    log.summary_row("rounds / device writes per round", std::to_string(rounds) + " / " + std::to_string(writes));
    log.summary_row("pages written per round", count_list(written_per_round));
    log.summary_row("pages reported dirty per round", count_list(reported_per_round));
    log.summary_row("pages copied after the first full copy", std::to_string(copied));
    log.summary_row("bitmap misses / extra pages", std::to_string(missed) + " / " + std::to_string(extra));
    log.summary_row("stale hits caught", std::to_string(platform_stale_hits()));
}

}  // namespace iommusim::program
