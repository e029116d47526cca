#include "program/guest_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>

#include "iommusim/hw/vtd_pte.h"
#include "iommusim/hw/vtd_tables.h"
#include "platform/platform.h"

namespace iommusim::program {

using namespace iommusim::hw;

namespace {

// The waves mark every edit of a present entry: the IOTLB may hold it until an invalidation.
void mark_present_edit(const char* what, uint64_t gva, const char* to = nullptr, uint64_t gpa = 0) {
    if (!platform::exists()) {
        return;
    }
    std::ostringstream s;
    s << what << "_GVA_0x" << std::hex << gva;
    if (to) {
        s << to << "0x" << gpa;
    }
    platform::instance().note_guest_pte_edit(s.str());
}

}  // namespace

guest_memory::guest_memory(uint64_t gpa_base, std::size_t bytes, unsigned levels)
    : m_size(bytes), m_gpa_base(gpa_base), m_levels(levels) {
    if (bytes == 0 || bytes % page_size_4k || levels < 4 || levels > 5) {
        throw std::invalid_argument("guest_memory: size must be whole pages and levels 4 or 5");
    }
    // A sparse memfd reads as zero until written; no page is populated here.
    m_fd = memfd_create("iommusim-guest-ram", MFD_CLOEXEC);
    if (m_fd < 0) {
        throw std::runtime_error(std::string("guest_memory: memfd_create: ") + std::strerror(errno));
    }
    void* ram = MAP_FAILED;
    if (ftruncate(m_fd, static_cast<off_t>(bytes)) == 0) {
        ram = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, m_fd, 0);
    }
    if (ram == MAP_FAILED) {
        const int err = errno;
        close(m_fd);
        throw std::runtime_error(std::string("guest_memory: guest RAM of ") + std::to_string(bytes) +
                                 " bytes: " + std::strerror(err));
    }
    m_ram = static_cast<uint8_t*>(ram);
    m_next_table = gpa_base + bytes;
    m_table_floor = gpa_base;
    m_root = alloc_page();
}

guest_memory::~guest_memory() {
    munmap(m_ram, m_size);
    close(m_fd);
}

uint8_t* guest_memory::at(uint64_t gpa) {
    if (gpa < m_gpa_base || gpa - m_gpa_base >= m_size) {
        throw std::out_of_range("GPA outside guest RAM");
    }
    return m_ram + (gpa - m_gpa_base);
}

uint64_t guest_memory::alloc_page() {
    if (m_next_table < m_table_floor + page_size_4k) {
        throw std::runtime_error("guest RAM exhausted: no page left for page tables above the guest's data");
    }
    m_next_table -= page_size_4k;
    std::memset(at(m_next_table), 0, page_size_4k);
    return m_next_table;
}

uint64_t* guest_memory::entry(uint64_t table_gpa, unsigned index) {
    return reinterpret_cast<uint64_t*>(at(table_gpa)) + index;
}

uint64_t* guest_memory::entry_at(uint64_t gva, unsigned level) {
    uint64_t table = m_root;
    for (unsigned l = m_levels; l > level; --l) {
        uint64_t* e = entry(table, pt_index(gva, l));
        if (!fs_pte::p::get(*e)) {
            uint64_t v = 0;
            v = fs_pte::p::set(v, 1);
            v = fs_pte::rw::set(v, 1);
            v = fs_pte::us::set(v, 1);
            v = fs_pte::addr::set(v, alloc_page() >> page_shift);
            *e = v;
        } else if (l <= 3 && fs_pte::ps::get(*e)) {
            throw std::logic_error("guest_memory: a large page is mapped where a page table is needed");
        }
        table = fs_pte::addr::get(*e) << page_shift;
    }
    return entry(table, pt_index(gva, level));
}

