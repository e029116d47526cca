#include "tlm/table_builder_util.h"

#include <stdexcept>

#include "iommusim/hw/vtd_regs.h"

namespace iommusim::test {

namespace re = hw::root_entry;
namespace ce = hw::context_entry;
namespace pd = hw::pasid_dir_entry;
namespace pe = hw::pasid_entry;
namespace fp = hw::fs_pte;
namespace sp = hw::ss_pte;

table_builder::table_builder(sparse_memory& mem, uint64_t hpa_base, uint64_t gpa_base)
    : m_mem(mem), m_next_hpa(hpa_base), m_next_gpa(gpa_base), m_root(0) {
    m_root = alloc_page();
}

uint64_t table_builder::alloc_page() {
    return alloc_pages(1);
}

uint64_t table_builder::alloc_pages(unsigned n) {
    const uint64_t pa = m_next_hpa;
    m_next_hpa += uint64_t{n} * hw::page_size_4k;
    static const uint8_t zero[4096] = {};
    for (unsigned i = 0; i < n; ++i) {
        m_mem.write(pa + uint64_t{i} * 4096, zero, sizeof zero);
    }
    return pa;
}

uint64_t table_builder::rtaddr_value() const {
    return hw::rtaddr::rta::make(m_root >> 12) | hw::rtaddr::ttm::make(1);  // TTM 01: scalable mode
}

uint64_t table_builder::read64(uint64_t pa) {
    uint64_t v = 0;
    if (!m_mem.read64(pa, v)) {
        throw std::runtime_error("table_builder: read outside memory");
    }
    return v;
}

void table_builder::write64(uint64_t pa, uint64_t v) {
    if (!m_mem.write64(pa, v)) {
        throw std::runtime_error("table_builder: write outside memory");
    }
}

uint64_t table_builder::root_entry_addr(uint16_t rid) const {
    return m_root + uint64_t{hw::rid_bus(rid)} * re::bytes;
}

uint64_t table_builder::context_entry_addr(uint16_t rid) const {
    re::words r{};
    m_mem.read(root_entry_addr(rid), r.data(), re::bytes);
    const unsigned devfn = hw::rid_devfn(rid);
    const uint64_t ctp = (devfn >= ce::per_table ? re::uctp::get(r) : re::lctp::get(r)) << 12;
    return ctp + uint64_t{devfn % ce::per_table} * ce::bytes;
}

uint64_t table_builder::set_context(uint16_t rid, const context_opts& o) {
    re::words r{};
    m_mem.read(root_entry_addr(rid), r.data(), re::bytes);
    const bool upper = hw::rid_devfn(rid) >= ce::per_table;
    if (!(upper ? re::up::get(r) : re::lp::get(r))) {
        const uint64_t ct = alloc_page();
        if (upper) {
            re::up::set(r, 1);
            re::uctp::set(r, ct >> 12);
        } else {
            re::lp::set(r, 1);
            re::lctp::set(r, ct >> 12);
        }
        m_mem.write(root_entry_addr(rid), r.data(), re::bytes);
    }
    auto dir = m_pasid_dirs.find(rid);
    if (dir == m_pasid_dirs.end() || m_pdts[rid] != o.pdts) {
        const uint64_t entries = uint64_t{1} << (o.pdts + 7);
        const unsigned pages = static_cast<unsigned>((entries * pd::bytes + 4095) / 4096);
        m_pasid_dirs[rid] = alloc_pages(pages);
        m_pdts[rid] = o.pdts;
    }
    ce::words c{};
    ce::p::set(c, 1);
    ce::fpd::set(c, o.fpd);
    ce::dte::set(c, o.dte);
    ce::paside::set(c, o.paside);
    ce::pre::set(c, o.pre);
    ce::pdts::set(c, o.pdts);
    ce::pasiddirptr::set(c, m_pasid_dirs[rid] >> 12);
    ce::rid_pasid::set(c, o.rid_pasid);
    ce::rid_priv::set(c, o.rid_priv);
    const uint64_t addr = context_entry_addr(rid);
    m_mem.write(addr, c.data(), ce::bytes);
    return addr;
}

uint64_t table_builder::pasid_dir_entry_addr(uint16_t rid, uint32_t pasid) const {
    return m_pasid_dirs.at(rid) + uint64_t{pasid >> 6} * pd::bytes;
}

uint64_t table_builder::set_pasid(uint16_t rid, uint32_t pasid, const pasid_opts& o) {
    const uint64_t de_addr = pasid_dir_entry_addr(rid, pasid);
    uint64_t de = read64(de_addr);
    if (!pd::p::get(de)) {
        de = pd::p::make(1) | pd::smptblptr::make(alloc_page() >> 12);
        write64(de_addr, de);
    }
    pe::words e{};
    pe::p::set(e, 1);
    pe::fpd::set(e, o.fpd);
    pe::aw::set(e, o.aw);
    pe::ssee::set(e, o.ssee);
    pe::pgtt::set(e, o.pgtt_raw >= 0 ? static_cast<unsigned>(o.pgtt_raw) : static_cast<unsigned>(o.pgtt));
    pe::ssade::set(e, o.ssade);
    pe::ssptptr::set(e, o.ssptptr >> 12);
    pe::did::set(e, o.did);
    pe::sre::set(e, o.sre);
    pe::ere::set(e, o.ere);
    pe::fspm::set(e, o.fspm);
    pe::wpe::set(e, o.wpe);
    pe::nxe::set(e, o.nxe);
    pe::smep::set(e, o.smep);
    pe::eafe::set(e, o.eafe);
    pe::fsptptr::set(e, o.fsptptr >> 12);
    const uint64_t addr = (pd::smptblptr::get(de) << 12) + uint64_t{pasid % pe::per_table} * pe::bytes;
    m_mem.write(addr, e.data(), pe::bytes);
    return addr;
}

uint64_t table_builder::ss_entry_addr(uint64_t root, unsigned levels, uint64_t gpa, unsigned level) {
    uint64_t table = root;
    for (unsigned l = levels;; --l) {
        const uint64_t ea = table + uint64_t{hw::pt_index(gpa, l)} * 8;
        if (l == level) {
            return ea;
        }
        uint64_t e = read64(ea);
        if (!sp::r::get(e) && !sp::w::get(e)) {
            e = sp::r::mask | sp::w::mask | sp::x::mask | sp::addr::make(alloc_page() >> 12);
            write64(ea, e);
        }
        table = sp::addr::get(e) << 12;
    }
}

void table_builder::map_ss(uint64_t root, unsigned levels, uint64_t gpa, uint64_t hpa, unsigned leaf_level,
                           uint64_t leaf_flags) {
    uint64_t e = leaf_flags | sp::addr::make(hpa >> 12);
    if (leaf_level > 1) {
        e |= sp::ps::mask;
    }
    write64(ss_entry_addr(root, levels, gpa, leaf_level), e);
}

fs_space table_builder::new_fs(unsigned levels) {
    fs_space s;
    s.levels = levels;
    s.root = alloc_page();
    return s;
}

fs_space table_builder::new_nested_fs(uint64_t ss_root, unsigned ss_levels, unsigned levels) {
    fs_space s;
    s.levels = levels;
    s.nested = true;
    s.ss_root = ss_root;
    s.ss_levels = ss_levels;
    s.root = guest_page(s);
    return s;
}

uint64_t table_builder::guest_page(const fs_space& s) {
    const uint64_t hpa = alloc_page();
    const uint64_t gpa = m_next_gpa;
    m_next_gpa += hw::page_size_4k;
    map_ss(s.ss_root, s.ss_levels, gpa, hpa);
    m_gpa_to_hpa[gpa] = hpa;
    return gpa;
}

uint64_t table_builder::fs_to_hpa(const fs_space& s, uint64_t addr) const {
    if (!s.nested) {
        return addr;
    }
    return m_gpa_to_hpa.at(addr & ~uint64_t{0xfff}) | (addr & 0xfff);
}

uint64_t table_builder::fs_entry_addr(const fs_space& s, uint64_t va, unsigned level) {
    uint64_t table = s.root;
    for (unsigned l = s.levels;; --l) {
        const uint64_t ea = fs_to_hpa(s, table + uint64_t{hw::pt_index(va, l)} * 8);
        if (l == level) {
            return ea;
        }
        uint64_t e = read64(ea);
        if (!fp::p::get(e)) {
            const uint64_t t = s.nested ? guest_page(s) : alloc_page();
            e = k_fs_default | fp::addr::make(t >> 12);
            write64(ea, e);
        }
        table = fp::addr::get(e) << 12;
    }
}

void table_builder::map_fs(const fs_space& s, uint64_t va, uint64_t out, unsigned leaf_level, uint64_t leaf_flags,
                           uint64_t nonleaf_flags) {
    // Create the path, then apply the requested non-leaf flags to the entries above the leaf.
    const uint64_t leaf = fs_entry_addr(s, va, leaf_level);
    if (nonleaf_flags != k_fs_default) {
        for (unsigned l = s.levels; l > leaf_level; --l) {
            const uint64_t ea = fs_entry_addr(s, va, l);
            const uint64_t e = read64(ea);
            write64(ea, (e & fp::addr::mask) | nonleaf_flags);
        }
    }
    uint64_t e = leaf_flags | fp::addr::make(out >> 12);
    if (leaf_level > 1) {
        e |= fp::ps::mask;
    }
    write64(leaf, e);
}

}  // namespace iommusim::test
