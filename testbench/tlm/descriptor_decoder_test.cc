// descriptor_decoder: every descriptor type, granularity, reserved-bit and IQEI case of
// docs/vtd-facts.md §2.3, §2.4 and §3, and the one-scope-per-descriptor apply rule of §6.
#include "tlm/descriptor_decoder.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

namespace iommusim {
namespace {

using hw::inv_desc;

decode_caps default_caps() {
    return decode_caps{};
}

// A unit that also reports ECAP.IR (type 4 exists).
decode_caps ir_caps() {
    decode_caps c;
    c.ir = true;
    return c;
}

decode_result dec(const inv_desc& d, bool wide = true, decode_caps caps = default_caps()) {
    return descriptor_decoder::decode(d, wide, caps);
}

// Calls every valid-descriptor check with each bit outside `allowed` set in turn (words 0-1 in a
// 128-bit queue, 0-3 in a 256-bit queue) and expects IQEI 4 for each.
void expect_every_reserved_bit_rejected(const inv_desc& valid, const inv_desc& allowed, bool wide,
                                        const decode_caps& caps = default_caps()) {
    ASSERT_TRUE(dec(valid, wide, caps).ok());
    const unsigned words = wide ? 4 : 2;
    for (unsigned w = 0; w < words; ++w) {
        for (unsigned b = 0; b < 64; ++b) {
            const uint64_t bit = uint64_t{1} << b;
            if ((allowed[w] & bit) != 0) {
                continue;
            }
            inv_desc d = valid;
            d[w] |= bit;
            EXPECT_EQ(dec(d, wide, caps).iqei, iqei::reserved_field) << "word " << w << " bit " << b;
        }
    }
}

// Type field values as a descriptor carries them (type_hi != 0 encodes types >= 16).
inv_desc with_type(unsigned type) {
    inv_desc d{};
    hw::desc::type_lo::set(d, type & 0xf);
    hw::desc::type_hi::set(d, type >> 4);
    return d;
}

// Records the scope it is given in the words of the spec's fields (docs/vtd-facts.md §3.1-3.7);
// like the translator it drops nothing for kinds that name no translation cache.
struct recording_target final : invalidation_target {
    std::vector<std::string> calls;
    unsigned answer = 7;
    unsigned invalidate(const invalidation_scope& s) override {
        const std::string did = std::to_string(s.did), pasid = std::to_string(s.pasid);
        const std::string range =
            std::to_string(s.range.vpn() << 12) + " " + std::to_string(s.range.am()) + " " + std::to_string(s.ih);
        switch (s.kind) {
            case scope_kind::context_all:
                return rec("context_all");
            case scope_kind::context_device:
                return rec("context_device " + std::to_string(s.sid) + " " + std::to_string(s.fm));
            case scope_kind::pasid_cache_all:
                return rec("pasid_all");
            case scope_kind::pasid_cache_domain:
                return rec("pasid_domain " + did);
            case scope_kind::pasid_cache_pasid:
                return rec("pasid_pasid " + did + " " + pasid);
            case scope_kind::iotlb_all:
                return rec("iotlb_all");
            case scope_kind::iotlb_domain:
                return rec("iotlb_domain " + did);
            case scope_kind::iotlb_domain_range:
                return rec("iotlb_domain_range " + did + " " + range);
            case scope_kind::iotlb_pasid:
                return rec("iotlb_pasid " + did + " " + pasid);
            case scope_kind::iotlb_pasid_range:
                return rec("iotlb_pasid_range " + did + " " + pasid + " " + range);
            default:
                return 0;
        }
    }
    unsigned rec(std::string s) {
        calls.push_back(std::move(s));
        return answer;
    }
};

std::vector<std::string> apply_desc(const inv_desc& d, unsigned* dropped = nullptr,
                                    const decode_caps& caps = default_caps()) {
    const decode_result r = dec(d, true, caps);
    EXPECT_TRUE(r.ok());
    recording_target t;
    const unsigned n = t.invalidate(r.desc.scope);
    if (dropped != nullptr) {
        *dropped = n;
    }
    return t.calls;
}

// ---- Type field and width ----------------------------------------------------------------------

TEST(DescriptorDecoder, UnknownTypesAreIqei3) {
    for (unsigned t : {0u, 9u, 10u, 11u, 12u, 15u, 16u, 17u, 0x25u, 0x7fu}) {
        for (bool wide : {false, true}) {
            EXPECT_EQ(dec(with_type(t), wide).iqei, iqei::invalid_type) << "type " << t;
        }
    }
}

TEST(DescriptorDecoder, ScalableOnlyTypesInNarrowQueueAreIqei3) {
    EXPECT_EQ(dec(hw::make_p_iotlb_inv(hw::p_iotlb_desc::pasid_all, 1, 2), false).iqei, iqei::invalid_type);
    EXPECT_EQ(dec(hw::make_pc_inv(hw::pc_desc::global), false).iqei, iqei::invalid_type);
    EXPECT_EQ(dec(hw::make_p_dev_tlb_inv(3, 4, false, 0, false), false).iqei, iqei::invalid_type);
    // The same descriptors are valid in a 256-bit queue.
    EXPECT_TRUE(dec(hw::make_p_iotlb_inv(hw::p_iotlb_desc::pasid_all, 1, 2), true).ok());
    EXPECT_TRUE(dec(hw::make_pc_inv(hw::pc_desc::global), true).ok());
    EXPECT_TRUE(dec(hw::make_p_dev_tlb_inv(3, 4, false, 0, false), true).ok());
}

// Legacy mode (RTADDR.TTM=00, e.g. before the first SRTP) has descriptor types 1-5 only: the
// PASID-based types 6-8 are unknown there (IQEI 3), in either queue width.
TEST(DescriptorDecoder, LegacyModeHasTypesOneToFiveOnly) {
    decode_caps legacy = ir_caps();
    legacy.scalable_mode = false;
    for (bool wide : {false, true}) {
        EXPECT_TRUE(dec(hw::make_cc_inv(hw::cc_desc::global), wide, legacy).ok());
        EXPECT_TRUE(dec(hw::make_iotlb_inv(hw::iotlb_desc::page, 3, 0x5000, 1), wide, legacy).ok());
        EXPECT_TRUE(dec(hw::make_dev_tlb_inv(0x0108, 0x5000, false), wide, legacy).ok());
        EXPECT_TRUE(dec(hw::make_iec_inv(true, 4, 1), wide, legacy).ok());
        EXPECT_TRUE(dec(hw::make_wait(true, 0x1000, 1), wide, legacy).ok());
        EXPECT_EQ(dec(hw::make_p_iotlb_inv(hw::p_iotlb_desc::pasid_all, 1, 2), wide, legacy).iqei, iqei::invalid_type);
        EXPECT_EQ(dec(hw::make_pc_inv(hw::pc_desc::global), wide, legacy).iqei, iqei::invalid_type);
        EXPECT_EQ(dec(hw::make_p_dev_tlb_inv(3, 4, false, 0, false), wide, legacy).iqei, iqei::invalid_type);
    }
}

// A descriptor type for a feature the unit does not report is an invalid type (IQEI 3), not a no-op:
// device-TLB invalidations (3, 8) need ECAP.DT, interrupt-entry-cache invalidation (4) ECAP.IR.
TEST(DescriptorDecoder, TypesOfUnreportedFeaturesAreIqei3) {
    decode_caps no_dt;
    no_dt.dt = false;
    for (bool wide : {false, true}) {
        EXPECT_EQ(dec(hw::make_dev_tlb_inv(0x0108, 0, false), wide, no_dt).iqei, iqei::invalid_type);
    }
    EXPECT_EQ(dec(hw::make_p_dev_tlb_inv(0x0108, 1, false, 0, false), true, no_dt).iqei, iqei::invalid_type);
    for (bool wide : {false, true}) {
        EXPECT_EQ(dec(hw::make_iec_inv(false), wide).iqei, iqei::invalid_type) << "ECAP.IR=0";
        EXPECT_TRUE(dec(hw::make_iec_inv(false), wide, ir_caps()).ok());
    }
}

TEST(DescriptorDecoder, NarrowQueueIgnoresUpperWordsWideQueueReservesThem) {
    inv_desc d = hw::make_iotlb_inv(hw::iotlb_desc::global);
    d[2] = ~uint64_t{0};
    d[3] = ~uint64_t{0};
    EXPECT_TRUE(dec(d, false).ok());  // a 128-bit queue never reads words 2-3
    EXPECT_EQ(dec(d, true).iqei, iqei::reserved_field);
    d[2] = 0;
    EXPECT_EQ(dec(d, true).iqei, iqei::reserved_field);  // word 3 alone
}

// ---- Reserved bits of every type, both widths ----------------------------------------------------

TEST(DescriptorDecoder, EveryReservedBitOfEveryTypeIsIqei4) {
    for (bool wide : {false, true}) {
        expect_every_reserved_bit_rejected(hw::make_cc_inv(hw::cc_desc::global), hw::cc_desc::allowed, wide);
        expect_every_reserved_bit_rejected(hw::make_iotlb_inv(hw::iotlb_desc::global), hw::iotlb_desc::allowed, wide);
        expect_every_reserved_bit_rejected(hw::make_dev_tlb_inv(1, 0, false), hw::dev_tlb_desc::allowed, wide);
        expect_every_reserved_bit_rejected(hw::make_iec_inv(false), hw::iec_desc::allowed, wide, ir_caps());
        inv_desc w = hw::make_wait(true, 0x1000, 1);
        expect_every_reserved_bit_rejected(w, hw::wait_desc::allowed, wide);
    }
    expect_every_reserved_bit_rejected(hw::make_p_iotlb_inv(hw::p_iotlb_desc::pasid_all, 1, 1),
                                       hw::p_iotlb_desc::allowed, true);
    expect_every_reserved_bit_rejected(hw::make_pc_inv(hw::pc_desc::global), hw::pc_desc::allowed, true);
    expect_every_reserved_bit_rejected(hw::make_p_dev_tlb_inv(1, 1, false, 0, false), hw::p_dev_tlb_desc::allowed,
                                       true);
}

// ---- Type 1 --------------------------------------------------------------------------------------

TEST(DescriptorDecoder, ContextCacheGranularities) {
    EXPECT_EQ(dec(hw::make_cc_inv(static_cast<hw::cc_desc::granularity>(0))).iqei, iqei::reserved_field);
    EXPECT_EQ(apply_desc(hw::make_cc_inv(hw::cc_desc::global)), std::vector<std::string>{"context_all"});
    // Domain-selective is global in scalable mode (context entries carry no DID).
    EXPECT_EQ(apply_desc(hw::make_cc_inv(hw::cc_desc::domain, 9)), std::vector<std::string>{"context_all"});
    EXPECT_EQ(dec(hw::make_cc_inv(hw::cc_desc::domain, 9)).desc.scope.kind, scope_kind::context_all);
    const decode_result r = dec(hw::make_cc_inv(hw::cc_desc::device, 9, 0x1234, 3));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.desc.scope.kind, scope_kind::context_device);
    EXPECT_EQ(r.desc.scope.sid, 0x1234);
    EXPECT_EQ(r.desc.scope.fm, 3);
    EXPECT_EQ(apply_desc(hw::make_cc_inv(hw::cc_desc::device, 9, 0x1234, 2)),
              std::vector<std::string>{"context_device 4660 2"});
}

TEST(DescriptorDecoder, DomainIdBeyondCapNdIsIqei4) {
    decode_caps caps;
    caps.nd = 0;  // 16 domains
    EXPECT_TRUE(dec(hw::make_iotlb_inv(hw::iotlb_desc::domain, 15), true, caps).ok());
    EXPECT_EQ(dec(hw::make_iotlb_inv(hw::iotlb_desc::domain, 16), true, caps).iqei, iqei::reserved_field);
    EXPECT_EQ(dec(hw::make_cc_inv(hw::cc_desc::domain, 16), true, caps).iqei, iqei::reserved_field);
    EXPECT_EQ(dec(hw::make_p_iotlb_inv(hw::p_iotlb_desc::pasid_all, 16, 1), true, caps).iqei, iqei::reserved_field);
    EXPECT_EQ(dec(hw::make_pc_inv(hw::pc_desc::domain, 16), true, caps).iqei, iqei::reserved_field);
    EXPECT_TRUE(dec(hw::make_pc_inv(hw::pc_desc::domain, 0xffff)).ok());  // ND=6: every 16-bit DID
}

// ---- Type 2 --------------------------------------------------------------------------------------

TEST(DescriptorDecoder, IotlbGranularities) {
    EXPECT_EQ(dec(hw::make_iotlb_inv(static_cast<hw::iotlb_desc::granularity>(0), 1)).iqei, iqei::reserved_field);
    EXPECT_EQ(apply_desc(hw::make_iotlb_inv(hw::iotlb_desc::global)), std::vector<std::string>{"iotlb_all"});
    EXPECT_EQ(apply_desc(hw::make_iotlb_inv(hw::iotlb_desc::domain, 5)), std::vector<std::string>{"iotlb_domain 5"});
    EXPECT_EQ(apply_desc(hw::make_iotlb_inv(hw::iotlb_desc::page, 5, 0x40000, 2, true)),
              std::vector<std::string>{"iotlb_domain_range 5 262144 2 1"});
    EXPECT_EQ(apply_desc(hw::make_iotlb_inv(hw::iotlb_desc::page, 5, 0x40000, 0, false)),
              std::vector<std::string>{"iotlb_domain_range 5 262144 0 0"});
}

TEST(DescriptorDecoder, IotlbAddressMaskAboveMamvIsIqei4) {
    decode_caps caps;
    caps.mamv = 9;
    EXPECT_TRUE(dec(hw::make_iotlb_inv(hw::iotlb_desc::page, 1, 0, 9), true, caps).ok());
    EXPECT_EQ(dec(hw::make_iotlb_inv(hw::iotlb_desc::page, 1, 0, 10), true, caps).iqei, iqei::reserved_field);
    // AM only matters for page-selective requests.
    EXPECT_TRUE(dec(hw::make_iotlb_inv(hw::iotlb_desc::domain, 1, 0, 10), true, caps).ok());
}

TEST(DescriptorDecoder, IotlbPageSelectiveWithoutPsiIsDomainSelective) {
    decode_caps caps;
    caps.psi = false;
    const decode_result r = dec(hw::make_iotlb_inv(hw::iotlb_desc::page, 3, 0x2000), true, caps);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.desc.scope.kind, scope_kind::iotlb_domain);
}

