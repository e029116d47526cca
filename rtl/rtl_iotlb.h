// A verilated RTL IOTLB behind the IOTLB interface (tlm/iotlb_if.h): the project's own
// (rtl/iotlb.sv) or a user's design, either one a plug-in built by iommusim_add_rtl_iotlb and
// loaded by path (rtl/rtl_iotlb_plugin_loader.h, docs/rtl-iotlb-contract.md).
//
// Models: every iotlb_if operation as a valid/ready transaction on the design's ports, driven
// clock edge by clock edge (model::rise/fall, one plug-in eval() each) until the response arrives;
// optionally with seeded response back-pressure and with plusargs for the design
// (rtl_iotlb_options); last_op_cycles() is the number of clock cycles that took (for rtl/iotlb.sv: lookup and fill 1,
// an invalidation 1 + sets; a user's design may take any number). Waves (FST, written by the
// plug-in) of every port and register, with timestamps in simulated time: one clock period per
// cycle and, while waves are on and a SystemC simulation runs, never behind sc_time_stamp(), so
// they line up with the TLM-level signals.
// Does not model: geometries the plug-in was not verilated for (supported_geometries() lists the
// project's own), tag values wider than the contract's fields (DID 16, PASID 20, page number 45,
// output page number 40 bits: fill throws std::out_of_range, lookup misses), native VCD tracing
// (plug-ins are verilated for FST; a VCD is converted from it with fst2vcd).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tlm/iotlb_if.h"

namespace iommusim {

// Where and whether the RTL writes waves.
struct rtl_waves_options {
    enum class file_format { fst, vcd };

    bool enabled = false;                   // write a wave file
    std::string dir = "waves";              // directory, created when missing
    std::string name = "iotlb";             // file is <dir>/<name>.fst (or .vcd)
    file_format format = file_format::fst;  // vcd: the FST is converted with fst2vcd at the end
    uint64_t clock_period_ps = 1000;        // one RTL clock cycle in simulated time (1 GHz)
    // Simulated time (ps) of the operation the RTL serves now; the clock never lags it. Empty:
    // sc_time_stamp() while a SystemC simulation runs. The platform passes the IOMMU's
    // operation_time(), so a lookup appears at its DMA's own time, not at the initiator's last sync.
    std::function<uint64_t()> now_ps;

    // Defaults overridden by the environment: IOMMUSIM_WAVES=1 enables, IOMMUSIM_WAVES_DIR sets
    // the directory (ctest points it at the source tree's waves/), IOMMUSIM_WAVES_FORMAT=vcd asks
    // for a VCD.
    static rtl_waves_options from_env(const std::string& name);
    std::string fst_path() const { return dir + "/" + name + ".fst"; }
    std::string path() const { return dir + "/" + name + (format == file_format::vcd ? ".vcd" : ".fst"); }
};

// How the adapter runs the design, besides its waves.
struct rtl_iotlb_options {
    // Plusargs for the design's simulation context, read by $test$plusargs / $value$plusargs
    // (blank-separated words, each starting with '+'; rtl/plugin/rtl_iotlb_plugin_model.h lists
    // the Verilator runtime options allowed). The environment's IOMMUSIM_RTL_PLUSARGS follows them,
    // so it reaches every RTL IOTLB a program builds; the first match of a name is what a design
    // reads.
    std::string plusargs;
    // Response back-pressure: with a seed, about one response in four is left untaken (ready low)
    // for 1 to 3 cycles, chosen by a generator of that seed, so a design that withdraws or changes
    // a response before it is taken shows it to the protocol checker. Those cycles are the
    // adapter's, not the design's: last_op_cycles() leaves them out, cycles() counts them.
    std::optional<uint64_t> backpressure_seed;
};

class rtl_iotlb : public iotlb_if {
  public:
    // The design of the plug-in at plugin_path (empty: the project's own, rtl/iotlb.sv).
    // std::invalid_argument when the plug-in cannot be loaded (rtl/rtl_iotlb_plugin_loader.h), has
    // no verilation of this geometry (misconfiguration) or refuses the plusargs.
    explicit rtl_iotlb(iotlb_geometry geometry, rtl_waves_options waves = {}, const std::string& plugin_path = "",
                       const rtl_iotlb_options& options = {});
    ~rtl_iotlb() override;
    rtl_iotlb(const rtl_iotlb&) = delete;
    rtl_iotlb& operator=(const rtl_iotlb&) = delete;

    std::optional<iotlb_entry> lookup(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn) override;
    iotlb_fill_result fill(const iotlb_entry& entry) override;

    // The scope's code, DID, PASID and range on the RTL's invalidation port.
    unsigned invalidate(iotlb_scope scope, uint16_t did, uint32_t pasid, const page_range& range) override;

    iotlb_geometry geometry() const override { return m_geometry; }
    // Reads the array through the RTL debug port (combinational, no state change).
    void for_each_valid(const std::function<void(unsigned set, unsigned way, const iotlb_entry&)>& fn) const override;
    uint64_t last_op_cycles() const override { return m_last_op_cycles; }
    uint64_t cycles() const override { return cycle(); }
    void close_waves() override;
    // Violations of the port contract seen by the protocol checker (rtl/iotlb_protocol_checker.h).
    uint64_t protocol_violations() const override;
    std::string protocol_report() const override;
    // "rtl_iotlb" for the project's own design, "rtl_iotlb(<plug-in name>)" for another.
    std::string name() const override;
    const std::string& plugin_path() const;

    // Read through the debug port.
    std::optional<uint64_t> plru_bits(unsigned set) const override;
    // Clock cycles since reset and the simulated time of the RTL clock, in picoseconds.
    uint64_t cycle() const;
    uint64_t time_ps() const;
    // Wave file being written, empty when waves are off.
    std::string wave_path() const;

    // The geometries of the project's own plug-in.
    static bool supported(iotlb_geometry geometry);
    static std::vector<iotlb_geometry> supported_geometries();

    // The port-level machine over the plug-in's pins (defined in rtl_iotlb.cc).
    class model;

  private:
    iotlb_geometry m_geometry;
    bool m_builtin = true;
    std::unique_ptr<model> m_model;
    uint64_t m_last_op_cycles = 0;
};

}  // namespace iommusim
