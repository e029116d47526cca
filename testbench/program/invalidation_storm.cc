// Scenario invalidation-storm: every device gets its own nested HWPT over the guest stage-1 table
// (each device uses its own GVA windows), then a seeded random stream of guest edits, invalidations
// and DMA checks runs. Each round edits the tables in one of the shapes guests and drivers use and
// invalidates it the way a guest does (docs/vtd-facts.md §6.3: PASID-based IOTLB invalidation with
// an address mask; §6.4: IH from IOMMU_VTD_INV_FLAGS_LEAF; §6.6: device TLB):
// - single pages: a batch of one-page LEAF entries;
// - ranges: LEAF entries of several pages whose count is not a power of two and whose start is not
//   aligned to it, so the driver rounds them up to a larger naturally aligned block;
// - directory edits followed by non-LEAF entries (IH=0, the paging-structure caches must drop their
//   entries too): a page-table page replaced by an edited copy, a whole 2 MiB directory unmapped;
// - 2 MiB and 1 GiB stage-1 pages over guest RAM that stage 2 maps with 1 GiB (and 2 MiB) pages,
//   remapped and invalidated either whole or by a range inside them;
// - ATS devices holding translations (large ones among them) that the invalidation must drop from
//   their device TLB.
// Every DMA after an invalidation must see what the guest mapped last, a DMA into an unmapped
// directory must fault, and a device TLB must not hold a translation a completed invalidation
// covered. DMA is untagged (RID_PASID): the driver attaches domains to RID_PASID only.
#include <bit>
#include <chrono>
#include <cstring>
#include <random>
#include <sstream>
#include <stdexcept>

#include "iommusim/iommufd.h"
#include "platform/dma_device.h"
#include "platform/platform.h"
#include "program/guest_memory.h"
#include "program/invalidation_storm.h"
#include "program/op_trace.h"
#include "program/scenario.h"
#include "program/vmm.h"

namespace iommusim::program {

namespace {

constexpr uint64_t page_4k = 4096;
constexpr uint64_t page_2m = uint64_t{1} << 21;
constexpr uint64_t page_1g = uint64_t{1} << 30;

constexpr uint64_t window_stride = page_2m;  // one window per 2 MiB: each device has a page table of its own
constexpr uint64_t gva_base = 0x7f00'0000'0000ull;
constexpr uint64_t data_base = 0x0100'0000;  // GPA of the first data page
constexpr unsigned scratch_pages = 16;       // per device: pages its traffic generator streams over
constexpr uint64_t scratch_gva = 0x7e00'0000'0000ull;
constexpr uint64_t scratch_gpa = 0x0200'0000;
constexpr uint32_t storm_pasid = 0x55;               // the PASID a PASID-capable device also has its nested HWPT on
constexpr uint64_t large_gva = 0x7d00'0000'0000ull;  // device d's 2 MiB page: large_gva + d * 2 MiB
constexpr unsigned large_regions = 8;                // 2 MiB GPA regions the 2 MiB pages choose from
constexpr uint64_t huge_gva = 0x6000'0000'0000ull;   // device d's 1 GiB page: huge_gva + d * 1 GiB
constexpr uint64_t huge_gpa = page_1g;               // two 1 GiB GPA regions: [1 GiB, 2 GiB), [2 GiB, 3 GiB)
constexpr unsigned huge_regions = 2;
constexpr uint64_t table_floor = huge_gpa + huge_regions * page_1g;  // the stage-1 tables live above
constexpr unsigned max_inside_pages = 16;                            // of a range inside a large page

// The round's edit (weights in pick_shape).
enum class shape { single_pages, ranges, table_replace, table_unmap, large_2m, large_1g };

// What the run exercised; every field becomes a summary row.
struct shape_counts {
    uint64_t single_page_entries = 0;
    uint64_t range_entries = 0;        // npages not a power of two, start not aligned to the block
    uint64_t table_replacements = 0;   // each followed by a non-LEAF entry
    uint64_t directory_unmaps = 0;     // each followed by a non-LEAF entry and a DMA that must fault
    uint64_t remaps_2m = 0;            // 2 MiB stage-1 leaves remapped
    uint64_t inside_2m = 0;            // of those, invalidated by a range inside the page
    uint64_t remaps_1g = 0;            // 1 GiB stage-1 leaves remapped
    uint64_t inside_1g = 0;            // of those, invalidated by a range inside the page
    uint64_t ats_translations_2m = 0;  // ATS translations of that size (the smaller of both stages)
    uint64_t ats_translations_1g = 0;
    uint64_t ats_drops_4k = 0;     // device-TLB entries a range entry had to drop
    uint64_t ats_drops_large = 0;  // 2 MiB / 1 GiB device-TLB entries dropped by a range inside them
};

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

// Every table page the storm's guest may allocate: the windows (a page table each, and the
// directories above), the scratch windows, the large pages' directories, one new page table per
// round (table replacement or rebuild), and the root.
uint64_t stage1_table_pages(unsigned ndev, unsigned rounds) {
    const uint64_t windows = ndev + table_pages_for(uint64_t{ndev} * 512);
    const uint64_t large = table_pages_for(uint64_t{ndev} * 512) + table_pages_for(uint64_t{ndev} * 512 * 512);
    return windows + table_pages_for(uint64_t{ndev} * scratch_pages) + large + rounds + 1;
}

// The word a large page's guest page holds at `gpa`: unique per address, never zero.
uint32_t gpa_tag(uint64_t gpa) {
    return static_cast<uint32_t>(gpa >> 2) + 1;
}

std::string hex(uint64_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}

// Data page i holds the 32-bit value i + 1 at every word.
void fill_page(guest_memory& g, unsigned i) {
    uint32_t* p = reinterpret_cast<uint32_t*>(g.at(data_base + uint64_t{i} * page_4k));
    for (unsigned w = 0; w < 1024; ++w) {
        p[w] = i + 1;
    }
}

class storm {
  public:
    storm(scenario_log& log, uint64_t seed, const storm_params& params);
    void run();

