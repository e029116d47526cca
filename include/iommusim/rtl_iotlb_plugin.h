/* The plug-in ABI of an RTL IOTLB: a shared library built by the CMake function
 * iommusim_add_rtl_iotlb (cmake/IommusimRtlIotlb.cmake) from a design that follows the port contract
 * of docs/rtl-iotlb-contract.md, loaded by iommusim with `--iotlb rtl:PATH` or `lockstep:PATH`.
 *
 * The library exports one symbol, the C function IOMMUSIM_RTL_IOTLB_PLUGIN_ENTRY, returning a
 * descriptor whose first field is the ABI version; the loader (rtl/rtl_iotlb_plugin_loader.h)
 * refuses any other version before it reads further. Everything else in the library (the verilated
 * model and the Verilator runtime it was built with) stays local to it, so a program and any
 * number of plug-ins each keep their own runtime.
 *
 * The plug-in is pins only: every port of the design is a field of the input or output struct
 * below, named as in rtl/iotlb.sv, one field per port, at most 64 bits wide. The program drives
 * the clock, reset and handshakes (rtl/rtl_iotlb.cc); one eval() call is one evaluation of the
 * design with new inputs, one dump() call one time step of its waves.
 *
 * Bump IOMMUSIM_RTL_IOTLB_ABI_VERSION whenever a struct, a field or a function here changes. A
 * version that only appends functions to the descriptor keeps the older ones loadable:
 * IOMMUSIM_RTL_IOTLB_ABI_OLDEST is the oldest version the loader accepts (version 2 appended
 * create_with_plusargs and error_count). */
#ifndef IOMMUSIM_RTL_IOTLB_PLUGIN_H
#define IOMMUSIM_RTL_IOTLB_PLUGIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOMMUSIM_RTL_IOTLB_ABI_VERSION 2u
#define IOMMUSIM_RTL_IOTLB_ABI_OLDEST 1u
#define IOMMUSIM_RTL_IOTLB_PLUGIN_ENTRY iommusim_rtl_iotlb_plugin_entry
#define IOMMUSIM_RTL_IOTLB_PLUGIN_ENTRY_NAME "iommusim_rtl_iotlb_plugin_entry"

/* Inputs of the design (docs/rtl-iotlb-contract.md gives widths and encodings). */
struct iommusim_rtl_iotlb_inputs {
    uint8_t clk_i;
    uint8_t rst_ni;
    /* lookup */
    uint8_t lkp_req_valid_i;
    uint16_t lkp_req_did_i;
    uint32_t lkp_req_pasid_i;
    uint8_t lkp_req_kind_i;
    uint64_t lkp_req_vpn_i;
    uint8_t lkp_resp_ready_i;
    /* fill */
    uint8_t fill_req_valid_i;
    uint16_t fill_req_did_i;
    uint32_t fill_req_pasid_i;
    uint8_t fill_req_kind_i;
    uint8_t fill_req_level_i;
    uint64_t fill_req_vpn_i;
    uint64_t fill_req_pfn_i;
    uint8_t fill_req_perm_i;
    uint8_t fill_resp_ready_i;
    /* invalidate */
    uint8_t inv_req_valid_i;
    uint8_t inv_req_scope_i;
    uint16_t inv_req_did_i;
    uint32_t inv_req_pasid_i;
    uint64_t inv_req_vpn_i;
    uint8_t inv_req_am_i;
    uint8_t inv_resp_ready_i;
    /* debug read (combinational) */
    uint32_t dbg_set_i;
    uint32_t dbg_way_i;
};

