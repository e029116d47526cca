#include "rtl/lockstep_iotlb.h"

#include <map>
#include <sstream>
#include <stdexcept>
#include <systemc>
#include <tuple>

namespace iommusim {

namespace {

constexpr const char* msg_type = "iommusim/lockstep_iotlb";

std::string hex(uint64_t v) {
    std::ostringstream os;
    os << "0x" << std::hex << v;
    return os.str();
}

std::string describe(const iotlb_entry& e) {
    std::ostringstream os;
    os << "{did=" << e.tag.did << " pasid=" << hex(e.tag.pasid) << " kind=" << translation_kind_name(e.tag.kind)
       << " level=" << static_cast<unsigned>(e.tag.level) << " vpn=" << hex(e.tag.vpn)
       << " pfn=" << hex(e.payload.out_pfn) << " perm=" << hex(e.payload.perm) << "}";
    return os.str();
}

std::string describe(const std::optional<iotlb_entry>& e) {
    return e ? "hit " + describe(*e) : std::string("miss");
}

std::string describe(const iotlb_fill_result& r) {
    std::ostringstream os;
    os << "set=" << r.set << " way=" << r.way << " replaced_same_tag=" << r.replaced_same_tag
       << " evicted=" << (r.evicted ? describe(*r.evicted) : std::string("none"));
    return os.str();
}

}  // namespace

std::string lockstep_divergence::to_string() const {
    std::ostringstream os;
    os << "op #" << op_index << " " << operation << ": reference " << reference << ", dut " << dut << " (cycle "
       << cycle << ", time " << sim_time << ")";
    return os.str();
}

lockstep_iotlb::lockstep_iotlb(std::unique_ptr<iotlb_if> reference, std::unique_ptr<iotlb_if> dut,
                               lockstep_options options)
    : m_reference(std::move(reference)), m_dut(std::move(dut)), m_options(options) {
    if (!m_reference || !m_dut) {
        throw std::invalid_argument("lockstep_iotlb: both IOTLBs are required");
    }
    const iotlb_geometry a = m_reference->geometry(), b = m_dut->geometry();
    if (a.sets != b.sets || a.ways != b.ways) {
        throw std::invalid_argument("lockstep_iotlb: the two IOTLBs have different geometries");
    }
}

void lockstep_iotlb::diverged(const std::string& operation, const std::string& reference, const std::string& dut) {
    ++m_divergences;
    lockstep_divergence d;
    d.op_index = m_ops;
    d.operation = operation;
    d.reference = reference;
    d.dut = dut;
    d.cycle = m_dut->cycles();
    d.sim_time = sc_core::sc_is_running() ? sc_core::sc_time_stamp().to_string() : std::string("-");
    const bool logged = m_log.size() < m_options.log_limit;
    if (m_options.fatal) {
        SC_REPORT_FATAL(msg_type, ("divergence: " + d.to_string()).c_str());
    }
    if (m_options.report && logged) {
        SC_REPORT_WARNING(msg_type, ("divergence: " + d.to_string()).c_str());
    }
    if (!m_first) {
        m_first = d;
    }
    if (logged) {
        m_log.push_back(std::move(d));
    }
}

std::string lockstep_iotlb::to_json() const {
    std::ostringstream os;
    os << "{\"compared_operations\": " << m_ops << ", \"divergences\": " << m_divergences << ", \"first_divergence\": ";
    if (!m_first) {
        os << "null}";
        return os.str();
    }
    os << '"';
    for (const char c : m_first->to_string()) {
        if (c == '"' || c == '\\') {
            os << '\\' << c;
        } else if (static_cast<unsigned char>(c) >= 0x20) {
            os << c;  // (descriptions are one line: control characters are dropped)
        }
    }
    os << "\"}";
    return os.str();
}

void lockstep_iotlb::after_op() {
    ++m_ops;
    if (m_options.state_check_interval != 0 && m_ops % m_options.state_check_interval == 0) {
        compare_state();
    }
}

std::optional<iotlb_entry> lockstep_iotlb::lookup(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn) {
    auto ref = m_reference->lookup(did, pasid, kind, vpn);
    auto dut = m_dut->lookup(did, pasid, kind, vpn);
    if (ref != dut) {
        std::ostringstream op;
        op << "lookup did=" << did << " pasid=" << hex(pasid) << " kind=" << translation_kind_name(kind)
           << " vpn=" << hex(vpn);
        diverged(op.str(), describe(ref), describe(dut));
    }
    after_op();
    return ref;
}

iotlb_fill_result lockstep_iotlb::fill(const iotlb_entry& entry) {
    auto ref = m_reference->fill(entry);
    auto dut = m_dut->fill(entry);
    if (ref != dut) {
        diverged("fill " + describe(entry), describe(ref), describe(dut));
    }
    after_op();
    return ref;
}

unsigned lockstep_iotlb::invalidate_both(const std::string& operation, const std::function<unsigned(iotlb_if&)>& op) {
    const unsigned ref = op(*m_reference);
    const unsigned dut = op(*m_dut);
    if (ref != dut) {
        diverged(operation, "dropped " + std::to_string(ref), "dropped " + std::to_string(dut));
    }
    after_op();
    return ref;
}

unsigned lockstep_iotlb::invalidate(iotlb_scope scope, uint16_t did, uint32_t pasid, const page_range& range) {
    const unsigned fields = iotlb_scope_fields(scope);
    std::string operation = std::string("invalidate_") + iotlb_scope_name(scope);
    if (fields & iotlb_scope_field::did) {
        operation += " did=" + std::to_string(did);
    }
    if (fields & iotlb_scope_field::pasid) {
        operation += " pasid=" + hex(pasid);
    }
    if (fields & iotlb_scope_field::range) {
        operation += " vpn=" + hex(range.vpn()) + " am=" + std::to_string(range.am());
    }
    return invalidate_both(operation, [&](iotlb_if& t) { return t.invalidate(scope, did, pasid, range); });
}

bool lockstep_iotlb::compare_state() {
    using slot = std::tuple<unsigned, unsigned>;
    std::map<slot, iotlb_entry> ref, dut;
    m_reference->for_each_valid([&](unsigned s, unsigned w, const iotlb_entry& e) { ref.emplace(slot{s, w}, e); });
    m_dut->for_each_valid([&](unsigned s, unsigned w, const iotlb_entry& e) { dut.emplace(slot{s, w}, e); });
    std::string ref_diff, dut_diff;
    auto describe_slot = [](const slot& k, const std::map<slot, iotlb_entry>& m) {
        auto it = m.find(k);
        std::ostringstream os;  // (not string operator+: GCC 12 -O3 raises a false -Wrestrict on it)
        os << "[" << std::get<0>(k) << "," << std::get<1>(k)
           << "]=" << (it == m.end() ? "invalid" : describe(it->second)) << " ";
        return os.str();
    };
    unsigned shown = 0;
    auto note = [&](const slot& k) {
        if (shown++ < 4) {
            ref_diff += describe_slot(k, ref);
            dut_diff += describe_slot(k, dut);
        }
    };
    for (const auto& [k, e] : ref) {
        auto it = dut.find(k);
        if (it == dut.end() || !(it->second == e)) {
            note(k);
        }
    }
    for (const auto& [k, e] : dut) {
        if (!ref.count(k)) {
            note(k);
        }
    }
    const unsigned sets = geometry().sets;
    for (unsigned s = 0; s < sets; ++s) {
        const auto a = m_reference->plru_bits(s), b = m_dut->plru_bits(s);
        if (a && b && *a != *b && shown++ < 8) {
            ref_diff += "plru[" + std::to_string(s) + "]=" + hex(*a) + " ";
            dut_diff += "plru[" + std::to_string(s) + "]=" + hex(*b) + " ";
        }
    }
    if (shown == 0) {
        return true;
    }
    diverged("compare_state (" + std::to_string(shown) + " differences)", ref_diff, dut_diff);
    return false;
}

}  // namespace iommusim
