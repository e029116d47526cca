// Values exchanged by the translation core: a DMA translation request, its result, and the
// decoded context / PASID-table entries the context and PASID caches hold (docs/vtd-facts.md §4.2-4.4).
#pragma once

#include <cstdint>

#include "iommusim/hw/vtd_fault.h"
#include "iommusim/hw/vtd_tables.h"
#include "tlm/iotlb_if.h"

namespace iommusim {

// One upstream DMA access (or ATS translation request) as the IOMMU sees it.
struct translation_request {
    uint16_t rid = 0;              // requester id bus:dev.fn (the SID)
    bool has_pasid = false;        // request-with-PASID
    uint32_t pasid = 0;            // 20-bit PASID when has_pasid
    uint64_t addr = 0;             // input address (IOVA / GVA / GPA, by PGTT)
    bool write = false;            // write (else read)
    bool exec = false;             // execute request (ER=1; requests-with-PASID only)
    bool priv = false;             // supervisor request (PR=1; requests-with-PASID only)
    bool ats_translation = false;  // ATS translation request: permissions are reported, not faulted
};

struct translation_result {
    hw::fault_reason fault = hw::fault_reason::none;  // none = success
    bool suppressed = false;                          // the fault is qualified and FPD was set: not to be recorded
    uint64_t out_addr = 0;                            // host physical address of `addr`
    uint64_t page_bytes = 0;  // naturally aligned input region containing addr that maps linearly
    bool can_read = false;    // the same requester may read the page (DMI grant)
    bool can_write = false;   // ... and write it without a further walk (D already set)
    uint16_t did = 0;
    uint32_t pasid = 0;  // effective PASID (RID_PASID for requests without PASID)
    translation_kind kind = translation_kind::second_stage;
    bool iotlb_hit = false;
    unsigned walk_accesses = 0;  // memory accesses made by this translation (walk and A/D updates)
    bool stale = false;          // stale checker: the cached translation no longer matches the tables
    bool ok() const { return fault == hw::fault_reason::none; }
};

// Decoded scalable-mode context entry (what the context cache holds).
struct context_info {
    bool fpd = false;
    bool dte = false;
    bool paside = false;
    bool pre = false;
    unsigned pdts = 0;       // PASID directory holds 2^(pdts+7) entries
    uint64_t pasid_dir = 0;  // PASID directory base (HPA)
    uint32_t rid_pasid = 0;  // PASID of requests without PASID (0 when ECAP.RPS=0)
    bool rid_priv = false;   // privilege of requests without PASID (false when ECAP.RPRIVS=0)
};

// Decoded PASID directory + table entry (what the PASID cache holds).
struct pasid_info {
    uint32_t pasid = 0;
    uint16_t did = 0;
    bool fpd = false;                                        // FPD of the PASID directory entry or the PASID entry
    translation_kind kind = translation_kind::second_stage;  // from PGTT
    unsigned ss_levels = 4;                                  // AW + 2
    bool ssee = false;
    bool ssade = false;
    bool sre = false;
    bool ere = false;
    bool wpe = false;
    bool nxe = false;
    bool smep = false;
    bool eafe = false;
    unsigned fs_levels = 4;  // 4 or 5 (FSPM)
    uint64_t fsptptr = 0;    // first-stage root (GPA when nested)
    uint64_t ssptptr = 0;    // second-stage root (HPA)
    bool uses_fs() const { return kind == translation_kind::first_stage || kind == translation_kind::nested; }
    bool uses_ss() const { return kind == translation_kind::second_stage || kind == translation_kind::nested; }
};

// The access a request makes, after the context/PASID entries decided its privilege.
struct access_type {
    bool write = false;
    bool exec = false;
    bool priv = false;
};

}  // namespace iommusim