/* Outputs of the design. */
struct iommusim_rtl_iotlb_outputs {
    /* lookup */
    uint8_t lkp_req_ready_o;
    uint8_t lkp_resp_valid_o;
    uint8_t lkp_resp_hit_o;
    uint32_t lkp_resp_set_o;
    uint32_t lkp_resp_way_o;
    uint16_t lkp_resp_did_o;
    uint32_t lkp_resp_pasid_o;
    uint8_t lkp_resp_kind_o;
    uint8_t lkp_resp_level_o;
    uint64_t lkp_resp_vpn_o;
    uint64_t lkp_resp_pfn_o;
    uint8_t lkp_resp_perm_o;
    /* fill */
    uint8_t fill_req_ready_o;
    uint8_t fill_resp_valid_o;
    uint32_t fill_resp_set_o;
    uint32_t fill_resp_way_o;
    uint8_t fill_resp_replaced_o;
    uint8_t fill_resp_evict_valid_o;
    uint16_t fill_resp_evict_did_o;
    uint32_t fill_resp_evict_pasid_o;
    uint8_t fill_resp_evict_kind_o;
    uint8_t fill_resp_evict_level_o;
    uint64_t fill_resp_evict_vpn_o;
    uint64_t fill_resp_evict_pfn_o;
    uint8_t fill_resp_evict_perm_o;
    /* invalidate */
    uint8_t inv_req_ready_o;
    uint8_t inv_resp_valid_o;
    uint32_t inv_resp_count_o;
    /* status and debug read */
    uint8_t busy_o;
    uint8_t dbg_valid_o;
    uint16_t dbg_did_o;
    uint32_t dbg_pasid_o;
    uint8_t dbg_kind_o;
    uint8_t dbg_level_o;
    uint64_t dbg_vpn_o;
    uint64_t dbg_pfn_o;
    uint8_t dbg_perm_o;
    uint64_t dbg_plru_o;
};

struct iommusim_rtl_iotlb_geometry {
    uint32_t sets;
    uint32_t ways;
};

/* One verilated instance of the design. */
typedef struct iommusim_rtl_iotlb_model iommusim_rtl_iotlb_model;

struct iommusim_rtl_iotlb_plugin {
    uint32_t abi_version; /* IOMMUSIM_RTL_IOTLB_ABI_VERSION the plug-in was built with: always first */
    const char* name;     /* NAME given to iommusim_add_rtl_iotlb */
    const char* top;      /* the design's top module */
    uint32_t geometry_count;
    const struct iommusim_rtl_iotlb_geometry* geometries; /* one verilation each */

    /* A new instance of geometry sets x ways, its inputs all 0 and not yet evaluated; its waves go
     * to the FST file fst_path (NULL: no waves). NULL on failure, with a message in error
     * (error_size bytes, NUL-terminated). */
    iommusim_rtl_iotlb_model* (*create)(uint32_t sets, uint32_t ways, const char* fst_path, char* error,
                                        uint32_t error_size);
    /* Ends the simulation (final blocks), completes the wave file and frees the instance. */
    void (*destroy)(iommusim_rtl_iotlb_model* model);
    /* Applies every input at simulated time time_ps, evaluates the design and reads every output. */
    void (*eval)(iommusim_rtl_iotlb_model* model, const struct iommusim_rtl_iotlb_inputs* in,
                 struct iommusim_rtl_iotlb_outputs* out, uint64_t time_ps);
    /* Records the current values in the waves at time_ps (no effect without waves). */
    void (*dump)(iommusim_rtl_iotlb_model* model, uint64_t time_ps);
    /* Completes the wave file now; later evaluations are not traced. */
    void (*close_waves)(iommusim_rtl_iotlb_model* model);

    /* Since ABI version 2 (absent from a version-1 descriptor: check abi_version first). As create,
     * with plusargs given to the instance's simulation context before the design is built: words
     * separated by blanks, each starting with '+', as on a simulator's command line (NULL or "":
     * none). The design reads them with $test$plusargs and $value$plusargs; Verilator's runtime
     * reads its own (+verilator+seed+<n>, +verilator+rand+reset+<n>, ...). */
    iommusim_rtl_iotlb_model* (*create_with_plusargs)(uint32_t sets, uint32_t ways, const char* fst_path,
                                                      const char* plusargs, char* error, uint32_t error_size);
    /* Since ABI version 2. Errors the design reported so far: failed assertions and $error / $stop
     * (each prints its own message on standard output). They do not end the program, which
     * reports them as violations of the contract. */
    uint64_t (*error_count)(iommusim_rtl_iotlb_model* model);
};

/* The one exported symbol of a plug-in. */
const struct iommusim_rtl_iotlb_plugin* IOMMUSIM_RTL_IOTLB_PLUGIN_ENTRY(void);

#ifdef __cplusplus
}
#endif

#endif
