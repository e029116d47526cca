#include "vtd_rig.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "iommusim/hw/vtd_pte.h"
#include "iommusim/iommusim.h"
#include "oracle.h"
#include "platform/platform.h"

namespace iommusim::fuzz {

namespace {

// Before the platform exists: every hit of the IOTLB is re-walked and a stale one counted.
bool configure_platform() {
    iommusim_config cfg{};
    cfg.stale_check = 1;
    FUZZ_CHECK(iommusim_configure(&cfg) == 0, "iommusim_configure failed: errno %d", errno);
    return true;
}

}  // namespace

vtd_rig& vtd_rig::instance() {
    static const bool configured = configure_platform();
    (void)configured;
    static vtd_rig rig;
    return rig;
}

vtd_rig::vtd_rig() {
    m_dev = m_vmm.open_device(0);
    m_witness = m_vmm.open_device(1);
    m_ioas = m_vmm.ioas_alloc();
    m_vmm.ioas_map(m_ioas, m_guest.host(), m_guest.size(), m_guest.gpa_base());
    m_parent = m_vmm.hwpt_alloc_nest_parent(m_dev, m_ioas);
    m_vmm.attach(m_dev, m_parent);
    m_vmm.attach(m_witness, m_parent);
    void* scratch = std::aligned_alloc(page, page);
    FUZZ_CHECK(scratch != nullptr, "no scratch page");
    std::memset(scratch, 0, page);
    platform& p = platform::instance();
    m_scratch_pa = p.map_user_memory(scratch, page);
}

uint64_t vtd_rig::stale_hits() const {
    return platform::instance().stale_hits();
}

int vtd_rig::read(uint64_t iova, void* buf, std::size_t len, int* reason) {
    return m_vmm.dma(m_dev, iova, buf, len, false, IOMMU_NO_PASID, reason);
}

void vtd_rig::check_isolation(uint32_t nested_id) {
    // The witness reads a different page of guest RAM each time, through the nest parent only.
    const uint64_t gpa = m_witness_cursor;
    m_witness_cursor = (m_witness_cursor + 67 * page) % ram_bytes;
    uint8_t buf[64];
    const int err = m_vmm.dma(m_witness, gpa, buf, sizeof(buf), false);
    FUZZ_CHECK(err == 0, "the witness device's DMA at GPA 0x%llx failed: errno %d", (unsigned long long)gpa, err);
    FUZZ_CHECK(std::memcmp(buf, m_guest.at(gpa), sizeof(buf)) == 0, "the witness device read wrong data at 0x%llx",
               (unsigned long long)gpa);
    // The other context has no objects: the nested HWPT id is unknown there.
    uint32_t done = 7;
    const int inv = m_other.hwpt_invalidate(nested_id, {{0, ~uint64_t{0}, false}}, &done);
    FUZZ_CHECK(inv == ENOENT && done == 0, "HWPT_INVALIDATE of id %u in another context: errno %d entry_num %u",
               nested_id, inv, done);
}

// Without exceptions: one thrown after the simulation has run confuses ASan about the stack
// (SystemC switches coroutine stacks behind its back), so errors come back as errno.
int vtd_rig::attach_nested(uint32_t pt_id) {
    vfio_device_attach_iommufd_pt cmd{};
    cmd.argsz = sizeof(cmd);
    cmd.pt_id = pt_id;
    errno = 0;
    return iommusim_ioctl(m_vmm.device_fd(m_dev), VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd) == 0 ? 0 : errno;
}

void vtd_rig::release_nested(uint32_t nested_id) {
    const int attached = attach_nested(m_parent);
    FUZZ_CHECK(attached == 0, "vfio0 back to the nest parent: errno %d", attached);
    iommu_destroy cmd{};
    cmd.size = sizeof(cmd);
    cmd.id = nested_id;
    errno = 0;
    const int err = iommusim_ioctl(m_vmm.iommufd(), IOMMU_DESTROY, &cmd) == 0 ? 0 : errno;
    FUZZ_CHECK(err == 0, "IOMMU_DESTROY of the detached nested HWPT %u: errno %d", nested_id, err);
}

mapped_guest::mapped_guest(vtd_rig& rig) : m_rig(rig) {
    for (unsigned t = 0; t < targets; ++t) {
        std::memset(m_rig.guest().at(target_gpa(t)), target_byte(t), vtd_rig::page);
    }
    for (unsigned i = 0; i < pages; ++i) {
        m_rig.guest().map(gva(i), target_gpa(i));
        m_target[i] = static_cast<int>(i);
    }
    m_nested = m_rig.vmm().hwpt_alloc_nested_vtd(m_rig.nested_dev(), m_rig.parent(), m_rig.guest().s1_root());
    const int attached = m_rig.attach_nested(m_nested);
    FUZZ_CHECK(attached == 0, "vfio0 onto the nested HWPT: errno %d", attached);
    // Every input starts with all pages cached, as the previous input's final reads leave them:
    // an input then behaves the same whether it runs first in a process or later.
    for (unsigned i = 0; i < pages; ++i) {
        expect_current(i, "first read");
    }
}

uint64_t mapped_guest::gva(unsigned i) {
    return 0x4000'0000 + (i & 3) * vtd_rig::page + ((i >> 2) & 1) * (uint64_t{1} << 21) +
           ((i >> 3) & 1) * (uint64_t{1} << 30);
}

uint64_t mapped_guest::target_gpa(unsigned t) {
    return 0x10'0000 + t * vtd_rig::page;
}

void mapped_guest::point(unsigned i, int t) {
    using namespace iommusim::hw;
    uint64_t* e = m_rig.guest().leaf(gva(i));
    FUZZ_CHECK(e != nullptr, "leaf %u has no table", i);
    uint64_t v = 0;
    if (t != not_present) {
        v = fs_pte::p::set(v, 1);
        v = fs_pte::rw::set(v, 1);
        v = fs_pte::us::set(v, 1);
        v = fs_pte::addr::set(v, target_gpa(static_cast<unsigned>(t)) >> 12);
    }
    *e = v;
    m_target[i] = t;
}

void mapped_guest::reset() {
    for (unsigned i = 0; i < pages; ++i) {
        point(i, static_cast<int>(i));
    }
    uint32_t done = 0;
    const int err = m_rig.vmm().hwpt_invalidate(m_nested, {{0, ~uint64_t{0}, false}}, &done);
    FUZZ_CHECK(err == 0 && done == 1, "invalidate-all after reset: errno %d entry_num %u", err, done);
}

void mapped_guest::expect_current(unsigned i, const char* what) {
    uint8_t buf[32];
    int reason = 0;
    const int err = m_rig.read(gva(i), buf, sizeof(buf), &reason);
    if (m_target[i] == not_present) {
        FUZZ_CHECK(err == EFAULT, "%s: page %u is not present but the DMA gave errno %d", what, i, err);
        return;
    }
    FUZZ_CHECK(err == 0, "%s: DMA of page %u failed: errno %d (fault reason 0x%x)", what, i, err, reason);
    const uint8_t want = target_byte(static_cast<unsigned>(m_target[i]));
    for (uint8_t b : buf) {
        FUZZ_CHECK(b == want, "%s: page %u read 0x%02x, its leaf points at target %d (0x%02x)", what, i, b, m_target[i],
                   want);
    }
}

vtd_invalidate_expectation expect_vtd_invalidate(const iommu_hwpt_invalidate& cmd, const uint8_t* entries,
                                                 std::size_t readable) {
    if (cmd.__reserved != 0) {
        return {EOPNOTSUPP, 0};
    }
    if (cmd.entry_num != 0 && (cmd.data_uptr == 0 || cmd.entry_len == 0)) {
        return {EINVAL, 0};
    }
    if (cmd.data_type != IOMMU_HWPT_INVALIDATE_DATA_VTD_S1) {
        return {EINVAL, 0};
    }
    constexpr std::size_t entry_size = sizeof(iommu_hwpt_vtd_s1_invalidate);
    for (uint32_t i = 0; i < cmd.entry_num; ++i) {
        if (cmd.entry_len != entry_size) {
            return {EINVAL, i};
        }
        const std::size_t off = std::size_t{i} * entry_size;
        if (off + entry_size > readable) {
            return {EFAULT, i};
        }
        iommu_hwpt_vtd_s1_invalidate e{};
        std::memcpy(&e, entries + off, entry_size);
        if ((e.flags & ~uint32_t{IOMMU_VTD_INV_FLAGS_LEAF}) != 0 || e.__reserved != 0) {
            return {EOPNOTSUPP, i};
        }
        if ((e.addr & 0xfff) != 0 || (e.npages == ~uint64_t{0} && e.addr != 0)) {
            return {EINVAL, i};
        }
    }
    return {0, cmd.entry_num};
}

}  // namespace iommusim::fuzz
