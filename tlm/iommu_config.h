// Every knob of the IOMMU model in one documented struct: capabilities (what CAP_REG/ECAP_REG
// report and what the walker honours, docs/vtd-facts.md §1.3-1.4), cache geometry, model switches and
// latencies. Passed to the constructors of the functional core and the TLM shell; validate() is
// called at construction and a non-empty answer is a misconfiguration (fatal).
//
// Models: the capability bits the walker and the invalidation engine act on.
// Does not model: interrupt remapping, posted interrupts, performance monitoring, legacy mode.
#pragma once

#include <cstdint>
#include <string>

#include "iommusim/hw/vtd_regs.h"

namespace iommusim {

struct iommu_config {
    // ---- CAP_REG (docs/vtd-facts.md §1.3) ----
    unsigned mgaw = 48;     // maximum guest address width in bits (CAP.MGAW + 1); 39..57
    bool sagaw_39 = true;   // CAP.SAGAW bit 1: 3-level second stage (AW=1)
    bool sagaw_48 = true;   // CAP.SAGAW bit 2: 4-level second stage (AW=2)
    bool sagaw_57 = false;  // CAP.SAGAW bit 3: 5-level second stage (AW=3)
    bool fs1gp = true;      // CAP.FS1GP: first-stage 1 GiB pages
    bool fs5lp = false;     // CAP.FS5LP: first-stage 5-level paging (FSPM=1)
    bool sslps_2m = true;   // CAP.SSLPS bit 0: second-stage 2 MiB pages
    bool sslps_1g = true;   // CAP.SSLPS bit 1: second-stage 1 GiB pages
    bool psi = true;        // CAP.PSI: page-selective IOTLB invalidation
    unsigned mamv = 18;     // CAP.MAMV: largest address mask of a page-selective invalidation
    unsigned nfr = 7;       // CAP.NFR: number of fault recording registers minus 1 (0..15: 16 FRCDs)
    unsigned nd = 6;        // CAP.ND: 2^(4+2*ND) domains; 6 => 16-bit DIDs (0..6)
    bool cm = false;        // CAP.CM: caching mode (software invalidates not-present->present)
    bool esrtps = true;     // CAP.ESRTPS: SRTP also invalidates every translation cache
    bool dwd = false;       // CAP.DWD: write draining
    bool drd = false;       // CAP.DRD: read draining
    unsigned haw = 52;      // host address width: output/table address bits >= haw are reserved

    // ---- ECAP_REG (docs/vtd-facts.md §1.4) ----
    bool qi = true;       // ECAP.QI: queued invalidation (required by SMTS; false: GCMD.QIE is ignored)
    bool dt = true;       // ECAP.DT: device-TLB / ATS translation requests (false: types 3/8 are IQEI 3)
    bool ir = false;      // ECAP.IR: type-4 descriptors valid (validated, counted); remapping itself is not modelled
    bool pt = true;       // ECAP.PT: pass-through (PGTT=100)
    bool pasid = true;    // ECAP.PASID: requests-with-PASID
    unsigned pss = 19;    // ECAP.PSS: supported PASID width minus 1 (0..19)
    bool smts = true;     // ECAP.SMTS: scalable-mode translation (the only mode modelled; false: no translation)
    bool fsts = true;     // ECAP.FSTS: PGTT=001 first-stage only
    bool ssts = true;     // ECAP.SSTS: PGTT=010 second-stage only
    bool nest = true;     // ECAP.NEST: PGTT=011 nested
    bool srs = true;      // ECAP.SRS: supervisor requests (PR=1)
    bool ers = true;      // ECAP.ERS: execute requests
    bool eafs = true;     // ECAP.EAFS: extended-accessed flag in first-stage entries
    bool ssads = false;   // ECAP.SSADS: second-stage A/D (false: PASID-entry SSADE is reserved)
    bool rps = true;      // ECAP.RPS: context-entry RID_PASID honoured (else RID_PASID = 0)
    bool rprivs = false;  // ECAP.RPRIVS: context-entry RID_PRIV honoured
    bool pds = false;     // ECAP.PDS: page-request drain in wait descriptors (needs prs; false: PD is reserved)
    bool prs = false;     // ECAP.PRS: page requests
    bool smpwcs = true;   // ECAP.SMPWCS: scalable-mode page-walk coherency
    bool dit = false;     // ECAP.DIT: device-TLB invalidation throttle (needs dt; false: PFSID is reserved)
    bool adms = false;    // ECAP.ADMS: abort-DMA mode (TTM=11)