TEST(DescriptorDecoder, IotlbDrainBitsAreAccepted) {
    const decode_result r = dec(hw::make_iotlb_inv(hw::iotlb_desc::domain, 3, 0, 0, false, true));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.desc.drain);
}

// ---- Type 3 and 8 (device TLB) -------------------------------------------------------------------

TEST(DescriptorDecoder, DeviceTlbSizeEncoding) {
    decode_result r = dec(hw::make_dev_tlb_inv(0x0102, 0x12345000, false, 4));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.desc.scope.kind, scope_kind::devtlb);
    EXPECT_EQ(r.desc.scope.sid, 0x0102);
    EXPECT_EQ(r.desc.mip, 4);
    EXPECT_EQ(r.desc.dev_base, 0x12345000u);
    EXPECT_EQ(r.desc.dev_length, 0x1000u);
    // S=1 with ADDR bit 12 clear: 8 KiB.
    r = dec(hw::make_dev_tlb_inv(1, 0x10000, true));
    EXPECT_EQ(r.desc.dev_base, 0x10000u);
    EXPECT_EQ(r.desc.dev_length, 0x2000u);
    // S=1, bits 12..14 set, bit 15 clear: 2^4 pages = 64 KiB aligned down.
    r = dec(hw::make_dev_tlb_inv(1, 0x10000 | 0x7000, true));
    EXPECT_EQ(r.desc.dev_base, 0x10000u);
    EXPECT_EQ(r.desc.dev_length, 0x10000u);
    // Linux's whole-range encoding (ADDR[63:12] = 0x7FFFFFFFFFFFF): everything.
    r = dec(hw::make_dev_tlb_inv(1, hw::low_mask(63) & ~hw::low_mask(12), true));
    EXPECT_EQ(r.desc.dev_base, 0u);
    EXPECT_EQ(r.desc.dev_length, 0u);
}

