// Invalidation-descriptor decoder and validator: the SystemC-free functional core of the queue
// engine. Descriptor words + queue width + capabilities -> a decoded command or an IQEI code.
//
// Models: docs/vtd-facts.md §2.3 (width rules), §2.4 (IQEI 3 and 4), §3.1-3.8 (every field, granularity
// and reserved bit of types 1-8), §6.2-6.5 (which cache scope each command applies); the types the
// unit supports (3/8 need ECAP.DT, 4 needs ECAP.IR, else IQEI 3) and the translation mode (legacy
// mode, TTM=00, has types 1-5 only: 6-8 are IQEI 3).
// Page group responses (type 9, §3.10) exist with ECAP.PRS in scalable mode (else IQEI 3).
// Does not model: page stream responses (type 10, IQEI 3), interrupt remapping (type 4 is
// validated and counted, nothing is cached).
// Choices where docs/vtd-facts.md §9 leaves it open: a bad granularity, a type-2 AM > CAP.MAMV (MAMV
// does not bound type 6) and DID bits beyond CAP.ND are reserved-field violations (IQEI 4); type-6
// G=00/01 are reserved (IQEI 4); a wait with SW=0 and IF=0 is a valid fence-only wait; SW+IF
// together are valid (status write first); a non-zero PFSID without ECAP.DIT is a reserved-field violation (IQEI 4,
// as QEMU treats it); DR/DW are ignored without
// CAP.DRD/DWD; a type-2 page-selective request without CAP.PSI is performed domain-selective; 128-bit descriptors of
// types 1-5 are accepted in scalable mode.
#pragma once

#include <cstdint>

#include "iommusim/hw/vtd_desc.h"
#include "tlm/invalidation_scope.h"

namespace iommusim {

// IQERCD.IQEI codes (docs/vtd-facts.md §1.12).
namespace iqei {
constexpr uint8_t none = 0;
constexpr uint8_t invalid_tail = 1;
constexpr uint8_t fetch_error = 2;
constexpr uint8_t invalid_type = 3;
constexpr uint8_t reserved_field = 4;
constexpr uint8_t invalid_width = 5;
constexpr uint8_t misaligned_tail = 6;
constexpr uint8_t invalid_ttm = 7;
}  // namespace iqei

// Capabilities (from iommu_config) and the translation mode the validation depends on.
struct decode_caps {
    unsigned mamv = 18;         // CAP.MAMV
    unsigned nd = 6;            // CAP.ND: DIDs below 2^(4+2*ND)
    bool psi = true;            // CAP.PSI
    bool dt = true;             // ECAP.DT: device-TLB invalidations (types 3, 8) exist
    bool ir = false;            // ECAP.IR: interrupt-entry-cache invalidation (type 4) exists
    bool pds = false;           // ECAP.PDS: wait PD allowed
    bool prs = false;           // ECAP.PRS: page group responses (type 9) exist
    bool dit = false;           // ECAP.DIT: PFSID meaningful (else reserved)
    bool scalable_mode = true;  // the active RTADDR.TTM is 01 (false: legacy mode, types 6-8 do not exist)
};

// Wide fields first: the struct packs into 80 bytes, which the hot decode path clears cheaply.
struct decoded_desc {
    // What it does, with the fields that scope carries (did, pasid, sid/fm, range, ih). Types 3
    // and 8 carry sid (and pasid) here too; their ATS range is below.
    invalidation_scope scope;
    uint64_t status_addr = 0;  // type 5: 4-byte aligned
    // Types 3/8 (device-TLB): decoded ATS range (length 0 = everything).
    uint64_t dev_base = 0;
    uint64_t dev_length = 0;
    uint32_t status_data = 0;  // type 5
    uint16_t pfsid = 0;        // types 3/8
    uint16_t iidx = 0;         // type 4
    hw::inv_type type = hw::inv_type::wait;
    bool drain = false;  // type 2: DR or DW requested (and supported)
    // Type 5.
    bool sw = false;
    bool iflag = false;
    bool fn = false;
    bool pd = false;
    // Types 3/8.
    bool all_pasids = false;
    uint8_t mip = 0;
    uint8_t im = 0;  // type 4
    // Type 9 (scope.sid is the RID, scope.pasid the PASID).
    uint16_t prg_index = 0;
    uint8_t response_code = 0;
    bool pasid_present = false;
    bool lpig = false;
};

struct decode_result {
    uint8_t iqei = iqei::none;  // 0 when valid, else iqei::invalid_type or iqei::reserved_field
    decoded_desc desc;
    bool ok() const { return iqei == iqei::none; }
};

class descriptor_decoder {
  public:
    // wide: the queue holds 256-bit descriptors (IQA.DW=1); words 2/3 are ignored otherwise.
    static decode_result decode(const hw::inv_desc& d, bool wide, const decode_caps& caps);
};

}  // namespace iommusim