    // ---- Caches ----
    unsigned iotlb_sets = 64;             // IOTLB sets (power of two)
    unsigned iotlb_ways = 4;              // IOTLB ways (power of two)
    unsigned context_cache_entries = 64;  // context-cache entries (fully associative, LRU)
    unsigned pasid_cache_entries = 64;    // PASID-cache entries (fully associative, LRU)
    unsigned fs_psc_entries = 64;         // first-stage paging-structure cache entries per level (LRU)
    unsigned ss_psc_entries = 64;         // second-stage paging-structure cache entries per level (LRU)
    bool psc_enable = true;               // use the paging-structure caches during walks
    bool stale_check = false;             // compare every cached entry used with the tables, report stale ones
    unsigned stale_report_limit = 1024;   // stale reports kept (older ones are counted, not stored)
    // With cm: cache translations that ended on a not-present second-stage entry (VT-d spec §6.1
    // permits it under CM), so a map without the invalidation CM requires keeps faulting.
    bool cm_not_present_caching = true;
    unsigned not_present_cache_entries = 64;  // not-present cache entries (fully associative, LRU)

    // ---- Latencies (nanoseconds; the walk is charged per memory access) ----
    uint64_t iotlb_hit_ns = 2;            // IOTLB lookup (hit or miss), for an untimed (C++) IOTLB
    uint64_t iotlb_cycle_ps = 1000;       // clock period of a cycle-timed (RTL) IOTLB: its cycles become delay
    uint64_t cache_lookup_ns = 2;         // context / PASID / paging-structure cache lookup
    uint64_t memory_latency_ns = 60;      // one memory access of the walker or the queue engine
    uint64_t mmio_ns = 10;                // one MMIO register access
    uint64_t qi_fetch_ns = 20;            // fetch of one invalidation descriptor (plus memory latency)
    uint64_t qi_desc_process_ns = 20;     // processing of one invalidation descriptor
    uint64_t devtlb_ns = 500;             // device-TLB invalidation round trip
    uint64_t devtlb_timeout_ns = 100000;  // device-TLB invalidation time-out (ITE)
    uint64_t quantum_ns = 1000;           // temporal-decoupling quantum of the TLM shell

    // ---- Memory ----
    unsigned phys_addr_bits = 52;  // sparse memory limit: accesses at or above 2^bits are errors

    // Upper bounds of the sizes and times above (README "Configuration" lists every range).
    static constexpr unsigned max_cache_entries = 4096;       // each context/PASID/paging-structure cache
    static constexpr unsigned max_stale_reports = 1'000'000;  // stale_report_limit
    static constexpr uint64_t max_time = 1'000'000'000;       // every latency: 1 s (ns), 1 ms (ps)

    // Returns "" when the configuration is consistent, else a message naming the bad value.
    std::string validate() const;

