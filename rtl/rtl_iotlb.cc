#include "rtl/rtl_iotlb.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <systemc>

#include "rtl/iotlb_protocol_checker.h"
#include "rtl/rtl_iotlb_plugin_loader.h"

namespace iommusim {

namespace {

// Widths of the RTL fields (rtl/iotlb.sv parameters as verilated).
constexpr unsigned rtl_vpn_bits = 45;
constexpr unsigned rtl_pfn_bits = 40;
constexpr unsigned rtl_pasid_bits = 20;
constexpr unsigned rtl_inv_vpn_bits = 52;

constexpr bool fits(uint64_t v, unsigned bits) {
    return (v >> bits) == 0;
}

// An operation that never completes is a broken model, not a guest error.
constexpr uint64_t hang_limit_cycles = 1u << 20;

}  // namespace

// The port-level machine: drives the plug-in's pins clock by clock (rise/fall), one handshake per
// operation.
class rtl_iotlb::model {
  public:
    model(std::shared_ptr<const rtl_iotlb_plugin> plugin, iotlb_geometry geometry, const rtl_waves_options& waves,
          const rtl_iotlb_options& options)
        : m_plugin(std::move(plugin))
        , m_abi(m_plugin->abi())
        , m_geometry(geometry)
        , m_waves(waves)
        , m_half_ps(std::max<uint64_t>(1, waves.clock_period_ps / 2))
        , m_backpressure(options.backpressure_seed.has_value())
        , m_stall_rng(options.backpressure_seed.value_or(0)) {
        if (std::string err = m_plugin->unsupported(geometry); !err.empty()) {
            throw std::invalid_argument(err);
        }
        std::string plusargs = options.plusargs;
        if (const char* env = std::getenv("IOMMUSIM_RTL_PLUSARGS"); env != nullptr && *env != '\0') {
            plusargs += (plusargs.empty() ? "" : " ") + std::string(env);
        }
        if (m_waves.enabled) {
            std::filesystem::create_directories(m_waves.dir);
        }
        m_dut = m_plugin->create(geometry, m_waves.enabled ? m_waves.fst_path() : std::string(), plusargs);
        m_tracing = m_waves.enabled;
        idle_inputs();
        m_in.clk_i = 0;
        m_in.rst_ni = 1;
        eval();
        dump();
        // Asynchronous reset over two rising edges, released on a falling edge.
        m_in.rst_ni = 0;
        rise();
        fall();
        rise();
        m_in.rst_ni = 1;
        fall();
    }

    ~model() {
        m_abi.destroy(m_dut);  // completes the waves
        convert_waves();
    }
    model(const model&) = delete;
    model& operator=(const model&) = delete;

    // Completes the wave file; later operations are not traced.
    void close_waves() {
        m_abi.close_waves(m_dut);
        convert_waves();
    }

    std::optional<iotlb_entry> lookup(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn,
                                      uint64_t& cycles) {
        fall([&] {
            m_in.lkp_req_valid_i = 1;
            m_in.lkp_req_did_i = did;
            m_in.lkp_req_pasid_i = pasid;
            m_in.lkp_req_kind_i = static_cast<uint8_t>(kind);
            m_in.lkp_req_vpn_i = vpn;
        });
        cycles = handshake(m_out.lkp_req_ready_o, m_in.lkp_req_valid_i, m_out.lkp_resp_valid_o);
        const iommusim_rtl_iotlb_outputs& r =
            take_response(&iommusim_rtl_iotlb_inputs::lkp_resp_ready_i, &iommusim_rtl_iotlb_outputs::lkp_resp_valid_o);
        if (!r.lkp_resp_hit_o) {
            return std::nullopt;
        }
        return unpack(r.lkp_resp_did_o, r.lkp_resp_pasid_o, r.lkp_resp_kind_o, r.lkp_resp_level_o, r.lkp_resp_vpn_o,
                      r.lkp_resp_pfn_o, r.lkp_resp_perm_o);
    }

