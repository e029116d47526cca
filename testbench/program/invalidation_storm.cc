// Scenario invalidation-storm: every device gets its own nested HWPT over the guest stage-1 table
// (each device uses its own GVA window), then a seeded random stream of remaps, batched invalidations and
// DMA checks runs. Every DMA after an invalidation must see the page the guest mapped last.
#include <chrono>
#include <cstring>
#include <random>

#include "platform/platform.h"
#include "program/guest_memory.h"
#include "program/op_trace.h"
#include "program/scenario.h"
#include "program/vmm.h"

namespace iommusim::program {

namespace {

constexpr unsigned pages_per_device = 64;  // GVAs each device uses
constexpr unsigned data_pages = 256;       // guest pages remaps choose from
constexpr unsigned rounds = 400;           // remap/invalidate/DMA rounds
constexpr uint64_t gva_base = 0x7f00'0000'0000ull;
constexpr uint64_t data_base = 0x0100'0000;  // GPA of the first data page
constexpr unsigned scratch_pages = 16;       // per device: pages its traffic generator streams over
constexpr uint64_t scratch_gva = 0x7e00'0000'0000ull;
constexpr uint64_t scratch_gpa = 0x0200'0000;

// Upper bound of the stage-1 table pages (below the root) a 4-level mapping of `pages` contiguous
// 4 KiB pages needs: at each level one more than the entries of the level below fill, for an
// unaligned start.
uint64_t table_pages_for(uint64_t pages) {
    uint64_t total = 0;
    for (unsigned level = 1; level < 4; ++level) {
        pages = (pages + 511) / 512 + 1;
        total += pages;
    }
    return total;
}

// Data page i holds the 32-bit value i + 1 at every word.
void fill_page(guest_memory& g, unsigned i) {
    uint32_t* p = reinterpret_cast<uint32_t*>(g.at(data_base + uint64_t{i} * 4096));
    for (unsigned w = 0; w < 1024; ++w) {
        p[w] = i + 1;
    }
}

}  // namespace

void run_invalidation_storm(scenario_log& log, const cli_options&) {
    platform& p = platform::instance();
    const uint64_t seed = p.config().seed;  // --seed, else the configuration's
    const unsigned ndev = p.device_count();
    vmm v;
    trace_operations(v, log);
    // Guest RAM grows with the device count: data pages, every device's scratch window from
    // scratch_gpa on, then the stage-1 tables from the top down, never into the scratch windows.
    const uint64_t scratch_end = scratch_gpa + uint64_t{ndev} * scratch_pages * 4096;
    const uint64_t table_bytes =
        (table_pages_for(uint64_t{ndev} * pages_per_device) + table_pages_for(uint64_t{ndev} * scratch_pages)) * 4096;
    constexpr uint64_t ram_align = 2ull << 20;  // whole 2 MiB pages for the stage-2 mapping
    guest_memory guest(0, (scratch_end + table_bytes + 4096 + ram_align - 1) & ~(ram_align - 1));
    guest.keep_tables_above(scratch_end);
    for (unsigned i = 0; i < data_pages; ++i) {
        fill_page(guest, i);
    }

    const uint32_t ioas = v.ioas_alloc();
    v.ioas_map(ioas, guest.host(), guest.size(), 0);
    std::vector<unsigned> devs;
    for (unsigned d = 0; d < ndev; ++d) {
        devs.push_back(v.open_device(d));
    }
    const uint32_t parent = v.hwpt_alloc_nest_parent(devs[0], ioas);

    // Devices share the guest's stage-1 table but use disjoint GVA windows, one per device.
    std::vector<std::vector<unsigned>> mapping(ndev, std::vector<unsigned>(pages_per_device));
    std::vector<uint32_t> nested(ndev);
    std::mt19937_64 rng(seed);
    for (unsigned d = 0; d < ndev; ++d) {
        for (unsigned i = 0; i < pages_per_device; ++i) {
            mapping[d][i] = static_cast<unsigned>(rng() % data_pages);
            guest.map(gva_base + (uint64_t{d} * pages_per_device + i) * 4096, data_base + mapping[d][i] * 4096ull);
        }
    }
    // Scratch windows for the devices' own self-checking traffic; never remapped.
    for (unsigned d = 0; d < ndev; ++d) {
        for (unsigned i = 0; i < scratch_pages; ++i) {
            const uint64_t off = (uint64_t{d} * scratch_pages + i) * 4096;
            guest.map(scratch_gva + off, scratch_gpa + off);
        }
    }
    for (unsigned d = 0; d < ndev; ++d) {
        nested[d] = v.hwpt_alloc_nested_vtd(devs[d], parent, guest.s1_root());
        v.attach(devs[d], nested[d]);
    }
    log.step(std::to_string(ndev) + " devices attached to nested HWPTs over one guest stage-1 table, " +
             std::to_string(pages_per_device) + " pages each, seed " + std::to_string(seed));

    const auto wall_start = std::chrono::steady_clock::now();
    const uint64_t sim_start = p.now_ns();
    uint64_t dmas = 0, invalidations = 0, entries = 0, wrong = 0;
    traffic_result traffic;  // summed over every stream
    uint32_t word = 0;
    for (unsigned r = 0; r < rounds; ++r) {
        log.checkpoint();
        // Warm some translations.
        for (unsigned k = 0; k < 8; ++k) {
            const unsigned d = static_cast<unsigned>(rng() % ndev), i = static_cast<unsigned>(rng() % pages_per_device);
            const uint64_t gva = gva_base + (uint64_t{d} * pages_per_device + i) * 4096;
            if (v.dma(devs[d], gva + (rng() % 1024) * 4, &word, 4, false) != 0 || word != mapping[d][i] + 1) {
                ++wrong;
            }
            ++dmas;
        }
        // One device streams over its scratch window (random sizes and directions, self-checked).
        {
            const unsigned d = static_cast<unsigned>(rng() % ndev);
            traffic_spec spec;
            // Two pages (crossing a page boundary) out of the window, so reads often hit written bytes.
            spec.base = scratch_gva + (uint64_t{d} * scratch_pages + rng() % (scratch_pages - 1)) * 4096;
            spec.size = 2 * 4096;
            spec.count = 32;
            spec.seed = seed * 1000 + r;
            const traffic_result t = p.run_traffic(d, spec);
            traffic.transfers += t.transfers;
            traffic.faults += t.faults;
            traffic.bytes += t.bytes;
            traffic.checked_bytes += t.checked_bytes;
            traffic.mismatches += t.mismatches;
        }
        // Remap a batch of pages of one device, then invalidate them in one call.
        const unsigned d = static_cast<unsigned>(rng() % ndev);
        const unsigned batch = 1 + static_cast<unsigned>(rng() % 16);
        std::vector<vmm::inv_range> ranges;
        std::vector<unsigned> touched;
        for (unsigned k = 0; k < batch; ++k) {
            const unsigned i = static_cast<unsigned>(rng() % pages_per_device);
            mapping[d][i] = static_cast<unsigned>(rng() % data_pages);
            const uint64_t gva = gva_base + (uint64_t{d} * pages_per_device + i) * 4096;
            guest.remap(gva, data_base + mapping[d][i] * 4096ull);
            ranges.push_back({gva, 1, true});
            touched.push_back(i);
        }
        uint32_t done = 0;
        const int err = v.hwpt_invalidate(nested[d], ranges, &done);
        if (!log.expect_each(err == 0 && done == batch, "round " + std::to_string(r) + ": HWPT_INVALIDATE of " +
                                                            std::to_string(batch) + " entries") &&
            log.level() != verbosity::verbose) {
            break;
        }
        ++invalidations;
        entries += batch;
        for (unsigned i : touched) {
            const uint64_t gva = gva_base + (uint64_t{d} * pages_per_device + i) * 4096;
            if (v.dma(devs[d], gva, &word, 4, false) != 0 || word != mapping[d][i] + 1) {
                ++wrong;
            }
            ++dmas;
        }
        if ((r + 1) % 100 == 0) {  // progress for long runs
            log.step("progress: round " + std::to_string(r + 1) + "/" + std::to_string(rounds) + ", " +
                     std::to_string(dmas) + " DMAs, " + std::to_string(invalidations) + " invalidation calls");
        }
    }
    const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    const double sim_us = static_cast<double>(p.now_ns() - sim_start) / 1000.0;

    log.expect(wrong == 0, "every DMA read the page its device's stage 1 maps (" + std::to_string(wrong) +
                               " wrong of " + std::to_string(dmas) + ")");
    log.expect(p.stale_hits() == 0, "no stale translation used after any invalidation");
    log.expect(traffic.faults == 0 && traffic.mismatches == 0,
               "device traffic streams: " + std::to_string(traffic.transfers) + " transfers, " +
                   std::to_string(traffic.checked_bytes) + " bytes read back and checked, " +
                   std::to_string(traffic.mismatches) + " mismatches, " + std::to_string(traffic.faults) + " faults");

    log.summary_row("DMAs (VMM checks + device streams)",
                    std::to_string(dmas) + " + " + std::to_string(traffic.transfers));
    log.summary_row("HWPT_INVALIDATE calls / entries", std::to_string(invalidations) + " / " + std::to_string(entries));
    log.summary_row("IOTLB hit rate", p.statistic("platform.iotlb_hit_rate"));
    log.summary_row("page walks", p.statistic("platform.walks"));
    log.summary_row("walk memory accesses", p.statistic("platform.walk_memory_accesses"));
    log.summary_row("invalidation latency p50 / p99 (ns)", p.statistic("platform.invalidation_latency_ns.p50") + " / " +
                                                               p.statistic("platform.invalidation_latency_ns.p99"));
    log.summary_row("simulated time (us)", std::to_string(static_cast<uint64_t>(sim_us)));
    log.summary_row("host throughput (DMAs/s)",
                    std::to_string(static_cast<uint64_t>((dmas + traffic.transfers) / wall_s)));
}

}  // namespace iommusim::program