    // Second-stage AW encodings allowed by SAGAW (bit i for AW=i).
    unsigned sagaw_bits() const {
        return (sagaw_39 ? 1u << 1 : 0u) | (sagaw_48 ? 1u << 2 : 0u) | (sagaw_57 ? 1u << 3 : 0u);
    }
    bool aw_supported(unsigned aw) const { return aw < 5 && (sagaw_bits() >> aw) & 1u; }
};

inline std::string iommu_config::validate() const {
    auto pow2 = [](unsigned v) { return v != 0 && (v & (v - 1)) == 0; };
    if (mgaw < 39 || mgaw > 57) {
        return "mgaw=" + std::to_string(mgaw) + " (must be 39..57)";
    }
    if (haw < 32 || haw > 52) {
        return "haw=" + std::to_string(haw) + " (must be 32..52)";
    }
    if (sagaw_bits() == 0) {
        return "sagaw: at least one of sagaw_39/48/57 must be set";
    }
    if (mamv > 63) {
        return "mamv=" + std::to_string(mamv) + " (must be 0..63)";
    }
    if (nfr + 1 > hw::reg::FRCD_MAX) {
        return "nfr=" + std::to_string(nfr) + " (must be 0.." + std::to_string(hw::reg::FRCD_MAX - 1) +
               ": the register block holds " + std::to_string(hw::reg::FRCD_MAX) + " fault recording registers)";
    }
    if (nd > 6) {
        return "nd=" + std::to_string(nd) + " (must be 0..6)";
    }
    if (pss > 19) {
        return "pss=" + std::to_string(pss) + " (must be 0..19)";
    }
    // smts=false builds a unit that reports no scalable mode (a driver refuses it); it translates
    // nothing (legacy mode is not modelled, TTM=01 is reserved without SMTS).
    if (smts && !qi) {
        return "qi=false with smts=true (scalable mode requires queued invalidation)";
    }
    // Implementations without page requests report no page-request drain; DIT qualifies device TLBs.
    if (pds && !prs) {
        return "pds=true with prs=false (page-request drain needs page requests)";
    }
    if (dit && !dt) {
        return "dit=true with dt=false (the device-TLB invalidation throttle needs device TLBs)";
    }
    if (!pow2(iotlb_sets) || iotlb_sets > 4096) {
        return "iotlb_sets=" + std::to_string(iotlb_sets) + " (power of two, 1..4096)";
    }
    if (!pow2(iotlb_ways) || iotlb_ways > 64) {
        return "iotlb_ways=" + std::to_string(iotlb_ways) + " (power of two, 1..64)";
    }
    // Sizes and times are bounded so an absurd value is refused by name instead of exhausting
    // memory or overflowing simulated time.
    auto in_range = [](const char* name, uint64_t v, uint64_t lo, uint64_t hi) -> std::string {
        if (v >= lo && v <= hi) {
            return "";
        }
        return std::string(name) + "=" + std::to_string(v) + " (must be " + std::to_string(lo) + ".." +
               std::to_string(hi) + ")";
    };
    for (const std::string& err : {
             in_range("context_cache_entries", context_cache_entries, 1, max_cache_entries),
             in_range("pasid_cache_entries", pasid_cache_entries, 1, max_cache_entries),
             in_range("fs_psc_entries", fs_psc_entries, 1, max_cache_entries),
             in_range("ss_psc_entries", ss_psc_entries, 1, max_cache_entries),
             in_range("stale_report_limit", stale_report_limit, 0, max_stale_reports),
             in_range("not_present_cache_entries", not_present_cache_entries, 1, max_cache_entries),
             in_range("phys_addr_bits", phys_addr_bits, 32, 52),
             in_range("iotlb_hit_ns", iotlb_hit_ns, 0, max_time),
             in_range("iotlb_cycle_ps", iotlb_cycle_ps, 1, max_time),
             in_range("cache_lookup_ns", cache_lookup_ns, 0, max_time),
             in_range("memory_latency_ns", memory_latency_ns, 0, max_time),
             in_range("mmio_ns", mmio_ns, 0, max_time),
             in_range("qi_fetch_ns", qi_fetch_ns, 0, max_time),
             in_range("qi_desc_process_ns", qi_desc_process_ns, 0, max_time),
             in_range("devtlb_ns", devtlb_ns, 0, max_time),
             in_range("devtlb_timeout_ns", devtlb_timeout_ns, 0, max_time),
             in_range("quantum_ns", quantum_ns, 1, max_time),
         }) {
        if (!err.empty()) {
            return err;
        }
    }
    if (devtlb_timeout_ns < devtlb_ns) {
        return "devtlb_timeout_ns below devtlb_ns";
    }
    return "";
}

}  // namespace iommusim
