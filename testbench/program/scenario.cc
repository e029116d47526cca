#include "program/scenario.h"

#include <algorithm>
#include <ostream>

#include "platform/stop_signal.h"
#include "program/scenario_file.h"

namespace iommusim::program {

run_interrupted::run_interrupted(int signal)
    : std::runtime_error("interrupted by " + stop_signal_name(signal)), m_signal(signal) {}

void scenario_log::checkpoint() const {
    if (const int signal = stop_signal()) {
        throw run_interrupted(signal);
    }
}

void scenario_log::step(const std::string& text) {
    if (m_level != verbosity::quiet) {
        m_out << "  " << text << '\n';
    }
}

void scenario_log::detail(const std::string& text) {
    if (m_level == verbosity::verbose) {
        m_out << "    " << text << '\n';
    }
}

void scenario_log::report(const std::string& text) {
    m_out << "  " << text << '\n';
}

bool scenario_log::check(bool condition, const std::string& what, verbosity ok_from) {
    if (condition) {
        ++m_passed;
    }
    if (!condition) {
        m_failures.push_back(what);
        m_out << "  FAILED: " << what << '\n';
    } else if (m_level >= ok_from) {
        m_out << "  ok: " << what << '\n';
    }
    return condition;
}

int print_result(const scenario_log& log) {
    if (log.failed()) {
        log.out() << "RESULT: FAILED (" << log.failures().size() << " check(s) failed)\n";
        return 1;
    }
    log.out() << "RESULT: PASSED\n";
    return 0;
}

bool scenario_log::expect(bool condition, const std::string& what) {
    return check(condition, what, verbosity::normal);
}

bool scenario_log::expect_each(bool condition, const std::string& what) {
    return check(condition, what, verbosity::verbose);
}

const std::vector<scenario>& all_scenarios() {
    static const std::vector<scenario> list = {
        {"nested-invalidate",
         "guest remaps a page of its stage-1 table; the stale hit before IOMMU_HWPT_INVALIDATE is caught, "
         "DMA after it sees the new page (default)",
         run_nested_invalidate,
         {},
         {}},
        {"missing-invalidation",
         "a guest that forgets IOMMU_HWPT_INVALIDATE: the stale-translation checker fails the run and "
         "points at the stale hit",
         run_missing_invalidation,
         {},
         {}},
        {"invalidation-storm",
         "several devices, random guest edits and invalidations in every shape (pages, rounded-up ranges, "
         "non-leaf, 2 MiB / 1 GiB pages, ATS); IOTLB hit rate, walks and invalidation latency",
         run_invalidation_storm,
         {{"rounds", 400, 1, 100'000, "edit/invalidate/DMA rounds"},
          {"pages", 64, 32, 512, "4 KiB pages of each device's window (one stage-1 page table)"},
          {"data_pages", 256, 2, 4096, "guest data pages the remaps choose from"},
          {"max_batch", 16, 1, 256, "one-page LEAF entries per IOMMU_HWPT_INVALIDATE call, at most"},
          {"max_range_pages", 24, 3, 30, "pages of a multi-page LEAF range entry, at most"}},
         {}},
        {"fault-injection",
         "corrupt stage-1 entries, a corrupt invalidation descriptor and a device-TLB time-out: the "
         "architected errors and the recovery",
         run_fault_injection,
         {},
         {}},
        {"dirty-tracking",
         "live migration over VT-d second-stage A/D: the device writes, the VMM reads and clears the dirty "
         "bitmap each round, compares it with what was written and copies those pages",
         run_dirty_tracking,
         {{"rounds", 8, 1, 10'000, "write/read-and-clear/copy rounds"},
          {"pages", 256, 1, 65'536, "4 KiB pages of guest RAM"},
          {"writes", 24, 1, 4096, "device writes per round"}},
         [](platform_config& c) { c.iommu.ssads = true; }},
        {"iopf",
         "I/O page faults on a guest stage-1 table with holes: an ATS+PRI device touches them, the VMM reads "
         "each fault from the fault fd, fixes the guest table, invalidates and answers, the device's retry lands",
         run_iopf,
         {{"pages", 32, 1, 4096, "pages of the device's window (the odd ones are holes in the guest table)"}},
         [](platform_config& c) {
             c.iommu.prs = true;
             c.iommu.pds = true;
             if (c.devices.size() > 1) {
                 c.devices[1].pri = c.devices[1].ats;
             }
         }},
    };
    return list;
}

std::string check_scenario_params(const scenario& sc, const std::map<std::string, uint64_t>& params) {
    for (const auto& [name, value] : params) {
        const auto p =
            std::find_if(sc.params.begin(), sc.params.end(), [&](const scenario_param& q) { return q.name == name; });
        if (p == sc.params.end()) {
            std::string known;
            for (const scenario_param& q : sc.params) {
                known += (known.empty() ? "" : ", ") + q.name;
            }
            return "scenario " + sc.name + " has no parameter '" + name + "' (" +
                   (known.empty() ? std::string("it takes none") : "it takes " + known) + ")";
        }
        if (value < p->min || value > p->max) {
            return "parameter " + name + " of " + sc.name + " must be " + std::to_string(p->min) + ".." +
                   std::to_string(p->max) + ", not " + std::to_string(value);
        }
    }
    return "";
}

uint64_t param_value(const scenario& sc, const platform_config& config, const std::string& name) {
    if (const auto it = config.params.find(name); it != config.params.end()) {
        return it->second;
    }
    for (const scenario_param& p : sc.params) {
        if (p.name == name) {
            return p.default_value;
        }
    }
    throw std::logic_error("scenario " + sc.name + " declares no parameter " + name);
}

const scenario* find_scenario(const std::string& name) {
    for (const scenario& s : all_scenarios()) {
        if (s.name == name) {
            return &s;
        }
    }
    return loaded_scenario_file(name);
}

}  // namespace iommusim::program
