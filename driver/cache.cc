#include "driver/cache.h"

#include <algorithm>
#include <bit>
#include <tuple>

#include "iommusim/hw/vtd_regs.h"

namespace iommusim::driver {

namespace {

bool is_nesting(cache_tag_type type) {
    return type == cache_tag_type::nesting_iotlb || type == cache_tag_type::nesting_dev_tlb;
}
bool is_dev_tlb(cache_tag_type type) {
    return type == cache_tag_type::dev_tlb || type == cache_tag_type::nesting_dev_tlb;
}
// The order of tags() (and so of the descriptors a flush emits).
auto flush_order(const cache_tag& t) {
    return std::tuple(is_nesting(t.type), t.did, is_dev_tlb(t.type), t.rid, t.pasid);
}

const psi_block whole_range{0, whole_range_mask};

}  // namespace

flush_caps flush_caps::from_registers(uint64_t cap, uint64_t ecap) {
    flush_caps caps;
    caps.psi = hw::cap::psi::get(cap) != 0;
    caps.mamv = static_cast<unsigned>(hw::cap::mamv::get(cap));
    caps.drain = hw::cap::drd::get(cap) && hw::cap::dwd::get(cap);
    caps.caching_mode = hw::cap::cm::get(cap) != 0;
    caps.pfsid_from_rid = hw::ecap::dit::get(ecap) != 0;
    return caps;
}

psi_block psi_block::covering(uint64_t start, uint64_t last) {
    const uint64_t pfn = start >> 12;
    const uint64_t last_pfn = last >> 12;
    uint64_t aligned = std::bit_ceil(last_pfn - pfn + 1);
    if (aligned == 0 || aligned > (uint64_t{1} << whole_range_mask)) {
        aligned = uint64_t{1} << whole_range_mask;
    }
    unsigned mask = static_cast<unsigned>(std::countr_zero(aligned));
    if ((aligned - 1) & pfn) {
        // Grow the block until start and end fall into the same naturally aligned block.
        const uint64_t shared = ~(pfn ^ last_pfn) & ~(aligned - 1) & hw::low_mask(whole_range_mask);
        mask = shared ? static_cast<unsigned>(std::countr_zero(shared)) : whole_range_mask;
    }
    if (mask >= whole_range_mask) {
        return whole_range;
    }
    return {start & ~((uint64_t{1} << (12 + mask)) - 1), mask};
}

hw::inv_desc iotlb_inv(const flush_caps& caps, uint16_t did, const psi_block& block, bool ih) {
    if (!caps.psi || block.mask > caps.mamv) {
        return hw::make_iotlb_inv(hw::iotlb_desc::domain, did, 0, 0, false, caps.drain);
    }
    return hw::make_iotlb_inv(hw::iotlb_desc::page, did, block.base, static_cast<uint8_t>(block.mask), ih, caps.drain);
}

hw::inv_desc dev_tlb_inv(const flush_caps& caps, uint16_t rid, const psi_block& block) {
    return dev_tlb_inv(caps, rid, 0, block);
}

hw::inv_desc dev_tlb_inv(const flush_caps& caps, uint16_t rid, uint32_t pasid, const psi_block& block) {
    uint64_t addr = block.base;
    const bool size = block.mask != 0;
    if (size) {
        addr |= (uint64_t{1} << (12 + block.mask - 1)) - 1;  // the lowest zero bit above bit 11 marks the size
    }
    const uint16_t pfsid = caps.pfsid_from_rid ? rid : 0;
    if (pasid != 0) {
        // Linux qi_flush_dev_iotlb_pasid: the same ATS size encoding, scoped to one PASID.
        return hw::make_p_dev_tlb_inv(rid, pasid, false, addr, size, 0, pfsid);
    }
    return hw::make_dev_tlb_inv(rid, addr, size, 0, pfsid);
}

hw::inv_desc dev_tlb_inv_all(const flush_caps& caps, uint16_t rid, uint32_t pasid) {
    return dev_tlb_inv(caps, rid, pasid, whole_range);
}

void cache_tags::assign(cache_tag_type type, uint16_t did, uint16_t rid, uint32_t pasid) {
    cache_tag tag{type, did, pasid, is_dev_tlb(type) ? rid : uint16_t{0}, 1};
    auto at = std::lower_bound(m_tags.begin(), m_tags.end(), tag,
                               [](const cache_tag& a, const cache_tag& b) { return flush_order(a) < flush_order(b); });
    if (at != m_tags.end() && at->type == type && flush_order(*at) == flush_order(tag)) {
        ++at->users;
    } else {
        m_tags.insert(at, tag);
    }
}

void cache_tags::unassign(cache_tag_type type, uint16_t did, uint16_t rid, uint32_t pasid) {
    const uint16_t key_rid = is_dev_tlb(type) ? rid : uint16_t{0};
    auto it = std::find_if(m_tags.begin(), m_tags.end(), [&](const cache_tag& t) {
        return t.type == type && t.did == did && t.rid == key_rid && t.pasid == pasid;
    });
    if (it != m_tags.end() && --it->users == 0) {
        m_tags.erase(it);
    }
}

template <typename Fn>
void cache_tags::for_each_device_tag(bool ats, Fn&& fn) {
    fn(*this, cache_tag_type::iotlb);
    if (ats) {
        fn(*this, cache_tag_type::dev_tlb);
    }
    if (m_parent) {
        fn(*m_parent, cache_tag_type::nesting_iotlb);
        if (ats) {
            fn(*m_parent, cache_tag_type::nesting_dev_tlb);
        }
    }
}

void cache_tags::assign_device(uint16_t did, uint16_t rid, bool ats, uint32_t pasid) {
    for_each_device_tag(ats, [&](cache_tags& list, cache_tag_type type) { list.assign(type, did, rid, pasid); });
}

void cache_tags::unassign_device(uint16_t did, uint16_t rid, bool ats, uint32_t pasid) {
    for_each_device_tag(ats, [&](cache_tags& list, cache_tag_type type) { list.unassign(type, did, rid, pasid); });
}

void cache_tags::append_iotlb(std::vector<hw::inv_desc>& batch, const flush_caps& caps, const cache_tag& tag,
                              const psi_block& block, bool ih) const {
    // Nesting IOTLB tags sit on a second-stage parent: type 2 with the child's DID (§6.2).
    if (m_stage == domain_stage::second) {
        batch.push_back(iotlb_inv(caps, tag.did, block, ih));
    } else if (block.mask >= whole_range_mask) {
        // Linux cache_tag_flush_iotlb: a block as wide as the address space is the whole PASID.
        batch.push_back(hw::make_p_iotlb_inv(hw::p_iotlb_desc::pasid_all, tag.did, tag.pasid));
    } else {
        batch.push_back(hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, tag.did, tag.pasid, block.base,
                                             static_cast<uint8_t>(block.mask), ih));
    }
}