// Without ECAP.DIT the PFSID bits (type 3 qw0 15:12 and 63:52, same in type 8) are reserved.
TEST(DescriptorDecoder, DeviceTlbPfsidIsReservedWithoutDit) {
    for (uint16_t pfsid : {uint16_t{0x0001}, uint16_t{0x0010}, uint16_t{0x8000}, uint16_t{0x0abc}}) {
        for (bool wide : {false, true}) {
            EXPECT_EQ(dec(hw::make_dev_tlb_inv(1, 0, false, 0, pfsid), wide).iqei, iqei::reserved_field) << pfsid;
        }
        EXPECT_EQ(dec(hw::make_p_dev_tlb_inv(1, 2, false, 0, false, 0, pfsid)).iqei, iqei::reserved_field) << pfsid;
    }
    inv_desc raw = hw::make_dev_tlb_inv(1, 0, false);
    raw[0] |= uint64_t{1} << 12;
    EXPECT_EQ(dec(raw).iqei, iqei::reserved_field);
    raw = hw::make_dev_tlb_inv(1, 0, false);
    raw[0] |= uint64_t{1} << 63;
    EXPECT_EQ(dec(raw).iqei, iqei::reserved_field);
    EXPECT_TRUE(dec(hw::make_dev_tlb_inv(1, 0, false, 0, 0)).ok());
    decode_caps caps;
    caps.dit = true;
    EXPECT_EQ(dec(hw::make_dev_tlb_inv(1, 0, false, 0, 0x0abc), true, caps).desc.pfsid, 0x0abc);
    EXPECT_EQ(dec(hw::make_p_dev_tlb_inv(1, 2, false, 0, false, 0, 0x0abc), true, caps).desc.pfsid, 0x0abc);
}

