// Scalable-mode DMA-remapping fault reasons (docs/vtd-facts.md §4.5, §5.7).
#pragma once

#include <cstdint>
#include <string_view>

namespace iommusim::hw {

enum class fault_reason : uint8_t {
    none = 0x00,
    rta_invalid = 0x30,            // RTA.1 invalid root table address
    rta_legacy_with_pasid = 0x31,  // RTA.2 TTM=00 for a request-with-PASID
    root_access = 0x38,            // SRT.1
    root_not_present = 0x39,       // SRT.2
    root_reserved = 0x3a,          // SRT.3
    ctx_access = 0x40,             // SCT.1
    ctx_not_present = 0x41,        // SCT.2
    ctx_reserved = 0x42,           // SCT.3
    ctx_invalid = 0x43,            // SCT.4
    ctx_dte_clear = 0x44,          // SCT.5 translation request with DTE=0
    ctx_paside_clear = 0x45,       // SCT.6 request-with-PASID with PASIDE=0
    ctx_pasid_too_large = 0x46,    // SCT.7 PASID beyond PDTS
    ctx_pre_clear = 0x47,          // SCT.8
    ctx_rid_pasid = 0x48,          // SCT.9
    pdir_access = 0x50,            // SPD.1
    pdir_not_present = 0x51,       // SPD.2
    pdir_reserved = 0x52,          // SPD.3
    pte_access = 0x58,             // SPT.1 PASID table entry access error
    pte_not_present = 0x59,        // SPT.2
    pte_reserved = 0x5a,           // SPT.3
    pte_invalid = 0x5b,            // SPT.4 bad PGTT/AW/FSPM or unsupported type
    pte_ere_clear = 0x5c,          // SPT.5 execute request with ERE=0
    pte_sre_clear = 0x5d,          // SPT.6 supervisor request with SRE=0
    fs_access = 0x70,              // SFL.1 error accessing a first-stage entry
    fs_not_present = 0x71,         // SFL.2
    fs_reserved = 0x72,            // SFL.3
    fs_root_access = 0x73,         // SFL.4 error accessing FS root (FSPTPTR)
    fs_addr_beyond_mgaw = 0x74,    // SFL.5 FS entry address beyond MGAW (nested)
    fs_root_ss_read = 0x75,        // SFL.6 SS read permission error on FS root entry (nested)
    fs_entry_ss_read = 0x76,       // SFL.7 SS read permission error on an FS entry (nested)
    fs_ad_ss_write = 0x77,         // SFL.8 SS write permission error updating FS A/D (nested)
    ss_access = 0x78,              // SSL.1 error accessing a second-stage entry
    ss_perm = 0x79,                // SSL.2 SS read/write permission error during the walk
    ss_reserved = 0x7a,            // SSL.3
    ss_invalid_ptr = 0x7b,         // SSL.4 invalid SS table pointer
    ss_ad_no_snoop = 0x7c,         // SSL.5
    gn_not_canonical = 0x80,       // SGN.1
    gn_user_denied = 0x81,         // SGN.2 U/S=0 for a user request
    gn_exec_denied = 0x82,         // SGN.3
    gn_addr_beyond_max = 0x83,     // SGN.4 address beyond MGAW / AGAW
    gn_ss_addr_beyond_max = 0x84,  // SGN.5
    gn_write_denied = 0x85,        // SGN.6
    gn_read_denied = 0x86,         // SGN.7
    gn_interrupt_range = 0x87,     // SGN.8 output in 0xFEEx_xxxx
    fs_ad_no_snoop = 0x90,         // SFL.9
    fs_ad_update_failed = 0x91,    // SFL.10
};

// Spec identifier and meaning, for logs and reports.
constexpr std::string_view fault_reason_name(fault_reason r) {
    switch (r) {
        case fault_reason::none:
            return "no fault";
        case fault_reason::rta_invalid:
            return "RTA.1 invalid root table address";
        case fault_reason::rta_legacy_with_pasid:
            return "RTA.2 TTM=00 for a request-with-PASID";
        case fault_reason::root_access:
            return "SRT.1";
        case fault_reason::root_not_present:
            return "SRT.2";
        case fault_reason::root_reserved:
            return "SRT.3";
        case fault_reason::ctx_access:
            return "SCT.1";
        case fault_reason::ctx_not_present:
            return "SCT.2";
        case fault_reason::ctx_reserved:
            return "SCT.3";
        case fault_reason::ctx_invalid:
            return "SCT.4";
        case fault_reason::ctx_dte_clear:
            return "SCT.5 translation request with DTE=0";
        case fault_reason::ctx_paside_clear:
            return "SCT.6 request-with-PASID with PASIDE=0";
        case fault_reason::ctx_pasid_too_large:
            return "SCT.7 PASID beyond PDTS";
        case fault_reason::ctx_pre_clear:
            return "SCT.8";
        case fault_reason::ctx_rid_pasid:
            return "SCT.9";
        case fault_reason::pdir_access:
            return "SPD.1";
        case fault_reason::pdir_not_present:
            return "SPD.2";
        case fault_reason::pdir_reserved:
            return "SPD.3";
        case fault_reason::pte_access:
            return "SPT.1 PASID table entry access error";
        case fault_reason::pte_not_present:
            return "SPT.2";
        case fault_reason::pte_reserved:
            return "SPT.3";
        case fault_reason::pte_invalid:
            return "SPT.4 bad PGTT/AW/FSPM or unsupported type";
        case fault_reason::pte_ere_clear:
            return "SPT.5 execute request with ERE=0";
        case fault_reason::pte_sre_clear:
            return "SPT.6 supervisor request with SRE=0";
        case fault_reason::fs_access:
            return "SFL.1 error accessing a first-stage entry";
        case fault_reason::fs_not_present:
            return "SFL.2";
        case fault_reason::fs_reserved:
            return "SFL.3";
        case fault_reason::fs_root_access:
            return "SFL.4 error accessing FS root (FSPTPTR)";
        case fault_reason::fs_addr_beyond_mgaw:
            return "SFL.5 FS entry address beyond MGAW (nested)";
        case fault_reason::fs_root_ss_read:
            return "SFL.6 SS read permission error on FS root entry (nested)";
        case fault_reason::fs_entry_ss_read:
            return "SFL.7 SS read permission error on an FS entry (nested)";
        case fault_reason::fs_ad_ss_write:
            return "SFL.8 SS write permission error updating FS A/D (nested)";
        case fault_reason::ss_access:
            return "SSL.1 error accessing a second-stage entry";
        case fault_reason::ss_perm:
            return "SSL.2 SS read/write permission error during the walk";
        case fault_reason::ss_reserved:
            return "SSL.3";
        case fault_reason::ss_invalid_ptr:
            return "SSL.4 invalid SS table pointer";
        case fault_reason::ss_ad_no_snoop:
            return "SSL.5";
        case fault_reason::gn_not_canonical:
            return "SGN.1";
        case fault_reason::gn_user_denied:
            return "SGN.2 U/S=0 for a user request";
        case fault_reason::gn_exec_denied:
            return "SGN.3";
        case fault_reason::gn_addr_beyond_max:
            return "SGN.4 address beyond MGAW / AGAW";
        case fault_reason::gn_ss_addr_beyond_max:
            return "SGN.5";
        case fault_reason::gn_write_denied:
            return "SGN.6";
        case fault_reason::gn_read_denied:
            return "SGN.7";
        case fault_reason::gn_interrupt_range:
            return "SGN.8 output in 0xFEEx_xxxx";
        case fault_reason::fs_ad_no_snoop:
            return "SFL.9";
        case fault_reason::fs_ad_update_failed:
            return "SFL.10";
    }
    return "unknown fault reason";
}

// The hardware could not read (or atomically update) a translation structure: an access error
// rather than a programming error. An ATS translation request that meets one is answered with
// Completer Abort, every other non-recoverable condition with Unsupported Request (README, "Choices").
constexpr bool fault_is_access_error(fault_reason r) {
    switch (r) {
        case fault_reason::root_access:
        case fault_reason::ctx_access:
        case fault_reason::pdir_access:
        case fault_reason::pte_access:
        case fault_reason::fs_access:
        case fault_reason::fs_root_access:
        case fault_reason::ss_access:
        case fault_reason::fs_ad_update_failed:
            return true;
        default:
            return false;
    }
}

// A not-present entry or a missing right at any paging level of either stage: the conditions a
// page request could resolve. An ATS translation request meeting one gets a successful completion
// granting what the tables give (R=W=0 when not present) and no fault is recorded; every other
// condition stays a fault (README, "Choices": ATS translation requests).
constexpr bool fault_is_recoverable(fault_reason r) {
    switch (r) {
        case fault_reason::fs_not_present:
        case fault_reason::ss_perm:
        case fault_reason::fs_root_ss_read:
        case fault_reason::fs_entry_ss_read:
        case fault_reason::fs_ad_ss_write:
        case fault_reason::gn_user_denied:
        case fault_reason::gn_exec_denied:
        case fault_reason::gn_write_denied:
        case fault_reason::gn_read_denied:
            return true;
        default:
            return false;
    }
}

// A fault is "qualified" when FPD in the context, PASID-directory or PASID entry suppresses its
// recording. Root-table faults and PASID-directory/table access errors are never suppressed
// (QEMU's list, docs/vtd-facts.md §5.7).
constexpr bool fault_is_qualified(fault_reason r) {
    switch (r) {
        case fault_reason::rta_invalid:
        case fault_reason::rta_legacy_with_pasid:
        case fault_reason::root_access:
        case fault_reason::root_not_present:
        case fault_reason::root_reserved:
        case fault_reason::pdir_access:
        case fault_reason::pte_access:
            return false;
        default:
            return true;
    }
}

}  // namespace iommusim::hw
