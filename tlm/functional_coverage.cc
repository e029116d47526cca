#include "tlm/functional_coverage.h"

#include <algorithm>
#include <initializer_list>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "iommusim/hw/vtd_fault.h"
#include "tlm/iotlb_codes.h"
#include "tlm/stale_report.h"

namespace iommusim {

namespace {

using hw::fault_reason;

// The JSON of one point after another.
class points_writer {
  public:
    void begin(std::string_view name, std::string_view description, std::initializer_list<std::string_view> axes) {
        m_out << (m_points++ ? ",\n" : "[\n") << "{\"name\": " << quoted(name)
              << ", \"description\": " << quoted(description) << ", \"axes\": [";
        const char* sep = "";
        for (std::string_view a : axes) {
            m_out << sep << quoted(a);
            sep = ", ";
        }
        m_out << "], \"bins\": [";
        m_bins = 0;
    }
    void bin(std::initializer_list<std::string_view> at, uint64_t hits) {
        m_out << (m_bins++ ? ", " : "") << "{\"at\": [";
        const char* sep = "";
        for (std::string_view a : at) {
            m_out << sep << quoted(a);
            sep = ", ";
        }
        m_out << "], \"hits\": " << hits << '}';
    }
    void end() { m_out << "]}"; }
    std::string finish() { return m_out.str() + (m_points ? "\n]" : "[]"); }