    iotlb_fill_result fill(const iotlb_entry& entry, uint64_t& cycles) {
        fall([&] {
            m_in.fill_req_valid_i = 1;
            m_in.fill_req_did_i = entry.tag.did;
            m_in.fill_req_pasid_i = entry.tag.pasid;
            m_in.fill_req_kind_i = static_cast<uint8_t>(entry.tag.kind);
            m_in.fill_req_level_i = static_cast<uint8_t>(entry.tag.level);
            m_in.fill_req_vpn_i = entry.tag.vpn;
            m_in.fill_req_pfn_i = entry.payload.out_pfn;
            m_in.fill_req_perm_i = entry.payload.perm;
        });
        cycles = handshake(m_out.fill_req_ready_o, m_in.fill_req_valid_i, m_out.fill_resp_valid_o);
        const iommusim_rtl_iotlb_outputs& o = take_response(&iommusim_rtl_iotlb_inputs::fill_resp_ready_i,
                                                            &iommusim_rtl_iotlb_outputs::fill_resp_valid_o);
        iotlb_fill_result r;
        r.set = o.fill_resp_set_o;
        r.way = o.fill_resp_way_o;
        r.replaced_same_tag = o.fill_resp_replaced_o;
        if (o.fill_resp_evict_valid_o) {
            r.evicted = unpack(o.fill_resp_evict_did_o, o.fill_resp_evict_pasid_o, o.fill_resp_evict_kind_o,
                               o.fill_resp_evict_level_o, o.fill_resp_evict_vpn_o, o.fill_resp_evict_pfn_o,
                               o.fill_resp_evict_perm_o);
        }
        return r;
    }

    unsigned invalidate(uint8_t scope, uint16_t did, uint32_t pasid, uint64_t vpn, unsigned am, uint64_t& cycles) {
        fall([&] {
            m_in.inv_req_valid_i = 1;
            m_in.inv_req_scope_i = scope;
            m_in.inv_req_did_i = did;
            m_in.inv_req_pasid_i = pasid;
            m_in.inv_req_vpn_i = vpn;
            m_in.inv_req_am_i = static_cast<uint8_t>(am);
        });
        cycles = handshake(m_out.inv_req_ready_o, m_in.inv_req_valid_i, m_out.inv_resp_valid_o);
        return take_response(&iommusim_rtl_iotlb_inputs::inv_resp_ready_i,
                             &iommusim_rtl_iotlb_outputs::inv_resp_valid_o)
            .inv_resp_count_o;
    }

    void for_each_valid(const std::function<void(unsigned, unsigned, const iotlb_entry&)>& fn) {
        for (unsigned set = 0; set < m_geometry.sets; ++set) {
            for (unsigned way = 0; way < m_geometry.ways; ++way) {
                peek(set, way);
                if (!m_out.dbg_valid_o) {
                    continue;
                }
                fn(set, way,
                   unpack(m_out.dbg_did_o, m_out.dbg_pasid_o, m_out.dbg_kind_o, m_out.dbg_level_o, m_out.dbg_vpn_o,
                          m_out.dbg_pfn_o, m_out.dbg_perm_o));
            }
        }
    }

    uint64_t plru_bits(unsigned set) {
        peek(set, 0);
        return m_out.dbg_plru_o;
    }

    uint64_t cycle() const { return m_cycle; }
    uint64_t time_ps() const { return m_time_ps; }
    std::string wave_path() const { return m_waves.enabled ? m_waves.path() : std::string(); }
    const rtl_iotlb_plugin& plugin() const { return *m_plugin; }
    const iotlb_protocol_checker& protocol() const { return m_protocol; }