namespace {
uint64_t leaf_value(uint64_t gpa, bool writable) {
    uint64_t v = 0;
    v = fs_pte::p::set(v, 1);
    v = fs_pte::rw::set(v, writable);
    v = fs_pte::us::set(v, 1);
    return fs_pte::addr::set(v, gpa >> page_shift);
}
uint64_t level_bytes(unsigned level) {
    return uint64_t{1} << (page_shift + 9 * (level - 1));
}
}  // namespace

void guest_memory::map(uint64_t gva, uint64_t gpa, bool writable) {
    *entry_at(gva, 1) = leaf_value(gpa, writable);
}

void guest_memory::map_large(uint64_t gva, uint64_t gpa, unsigned level, bool writable) {
    if (level < 2 || level > 3 || ((gva | gpa) & (level_bytes(level) - 1))) {
        throw std::invalid_argument("guest_memory: a large page is level 2 or 3, its GVA and GPA aligned to its size");
    }
    *entry_at(gva, level) = fs_pte::ps::set(leaf_value(gpa, writable), 1);
}

uint64_t* guest_memory::leaf(uint64_t gva, unsigned* level) {
    uint64_t table = m_root;
    for (unsigned l = m_levels; l > 1; --l) {
        uint64_t* e = entry(table, pt_index(gva, l));
        if (!fs_pte::p::get(*e)) {
            return nullptr;
        }
        if (l <= 3 && fs_pte::ps::get(*e)) {
            if (level) {
                *level = l;
            }
            return e;
        }
        table = fs_pte::addr::get(*e) << page_shift;
    }
    if (level) {
        *level = 1;
    }
    return entry(table, pt_index(gva, 1));
}

uint64_t* guest_memory::table_pde(uint64_t gva) {
    unsigned level = 0;
    uint64_t* pte = leaf(gva, &level);
    if (!pte || level != 1) {
        throw std::logic_error("guest_memory: no page table (a present PDE without PS) above that GVA");
    }
    uint64_t table = m_root;
    for (unsigned l = m_levels; l > 2; --l) {
        table = fs_pte::addr::get(*entry(table, pt_index(gva, l))) << page_shift;
    }
    return entry(table, pt_index(gva, 2));
}

uint64_t guest_memory::replace_table(uint64_t gva) {
    uint64_t* pde = table_pde(gva);
    const uint64_t old_table = fs_pte::addr::get(*pde) << page_shift;
    const uint64_t copy = alloc_page();
    std::memcpy(at(copy), at(old_table), page_size_4k);
    *pde = fs_pte::addr::set(fs_pte::a::set(*pde, 0), copy >> page_shift);
    mark_present_edit("replace_table", gva & ~(level_bytes(2) - 1), "_to_GPA_", copy);
    return copy;
}

void guest_memory::unmap_table(uint64_t gva) {
    uint64_t* pde = table_pde(gva);
    *pde = fs_pte::p::set(*pde, 0);
    mark_present_edit("unmap_table", gva & ~(level_bytes(2) - 1));
}

void guest_memory::remap(uint64_t gva, uint64_t new_gpa) {
    unsigned level = 0;
    uint64_t* e = leaf(gva, &level);
    if (!e || !fs_pte::p::get(*e)) {
        throw std::logic_error("remap of an unmapped GVA");
    }
    if (new_gpa & (level_bytes(level) - 1)) {
        throw std::invalid_argument("remap of a large page to a GPA not aligned to its size");
    }
    // A guest writes the whole entry at once; A/D from earlier use are dropped with the old page.
    uint64_t v = fs_pte::a::set(fs_pte::d::set(*e, 0), 0);
    *e = fs_pte::addr::set(v, new_gpa >> page_shift);
    mark_present_edit("remap", gva, "_to_GPA_", new_gpa);
}

void guest_memory::unmap(uint64_t gva) {
    uint64_t* e = leaf(gva);
    if (!e) {
        return;
    }
    if (fs_pte::p::get(*e)) {
        mark_present_edit("unmap", gva);
    }
    *e = fs_pte::p::set(*e, 0);
}

}  // namespace iommusim::program
