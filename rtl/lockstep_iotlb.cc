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

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) >= 0x20) {
            out += c;  // (descriptions are one line: control characters are dropped)
        }
    }
    return out + '"';
}

// "set=S way=W" of the slot holding exactly this entry, "not held" when none does.
std::string slot_of(const iotlb_if& t, const iotlb_entry& e) {
    std::string where = "not held";
    t.for_each_valid([&](unsigned set, unsigned way, const iotlb_entry& held) {
        if (held == e) {
            where = "set=" + std::to_string(set) + " way=" + std::to_string(way);
        }
    });
    return where;
}

std::string describe(const iotlb_fill_result& r) {
    std::ostringstream os;
    os << "set=" << r.set << " way=" << r.way << " replaced_same_tag=" << r.replaced_same_tag
       << " evicted=" << (r.evicted ? describe(*r.evicted) : std::string("none"));
    return os.str();
}

}  // namespace

std::optional<iotlb_replacement> parse_iotlb_replacement(std::string_view text) {
    if (text == "tree-plru") {
        return iotlb_replacement::tree_plru;
    }
    if (text == "free") {
        return iotlb_replacement::free;
    }
    return std::nullopt;
}

std::string_view to_string(iotlb_replacement r) {
    return r == iotlb_replacement::free ? "free" : "tree-plru";
}

std::string lockstep_divergence::to_string() const {
    std::ostringstream os;
    os << "op #" << op_index << " " << operation << ": reference " << reference << ", dut " << dut << " (" << slots
       << "; cycle " << cycle << ", time " << sim_time << ")";
    return os.str();
}