  private:
    static std::string quoted(std::string_view s) {
        std::string q = "\"";
        for (const char c : s) {
            if (c == '"' || c == '\\') {
                q += '\\';
            }
            q += c;
        }
        return q + '"';
    }
    std::ostringstream m_out;
    unsigned m_points = 0;
    unsigned m_bins = 0;
};

// "SFL.2 (0x71)": the spec's identifier and the code, as reports name a fault.
std::string fault_bin(fault_reason r) {
    if (r == fault_reason::none) {
        return "no fault";
    }
    std::string name(hw::fault_reason_name(r));
    name = name.substr(0, name.find(' '));
    static constexpr char hex[] = "0123456789abcdef";
    const auto v = static_cast<uint8_t>(r);
    return name + " (0x" + hex[v >> 4] + hex[v & 15] + ")";
}

std::vector<fault_reason> reasons(std::initializer_list<std::pair<uint8_t, uint8_t>> ranges) {
    std::vector<fault_reason> out;
    for (const auto& [first, last] : ranges) {
        for (unsigned v = first; v <= last; ++v) {
            out.push_back(static_cast<fault_reason>(v));
        }
    }
    return out;
}

// The faults each translation kind can raise once its PASID-table entry is known (VT-d spec
// §7.1.3 tables of non-recoverable faults): first stage SFL.1-4, SGN.1-4/6-8, SFL.9-10 (A/D);
// second stage SSL.1-5, SGN.4-8; nested both, plus the nested-only SFL.5-8.
const std::vector<fault_reason>& faults_of(translation_kind k) {
    static const std::vector<fault_reason> none{fault_reason::none};
    static const std::vector<fault_reason> first =
        reasons({{0x00, 0x00}, {0x70, 0x73}, {0x80, 0x83}, {0x85, 0x87}, {0x90, 0x91}});
    static const std::vector<fault_reason> second = reasons({{0x00, 0x00}, {0x78, 0x7c}, {0x83, 0x87}});
    static const std::vector<fault_reason> nested = reasons({{0x00, 0x00}, {0x70, 0x7c}, {0x80, 0x87}, {0x90, 0x91}});
    switch (k) {
        case translation_kind::first_stage:
            return first;
        case translation_kind::second_stage:
            return second;
        case translation_kind::nested:
            return nested;
        default:
            return none;
    }
}

constexpr translation_kind all_kinds[] = {translation_kind::first_stage, translation_kind::second_stage,
                                          translation_kind::nested, translation_kind::pass_through};
constexpr translation_kind paging_kinds[] = {translation_kind::first_stage, translation_kind::second_stage,
                                             translation_kind::nested};

}  // namespace

std::string functional_coverage::to_json(const translation_stats& translation,
                                         const invalidation_queue_stats& queue) const {
    // The points' counters, added up from the samples.
    std::array<std::array<uint64_t, 256>, kinds> kind_fault = m_kind_fault;
    std::array<std::array<uint64_t, pages>, kinds> kind_page{};
    std::array<std::array<uint64_t, kinds>, requests> request_kind = m_faulted;
    uint64_t ats_answered = 0;
    for (unsigned q = 0; q < requests; ++q) {
        for (unsigned k = 0; k < kinds; ++k) {
            for (unsigned p = 0; p < pages; ++p) {
                const uint64_t n = m_translated[q][k][p];
                kind_fault[k][static_cast<uint8_t>(fault_reason::none)] += n;
                kind_page[k][p] += n;
                request_kind[q][k] += n;
                if (q == ats_request) {
                    ats_answered += n;
                }
            }
        }
    }
    uint64_t ats_faulted = 0;
    for (const uint64_t n : m_faulted[ats_request]) {
        ats_faulted += n;
    }

    points_writer w;

    w.begin("translation.kind_x_fault", "translations by kind and outcome (VT-d spec §7.1.3 fault reasons)",
            {"translation kind", "outcome"});
    for (const translation_kind k : all_kinds) {
        for (const fault_reason r : faults_of(k)) {
            w.bin({translation_kind_name(k), fault_bin(r)}, kind_fault[kind_index(k)][static_cast<uint8_t>(r)]);
        }
    }
    w.end();

    // Raised before the PASID-table entry gives the kind: counted over every kind.
    w.begin("translation.structure_fault", "faults in the root, context and PASID structures", {"fault reason"});
    for (const fault_reason r : reasons({{0x30, 0x31}, {0x38, 0x3a}, {0x40, 0x48}, {0x50, 0x52}, {0x58, 0x5d}})) {
        uint64_t hits = 0;
        for (const auto& per_kind : kind_fault) {
            hits += per_kind[static_cast<uint8_t>(r)];
        }
        w.bin({fault_bin(r)}, hits);
    }
    w.end();

    w.begin("translation.kind_x_page", "successful translations by kind and effective page size",
            {"translation kind", "page size"});
    static constexpr std::string_view page_names[] = {"4 KiB", "2 MiB", "1 GiB"};
    for (const translation_kind k : paging_kinds) {
        for (unsigned p = 0; p < 3; ++p) {
            w.bin({translation_kind_name(k), page_names[p]}, kind_page[kind_index(k)][p]);
        }
    }
    w.end();

    w.begin("translation.request_x_kind", "requests by tag and type, per translation kind",
            {"request", "translation kind"});
    static constexpr std::string_view request_names[] = {"untagged read", "untagged write", "PASID read", "PASID write",
                                                         "ATS translation request"};
    for (unsigned q = 0; q < requests; ++q) {
        for (const translation_kind k : all_kinds) {
            w.bin({request_names[q], translation_kind_name(k)}, request_kind[q][kind_index(k)]);
        }
    }
    w.end();

    w.begin("ats.translation", "ATS translation requests by answer", {"answer"});
    const uint64_t no_rights = std::min(translation.ats_no_rights, ats_answered);
    w.bin({"translated"}, ats_answered - no_rights);
    w.bin({"R=W=0"}, no_rights);
    w.bin({"fault"}, ats_faulted);
    w.end();

    w.begin("invalidation.scope_x_ih_x_dropped",
            "cache scopes applied (descriptor type x granularity), by IH and whether entries were dropped",
            {"scope", "IH", "entries dropped"});
    static constexpr scope_kind cache_scopes[] = {scope_kind::context_all,       scope_kind::context_device,
                                                  scope_kind::pasid_cache_all,   scope_kind::pasid_cache_domain,
                                                  scope_kind::pasid_cache_pasid, scope_kind::iotlb_all,
                                                  scope_kind::iotlb_domain,      scope_kind::iotlb_domain_range,
                                                  scope_kind::iotlb_pasid,       scope_kind::iotlb_pasid_range};
    for (const scope_kind s : cache_scopes) {
        const bool ranged = s == scope_kind::iotlb_domain_range || s == scope_kind::iotlb_pasid_range;
        const auto& counts = m_scope_ih_dropped[static_cast<unsigned>(s)];
        for (unsigned ih = 0; ih < (ranged ? 2u : 1u); ++ih) {
            for (unsigned dropped = 0; dropped < 2; ++dropped) {
                w.bin({scope_kind_name(s), ranged ? (ih ? "1" : "0") : "-", dropped ? "some" : "none"},
                      counts[ih][dropped]);
            }
        }
    }
    w.end();

    w.begin("invalidation.device_tlb", "device-TLB invalidations (types 3 and 8) and their outcomes", {"event"});
    w.bin({"type 3 (devtlb)"}, queue.per_scope[static_cast<unsigned>(scope_kind::devtlb)]);
    w.bin({"type 8 (devtlb_pasid)"}, queue.per_scope[static_cast<unsigned>(scope_kind::devtlb_pasid)]);
    w.bin({"completed by the device"}, queue.devtlb_completed);
    w.bin({"timed out (ITE)"}, queue.ite);
    w.bin({"no such device"}, queue.devtlb_no_device);
    w.end();

    w.begin("invalidation.wait", "wait descriptors by what they did", {"wait"});
    w.bin({"status write"}, queue.status_writes);
    w.bin({"completion interrupt"}, queue.completion_interrupts);
    w.bin({"fence"}, queue.fences);
    w.bin({"aborted by ITE"}, queue.waits_aborted);
    w.end();

    w.begin("queue.error", "invalidation queue errors: IQE by IQEI code, ITE, ICE", {"error"});
    static constexpr std::string_view iqei_names[] = {"",
                                                      "IQE 1 invalid tail",
                                                      "IQE 2 fetch error",
                                                      "IQE 3 invalid type",
                                                      "IQE 4 reserved field",
                                                      "IQE 5 invalid width",
                                                      "IQE 6 misaligned tail",
                                                      "IQE 7 invalid TTM"};
    for (unsigned code = 1; code < 8; ++code) {
        w.bin({iqei_names[code]}, queue.iqe_by_iqei[code]);
    }
    w.bin({"ITE"}, queue.ite);
    w.bin({"ICE"}, queue.ice);
    w.end();

    w.begin("checker.stale_hit", "stale cached state the checker caught being used, per cache", {"cache"});
    for (unsigned c = 0; c < stale_cache_count; ++c) {
        w.bin({stale_cache_name(static_cast<stale_cache>(c))}, translation.stale_hits_by_cache[c]);
    }
    w.end();
    return w.finish();
}

}  // namespace iommusim