TEST(DescriptorDecoder, PasidDeviceTlbFields) {
    decode_result r = dec(hw::make_p_dev_tlb_inv(0x0203, 0x12345, false, 0x8000, true, 3));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.desc.scope.kind, scope_kind::devtlb_pasid);
    EXPECT_EQ(r.desc.scope.sid, 0x0203);
    EXPECT_EQ(r.desc.scope.pasid, 0x12345u);
    EXPECT_FALSE(r.desc.all_pasids);
    EXPECT_EQ(r.desc.mip, 3);
    EXPECT_EQ(r.desc.dev_base, 0x8000u);
    EXPECT_EQ(r.desc.dev_length, 0x2000u);
    r = dec(hw::make_p_dev_tlb_inv(0x0203, 0, true, 0x8000, false));
    EXPECT_TRUE(r.desc.all_pasids);
    EXPECT_EQ(r.desc.dev_length, 0x1000u);
    EXPECT_TRUE(apply_desc(hw::make_p_dev_tlb_inv(1, 1, true, 0, false)).empty());
    EXPECT_TRUE(apply_desc(hw::make_dev_tlb_inv(1, 0, false)).empty());
}

// ---- Type 4 --------------------------------------------------------------------------------------

TEST(DescriptorDecoder, InterruptEntryCacheIsValidatedAndAppliesNothing) {
    decode_result r = dec(hw::make_iec_inv(true, 0x40, 3), true, ir_caps());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.desc.scope.kind, scope_kind::iec_index);
    EXPECT_EQ(r.desc.iidx, 0x40);
    EXPECT_EQ(r.desc.im, 3);
    EXPECT_EQ(dec(hw::make_iec_inv(false), true, ir_caps()).desc.scope.kind, scope_kind::iec_all);
    unsigned dropped = 1;
    EXPECT_TRUE(apply_desc(hw::make_iec_inv(false), &dropped, ir_caps()).empty());
    EXPECT_EQ(dropped, 0u);
}

