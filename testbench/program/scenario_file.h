// Scenario files: a nested-translation scenario written in YAML instead of C++ (README "Scenario
// files", docs/scenario-files.md). A file names a platform, the guest's RAM and pages, its stage-1
// mappings and a list of steps (DMA with an expected outcome, stage-1 edits, IOMMU_HWPT_INVALIDATE,
// stale-hit counts, a seeded random stream). Everything is checked before the run: an error names
// the file, the line and the key.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "program/dirty_tracking.h"
#include "program/invalidation_storm.h"
#include "program/scenario.h"

namespace iommusim::program {

// A guest page named by the file: its GPA and the byte it is filled with before the run.
struct file_page {
    uint64_t gpa = 0;
    uint8_t fill = 0;
};

// One stage-1 leaf the guest writes before the nested HWPT is allocated.
struct file_mapping {
    uint64_t gva = 0;
    uint64_t gpa = 0;
    unsigned level = 1;  // 1: 4 KiB PTE, 2: 2 MiB PDE, 3: 1 GiB PDPE (PS=1)
    bool writable = true;
};

// What a DMA step expects.
struct dma_expect {
    enum class kind { success, data, page, fault };
    kind what = kind::success;
    uint8_t byte = 0;       // data: every byte read
    std::string page;       // page: the bytes equal the named page's at the GVA's page offset
    uint32_t fault_reason;  // fault: the VT-d fault reason (vtd_fault.h)
};

struct dma_step {
    unsigned device = 0;
    uint64_t gva = 0;
    uint64_t len = 0;
    bool write = false;
    uint8_t data = 0;  // a write's byte
    uint32_t pasid = 0;
    bool has_pasid = false;
    dma_expect expect;
};

struct remap_step {
    uint64_t gva = 0;
    uint64_t gpa = 0;  // from `to:` or the named page
};

struct unmap_step {
    uint64_t gva = 0;
};

// A new stage-1 leaf after the setup (for a GVA no mapping covers at that step).
struct map_step {
    file_mapping mapping;
};

// Sets and clears bits of the stage-1 entry at `level` on gva's path (1: the 4 KiB PTE, 4: the
// PML4 entry), as a buggy or malicious guest does: a reserved bit makes the walk fault.
struct entry_bits_step {
    uint64_t gva = 0;
    unsigned level = 1;
    uint64_t set = 0;
    uint64_t clear = 0;
};

struct invalidate_entry {
    uint64_t addr = 0;
    uint64_t npages = 0;
    bool leaf = false;
};

struct invalidate_step {
    unsigned device = 0;
    std::vector<invalidate_entry> entries;
    int expect_errno = 0;  // 0: ok (and entry_num equals the number of entries)
};

// Lets simulated time pass with the CPU idle (what a guest's timer or a polling loop costs).
struct wait_step {
    uint64_t ns = 0;
};

struct stale_hits_step {
    uint64_t hits = 0;
};

// A seeded stream of rounds over a window of 4 KiB stage-1 mappings: each round may remap a page of
// the window to one of `targets` (followed by IOMMU_HWPT_INVALIDATE of every attached device's
// nested HWPT when `invalidate`), then DMA-reads or -writes it from one of `devices`; the expected
// data follow from the mappings the guest itself wrote.
struct random_step {
    std::optional<uint64_t> seed;  // else the run's seed
    uint64_t count = 0;
    std::vector<unsigned> devices;
    uint64_t gva = 0;
    uint64_t pages = 0;
    double write_ratio = 0;
    double remap_ratio = 0;
    bool invalidate = true;
    std::vector<uint64_t> targets;  // GPAs of the pages remaps choose from
};

// A DMA of an ATS+PRI device (docs/vtd-facts.md §10): its translation request first. Without
// `fault` the translation must grant the access at once; with it, the translation must end in a
// page request, which the VMM reads from the fault fd (setup.fault_queue), fixes (`map`: the guest
// maps the faulting page, then a one-page LEAF IOMMU_HWPT_INVALIDATE) and answers; after Success
// the device's retry must grant the access and the DMA runs, after Invalid the access must fail.
struct pri_fault {
    std::optional<file_mapping> map;
    bool success = true;  // the response: Success, else Invalid
};

struct pri_dma_step {
    dma_step dma;  // device, gva, len, write, data, expect (untagged: no pasid)
    std::optional<pri_fault> fault;
};

// The built-in invalidation-storm with its parameters as fields (invalidation_storm.h): it brings
// its own setup, so a file with a storm step has no guest, stage1 or setup and no other step.
struct storm_step {
    std::optional<uint64_t> seed;  // else the run's seed
    storm_params params;
};

// The built-in dirty-tracking live-migration loop with its parameters as fields (dirty_tracking.h);
// like storm, it brings its own setup and runs alone.
struct dirty_tracking_step {
    std::optional<uint64_t> seed;  // else the run's seed
    dirty_tracking_params params;
};

struct file_step {
    unsigned line = 0;  // 1-based line of the step in the file
    std::variant<dma_step, remap_step, unmap_step, map_step, entry_bits_step, invalidate_step, stale_hits_step,
                 wait_step, random_step, pri_dma_step, storm_step, dirty_tracking_step>
        body;
};

struct scenario_document {
    std::string path;
    std::string name;
    std::string description;
    std::optional<uint64_t> seed;
    std::string platform_json;  // the platform mapping as --config JSON ("" when absent)
    uint64_t ram_bytes = 64ull << 20;
    std::map<std::string, file_page> pages;
    std::vector<file_mapping> stage1;
    std::optional<std::vector<unsigned>> devices;  // setup.devices; absent: every platform device
    bool fault_queue = false;                      // setup.fault_queue: nested HWPTs report page faults
    std::vector<file_step> steps;
};

// True when `name` names a scenario file (it ends in .yaml or .yml).
bool is_scenario_file_name(const std::string& name);

// Parses and checks scenario text; `path` only labels the messages. Returns "" or the first error as
// "PATH:LINE: KEY: what is wrong".
std::string parse_scenario_document(const std::string& text, const std::string& path, scenario_document& out);

// The scenario a document describes: named by its path, its platform and seed applied as the
// scenario's platform defaults (the --config file and the flags still override them).
scenario scenario_from_document(std::shared_ptr<const scenario_document> doc);

// Reads and checks the file and keeps its scenario for find_scenario(path). Returns nullptr and sets
// `error` when the file cannot be read or is not a valid scenario.
const scenario* load_scenario_file(const std::string& path, std::string& error);
// A scenario file loaded before, else nullptr.
const scenario* loaded_scenario_file(const std::string& path);

// Runs a document's setup and steps (the body of its scenario).
void run_scenario_document(const scenario_document& doc, scenario_log& log);

}  // namespace iommusim::program