  private:
    // An entry as the RTL presents it on any of its three entry ports (lookup response, fill
    // eviction, debug read): the same fields in the same encodings (tlm/iotlb_codes.h).
    static iotlb_entry unpack(uint64_t did, uint64_t pasid, uint64_t kind, uint64_t level, uint64_t vpn, uint64_t pfn,
                              uint64_t perm) {
        iotlb_entry e;
        e.tag.did = static_cast<uint16_t>(did);
        e.tag.pasid = static_cast<uint32_t>(pasid);
        e.tag.kind = static_cast<translation_kind>(kind);
        e.tag.level = static_cast<page_level>(level);
        e.tag.vpn = vpn;
        e.payload.out_pfn = pfn;
        e.payload.perm = static_cast<uint8_t>(perm);
        return e;
    }

    // The plug-in writes FST; a VCD is made from it with GTKWave's converter once the FST is
    // complete. The FST stays when the conversion fails.
    void convert_waves() {
        if (!m_tracing) {
            return;
        }
        m_tracing = false;
        if (m_waves.format != rtl_waves_options::file_format::vcd) {
            return;
        }
        auto quote = [](const std::string& p) {
            std::string q = "'";
            for (char c : p) {
                q += c == '\'' ? std::string("'\\''") : std::string(1, c);
            }
            return q + "'";
        };
        const std::string cmd =
            "fst2vcd -f " + quote(m_waves.fst_path()) + " -o " + quote(m_waves.path()) + " >/dev/null 2>&1";
        if (std::system(cmd.c_str()) == 0) {
            std::filesystem::remove(m_waves.fst_path());
        } else {
            SC_REPORT_WARNING("iommusim/rtl_iotlb", ("fst2vcd failed, waves stay in " + m_waves.fst_path()).c_str());
        }
    }

    void idle_inputs() {
        m_in.lkp_req_valid_i = 0;
        m_in.fill_req_valid_i = 0;
        m_in.inv_req_valid_i = 0;
        // The adapter consumes every response as soon as it is valid.
        m_in.lkp_resp_ready_i = 1;
        m_in.fill_resp_ready_i = 1;
        m_in.inv_resp_ready_i = 1;
    }

    // One evaluation of the design with the current inputs at the current time.
    void eval() { m_abi.eval(m_dut, &m_in, &m_out, m_time_ps); }

    // The debug port is combinational: evaluate without a clock edge, so no state changes.
    void peek(unsigned set, unsigned way) {
        m_in.dbg_set_i = set;
        m_in.dbg_way_i = way;
        eval();
    }

    void advance() {
        m_time_ps += m_half_ps;
        // Keep the RTL clock at or after the SystemC time so both sets of waves share one axis.
        if (m_tracing && m_waves.now_ps) {
            m_time_ps = std::max(m_time_ps, m_waves.now_ps());
        } else if (m_tracing && sc_core::sc_is_running()) {
            const auto now_ps = static_cast<uint64_t>(sc_core::sc_time_stamp().to_seconds() * 1e12 + 0.5);
            m_time_ps = std::max(m_time_ps, now_ps);
        }
    }

    void dump() { m_abi.dump(m_dut, m_time_ps); }

    // Falling edge; inputs change here, half a cycle before the edge that samples them.
    template <typename Drive>
    void fall(Drive drive) {
        idle_inputs();
        drive();
        fall();
    }
    void fall() {
        advance();
        m_in.clk_i = 0;
        eval();
        dump();
    }
    void rise() {
        advance();
        // The port contract, checked on the values this edge samples.
        if (m_in.rst_ni) {
            m_protocol.on_edge(sample_iotlb_ports(m_in, m_out), m_cycle, m_time_ps);
        } else {
            m_protocol.reset();
        }
        m_in.clk_i = 1;
        eval();
        ++m_cycle;
        dump();
        // The design's own checks run on this edge too (a version-1 plug-in cannot tell).
        if (m_abi.abi_version >= 2) {
            if (const uint64_t errors = m_abi.error_count(m_dut); errors != m_design_errors) {
                m_protocol.on_design_errors(errors - m_design_errors, m_cycle - 1, m_time_ps);
                m_design_errors = errors;
            }
        }
    }

