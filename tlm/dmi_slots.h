// The memory's DMI grants an initiator of the platform's own memory keeps: a small direct-mapped
// table, one slot per 4 KiB page frame modulo Slots, through which a read or write that a grant
// covers is a copy instead of a transaction (the CPU, the queue engine, the IOMMU's DMA pieces).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <tlm>

namespace iommusim {

template <unsigned Slots>
class dmi_slots {
  public:
    // Copies [pa, pa + len) to or from `data` when the grant of pa's slot covers it for that
    // direction; returns that grant (for its latency), or nullptr and copies nothing.
    const tlm::tlm_dmi* copy(uint64_t pa, void* data, std::size_t len, bool read) const {
        const tlm::tlm_dmi& d = m_slots[(pa >> 12) % Slots];
        const uint64_t last = pa + (len - 1);
        if (len == 0 || !d.get_dmi_ptr() || pa < d.get_start_address() || last < pa || last > d.get_end_address() ||
            !(read ? d.is_read_allowed() : d.is_write_allowed())) {
            return nullptr;
        }
        unsigned char* host = d.get_dmi_ptr() + (pa - d.get_start_address());
        if (read) {
            std::memcpy(data, host, len);
        } else {
            std::memcpy(host, data, len);
        }
        return &d;
    }
    // A grant the memory gave for an access at pa.
    void remember(uint64_t pa, const tlm::tlm_dmi& granted) { m_slots[(pa >> 12) % Slots] = granted; }
    // The memory revoked its DMI pointers over [start, end].
    void invalidate(uint64_t start, uint64_t end) {
        for (tlm::tlm_dmi& d : m_slots) {
            if (d.get_dmi_ptr() && d.get_start_address() <= end && start <= d.get_end_address()) {
                d.init();
            }
        }
    }

  private:
    std::array<tlm::tlm_dmi, Slots> m_slots;
};

}  // namespace iommusim