// ---- Type 5 --------------------------------------------------------------------------------------

TEST(DescriptorDecoder, WaitFields) {
    decode_result r = dec(hw::make_wait(true, 0xdead0004, 0xcafe, true, true));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.desc.scope.kind, scope_kind::wait);
    EXPECT_TRUE(r.desc.sw);
    EXPECT_TRUE(r.desc.iflag);
    EXPECT_TRUE(r.desc.fn);
    EXPECT_FALSE(r.desc.pd);
    EXPECT_EQ(r.desc.status_addr, 0xdead0004u);
    EXPECT_EQ(r.desc.status_data, 0xcafeu);
    // SW=0 IF=0 is a valid fence-only wait.
    EXPECT_TRUE(dec(hw::make_wait(false, 0, 0)).ok());
    EXPECT_TRUE(apply_desc(hw::make_wait(true, 0x1000, 1, true)).empty());
}

TEST(DescriptorDecoder, WaitPageDrainNeedsPds) {
    inv_desc d = hw::make_wait(true, 0x1000, 1);
    hw::wait_desc::pd::set(d, 1);
    decode_caps pds;
    pds.pds = true;
    EXPECT_TRUE(dec(d, true, pds).ok());
    EXPECT_TRUE(dec(d, true, pds).desc.pd);
    // ECAP.PDS=0 (the default: no page requests): PD is reserved.
    EXPECT_EQ(dec(d, true).iqei, iqei::reserved_field);
    EXPECT_EQ(dec(d, false).iqei, iqei::reserved_field);
}

// ---- Type 6 --------------------------------------------------------------------------------------

