// Fuzz target: guest stage-1 page tables under a VT-d nested HWPT.
//
// Each input writes a guest's stage-1 tables (entries with any bits, pointing at tables, at data,
// outside guest RAM), allocates a nested HWPT over them with the input's iommu_hwpt_vtd_s1
// (pointer, address width, flags, reserved field), attaches vfio0, reads GVAs through it, edits the
// tables again, invalidates everything and reads again. Guest RAM outside the tables holds, in
// every 8-byte word, that word's own GPA, so a read tells where the translation went.
// The oracle, written from docs/iommufd-facts.md §4.1 and the x86-64 first-stage format
// (docs/vtd-facts.md), not from the model's walker:
// - HWPT_ALLOC takes any flags, width, pointer and reserved value with a 24-byte payload (EINVAL
//   for another length); attach refuses an address width other than 48 or 57 with EINVAL;
// - a read that succeeds returns guest RAM at the GPA a plain walk of the tables gives (present
//   bits, addresses, 2 MiB / 1 GiB leaves); a read that fails is EFAULT with a fault reason;
// - after the invalidate-all, reads see the edited tables and the stale checker counts nothing;
// - the nested HWPT is destroyed after the input, the witness device on the nest parent reads guest
//   RAM unchanged and another context does not see the HWPT.
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include "iommusim/hw/vtd_pte.h"
#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"
#include "oracle.h"
#include "vtd_rig.h"

namespace {

using iommusim::fuzz::vtd_rig;
namespace fs_pte = iommusim::hw::fs_pte;

constexpr unsigned table_pages = 8;
constexpr uint64_t table_base = 0x2'0000;  // GPA of table page 0 (the usual root)
constexpr uint64_t address_mask = fs_pte::addr::mask;

uint64_t table_gpa(unsigned k) {
    return table_base + k * vtd_rig::page;
}

// Every word of guest RAM outside the tables holds its own GPA.
void fill_guest_ram(vtd_rig& rig) {
    for (uint64_t gpa = 0; gpa < vtd_rig::ram_bytes; gpa += 8) {
        std::memcpy(rig.guest().at(gpa), &gpa, 8);
    }
}

// The GPA a plain walk of the current tables gives for gva, if any.
std::optional<uint64_t> walk(vtd_rig& rig, uint64_t root, unsigned levels, uint64_t gva) {
    uint64_t table = root & address_mask;
    for (unsigned level = levels; level >= 1; --level) {
        const unsigned shift = 12 + 9 * (level - 1);
        const uint64_t slot = table + ((gva >> shift) & 511) * 8;
        if (slot + 8 > vtd_rig::ram_bytes) {
            return std::nullopt;
        }
        uint64_t e = 0;
        std::memcpy(&e, rig.guest().at(slot), 8);
        if (!fs_pte::p::get(e)) {
            return std::nullopt;
        }
        const uint64_t next = e & address_mask;
        if (level == 1 || ((level == 2 || level == 3) && fs_pte::ps::get(e))) {
            const uint64_t offset_mask = (uint64_t{1} << shift) - 1;
            return (next & ~offset_mask) | (gva & offset_mask);
        }
        table = next;
    }
    return std::nullopt;
}

class program {
  public:
    explicit program(FuzzedDataProvider& in) : m_in(in), m_rig(vtd_rig::instance()) {}

    void run() {
        for (unsigned k = 0; k < table_pages; ++k) {
            std::memset(m_rig.guest().at(table_gpa(k)), 0, vtd_rig::page);
        }
        write_entries(24);
        iommu_hwpt_vtd_s1 s1{};
        s1.pgtbl_addr = m_in.ConsumeProbability<float>() < 0.9f ? table_gpa(0) : m_in.ConsumeIntegral<uint64_t>();
        const unsigned width_choice = m_in.ConsumeIntegralInRange<unsigned>(0, 9);
        s1.addr_width = width_choice == 0 ? 57 : (width_choice == 1 ? m_in.ConsumeIntegral<uint32_t>() : 48);
        s1.flags = m_in.ConsumeBool() ? 0 : m_in.ConsumeIntegral<uint64_t>();
        s1.__reserved = m_in.ConsumeProbability<float>() < 0.9f ? 0 : m_in.ConsumeIntegral<uint32_t>();
        iommu_hwpt_alloc cmd{};
        cmd.size = sizeof(cmd);
        cmd.dev_id = m_rig.vmm().dev_id(m_rig.nested_dev());
        cmd.pt_id = m_rig.parent();
        cmd.data_type = IOMMU_HWPT_DATA_VTD_S1;
        cmd.data_len =
            m_in.ConsumeProbability<float>() < 0.9f ? sizeof(s1) : m_in.ConsumeIntegralInRange<uint32_t>(1, 40);
        cmd.data_uptr = reinterpret_cast<uint64_t>(&s1);
        const int alloc = call(IOMMU_HWPT_ALLOC, &cmd);
        FUZZ_CHECK(alloc == (cmd.data_len == sizeof(s1) ? 0 : EINVAL), "nested HWPT_ALLOC data_len %u: errno %d",
                   cmd.data_len, alloc);
        if (alloc != 0) {
            return;
        }
        const uint32_t nested = cmd.out_hwpt_id;
        const int attached = m_rig.attach_nested(nested);
        if (s1.addr_width != 48 && s1.addr_width != 57) {
            FUZZ_CHECK(attached == EINVAL, "attach with address width %u: errno %d", s1.addr_width, attached);
        } else {
            FUZZ_CHECK(attached == 0 || attached == EINVAL, "attach: errno %d", attached);
        }
        if (attached == 0) {
            const unsigned levels = s1.addr_width == 57 ? 5 : 4;
            for (unsigned n = m_in.ConsumeIntegralInRange<unsigned>(0, 6); n > 0; --n) {
                read_checked(s1.pgtbl_addr, levels, "before any edit");
            }
            write_entries(8);
            for (unsigned n = m_in.ConsumeIntegralInRange<unsigned>(0, 3); n > 0; --n) {
                uint8_t buf[8];
                (void)m_rig.read(gva(), buf, sizeof(buf));  // may use the old translation
            }
            uint32_t done = 0;
            const int inv = m_rig.vmm().hwpt_invalidate(nested, {{0, ~uint64_t{0}, false}}, &done);
            FUZZ_CHECK(inv == 0 && done == 1, "invalidate-all: errno %d entry_num %u", inv, done);
            const uint64_t before = m_rig.stale_hits();
            for (unsigned n = m_in.ConsumeIntegralInRange<unsigned>(1, 6); n > 0; --n) {
                read_checked(s1.pgtbl_addr, levels, "after invalidate-all");
            }
            FUZZ_CHECK(m_rig.stale_hits() == before, "stale translation used after invalidate-all");
        }
        m_rig.release_nested(nested);
        m_rig.check_isolation(nested);
    }

