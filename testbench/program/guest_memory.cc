#include "program/guest_memory.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>
#include <stdexcept>

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
    m_ram = static_cast<uint8_t*>(std::aligned_alloc(page_size_4k, bytes));
    if (!m_ram) {
        throw std::bad_alloc();
    }
    std::memset(m_ram, 0, bytes);
    m_next_table = gpa_base + bytes;
    m_table_floor = gpa_base;
    m_root = alloc_page();
}

guest_memory::~guest_memory() {
    std::free(m_ram);
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

void guest_memory::map(uint64_t gva, uint64_t gpa, bool writable) {
    uint64_t table = m_root;
    for (unsigned level = m_levels; level > 1; --level) {
        uint64_t* e = entry(table, pt_index(gva, level));
        if (!fs_pte::p::get(*e)) {
            uint64_t v = 0;
            v = fs_pte::p::set(v, 1);
            v = fs_pte::rw::set(v, 1);
            v = fs_pte::us::set(v, 1);
            v = fs_pte::addr::set(v, alloc_page() >> page_shift);
            *e = v;
        }
        table = fs_pte::addr::get(*e) << page_shift;
    }
    uint64_t v = 0;
    v = fs_pte::p::set(v, 1);
    v = fs_pte::rw::set(v, writable);
    v = fs_pte::us::set(v, 1);
    v = fs_pte::addr::set(v, gpa >> page_shift);
    *entry(table, pt_index(gva, 1)) = v;
}

uint64_t* guest_memory::leaf(uint64_t gva) {
    uint64_t table = m_root;
    for (unsigned level = m_levels; level > 1; --level) {
        const uint64_t e = *entry(table, pt_index(gva, level));
        if (!fs_pte::p::get(e)) {
            return nullptr;
        }
        table = fs_pte::addr::get(e) << page_shift;
    }
    return entry(table, pt_index(gva, 1));
}

void guest_memory::remap(uint64_t gva, uint64_t new_gpa) {
    uint64_t* e = leaf(gva);
    if (!e || !fs_pte::p::get(*e)) {
        throw std::logic_error("remap of an unmapped GVA");
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