std::string lockstep_divergence::to_json() const {
    std::ostringstream os;
    os << "{\"op_index\": " << op_index << ", \"operation\": " << json_string(operation)
       << ", \"expected\": " << json_string(reference) << ", \"got\": " << json_string(dut)
       << ", \"set_way\": " << json_string(slots) << ", \"cycle\": " << cycle
       << ", \"sim_time\": " << json_string(sim_time) << ", \"description\": " << json_string(to_string()) << "}";
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

void lockstep_iotlb::diverged(const std::string& operation, const std::string& reference, const std::string& dut,
                              const std::function<std::string()>& slots) {
    ++m_divergences;
    const bool logged = m_log.size() < m_options.log_limit;
    if (!logged && m_first && !m_options.fatal) {
        return;  // counted; nothing else is kept
    }
    lockstep_divergence d;
    d.op_index = m_ops;
    d.operation = operation;
    d.reference = reference;
    d.dut = dut;
    d.slots = slots ? slots() : std::string("-");
    d.cycle = m_dut->cycles();
    d.sim_time = sc_core::sc_is_running() ? sc_core::sc_time_stamp().to_string() : std::string("-");
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
    os << "{\"compared_operations\": " << m_ops << ", \"divergences\": " << m_divergences << ", \"replacement\": \""
       << to_string(m_options.replacement) << "\", \"lookups\": " << m_lookups
       << ", \"reference_hits\": " << m_reference_hits << ", \"dut_hits\": " << m_dut_hits
       << ", \"first_divergence\": " << (m_first ? m_first->to_json() : std::string("null")) << "}";
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
    ++m_lookups;
    m_reference_hits += ref.has_value();
    m_dut_hits += dut.has_value();
    auto operation = [&] {
        std::ostringstream op;
        op << "lookup did=" << did << " pasid=" << hex(pasid) << " kind=" << translation_kind_name(kind)
           << " vpn=" << hex(vpn);
        return op.str();
    };
    if (m_options.replacement == iotlb_replacement::free) {
        check_free_lookup(operation(), did, pasid, kind, vpn, dut);
    } else if (ref != dut) {
        diverged(operation(), describe(ref), describe(dut), [&] {
            const unsigned sets = geometry().sets;
            std::ostringstream os;
            os << "probed sets 4k=" << iotlb_set_index(vpn, page_level::size_4k, did, pasid, kind, sets)
               << " 2m=" << iotlb_set_index(vpn, page_level::size_2m, did, pasid, kind, sets)
               << " 1g=" << iotlb_set_index(vpn, page_level::size_1g, did, pasid, kind, sets) << "; reference "
               << (ref ? slot_of(*m_reference, *ref) : "miss") << ", dut " << (dut ? slot_of(*m_dut, *dut) : "miss");
            return os.str();
        });
    }
    after_op();
    return ref;
}

iotlb_fill_result lockstep_iotlb::fill(const iotlb_entry& entry) {
    auto ref = m_reference->fill(entry);
    auto dut = m_dut->fill(entry);
    if (m_options.replacement == iotlb_replacement::free) {
        check_free_fill(entry, dut);
    } else if (ref != dut) {
        diverged("fill " + describe(entry), describe(ref), describe(dut), [&] {
            std::ostringstream os;
            os << "reference set=" << ref.set << " way=" << ref.way << ", dut set=" << dut.set << " way=" << dut.way;
            return os.str();
        });
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
    const unsigned ref = m_reference->invalidate(scope, did, pasid, range);
    const unsigned dut = m_dut->invalidate(scope, did, pasid, range);
    if (m_options.replacement == iotlb_replacement::free) {
        // A design that evicts differently holds other entries, so counts may differ; it can never
        // drop more than the entries a correct IOTLB could hold that the scope covers.
        const unsigned could_hold = drop_from_shadow(scope, did, pasid, range);
        if (dut > could_hold) {
            diverged(operation, "dropped at most " + std::to_string(could_hold) + " (the covered entries it may hold)",
                     "dropped " + std::to_string(dut));
        }
    } else if (ref != dut) {
        diverged(operation, "dropped " + std::to_string(ref), "dropped " + std::to_string(dut));
    }
    after_op();
    return ref;
}

void lockstep_iotlb::check_free_lookup(const std::string& operation, uint16_t did, uint32_t pasid,
                                       translation_kind kind, uint64_t vpn, const std::optional<iotlb_entry>& dut) {
    if (!dut) {
        return;  // a miss is always correct (the entry may have been evicted)
    }
    const iotlb_tag& t = dut->tag;
    const bool matches =
        t.did == did && t.pasid == pasid && t.kind == kind && t.vpn == (vpn & ~(page_level_pages(t.level) - 1));
    auto held = m_shadow.find(key_of(t));
    auto where = [&] { return "dut " + slot_of(*m_dut, *dut); };
    if (!matches) {
        diverged(operation, "a hit on an entry matching the lookup, or a miss", describe(dut), where);
    } else if (held == m_shadow.end()) {
        diverged(operation, "miss (no such entry filled and not invalidated or evicted since)", describe(dut), where);
    } else if (held->second != dut->payload) {
        iotlb_entry last{t, held->second};
        diverged(operation, "hit " + describe(last) + " (the last fill) or a miss", describe(dut), where);
    }
}

void lockstep_iotlb::check_free_fill(const iotlb_entry& entry, const iotlb_fill_result& dut) {
    const iotlb_geometry g = geometry();
    const unsigned set = iotlb_set_index(entry.tag, g.sets);
    const bool held = m_shadow.count(key_of(entry.tag)) != 0;
    std::string wrong;
    if (dut.set != set || dut.way >= g.ways) {
        wrong = "a way of set " + std::to_string(set);
    } else if (dut.replaced_same_tag && !held) {
        wrong = "no in-place refill (no entry with that tag is held)";
    } else if (dut.replaced_same_tag && dut.evicted) {
        wrong = "no eviction with an in-place refill";
    } else if (dut.evicted) {
        auto victim = m_shadow.find(key_of(dut.evicted->tag));
        if (dut.evicted->tag == entry.tag || victim == m_shadow.end() || victim->second != dut.evicted->payload ||
            iotlb_set_index(dut.evicted->tag, g.sets) != set) {
            wrong = "an evicted entry it holds in set " + std::to_string(set) + " with another tag";
        } else {
            m_shadow.erase(victim);
        }
    }
    m_shadow[key_of(entry.tag)] = entry.payload;
    if (!wrong.empty()) {
        diverged("fill " + describe(entry), wrong, describe(dut),
                 [&] { return "dut set=" + std::to_string(dut.set) + " way=" + std::to_string(dut.way); });
    }
}

unsigned lockstep_iotlb::drop_from_shadow(iotlb_scope scope, uint16_t did, uint32_t pasid, const page_range& range) {
    unsigned dropped = 0;
    for (auto it = m_shadow.begin(); it != m_shadow.end();) {
        const auto& [d, p, kind, level, vpn] = it->first;
        if (iotlb_scope_covers(scope, did, pasid, range, iotlb_tag{d, p, kind, level, vpn})) {
            it = m_shadow.erase(it);
            ++dropped;
        } else {
            ++it;
        }
    }
    return dropped;
}

bool lockstep_iotlb::compare_free_state() {
    const unsigned sets = geometry().sets;
    std::string wrong;
    unsigned shown = 0;
    m_dut->for_each_valid([&](unsigned set, unsigned way, const iotlb_entry& e) {
        auto held = m_shadow.find(key_of(e.tag));
        if (held == m_shadow.end() || held->second != e.payload || iotlb_set_index(e.tag, sets) != set) {
            if (shown++ < 4) {
                std::ostringstream os;
                os << "[" << set << "," << way << "]=" << describe(e) << " ";
                wrong += os.str();
            }
        }
    });
    if (shown == 0) {
        return true;
    }
    diverged("compare_state (" + std::to_string(shown) + " entries no correct IOTLB holds)",
             "only entries filled and not invalidated or evicted since, each in its set", wrong);
    return false;
}

bool lockstep_iotlb::compare_state() {
    if (m_options.replacement == iotlb_replacement::free) {
        return compare_free_state();
    }
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
