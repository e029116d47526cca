// Lockstep comparison of two IOTLBs behind one IOTLB interface (normally the C++ reference
// tlm/iotlb.h and the verilated RTL rtl/rtl_iotlb.h).
//
// Models: every lookup, fill and invalidation runs on both; any difference in hit/miss, returned
// entry, fill placement (set, way, in-place refill, evicted entry) or dropped count is a
// divergence, reported (SC_REPORT_WARNING, message type "iommusim/lockstep_iotlb") with the
// operation, its tags, the RTL cycle and the simulated time, counted, kept in a bounded log (the
// first one always), and optionally fatal (SC_REPORT_FATAL). The reference's result is what the
// caller gets; whoever runs the comparison decides what a divergence means for the run.
// compare_state() additionally compares the whole contents and the tree-PLRU bits.
// With replacement free (a design whose victim choice differs from tree-PLRU) nothing that
// depends on the victim is compared: a shadow keeps every entry filled and neither invalidated
// nor reported evicted since (what a correct IOTLB may hold), and a divergence is a hit the shadow
// does not hold (or with an older payload, or not matching the lookup), a fill placed in another
// set or evicting an entry it could not hold, or an invalidation dropping more than the shadow
// entries its scope covers (those leave the shadow, so a later hit on one diverges). Hit counts
// of both sides are reported, never compared.
// Does not model: timing of its own (last_op_cycles() is the second IOTLB's).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "tlm/iotlb_if.h"

namespace iommusim {

// How the second IOTLB chooses its victims (--iotlb-replacement, config "iotlb_replacement").
enum class iotlb_replacement {
    tree_plru,  // the reference's: every result, the contents and the PLRU bits must match
    free,       // the design's own: only what a correct IOTLB of any victim choice must do is checked
};
// "tree-plru" or "free"; std::nullopt for anything else.
std::optional<iotlb_replacement> parse_iotlb_replacement(std::string_view text);
std::string_view to_string(iotlb_replacement r);

struct lockstep_options {
    bool fatal = false;                 // SC_REPORT_FATAL on the first divergence
    bool report = true;                 // SC_REPORT_WARNING for each logged divergence
    unsigned log_limit = 64;            // divergences kept in divergence_log() (all are counted)
    uint64_t state_check_interval = 0;  // compare_state() every N operations (0: never)
    iotlb_replacement replacement = iotlb_replacement::tree_plru;
};

struct lockstep_divergence {
    uint64_t op_index = 0;  // 0-based operation number
    std::string operation;  // e.g. "lookup did=3 pasid=0x5 kind=nested vpn=0x1234"
    std::string reference;  // what the reference returned
    std::string dut;        // what the second IOTLB returned
    std::string slots;      // where: the set/way each side used or holds the entry in ("-": none)
    uint64_t cycle = 0;     // RTL clock cycle after the operation (0 when not an RTL IOTLB)
    std::string sim_time;   // SystemC time, or "-" outside a simulation
    std::string to_string() const;
    // {"op_index", "operation", "expected", "got", "set_way", "cycle", "sim_time", "description"}
    std::string to_json() const;
};

class lockstep_iotlb : public iotlb_if {
  public:
    // Both must have the same geometry (std::invalid_argument otherwise).
    lockstep_iotlb(std::unique_ptr<iotlb_if> reference, std::unique_ptr<iotlb_if> dut, lockstep_options options = {});
    lockstep_iotlb(const lockstep_iotlb&) = delete;
    lockstep_iotlb& operator=(const lockstep_iotlb&) = delete;

    std::optional<iotlb_entry> lookup(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn) override;
    iotlb_fill_result fill(const iotlb_entry& entry) override;

    unsigned invalidate(iotlb_scope scope, uint16_t did, uint32_t pasid, const page_range& range) override;

    iotlb_geometry geometry() const override { return m_reference->geometry(); }
    void for_each_valid(const std::function<void(unsigned set, unsigned way, const iotlb_entry&)>& fn) const override {
        m_reference->for_each_valid(fn);
    }
    uint64_t last_op_cycles() const override { return m_dut->last_op_cycles(); }
    uint64_t cycles() const override { return m_dut->cycles(); }
    void close_waves() override { m_dut->close_waves(); }
    uint64_t protocol_violations() const override { return m_dut->protocol_violations(); }
    std::string protocol_report() const override { return m_dut->protocol_report(); }
    std::string name() const override { return "lockstep(" + m_reference->name() + "," + m_dut->name() + ")"; }

    // Compares every entry (and the PLRU bits when both sides expose them); a difference counts
    // as one divergence. Returns true when equal.
    bool compare_state();

    uint64_t operations() const { return m_ops; }
    uint64_t divergences() const { return m_divergences; }
    iotlb_replacement replacement() const { return m_options.replacement; }
    // Lookups compared and the hits each side gave (they differ only with replacement free).
    uint64_t lookups() const { return m_lookups; }
    uint64_t reference_hits() const { return m_reference_hits; }
    uint64_t dut_hits() const { return m_dut_hits; }
    const std::vector<lockstep_divergence>& divergence_log() const { return m_log; }
    // The first divergence (kept whatever log_limit says), nullptr while there is none.
    const lockstep_divergence* first_divergence() const { return m_first ? &*m_first : nullptr; }
    // {"compared_operations": N, "divergences": M, "replacement": "tree-plru" or "free", "lookups": L,
    //  "reference_hits": H, "dut_hits": D, "first_divergence": lockstep_divergence::to_json() or null}
    std::string to_json() const;
    iotlb_if& reference() { return *m_reference; }
    iotlb_if& dut() { return *m_dut; }

  private:
    void diverged(const std::string& operation, const std::string& reference, const std::string& dut,
                  const std::function<std::string()>& slots = {});
    void after_op();
    // Replacement free: the checks of the design's result against the shadow.
    void check_free_lookup(const std::string& operation, uint16_t did, uint32_t pasid, translation_kind kind,
                           uint64_t vpn, const std::optional<iotlb_entry>& dut);
    void check_free_fill(const iotlb_entry& entry, const iotlb_fill_result& dut);
    unsigned drop_from_shadow(iotlb_scope scope, uint16_t did, uint32_t pasid, const page_range& range);
    bool compare_free_state();

    using shadow_key = std::tuple<uint16_t, uint32_t, translation_kind, page_level, uint64_t>;
    static shadow_key key_of(const iotlb_tag& t) { return {t.did, t.pasid, t.kind, t.level, t.vpn}; }

    std::unique_ptr<iotlb_if> m_reference;
    std::unique_ptr<iotlb_if> m_dut;
    lockstep_options m_options;
    uint64_t m_ops = 0;
    uint64_t m_divergences = 0;
    uint64_t m_lookups = 0;
    uint64_t m_reference_hits = 0;
    uint64_t m_dut_hits = 0;
    std::map<shadow_key, iotlb_payload> m_shadow;  // replacement free only
    std::vector<lockstep_divergence> m_log;
    std::optional<lockstep_divergence> m_first;
};

}  // namespace iommusim