  private:
    uint64_t window_gva(unsigned d, unsigned i) const { return gva_base + d * window_stride + uint64_t{i} * page_4k; }
    uint64_t data_gpa(unsigned page) const { return data_base + uint64_t{page} * page_4k; }
    unsigned random(unsigned n) { return static_cast<unsigned>(m_rng() % n); }
    // The PASID device d's DMA checks use this round: storm_pasid in odd rounds when it has one,
    // else none (RID_PASID). Alternating by round keeps the random stream the same.
    uint32_t tag(unsigned d) {
        const bool tagged = m_tagged_round && m_pasid_capable[d];
        m_tagged_dmas += tagged;
        return tagged ? storm_pasid : 0;
    }
    shape pick_shape();

    // A DMA read of pages [first, first + count) of device d's window; false (and a note) when a
    // page does not read its data page.
    bool read_window(unsigned d, unsigned first, unsigned count, const std::string& what);
    // Writes the tag of the GPA a large page maps `gva` to, then reads it through device d.
    bool read_large(unsigned d, uint64_t gva, uint64_t gpa, const std::string& what);
    // One HWPT_INVALIDATE on device d's nested HWPT; false when it failed (and the run should stop).
    bool invalidate(unsigned d, const std::vector<vmm::inv_range>& entries, const std::string& what);
    // ATS translation of gva by device d when it is ATS-capable; true when its device TLB took it.
    bool ats_translate(unsigned d, uint64_t gva, uint64_t* bytes = nullptr);
    bool atc_holds(unsigned d, uint64_t gva);
    void wrong(const std::string& what);

    bool single_pages(unsigned r);
    bool ranges(unsigned r);
    bool table_replace(unsigned r);
    bool table_unmap(unsigned r);
    bool large_page(unsigned r, unsigned level);
    void report();

