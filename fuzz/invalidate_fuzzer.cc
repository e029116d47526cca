// Fuzz target: IOMMU_HWPT_INVALIDATE arrays on a VT-d nested HWPT, interleaved with guest edits of
// its stage-1 leaves and DMA through it.
//
// Each input is a program of three kinds of step: the guest points a leaf elsewhere (or clears
// it) without invalidating, a device reads a page, or an IOMMU_HWPT_INVALIDATE whose array (count,
// stride, type, entries, placement up to an inaccessible page, reserved fields) comes from the input.
// The oracle:
// - errno and the entry_num written back are those of docs/iommufd-facts.md §3.1 and §4.4;
// - a page whose leaf edits were all followed by a handled request covering it reads its current
//   target (or faults when not present), and the stale-translation checker counts no hit on it;
// - after the input (reset: every leaf home, invalidate everything) every page reads right, the
//   witness device on the nest parent reads guest RAM unchanged, and another context does not see
//   the nested HWPT.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/mman.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"
#include "oracle.h"
#include "vtd_rig.h"

namespace {

using iommusim::fuzz::mapped_guest;
using iommusim::fuzz::vtd_rig;

constexpr std::size_t entry_size = sizeof(iommu_hwpt_vtd_s1_invalidate);

// Two pages for the request array, then an inaccessible page.
struct array_arena {
    static constexpr std::size_t bytes = 2 * vtd_rig::page;
    uint8_t* base = nullptr;
    array_arena() {
        void* p = mmap(nullptr, bytes + vtd_rig::page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        FUZZ_CHECK(p != MAP_FAILED, "mmap failed");
        base = static_cast<uint8_t*>(p);
        FUZZ_CHECK(mprotect(base + bytes, vtd_rig::page, PROT_NONE) == 0, "mprotect failed");
    }
};

// Whether a handled request covers GVA page `gva` (docs/iommufd-facts.md §2.3: addr = 0 with
// npages = U64_MAX is everything). A range whose end overflows claims nothing here.
bool covers(const iommu_hwpt_vtd_s1_invalidate& e, uint64_t gva) {
    if (e.addr == 0 && e.npages == ~uint64_t{0}) {
        return true;
    }
    if (e.npages == 0 || e.npages > (~uint64_t{0} - e.addr) / vtd_rig::page) {
        return false;
    }
    return gva >= e.addr && gva - e.addr < e.npages * vtd_rig::page;
}

class program {
  public:
    program(FuzzedDataProvider& in, mapped_guest& g, array_arena& a) : m_in(in), m_g(g), m_arena(a) {}

    void run() {
        for (unsigned n = 0; n < 24 && m_in.remaining_bytes() > 0; ++n) {
            switch (m_in.ConsumeIntegralInRange<unsigned>(0, 3)) {
                case 0: {
                    const unsigned i = m_in.ConsumeIntegralInRange<unsigned>(0, mapped_guest::pages - 1);
                    const int t = m_in.ConsumeIntegralInRange<int>(-1, mapped_guest::targets - 1);
                    m_g.point(i, t);
                    m_dirty[i] = true;
                    m_last_edit = i;
                    break;
                }
                case 1:
                    read(pick_page());
                    break;
                default:
                    invalidate();
            }
        }
    }

  private:
    // Mostly the page edited last: edit, covering request and read of one page are what matters.
    unsigned pick_page() {
        return m_in.ConsumeBool() ? m_last_edit : m_in.ConsumeIntegralInRange<unsigned>(0, mapped_guest::pages - 1);
    }

    void read(unsigned i) {
        vtd_rig& rig = vtd_rig::instance();
        if (m_dirty[i]) {
            uint8_t buf[16];
            (void)rig.read(mapped_guest::gva(i), buf, sizeof(buf));  // may legitimately be stale
            return;
        }
        const uint64_t before = rig.stale_hits();
        m_g.expect_current(i, "read after a covering invalidation");
        FUZZ_CHECK(rig.stale_hits() == before, "page %u: stale translation used after a completed invalidation", i);
    }

    iommu_hwpt_vtd_s1_invalidate entry() {
        iommu_hwpt_vtd_s1_invalidate e{};
        const unsigned page_index = pick_page();
        switch (m_in.ConsumeIntegralInRange<unsigned>(0, 7)) {
            case 0:
                e.addr = 0;
                break;
            case 1:
                e.addr = m_in.ConsumeIntegral<uint64_t>();
                break;
            case 2:
                e.addr = mapped_guest::gva(page_index) + m_in.ConsumeIntegralInRange<uint64_t>(1, 0xfff);
                break;
            case 3:
                e.addr = mapped_guest::gva(page_index) & ~(m_in.ConsumeIntegralInRange<uint64_t>(0, 0x3fffff) << 12);
                break;
            default:  // a few pages before one of the mapped ones: ranges that straddle blocks
                e.addr = mapped_guest::gva(page_index) - vtd_rig::page * m_in.ConsumeIntegralInRange<uint64_t>(0, 5);
        }
        switch (m_in.ConsumeIntegralInRange<unsigned>(0, 7)) {
            case 0:
                e.npages = ~uint64_t{0};
                break;
            case 1:
                e.npages = 0;
                break;
            case 2:
                e.npages = m_in.ConsumeIntegral<uint64_t>();
                break;
            case 3:
                e.npages = m_in.ConsumeIntegralInRange<uint64_t>(1, 1200);
                break;
            default:
                e.npages = m_in.ConsumeIntegralInRange<uint64_t>(1, 8);
        }
        e.flags =
            m_in.ConsumeBool() ? 0 : (m_in.ConsumeBool() ? IOMMU_VTD_INV_FLAGS_LEAF : m_in.ConsumeIntegral<uint32_t>());
        e.__reserved = m_in.ConsumeProbability<float>() < 0.9f ? 0 : m_in.ConsumeIntegral<uint32_t>();
        return e;
    }

