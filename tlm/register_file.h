// Table-driven MMIO register block (the functional core of the IOMMU's register interface).
//
// Models: docs/vtd-facts.md §1 access rules for any table of hw::reg_desc (include/iommusim/hw/vtd_regs.h):
// 4-byte accesses to any aligned 32-bit part of a register, 8-byte accesses to 64-bit registers and
// to either half of a 128-bit one; per-bit rw / w1c / write-only / read-only semantics; reset values;
// post-write callbacks that carry the side effects (GCMD commands, W1C status, IQT, ...); registers
// whose value another component owns (the invalidation queue's IQH, IQT, ...), read through a read
// callback so that no copy exists to go stale.
// Does not model: clear-on-read bits (VT-d has none we need), byte-enable masks, timing.
// An unknown offset or a bad size is an error answer; nothing changes then.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "iommusim/hw/vtd_regs.h"

namespace iommusim {

class register_file {
  public:
    // What a software write did to one register (instance), passed to post-write callbacks.
    struct write_event {
        uint32_t offset = 0;        // offset of the register instance written
        unsigned index = 0;         // instance number (arrays), 0 otherwise
        uint64_t old_value = 0;     // stored value before the write
        uint64_t new_value = 0;     // stored value after the access masks were applied
        uint64_t written = 0;       // the data software wrote, positioned within the register
        uint64_t written_mask = 0;  // register bits covered by the access
    };
    using write_callback = std::function<void(const write_event&)>;
    // The owner's current value of a register it holds.
    using read_callback = std::function<uint64_t()>;

    // `table` lists the registers; `count` of array registers may be lowered by the caller before.
    explicit register_file(std::span<const hw::reg_desc> table);
    register_file(const register_file&) = delete;
    register_file& operator=(const register_file&) = delete;

    // ---- Software (MMIO) side ----
    // size is 4 or 8 bytes. Returns false (value untouched / nothing written) on an unknown offset
    // or a size the register does not accept.
    bool read(uint32_t offset, unsigned size, uint64_t& value) const;
    bool write(uint32_t offset, unsigned size, uint64_t value);

    // Called after every accepted software write to the register at `offset` (for arrays: the
    // offset of instance 0, and the callback sees every instance). Callbacks run in registration order.
    void on_write(uint32_t offset, write_callback cb);
    // The register at `offset` (not an array) is held by its owner: software reads, get() and a
    // write's old_value come from `cb`, the write's new_value goes only to the write callbacks (the
    // owner stores what it accepts), and reset() leaves it to the owner. set() on it is an error.
    void on_read(uint32_t offset, read_callback cb);

    // ---- Hardware side: full register, every bit writable, no callbacks ----
    uint64_t get(uint32_t offset) const;
    void set(uint32_t offset, uint64_t value);
    void set_bits(uint32_t offset, uint64_t bits) { set(offset, get(offset) | bits); }
    void clear_bits(uint32_t offset, uint64_t bits) { set(offset, get(offset) & ~bits); }
    template <typename Field>
    uint64_t get_field(uint32_t offset) const {
        return Field::get(get(offset));
    }
    template <typename Field>
    void set_field(uint32_t offset, uint64_t x) {
        set(offset, Field::set(get(offset), x));
    }

    // Every register back to its reset value.
    void reset();
    bool contains(uint32_t offset) const;
    // Name of the register at offset ("" if none), for traces and warnings.
    std::string_view name_at(uint32_t offset) const;
    uint32_t span() const { return static_cast<uint32_t>(m_slots.size() * 4); }

  private:
    struct reg {
        hw::reg_desc desc;
        uint32_t offset = 0;
        unsigned index = 0;
        uint64_t value = 0;
        std::vector<write_callback>* callbacks = nullptr;
        read_callback owner_value;  // set: the owner holds the value, `value` is unused
    };
    static uint64_t current(const reg& r);
    // One slot per 32-bit word of the address space: register number + 1, 0 when unmapped.
    int lookup(uint32_t offset) const;
    reg& at(uint32_t offset);
    const reg& at(uint32_t offset) const;

    std::vector<reg> m_regs;
    std::vector<uint32_t> m_slots;
    std::vector<std::vector<write_callback>> m_callbacks;  // per table row
};

}  // namespace iommusim
