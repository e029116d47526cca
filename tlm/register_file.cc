#include "tlm/register_file.h"

#include <algorithm>
#include <string>
#include <systemc>

namespace iommusim {

namespace {
constexpr const char* msg_type = "iommusim/register_file";
}

register_file::register_file(std::span<const hw::reg_desc> table) : m_callbacks(table.size()) {
    uint32_t end = 0;
    for (std::size_t row = 0; row < table.size(); ++row) {
        const hw::reg_desc& d = table[row];
        if ((d.size != 4 && d.size != 8) || d.offset % d.size || (d.count > 1 && d.stride < d.size) || d.count == 0 ||
            d.stride % 4) {
            SC_REPORT_FATAL(msg_type, ("bad register description: " + std::string(d.name)).c_str());
        }
        for (unsigned i = 0; i < d.count; ++i) {
            reg r;
            r.desc = d;
            r.offset = d.offset + i * d.stride;
            r.index = i;
            r.value = d.reset;
            r.callbacks = &m_callbacks[row];
            m_regs.push_back(r);
            end = std::max(end, r.offset + d.size);
        }
    }
    m_slots.assign((end + 3) / 4, 0);
    for (std::size_t n = 0; n < m_regs.size(); ++n) {
        const reg& r = m_regs[n];
        for (uint32_t w = r.offset / 4; w < (r.offset + r.desc.size) / 4; ++w) {
            if (m_slots[w] != 0) {
                SC_REPORT_FATAL(msg_type, ("overlapping registers at " + std::string(r.desc.name)).c_str());
            }
            m_slots[w] = static_cast<uint32_t>(n + 1);
        }
    }
}

int register_file::lookup(uint32_t offset) const {
    const uint32_t w = offset / 4;
    if (offset % 4 || w >= m_slots.size()) {
        return -1;
    }
    return static_cast<int>(m_slots[w]) - 1;
}

register_file::reg& register_file::at(uint32_t offset) {
    const int n = lookup(offset);
    sc_assert(n >= 0 && m_regs[n].offset == offset);
    return m_regs[n];
}

const register_file::reg& register_file::at(uint32_t offset) const {
    const int n = lookup(offset);
    sc_assert(n >= 0 && m_regs[n].offset == offset);
    return m_regs[n];
}

bool register_file::contains(uint32_t offset) const {
    return lookup(offset) >= 0;
}

std::string_view register_file::name_at(uint32_t offset) const {
    const int n = lookup(offset);
    return n < 0 ? std::string_view{} : m_regs[n].desc.name;
}

bool register_file::read(uint32_t offset, unsigned size, uint64_t& value) const {
    const int n = lookup(offset);
    if (n < 0 || (size != 4 && size != 8)) {
        return false;
    }
    const reg& r = m_regs[n];
    if (size == 8 && (r.desc.size != 8 || offset != r.offset)) {
        return false;
    }
    const unsigned shift = (offset - r.offset) * 8;
    // Write-only command bits and reserved bits read as 0.
    const uint64_t visible = current(r) & ~r.desc.wo_mask & (r.desc.rw_mask | r.desc.w1c_mask | r.desc.ro_mask);
    value = size == 8 ? visible : (visible >> shift) & 0xffffffffu;
    return true;
}

bool register_file::write(uint32_t offset, unsigned size, uint64_t value) {
    const int n = lookup(offset);
    if (n < 0 || (size != 4 && size != 8)) {
        return false;
    }
    reg& r = m_regs[n];
    if (size == 8 && (r.desc.size != 8 || offset != r.offset)) {
        return false;
    }
    const unsigned shift = (offset - r.offset) * 8;
    const uint64_t touched = size == 8 ? ~uint64_t{0} : uint64_t{0xffffffffu} << shift;
    const uint64_t data = size == 8 ? value : (value & 0xffffffffu) << shift;

    write_event ev;
    ev.offset = r.offset;
    ev.index = r.index;
    ev.old_value = current(r);
    ev.written = data;
    ev.written_mask = touched & (r.desc.size == 4 ? 0xffffffffu : ~uint64_t{0});
    const uint64_t rw = r.desc.rw_mask & touched;
    const uint64_t w1c = r.desc.w1c_mask & touched & data;
    ev.new_value = ((ev.old_value & ~rw) | (data & rw)) & ~w1c;
    if (!r.owner_value) {
        r.value = ev.new_value;
    }
    // Callbacks may write other registers (or this one) through the hardware side.
    for (const write_callback& cb : *r.callbacks) {
        cb(ev);
    }
    return true;
}

void register_file::on_write(uint32_t offset, write_callback cb) {
    const int n = lookup(offset);
    if (n < 0 || m_regs[n].offset != offset || m_regs[n].index != 0) {
        SC_REPORT_FATAL(msg_type, "on_write: no register starts at this offset");
    }
    m_regs[n].callbacks->push_back(std::move(cb));
}

void register_file::on_read(uint32_t offset, read_callback cb) {
    const int n = lookup(offset);
    if (n < 0 || m_regs[n].offset != offset || m_regs[n].desc.count != 1) {
        SC_REPORT_FATAL(msg_type, "on_read: no single register starts at this offset");
    }
    m_regs[n].owner_value = std::move(cb);
}

uint64_t register_file::current(const reg& r) {
    if (!r.owner_value) {
        return r.value;
    }
    const uint64_t v = r.owner_value();
    return r.desc.size == 4 ? v & 0xffffffffu : v;
}

uint64_t register_file::get(uint32_t offset) const {
    return current(at(offset));
}

void register_file::set(uint32_t offset, uint64_t value) {
    reg& r = at(offset);
    if (r.owner_value) {
        SC_REPORT_FATAL(msg_type, ("set: " + std::string(r.desc.name) + " is held by its owner").c_str());
    }
    r.value = r.desc.size == 4 ? value & 0xffffffffu : value;
}

void register_file::reset() {
    for (reg& r : m_regs) {
        r.value = r.desc.reset;
    }
}

}  // namespace iommusim