    void invalidate() {
        const unsigned n = m_in.ConsumeIntegralInRange<unsigned>(0, 6);
        std::array<iommu_hwpt_vtd_s1_invalidate, 6> entries{};
        for (unsigned i = 0; i < n; ++i) {
            entries[i] = entry();
        }
        iommu_hwpt_invalidate cmd{};
        cmd.size = sizeof(cmd);
        const unsigned target = m_in.ConsumeIntegralInRange<unsigned>(0, 15);
        cmd.hwpt_id = target == 0 ? vtd_rig::instance().parent() : m_g.nested();
        cmd.data_type = m_in.ConsumeProbability<float>() < 0.9f ? IOMMU_HWPT_INVALIDATE_DATA_VTD_S1
                                                                : m_in.ConsumeIntegral<uint32_t>();
        cmd.entry_len =
            m_in.ConsumeProbability<float>() < 0.9f ? entry_size : m_in.ConsumeIntegralInRange<uint32_t>(0, 64);
        switch (m_in.ConsumeIntegralInRange<unsigned>(0, 9)) {
            case 0:
                cmd.entry_num = m_in.ConsumeIntegral<uint32_t>();
                break;
            case 1:
                cmd.entry_num = m_in.ConsumeIntegralInRange<uint32_t>(0, 12);
                break;
            default:
                cmd.entry_num = n;
        }
        cmd.__reserved = m_in.ConsumeProbability<float>() < 0.95f ? 0 : m_in.ConsumeIntegral<uint32_t>();
        // The array at the start of the arena, or ending inside the inaccessible page, or NULL.
        std::memset(m_arena.base, 0, array_arena::bytes);
        std::size_t offset = 0;
        const unsigned placement = m_in.ConsumeIntegralInRange<unsigned>(0, 9);
        if (placement == 1) {
            offset = array_arena::bytes - m_in.ConsumeIntegralInRange<std::size_t>(0, n * entry_size);
        }
        uint8_t* at = m_arena.base + offset;
        const std::size_t readable = placement == 0 ? 0 : array_arena::bytes - offset;
        std::memcpy(at, entries.data(), std::min(readable, n * entry_size));
        cmd.data_uptr = placement == 0 ? 0 : reinterpret_cast<uint64_t>(at);

        iommusim::fuzz::vtd_invalidate_expectation want;
        if (cmd.hwpt_id == m_g.nested()) {
            want = iommusim::fuzz::expect_vtd_invalidate(cmd, at, readable);
        } else if (cmd.__reserved != 0) {
            want = {EOPNOTSUPP, 0};
        } else {
            want = {EINVAL, 0};  // a paging HWPT, or an array without pointer or stride
        }
        const uint32_t asked = cmd.entry_num;
        errno = 0;
        const int err =
            iommusim_ioctl(vtd_rig::instance().vmm().iommufd(), IOMMU_HWPT_INVALIDATE, &cmd) == 0 ? 0 : errno;
        FUZZ_CHECK(err == want.err, "HWPT_INVALIDATE id %u type %u len %u num %u: errno %d, expected %d", cmd.hwpt_id,
                   cmd.data_type, cmd.entry_len, asked, err, want.err);
        FUZZ_CHECK(cmd.entry_num == want.done, "HWPT_INVALIDATE wrote back entry_num %u, expected %u (of %u)",
                   cmd.entry_num, want.done, asked);
        for (uint32_t k = 0; k < want.done && cmd.hwpt_id == m_g.nested(); ++k) {
            iommu_hwpt_vtd_s1_invalidate e{};
            std::memcpy(&e, at + std::size_t{k} * entry_size, entry_size);
            for (unsigned i = 0; i < mapped_guest::pages; ++i) {
                if (covers(e, mapped_guest::gva(i))) {
                    m_dirty[i] = false;
                }
            }
        }
    }

    FuzzedDataProvider& m_in;
    mapped_guest& m_g;
    array_arena& m_arena;
    bool m_dirty[mapped_guest::pages] = {};
    unsigned m_last_edit = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    vtd_rig& rig = vtd_rig::instance();
    static mapped_guest g(rig);
    static array_arena arena;
    FuzzedDataProvider in(data, size);
    program(in, g, arena).run();
    g.reset();
    const uint64_t before = rig.stale_hits();
    for (unsigned i = 0; i < mapped_guest::pages; ++i) {
        g.expect_current(i, "after reset and invalidate-all");
    }
    FUZZ_CHECK(rig.stale_hits() == before, "stale translation used after invalidate-all");
    rig.check_isolation(g.nested());
    return 0;
}
