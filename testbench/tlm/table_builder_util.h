// Builds scalable-mode translation structures (root, context, PASID directory/table, first- and
// second-stage page tables, nested guest tables) in a sparse_memory, through the shared layout
// headers only. Test helper for the translation core.
#pragma once

#include <cstdint>
#include <map>

#include "iommusim/hw/vtd_pte.h"
#include "iommusim/hw/vtd_tables.h"
#include "tlm/sparse_memory.h"

namespace iommusim::test {

struct context_opts {
    bool fpd = false;
    bool dte = true;
    bool paside = true;
    bool pre = false;
    unsigned pdts = 2;  // 2^(pdts+7) directory entries
    uint32_t rid_pasid = 0;
    bool rid_priv = false;
};

struct pasid_opts {
    hw::pgtt pgtt = hw::pgtt::second_stage;
    int pgtt_raw = -1;  // when >= 0, written instead of pgtt (invalid encodings)
    uint16_t did = 1;
    unsigned aw = 2;  // 4-level second stage
    uint64_t ssptptr = 0;
    uint64_t fsptptr = 0;
    unsigned fspm = 0;
    bool fpd = false;
    bool ssee = false;
    bool ssade = false;
    bool sre = false;
    bool ere = false;
    bool wpe = false;
    bool nxe = false;
    bool smep = false;
    bool eafe = false;
};

// A first-stage address space: its root and, when nested, the second stage its tables live in.
struct fs_space {
    uint64_t root = 0;  // FSPTPTR (GPA when nested)
    unsigned levels = 4;
    bool nested = false;
    uint64_t ss_root = 0;
    unsigned ss_levels = 4;
};

class table_builder {
  public:
    explicit table_builder(sparse_memory& mem, uint64_t hpa_base = 0x1000'0000, uint64_t gpa_base = 0x4000'0000);

    sparse_memory& mem() { return m_mem; }
    uint64_t alloc_page();             // zeroed host page
    uint64_t alloc_pages(unsigned n);  // contiguous zeroed host pages
    uint64_t root() const { return m_root; }
    uint64_t rtaddr_value() const;  // root table address with TTM = scalable

    // Root + context entry for rid; returns the context entry address.
    uint64_t set_context(uint16_t rid, const context_opts& o = {});
    uint64_t root_entry_addr(uint16_t rid) const;
    uint64_t context_entry_addr(uint16_t rid) const;
    // PASID directory entry + PASID table entry; returns the PASID entry address.
    uint64_t set_pasid(uint16_t rid, uint32_t pasid, const pasid_opts& o);
    uint64_t pasid_dir_entry_addr(uint16_t rid, uint32_t pasid) const;

    // Second stage.
    uint64_t new_ss(unsigned levels = 4) {
        (void)levels;
        return alloc_page();
    }
    // Leaf flags default to R|W; leaf_level 2/3 sets PS. Missing tables get R|W|X.
    void map_ss(uint64_t root, unsigned levels, uint64_t gpa, uint64_t hpa, unsigned leaf_level = 1,
                uint64_t leaf_flags = hw::ss_pte::r::mask | hw::ss_pte::w::mask);
    uint64_t ss_entry_addr(uint64_t root, unsigned levels, uint64_t gpa, unsigned level);

    // First stage (table addresses are GPAs mapped R|W in the second stage when nested).
    fs_space new_fs(unsigned levels = 4);
    fs_space new_nested_fs(uint64_t ss_root, unsigned ss_levels = 4, unsigned levels = 4);
    // Leaf flags default to P|RW|US; leaf_level 2/3 sets PS. Missing tables get nonleaf_flags.
    void map_fs(const fs_space& s, uint64_t va, uint64_t out, unsigned leaf_level = 1,
                uint64_t leaf_flags = k_fs_default, uint64_t nonleaf_flags = k_fs_default);
    uint64_t fs_entry_addr(const fs_space& s, uint64_t va, unsigned level);  // HPA of the entry

    uint64_t read64(uint64_t pa);
    void write64(uint64_t pa, uint64_t v);
    void set_bits(uint64_t pa, uint64_t mask) { write64(pa, read64(pa) | mask); }
    void clear_bits(uint64_t pa, uint64_t mask) { write64(pa, read64(pa) & ~mask); }

    static constexpr uint64_t k_fs_default = hw::fs_pte::p::mask | hw::fs_pte::rw::mask | hw::fs_pte::us::mask;

  private:
    uint64_t guest_page(const fs_space& s);  // GPA of a new guest table page
    uint64_t fs_to_hpa(const fs_space& s, uint64_t addr) const;

    sparse_memory& m_mem;
    uint64_t m_next_hpa;
    uint64_t m_next_gpa;
    uint64_t m_root;
    std::map<uint64_t, uint64_t> m_gpa_to_hpa;  // guest table pages (page-aligned)
    std::map<uint16_t, uint64_t> m_pasid_dirs;  // per rid
    std::map<uint16_t, unsigned> m_pdts;
};

}  // namespace iommusim::test