  private:
    int call(unsigned long request, void* arg) {
        errno = 0;
        return iommusim_ioctl(m_rig.vmm().iommufd(), request, arg) == 0 ? 0 : errno;
    }

    // A GVA whose table indexes are mostly small (so the input's entries are on its walk).
    uint64_t gva() {
        uint64_t v = 0;
        for (unsigned level = 5; level >= 1; --level) {
            const uint64_t index = m_in.ConsumeBool() ? m_in.ConsumeIntegralInRange<uint64_t>(0, 3)
                                                      : m_in.ConsumeIntegralInRange<uint64_t>(0, 511);
            v |= index << (12 + 9 * (level - 1));
        }
        if (m_in.ConsumeBool()) {
            v &= (uint64_t{1} << 47) - 1;  // canonical for 4 levels
        }
        return v | (m_in.ConsumeIntegralInRange<uint64_t>(0, 511) * 8);
    }

    void write_entries(unsigned max) {
        for (unsigned n = m_in.ConsumeIntegralInRange<unsigned>(0, max); n > 0; --n) {
            const unsigned k = m_in.ConsumeIntegralInRange<unsigned>(0, table_pages - 1);
            const unsigned index = m_in.ConsumeBool() ? m_in.ConsumeIntegralInRange<unsigned>(0, 3)
                                                      : m_in.ConsumeIntegralInRange<unsigned>(0, 511);
            uint64_t e = 0;
            if (m_in.ConsumeProbability<float>() < 0.8f) {
                // Present, with the input's low flag bits, pointing at a table, guest RAM, or anywhere.
                uint64_t to = 0;
                switch (m_in.ConsumeIntegralInRange<unsigned>(0, 3)) {
                    case 0:
                    case 1:
                        to = table_gpa(m_in.ConsumeIntegralInRange<unsigned>(0, table_pages - 1));
                        break;
                    case 2:
                        to = m_in.ConsumeIntegralInRange<uint64_t>(0, vtd_rig::ram_bytes - 1);
                        break;
                    default:
                        to = m_in.ConsumeIntegral<uint64_t>();
                }
                e = (to & address_mask) | 0x7 | (m_in.ConsumeIntegral<uint16_t>() & 0xfff);
                if (m_in.ConsumeProbability<float>() < 0.1f) {
                    e |= m_in.ConsumeIntegral<uint64_t>() & ~address_mask;
                }
            } else {
                e = m_in.ConsumeIntegral<uint64_t>();
            }
            std::memcpy(m_rig.guest().at(table_gpa(k) + index * 8), &e, 8);
        }
    }

    void read_checked(uint64_t root, unsigned levels, const char* what) {
        const uint64_t v = gva();
        uint64_t got = 0;
        int reason = 0;
        const int err = m_rig.read(v, &got, sizeof(got), &reason);
        if (err != 0) {
            FUZZ_CHECK(err == EFAULT && reason != 0, "%s: read of GVA 0x%llx: errno %d reason 0x%x", what,
                       (unsigned long long)v, err, reason);
            return;
        }
        const std::optional<uint64_t> gpa = walk(m_rig, root, levels, v);
        FUZZ_CHECK(gpa.has_value() && *gpa + 8 <= vtd_rig::ram_bytes,
                   "%s: GVA 0x%llx was translated, but the tables give no page of guest RAM", what,
                   (unsigned long long)v);
        uint64_t want = 0;
        std::memcpy(&want, m_rig.guest().at(*gpa), 8);
        FUZZ_CHECK(got == want, "%s: GVA 0x%llx read 0x%llx, guest RAM at GPA 0x%llx holds 0x%llx", what,
                   (unsigned long long)v, (unsigned long long)got, (unsigned long long)*gpa, (unsigned long long)want);
    }

    FuzzedDataProvider& m_in;
    vtd_rig& m_rig;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static const bool filled = [] {
        fill_guest_ram(vtd_rig::instance());
        return true;
    }();
    (void)filled;
    FuzzedDataProvider in(data, size);
    program(in).run();
    return 0;
}