TEST(DescriptorDecoder, PasidIotlbGranularities) {
    for (unsigned g : {0u, 1u}) {
        inv_desc d = hw::make_p_iotlb_inv(hw::p_iotlb_desc::pasid_all, 1, 2);
        hw::p_iotlb_desc::g::set(d, g);
        EXPECT_EQ(dec(d).iqei, iqei::reserved_field) << "G=" << g;
    }
    EXPECT_EQ(apply_desc(hw::make_p_iotlb_inv(hw::p_iotlb_desc::pasid_all, 7, 0x55)),
              std::vector<std::string>{"iotlb_pasid 7 85"});
    EXPECT_EQ(apply_desc(hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 7, 0x55, 0x7000, 3, true)),
              std::vector<std::string>{"iotlb_pasid_range 7 85 28672 3 1"});
    EXPECT_EQ(apply_desc(hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 7, 0xfffff, 0x7000, 0, false)),
              std::vector<std::string>{"iotlb_pasid_range 7 1048575 28672 0 0"});
}

// MAMV limits type-2 (second-stage) page-selective requests only; Linux 6.10-6.16 sent type 6 with AM 52.
TEST(DescriptorDecoder, PasidIotlbAddressMaskIsNotBoundedByMamv) {
    decode_caps caps;
    caps.mamv = 4;
    EXPECT_TRUE(dec(hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 1, 1, 0, 5), true, caps).ok());
    EXPECT_TRUE(dec(hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 1, 1, 0, 52), true, caps).ok());
    EXPECT_EQ(dec(hw::make_iotlb_inv(hw::iotlb_desc::page, 1, 0, 5), true, caps).iqei, iqei::reserved_field);
}

// ---- Type 7 --------------------------------------------------------------------------------------

TEST(DescriptorDecoder, PasidCacheGranularities) {
    inv_desc bad = hw::make_pc_inv(hw::pc_desc::global);
    hw::pc_desc::g::set(bad, 2);
    EXPECT_EQ(dec(bad).iqei, iqei::reserved_field);
    EXPECT_EQ(apply_desc(hw::make_pc_inv(hw::pc_desc::global)), std::vector<std::string>{"pasid_all"});
    EXPECT_EQ(apply_desc(hw::make_pc_inv(hw::pc_desc::domain, 12)), std::vector<std::string>{"pasid_domain 12"});
    EXPECT_EQ(apply_desc(hw::make_pc_inv(hw::pc_desc::pasid_sel, 12, 99)),
              std::vector<std::string>{"pasid_pasid 12 99"});
}

// ---- Apply returns what the sink dropped -----------------------------------------------------------

TEST(DescriptorDecoder, ApplyReturnsEntriesDropped) {
    unsigned dropped = 0;
    EXPECT_EQ(apply_desc(hw::make_iotlb_inv(hw::iotlb_desc::global), &dropped).size(), 1u);
    EXPECT_EQ(dropped, 7u);
}

TEST(DescriptorDecoder, RandomWordsDecodeOrGiveIqei3Or4) {
    std::mt19937_64 rng(7);
    unsigned valid = 0;
    for (unsigned i = 0; i < 200000; ++i) {
        inv_desc d{rng(), rng(), rng() & rng() & rng(), 0};
        // Sparse words make valid descriptors likely enough to matter.
        d[0] &= rng() & rng();
        d[1] &= rng() & rng();
        const bool wide = (i & 1) != 0;
        const decode_result r = dec(d, wide);
        if (r.ok()) {
            ++valid;
            EXPECT_EQ(static_cast<unsigned>(r.desc.type), hw::desc::type_of(d));
            EXPECT_NE(r.desc.scope.kind, scope_kind::none);
            if (!wide) {
                EXPECT_LE(static_cast<unsigned>(r.desc.type), 5u);
            }
        } else {
            EXPECT_TRUE(r.iqei == iqei::invalid_type || r.iqei == iqei::reserved_field) << unsigned{r.iqei};
        }
    }
    EXPECT_GT(valid, 0u);
}

TEST(DescriptorDecoder, ScopeNamesAreDistinct) {
    std::vector<std::string> names;
    for (unsigned i = 0; i < scope_kind_count; ++i) {
        names.emplace_back(scope_kind_name(static_cast<scope_kind>(i)));
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
        for (std::size_t j = i + 1; j < names.size(); ++j) {
            EXPECT_NE(names[i], names[j]);
        }
    }
}

}  // namespace
}  // namespace iommusim