    // Holds the request until accepted, then clocks until the response is valid. Returns the
    // rising edges from presenting the request to the response.
    uint64_t handshake(const uint8_t& ready, uint8_t& valid, const uint8_t& resp_valid) {
        uint64_t edges = 0;
        while (!ready) {
            rise();
            fall();
            check_hang(++edges);
        }
        rise();
        ++edges;
        valid = 0;  // takes effect at the next falling edge
        while (!resp_valid) {
            fall();
            rise();
            check_hang(++edges);
        }
        return edges;
    }

    // The response handshake() saw arrive, taken: at once (ready is high, it completes at the next
    // rising edge, with the next operation), or with back-pressure after ready stayed low for a
    // few cycles and then on a rising edge of its own, so the checker sees a response withdrawn
    // meanwhile even after the last operation. The outputs returned are the ones the taking edge
    // samples, or the response as it first appeared when the design withdrew it.
    const iommusim_rtl_iotlb_outputs& take_response(uint8_t iommusim_rtl_iotlb_inputs::*ready,
                                                    uint8_t iommusim_rtl_iotlb_outputs::*valid) {
        const unsigned stall = stall_cycles();
        if (stall == 0) {
            return m_out;
        }
        m_response = m_out;
        for (unsigned i = 0; i < stall; ++i) {
            fall([&] { m_in.*ready = 0; });
            rise();
        }
        fall([] {});  // ready high again
        if (m_out.*valid) {
            m_response = m_out;
        }
        rise();
        return m_response;
    }

    // Cycles the next response is left untaken: 0 without back-pressure; else 1 to 3 for about
    // one response in four.
    unsigned stall_cycles() {
        if (!m_backpressure) {
            return 0;
        }
        const uint64_t r = m_stall_rng();
        return (r & 3) == 0 ? 1 + static_cast<unsigned>((r >> 2) % 3) : 0;
    }

    static void check_hang(uint64_t edges) {
        if (edges > hang_limit_cycles) {
            throw std::logic_error("rtl_iotlb: the RTL did not answer within " + std::to_string(hang_limit_cycles) +
                                   " cycles");
        }
    }