void cache_tags::flush_range(std::vector<hw::inv_desc>& batch, const flush_caps& caps, uint64_t start, uint64_t last,
                             bool ih) const {
    if (caps.seeded_bug == seeded_flush_bug::drop_last_page && last - start >= hw::page_size_4k) {
        last -= hw::page_size_4k;
    }
    if (caps.seeded_bug == seeded_flush_bug::nonleaf_as_leaf) {
        ih = true;
    }
    const psi_block block = psi_block::covering(start, last);
    for (const cache_tag& tag : m_tags) {
        switch (tag.type) {
            case cache_tag_type::iotlb:
            case cache_tag_type::nesting_iotlb:
                append_iotlb(batch, caps, tag, block, ih);
                break;
            case cache_tag_type::dev_tlb:
                batch.push_back(dev_tlb_inv(caps, tag.rid, tag.pasid, block));
                break;
            case cache_tag_type::nesting_dev_tlb:
                // The device caches nested results: which of them a stage-2 change affects is unknown.
                batch.push_back(dev_tlb_inv(caps, tag.rid, tag.pasid, whole_range));
                break;
        }
    }
}

void cache_tags::flush_all(std::vector<hw::inv_desc>& batch, const flush_caps& caps) const {
    // The whole address space is one block of mask 52: domain- or PASID-selective, as mainline.
    flush_range(batch, caps, 0, ~uint64_t{0}, false);
}

void cache_tags::flush_range_np(std::vector<hw::inv_desc>& batch, const flush_caps& caps, uint64_t start,
                                uint64_t last) const {
    if (!caps.caching_mode || m_stage == domain_stage::first) {
        return;
    }
    const psi_block block = psi_block::covering(start, last);
    for (const cache_tag& tag : m_tags) {
        if (!is_dev_tlb(tag.type)) {
            append_iotlb(batch, caps, tag, block, false);
        }
    }
}

void append_pasid_teardown_flush(std::vector<hw::inv_desc>& batch, const flush_caps& caps, uint16_t did, hw::pgtt type,
                                 uint16_t rid, bool ats, uint32_t pasid) {
    batch.push_back(hw::make_pc_inv(hw::pc_desc::pasid_sel, did, pasid));
    if (type == hw::pgtt::second_stage || type == hw::pgtt::nested) {
        batch.push_back(hw::make_iotlb_inv(hw::iotlb_desc::domain, did));
    } else {
        batch.push_back(hw::make_p_iotlb_inv(hw::p_iotlb_desc::pasid_all, did, pasid));
    }
    // The whole device TLB of the PASID: type 3 for RID_PASID, type 8 for another PASID.
    if (ats) {
        batch.push_back(dev_tlb_inv_all(caps, rid, pasid));
    }
}

void append_pasid_setup_flush(std::vector<hw::inv_desc>& batch, const flush_caps& caps, uint16_t did, uint32_t pasid) {
    if (!caps.caching_mode) {
        return;
    }
    batch.push_back(hw::make_pc_inv(hw::pc_desc::pasid_sel, did, pasid));
    batch.push_back(hw::make_iotlb_inv(hw::iotlb_desc::domain, did));
}

}  // namespace iommusim::driver