    scenario_log& m_log;
    platform& m_p;
    const uint64_t m_seed;
    const unsigned m_ndev;
    // A guest uses 1 GiB stage-1 pages only when the unit offers them (CAP.FS1GP); else those
    // rounds remap 2 MiB pages.
    const bool m_use_1g;
    const storm_params m_params;
    vmm m_v;
    guest_memory m_guest;
    uint64_t m_large_gpa = 0;  // the first 2 MiB GPA region
    std::vector<unsigned> m_devs;
    std::vector<uint32_t> m_nested;
    std::vector<bool> m_pasid_capable;  // device -> its HWPT is also on storm_pasid
    bool m_tagged_round = false;        // this round's DMA checks carry storm_pasid (odd rounds)
    uint64_t m_tagged_dmas = 0;
    std::vector<std::vector<unsigned>> m_mapping;  // device, window page -> data page
    std::vector<unsigned> m_region_2m;             // device -> 2 MiB region its 2 MiB page maps
    std::vector<unsigned> m_region_1g;             // device -> 1 GiB region its 1 GiB page maps
    std::mt19937_64 m_rng;
    shape_counts m_shapes;
    uint64_t m_dmas = 0, m_calls = 0, m_entries = 0, m_wrong = 0, m_faults_expected = 0;
    std::string m_first_wrong;
    traffic_result m_traffic;  // summed over every stream
};

// Guest RAM: data pages, every device's scratch window from scratch_gpa on and the 2 MiB regions
// above them, all below 1 GiB; the two 1 GiB regions; the stage-1 tables from the top down to
// table_floor. Untouched RAM costs no host memory (guest_memory).
uint64_t guest_ram_bytes(unsigned ndev, unsigned rounds) {
    return (table_floor + stage1_table_pages(ndev, rounds) * page_4k + page_2m - 1) & ~(page_2m - 1);
}

storm::storm(scenario_log& log, uint64_t seed, const storm_params& params)
    : m_log(log)
    , m_p(platform::instance())
    , m_seed(seed)
    , m_ndev(static_cast<unsigned>(m_p.config().devices.size()))  // the built-in devices
    , m_use_1g(m_p.config().iommu.fs1gp)
    , m_params(params)
    , m_guest(0, guest_ram_bytes(m_ndev, params.rounds))
    , m_rng(seed) {
    trace_operations(m_v, log);
    const uint64_t scratch_end = scratch_gpa + uint64_t{m_ndev} * scratch_pages * page_4k;
    m_large_gpa = (scratch_end + page_2m - 1) & ~(page_2m - 1);
    if (m_large_gpa + large_regions * page_2m > huge_gpa) {
        throw std::runtime_error("invalidation-storm: the devices' windows do not fit below the 1 GiB regions");
    }
    m_guest.keep_tables_above(table_floor);
    for (unsigned i = 0; i < m_params.data_pages; ++i) {
        fill_page(m_guest, i);
    }

    // One IOAS map of all of guest RAM from its memfd at GPA 0: the driver maps it with 1 GiB
    // second-stage pages below the tables, 2 MiB ones above.
    const uint32_t ioas = m_v.ioas_alloc();
    m_v.ioas_map_file(ioas, m_guest.fd(), 0, m_guest.size(), 0);
    for (unsigned d = 0; d < m_ndev; ++d) {
        m_devs.push_back(m_v.open_device(d));
    }
    const uint32_t parent = m_v.hwpt_alloc_nest_parent(m_devs[0], ioas);

    // Devices share the guest's stage-1 table but use disjoint GVA windows.
    m_mapping.assign(m_ndev, std::vector<unsigned>(m_params.pages_per_device));
    for (unsigned d = 0; d < m_ndev; ++d) {
        for (unsigned i = 0; i < m_params.pages_per_device; ++i) {
            m_mapping[d][i] = random(m_params.data_pages);
            m_guest.map(window_gva(d, i), data_gpa(m_mapping[d][i]));
        }
        m_region_2m.push_back(random(large_regions));
        m_guest.map_large(large_gva + d * page_2m, m_large_gpa + m_region_2m[d] * page_2m, 2);
        m_region_1g.push_back(random(huge_regions));
        if (m_use_1g) {
            m_guest.map_large(huge_gva + d * page_1g, huge_gpa + m_region_1g[d] * page_1g, 3);
        }
    }
    // Scratch windows for the devices' own self-checking traffic; never remapped.
    for (unsigned d = 0; d < m_ndev; ++d) {
        for (unsigned i = 0; i < scratch_pages; ++i) {
            const uint64_t off = (uint64_t{d} * scratch_pages + i) * page_4k;
            m_guest.map(scratch_gva + off, scratch_gpa + off);
        }
    }
    for (unsigned d = 0; d < m_ndev; ++d) {
        // A PASID-capable device has its HWPT on RID_PASID and on storm_pasid: every invalidation
        // must reach the translations cached under both.
        const bool pasid = m_p.config().devices[d].pasid;
        m_nested.push_back(
            m_v.hwpt_alloc_nested_vtd(m_devs[d], parent, m_guest.s1_root(), 48, 0, pasid ? IOMMU_HWPT_ALLOC_PASID : 0));
        m_v.attach(m_devs[d], m_nested[d]);
        if (pasid) {
            m_v.attach_pasid(m_devs[d], storm_pasid, m_nested[d]);
        }
        m_pasid_capable.push_back(pasid);
    }
    log.step(std::to_string(m_ndev) + " devices attached to nested HWPTs over one guest stage-1 table, " +
             std::to_string(m_params.pages_per_device) + " 4 KiB pages, a 2 MiB and a 1 GiB page each, seed " +
             std::to_string(seed));
}

shape storm::pick_shape() {
    const unsigned x = random(100);
    if (x < 30) {
        return shape::single_pages;
    }
    if (x < 55) {
        return shape::ranges;
    }
    if (x < 65) {
        return shape::table_replace;
    }
    if (x < 72) {
        return shape::table_unmap;
    }
    return x < 86 ? shape::large_2m : shape::large_1g;
}

void storm::wrong(const std::string& what) {
    if (m_wrong++ == 0) {
        m_first_wrong = what;
    }
}

bool storm::read_window(unsigned d, unsigned first, unsigned count, const std::string& what) {
    std::vector<uint32_t> buf(count * (page_4k / 4));
    ++m_dmas;
    if (m_v.dma(m_devs[d], window_gva(d, first), buf.data(), count * page_4k, false, tag(d)) != 0) {
        wrong(what + ": DMA of window pages " + std::to_string(first) + "+" + std::to_string(count) + " faulted");
        return false;
    }
    for (unsigned k = 0; k < count; ++k) {
        for (unsigned w = 0; w < page_4k / 4; ++w) {
            if (buf[k * (page_4k / 4) + w] != m_mapping[d][first + k] + 1) {
                wrong(what + ": device " + std::to_string(d) + " window page " + std::to_string(first + k) +
                      " read data page " + std::to_string(buf[k * (page_4k / 4) + w] - 1) + ", the guest maps " +
                      std::to_string(m_mapping[d][first + k]));
                return false;
            }
        }
    }
    return true;
}

bool storm::read_large(unsigned d, uint64_t gva, uint64_t gpa, const std::string& what) {
    const uint32_t tag = gpa_tag(gpa);
    std::memcpy(m_guest.at(gpa), &tag, sizeof tag);  // the guest writes the page, then the device reads it
    uint32_t word = 0;
    ++m_dmas;
    if (m_v.dma(m_devs[d], gva, &word, 4, false, this->tag(d)) != 0 || word != tag) {
        wrong(what + ": device " + std::to_string(d) + " GVA " + hex(gva) + " did not read GPA " + hex(gpa));
        return false;
    }
    return true;
}

bool storm::invalidate(unsigned d, const std::vector<vmm::inv_range>& entries, const std::string& what) {
    uint32_t done = 0;
    const int err = m_v.hwpt_invalidate(m_nested[d], entries, &done);
    ++m_calls;
    m_entries += entries.size();
    return m_log.expect_each(err == 0 && done == entries.size(),
                             what + ": HWPT_INVALIDATE of " + std::to_string(entries.size()) + " entries") ||
           m_log.level() == verbosity::verbose;
}

bool storm::ats_translate(unsigned d, uint64_t gva, uint64_t* bytes) {
    dma_device& dev = m_p.dma_engine(d);
    if (!dev.atc()) {
        return false;
    }
    bool ok = false;
    m_p.run([&] { ok = dev.ats_translate(false, 0, gva, false, nullptr, bytes); });
    return ok;
}

bool storm::atc_holds(unsigned d, uint64_t gva) {
    const ats_device_tlb* atc = m_p.dma_engine(d).atc();
    return atc && atc->holds(false, 0, gva);
}

bool storm::single_pages(unsigned r) {
    const unsigned d = random(m_ndev);
    const unsigned batch = 1 + random(m_params.max_batch);
    std::vector<vmm::inv_range> entries;
    std::vector<unsigned> touched;
    for (unsigned k = 0; k < batch; ++k) {
        const unsigned i = random(m_params.pages_per_device);
        m_mapping[d][i] = random(m_params.data_pages);
        m_guest.remap(window_gva(d, i), data_gpa(m_mapping[d][i]));
        entries.push_back({window_gva(d, i), 1, true});
        touched.push_back(i);
    }
    if (!invalidate(d, entries, "round " + std::to_string(r))) {
        return false;
    }
    m_shapes.single_page_entries += batch;
    for (unsigned i : touched) {
        read_window(d, i, 1, "single-page entries");
    }
    return true;
}

bool storm::ranges(unsigned r) {
    const unsigned d = random(m_ndev);
    const unsigned count = 1 + random(3);
    struct range {
        unsigned first, pages;
        bool ats;
    };
    std::vector<range> edited;
    for (unsigned k = 0; k < count; ++k) {
        unsigned pages = 3 + random(m_params.max_range_pages - 2);
        if (std::has_single_bit(pages)) {
            ++pages;  // 5, 9, 17: the driver must round up to the next block
        }
        const unsigned block = std::bit_ceil(pages);
        unsigned first = 1 + random(m_params.pages_per_device - pages);
        if (first % block == 0) {
            --first;  // a start inside the block, so the rounding also moves the base down
        }
        edited.push_back({first, pages, false});
    }
    // The device was using the ranges (all of them before the guest edits any: ranges may overlap).
    // The ATS device holds each range's last page, the one a rounding that is too small misses first.
    for (range& e : edited) {
        read_window(d, e.first, e.pages, "range warm-up");
        e.ats = ats_translate(d, window_gva(d, e.first + e.pages - 1));
    }
    std::vector<vmm::inv_range> entries;
    for (const range& e : edited) {
        for (unsigned i = e.first; i < e.first + e.pages; ++i) {
            m_mapping[d][i] = random(m_params.data_pages);
            m_guest.remap(window_gva(d, i), data_gpa(m_mapping[d][i]));
        }
        entries.push_back({window_gva(d, e.first), e.pages, true});
    }
    if (!invalidate(d, entries, "round " + std::to_string(r) + " (ranges)")) {
        return false;
    }
    m_shapes.range_entries += count;
    for (const range& e : edited) {
        read_window(d, e.first, e.pages, "range entry");
        if (e.ats) {
            if (atc_holds(d, window_gva(d, e.first + e.pages - 1))) {
                wrong("range entry: device " + std::to_string(d) + " still holds window page " +
                      std::to_string(e.first + e.pages - 1) + " in its device TLB");
            } else {
                ++m_shapes.ats_drops_4k;
            }
        }
    }
    return true;
}

bool storm::table_replace(unsigned r) {
    const unsigned d = random(m_ndev);
    read_window(d, 0, m_params.pages_per_device, "table warm-up");  // fills the paging-structure caches
    m_guest.replace_table(window_gva(d, 0));
    // The copy differs from the old page (which keeps its entries): a walk through a stale cached
    // directory entry reads the old targets.
    const unsigned edits = 1 + random(8);
    for (unsigned k = 0; k < edits; ++k) {
        const unsigned i = random(m_params.pages_per_device);
        m_mapping[d][i] = (m_mapping[d][i] + 1 + random(m_params.data_pages - 1)) % m_params.data_pages;
        m_guest.remap(window_gva(d, i), data_gpa(m_mapping[d][i]));
    }
    // The directory entry's whole 2 MiB, or only the pages in use: both cover the PDE.
    const uint64_t npages = random(2) ? 512 : m_params.pages_per_device;
    if (!invalidate(d, {{window_gva(d, 0), npages, false}}, "round " + std::to_string(r) + " (table replaced)")) {
        return false;
    }
    ++m_shapes.table_replacements;
    read_window(d, 0, m_params.pages_per_device, "non-leaf entry after a table replacement");
    return true;
}

bool storm::table_unmap(unsigned r) {
    const unsigned d = random(m_ndev);
    read_window(d, 0, m_params.pages_per_device, "directory warm-up");
    m_guest.unmap_table(window_gva(d, 0));
    if (!invalidate(d, {{window_gva(d, 0), 512, false}}, "round " + std::to_string(r) + " (directory unmapped)")) {
        return false;
    }
    ++m_shapes.directory_unmaps;
    const unsigned probe = random(m_params.pages_per_device);
    uint32_t word = 0;
    ++m_dmas;
    ++m_faults_expected;
    if (m_v.dma(m_devs[d], window_gva(d, probe), &word, 4, false, tag(d)) == 0) {
        wrong("non-leaf entry after a directory unmap: device " + std::to_string(d) + " window page " +
              std::to_string(probe) + " still translates (read data page " + std::to_string(word - 1) + ")");
    }
    // The guest maps the window again through a new page table (not present to present: no
    // invalidation needed without caching mode).
    for (unsigned i = 0; i < m_params.pages_per_device; ++i) {
        m_mapping[d][i] = random(m_params.data_pages);
        m_guest.map(window_gva(d, i), data_gpa(m_mapping[d][i]));
    }
    read_window(d, 0, m_params.pages_per_device, "window rebuilt after a directory unmap");
    return true;
}

bool storm::large_page(unsigned r, unsigned level) {
    const bool huge = level == 3;
    const uint64_t size = huge ? page_1g : page_2m;
    const uint64_t pages = size / page_4k;
    const unsigned d = random(m_ndev);
    const uint64_t gva = (huge ? huge_gva : large_gva) + d * size;
    std::vector<unsigned>& region = huge ? m_region_1g : m_region_2m;
    const uint64_t region_base = huge ? huge_gpa : m_large_gpa;
    const std::string name = huge ? "1 GiB page" : "2 MiB page";
    auto word_offset = [&] { return (m_rng() % (size / 4)) * 4; };

    // The device uses the page: translations at two offsets in the IOTLB, one in its device TLB.
    const uint64_t warm = word_offset();
    const uint64_t before = region_base + region[d] * size;
    const uint64_t other = word_offset();
    read_large(d, gva + warm, before + warm, name + " warm-up");
    read_large(d, gva + other, before + other, name + " warm-up");
    uint64_t translated = 0;
    const uint64_t ats_offset = word_offset() & ~(page_4k - 1);
    const bool ats = ats_translate(d, gva + ats_offset, &translated);
    if (ats && translated == page_2m) {
        ++m_shapes.ats_translations_2m;
    } else if (ats && translated == page_1g) {
        ++m_shapes.ats_translations_1g;
    }
    const bool ats_large = ats && translated == size;

    const unsigned regions = huge ? huge_regions : large_regions;
    region[d] = (region[d] + 1 + random(regions - 1)) % regions;
    m_guest.remap(gva, region_base + region[d] * size);
    // The whole page, or a range inside it: either must drop the page's translations everywhere.
    // A cached nested translation has the smaller of both stages' page sizes, so a range inside the
    // page covers all of it only where stage 2 maps it with pages as large (CAP.SSLPS); elsewhere the
    // guest invalidates the whole page, as Linux does.
    const iommu_config& caps = m_p.config().iommu;
    const bool stage2_as_large = caps.sslps_1g || (!huge && caps.sslps_2m);
    const bool inside = random(2) != 0 && stage2_as_large;
    vmm::inv_range entry{gva, pages, true};
    if (inside) {
        const uint64_t first = m_rng() % pages;
        entry = {gva + first * page_4k, std::min<uint64_t>(1 + random(max_inside_pages), pages - first), true};
    }
    if (!invalidate(d, {entry}, "round " + std::to_string(r) + " (" + name + ")")) {
        return false;
    }
    ++(huge ? m_shapes.remaps_1g : m_shapes.remaps_2m);
    if (inside) {
        ++(huge ? m_shapes.inside_1g : m_shapes.inside_2m);
    }
    const uint64_t now = region_base + region[d] * size;
    read_large(d, gva + warm, now + warm, name + " remapped");
    for (unsigned k = 0; k < 3; ++k) {
        const uint64_t off = word_offset();
        read_large(d, gva + off, now + off, name + " remapped");
    }
    if (ats_large) {
        if (atc_holds(d, gva) || atc_holds(d, gva + ats_offset) || atc_holds(d, gva + size - page_4k)) {
            wrong(name + ": device " + std::to_string(d) + " still holds the page in its device TLB after " +
                  (inside ? "a range inside it" : "its whole range") + " was invalidated");
        } else if (inside) {
            ++m_shapes.ats_drops_large;
        }
    }
    return true;
}

void storm::run() {
    const auto wall_start = std::chrono::steady_clock::now();
    const uint64_t sim_start = m_p.now_ns();
    for (unsigned r = 0; r < m_params.rounds; ++r) {
        m_log.checkpoint();
        m_tagged_round = r % 2 == 1;
        // Warm some translations.
        for (unsigned k = 0; k < 8; ++k) {
            const unsigned d = random(m_ndev), i = random(m_params.pages_per_device);
            uint32_t word = 0;
            ++m_dmas;
            if (m_v.dma(m_devs[d], window_gva(d, i) + (m_rng() % 1024) * 4, &word, 4, false, tag(d)) != 0 ||
                word != m_mapping[d][i] + 1) {
                wrong("warm-up read of device " + std::to_string(d) + " window page " + std::to_string(i));
            }
        }
        // One device streams over its scratch window (random sizes and directions, self-checked).
        {
            const unsigned d = random(m_ndev);
            traffic_spec spec;
            // Two pages (crossing a page boundary) out of the window, so reads often hit written bytes.
            spec.base = scratch_gva + (uint64_t{d} * scratch_pages + m_rng() % (scratch_pages - 1)) * page_4k;
            spec.size = 2 * page_4k;
            spec.count = 32;
            spec.seed = m_seed * 1000 + r;
            const traffic_result t = m_p.run_traffic(d, spec);
            m_traffic.transfers += t.transfers;
            m_traffic.faults += t.faults;
            m_traffic.bytes += t.bytes;
            m_traffic.checked_bytes += t.checked_bytes;
            m_traffic.mismatches += t.mismatches;
        }
        bool go_on = true;
        switch (pick_shape()) {
            case shape::single_pages:
                go_on = single_pages(r);
                break;
            case shape::ranges:
                go_on = ranges(r);
                break;
            case shape::table_replace:
                go_on = table_replace(r);
                break;
            case shape::table_unmap:
                go_on = table_unmap(r);
                break;
            case shape::large_2m:
                go_on = large_page(r, 2);
                break;
            case shape::large_1g:
                go_on = large_page(r, m_use_1g ? 3 : 2);
                break;
        }
        if (!go_on) {
            break;
        }
        if ((r + 1) % 100 == 0) {  // progress for long runs
            m_log.step("progress: round " + std::to_string(r + 1) + "/" + std::to_string(m_params.rounds) + ", " +
                       std::to_string(m_dmas) + " DMAs, " + std::to_string(m_calls) + " invalidation calls");
        }
    }
    const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    const double sim_us = static_cast<double>(m_p.now_ns() - sim_start) / 1000.0;

    m_log.expect(m_wrong == 0,
                 "every DMA read what its device's stage 1 maps, faulted where nothing is mapped, and "
                 "no device TLB kept an invalidated translation (" +
                     std::to_string(m_wrong) + " wrong of " + std::to_string(m_dmas) + " DMAs" +
                     (m_wrong ? "; first: " + m_first_wrong : std::string()) + ")");
    m_log.expect(m_p.stale_hits() == 0, "no stale translation used after any invalidation");
    m_log.expect(m_traffic.faults == 0 && m_traffic.mismatches == 0,
                 "device traffic streams: " + std::to_string(m_traffic.transfers) + " transfers, " +
                     std::to_string(m_traffic.checked_bytes) + " bytes read back and checked, " +
                     std::to_string(m_traffic.mismatches) + " mismatches, " + std::to_string(m_traffic.faults) +
                     " faults");

    m_log.summary_row("DMAs (VMM checks + device streams)",
                      std::to_string(m_dmas) + " + " + std::to_string(m_traffic.transfers));
    m_log.summary_row("HWPT_INVALIDATE calls / entries", std::to_string(m_calls) + " / " + std::to_string(m_entries));
    report();
    m_log.summary_row("IOTLB hit rate", m_p.statistic("platform.iotlb_hit_rate"));
    m_log.summary_row("page walks", m_p.statistic("platform.walks"));
    m_log.summary_row("walk memory accesses", m_p.statistic("platform.walk_memory_accesses"));
    m_log.summary_row("invalidation latency p50 / p99 (ns)", m_p.statistic("platform.invalidation_latency_ns.p50") +
                                                                 " / " +
                                                                 m_p.statistic("platform.invalidation_latency_ns.p99"));
    m_log.summary_row("simulated time (us)", std::to_string(static_cast<uint64_t>(sim_us)));
    m_log.summary_row("host throughput (DMAs/s)",
                      std::to_string(static_cast<uint64_t>((m_dmas + m_traffic.transfers) / wall_s)));
}

void storm::report() {
    const shape_counts& s = m_shapes;
    m_log.summary_row("shape: single-page leaf entries", std::to_string(s.single_page_entries));
    m_log.summary_row("shape: leaf ranges rounded up", std::to_string(s.range_entries));
    m_log.summary_row("shape: non-leaf, table replaced", std::to_string(s.table_replacements));
    m_log.summary_row("shape: non-leaf, directory unmapped", std::to_string(s.directory_unmaps));
    m_log.summary_row("shape: 2 MiB remaps (range inside)",
                      std::to_string(s.remaps_2m) + " (" + std::to_string(s.inside_2m) + ")");
    m_log.summary_row("shape: 1 GiB remaps (range inside)",
                      std::to_string(s.remaps_1g) + " (" + std::to_string(s.inside_1g) + ")");
    m_log.summary_row("shape: ATS translations 2 MiB / 1 GiB",
                      std::to_string(s.ats_translations_2m) + " / " + std::to_string(s.ats_translations_1g));
    m_log.summary_row("shape: device-TLB drops 4 KiB / large",
                      std::to_string(s.ats_drops_4k) + " / " + std::to_string(s.ats_drops_large));
    m_log.summary_row("faults expected (unmapped directory)", std::to_string(m_faults_expected));
    m_log.summary_row("shape: PASID-tagged DMA checks", std::to_string(m_tagged_dmas));
}

}  // namespace

void run_invalidation_storm(scenario_log& log, const cli_options&) {
    const platform_config& config = platform::instance().config();
    const scenario& self = *find_scenario("invalidation-storm");
    const auto param = [&](const char* name) { return static_cast<unsigned>(param_value(self, config, name)); };
    const storm_params params{param("rounds"), param("pages"), param("data_pages"), param("max_batch"),
                              param("max_range_pages")};
    run_storm(log, config.seed, params);  // --seed, else the configuration's
}

void run_storm(scenario_log& log, uint64_t seed, const storm_params& params) {
    storm s(log, seed, params);
    s.run();
}

}  // namespace iommusim::program