    std::shared_ptr<const rtl_iotlb_plugin> m_plugin;  // keeps the library loaded
    const iommusim_rtl_iotlb_plugin& m_abi;
    iotlb_geometry m_geometry;
    rtl_waves_options m_waves;
    uint64_t m_half_ps;
    iommusim_rtl_iotlb_model* m_dut = nullptr;
    iommusim_rtl_iotlb_inputs m_in{};
    iommusim_rtl_iotlb_outputs m_out{};
    bool m_tracing = false;  // a wave file is open
    uint64_t m_cycle = 0;
    uint64_t m_time_ps = 0;
    iotlb_protocol_checker m_protocol;
    bool m_backpressure;
    std::mt19937_64 m_stall_rng;
    uint64_t m_design_errors = 0;             // the plug-in's error_count() at the last rising edge
    iommusim_rtl_iotlb_outputs m_response{};  // a response taken under back-pressure
};

rtl_waves_options rtl_waves_options::from_env(const std::string& name) {
    rtl_waves_options o;
    o.name = name;
    if (const char* on = std::getenv("IOMMUSIM_WAVES")) {
        o.enabled = std::string(on) == "1";
    }
    if (const char* dir = std::getenv("IOMMUSIM_WAVES_DIR"); dir && *dir) {
        o.dir = dir;
    }
    if (const char* format = std::getenv("IOMMUSIM_WAVES_FORMAT")) {
        o.format = std::string(format) == "vcd" ? file_format::vcd : file_format::fst;
    }
    return o;
}

bool rtl_iotlb::supported(iotlb_geometry geometry) {
    return rtl_iotlb_plugin::load(rtl_iotlb_plugin::builtin_path())->supports(geometry);
}

std::vector<iotlb_geometry> rtl_iotlb::supported_geometries() {
    return rtl_iotlb_plugin::load(rtl_iotlb_plugin::builtin_path())->geometries();
}

rtl_iotlb::rtl_iotlb(iotlb_geometry geometry, rtl_waves_options waves, const std::string& plugin_path,
                     const rtl_iotlb_options& options)
    : m_geometry(geometry) {
    const std::string path = plugin_path.empty() ? rtl_iotlb_plugin::builtin_path() : plugin_path;
    m_builtin = plugin_path.empty();
    m_model = std::make_unique<model>(rtl_iotlb_plugin::load(path), geometry, waves, options);
}

rtl_iotlb::~rtl_iotlb() = default;

std::optional<iotlb_entry> rtl_iotlb::lookup(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn) {
    // No entry can hold a page number or PASID wider than the RTL fields (fill rejects them).
    if (!fits(vpn, rtl_vpn_bits) || !fits(pasid, rtl_pasid_bits)) {
        m_last_op_cycles = 0;
        return std::nullopt;
    }
    return m_model->lookup(did, pasid, kind, vpn, m_last_op_cycles);
}

iotlb_fill_result rtl_iotlb::fill(const iotlb_entry& entry) {
    // The walker never produces these (input and output address widths are checked first).
    if (!fits(entry.tag.vpn, rtl_vpn_bits) || !fits(entry.payload.out_pfn, rtl_pfn_bits) ||
        !fits(entry.tag.pasid, rtl_pasid_bits)) {
        throw std::out_of_range("rtl_iotlb: fill with a field wider than the RTL entry");
    }
    return m_model->fill(entry, m_last_op_cycles);
}

unsigned rtl_iotlb::invalidate(iotlb_scope scope, uint16_t did, uint32_t pasid, const page_range& range) {
    if (!fits(pasid, rtl_pasid_bits)) {
        m_last_op_cycles = 0;
        return 0;  // no entry carries such a PASID
    }
    // The address as the descriptor wrote it: ignoring its low am bits is the design's job (the
    // contract's inv_req_am_i). When it does not fit the 52-bit field, an equivalent range inside
    // it: the aligned base, or, for a base beyond the field, a one-page range at its top (neither
    // overlaps any entry); a base of 0 is the whole space.
    uint64_t vpn = range.vpn();
    unsigned am = range.am();
    if (!fits(vpn, rtl_inv_vpn_bits)) {
        vpn = range.first();
    }
    if (!fits(vpn, rtl_inv_vpn_bits)) {
        vpn = (uint64_t{1} << rtl_inv_vpn_bits) - 1;
        am = 0;
    }
    return m_model->invalidate(static_cast<uint8_t>(scope), did, pasid, vpn, am, m_last_op_cycles);
}

void rtl_iotlb::close_waves() {
    m_model->close_waves();
}

void rtl_iotlb::for_each_valid(const std::function<void(unsigned set, unsigned way, const iotlb_entry&)>& fn) const {
    m_model->for_each_valid(fn);
}

std::optional<uint64_t> rtl_iotlb::plru_bits(unsigned set) const {
    return m_model->plru_bits(set);
}

uint64_t rtl_iotlb::cycle() const {
    return m_model->cycle();
}

uint64_t rtl_iotlb::time_ps() const {
    return m_model->time_ps();
}

uint64_t rtl_iotlb::protocol_violations() const {
    return m_model->protocol().violations();
}

std::string rtl_iotlb::protocol_report() const {
    return m_model->protocol().report();
}

std::string rtl_iotlb::wave_path() const {
    return m_model->wave_path();
}

std::string rtl_iotlb::name() const {
    return m_builtin ? "rtl_iotlb" : "rtl_iotlb(" + m_model->plugin().name() + ")";
}

const std::string& rtl_iotlb::plugin_path() const {
    return m_model->plugin().path();
}

}  // namespace iommusim
