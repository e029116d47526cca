// Guest RAM as a VMM sees it: a host buffer mapped into an IOAS at GPA `gpa_base`, plus the
// guest's own first-stage (x86-64 4/5-level) page tables built inside it, the way a guest kernel
// builds them. Entries are encoded through the shared layout (iommusim/hw/vtd_pte.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace iommusim::program {

class guest_memory {
  public:
    // `bytes` of zeroed, page-aligned guest RAM at guest-physical `gpa_base`, backed by a memfd (as
    // QEMU's memory-backend-memfd): pages the guest never touches cost nothing, so RAM can hold
    // 1 GiB pages. Map it into an IOAS by host() (IOMMU_IOAS_MAP) or by fd() (IOMMU_IOAS_MAP_FILE).
    guest_memory(uint64_t gpa_base, std::size_t bytes, unsigned levels = 4);
    ~guest_memory();
    guest_memory(const guest_memory&) = delete;
    guest_memory& operator=(const guest_memory&) = delete;

    void* host() { return m_ram; }
    int fd() const { return m_fd; }  // the memfd; offset 0 is gpa_base
    std::size_t size() const { return m_size; }
    uint64_t gpa_base() const { return m_gpa_base; }
    uint8_t* at(uint64_t gpa);  // host pointer of a guest-physical address

    // Allocates a zeroed guest page (bump allocator from the top of RAM down); returns its GPA.
    // Throws std::runtime_error when no page above the table floor is left.
    uint64_t alloc_page();
    // Tables are never allocated below `gpa`: the guest's own data lives there.
    void keep_tables_above(uint64_t gpa) { m_table_floor = gpa; }

    // The stage-1 root (PML4 or PML5) GPA to hand to IOMMU_HWPT_ALLOC.
    uint64_t s1_root() const { return m_root; }
    unsigned levels() const { return m_levels; }

    // Maps one 4 KiB page GVA -> GPA (user, read/write per `writable`), creating tables as needed.
    void map(uint64_t gva, uint64_t gpa, bool writable = true);
    // Maps a large page: a 2 MiB (level 2, PDE) or 1 GiB (level 3, PDPE) leaf with PS=1. gva and gpa
    // must be aligned to its size; std::invalid_argument otherwise.
    void map_large(uint64_t gva, uint64_t gpa, unsigned level, bool writable = true);
    // Points an existing present leaf (of any size) at a new page (what a guest does before
    // HWPT_INVALIDATE); a large leaf's new_gpa must be aligned to its size.
    void remap(uint64_t gva, uint64_t new_gpa);
    // Clears the leaf's present bit.
    void unmap(uint64_t gva);
    // The leaf entry of gva (a 4 KiB PTE, or a PDE/PDPE with PS=1; its level in *level), or nullptr
    // when a table on the way is missing.
    uint64_t* leaf(uint64_t gva, unsigned* level = nullptr);

    // Edits of directory entries (a change the paging-structure caches see, so the guest follows
    // them with a non-leaf invalidation):
    // Copies the page table holding gva's 4 KiB leaf into a new page and points its PDE at the copy,
    // as a guest does when it replaces a page-table page. The old page is left as it was (freed, not
    // yet reused). Returns the copy's GPA.
    uint64_t replace_table(uint64_t gva);
    // Clears the present bit of the PDE above gva's 4 KiB leaf: the whole 2 MiB it covered is gone.
    // A later map() of an address in it builds a new page table.
    void unmap_table(uint64_t gva);

  private:
    uint64_t* entry(uint64_t table_gpa, unsigned index);
    // The entry at `level` (> 1) on gva's path, creating the tables above it; throws when a large
    // leaf is in the way.
    uint64_t* entry_at(uint64_t gva, unsigned level);
    // The present PDE above gva's 4 KiB leaf (a table, not a 2 MiB leaf); throws otherwise.
    uint64_t* table_pde(uint64_t gva);
    int m_fd = -1;
    uint8_t* m_ram = nullptr;
    std::size_t m_size;
    uint64_t m_gpa_base;
    unsigned m_levels;
    uint64_t m_next_table;   // next free page for tables, growing down
    uint64_t m_table_floor;  // lowest GPA a table may use
    uint64_t m_root;
};

}  // namespace iommusim::program
