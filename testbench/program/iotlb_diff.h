// The differential random test of an IOTLB against the C++ reference (tlm/iotlb.h), shared by
// `iommusim iotlb-diff` and its tests: runs operations on both in lockstep (rtl/lockstep_iotlb.h),
// stops at the first divergence or protocol violation, shrinks the failing sequence to a short
// reproducer by delta debugging (every candidate replayed on fresh IOTLBs) and reads and writes
// the reproducer file:
//
//   # comment lines and blank lines are ignored
//   iotlb rtl               the IOTLB kind it failed on (--iotlb overrides it)
//   geometry 64x4           sets x ways
//   replacement tree-plru   or free (--iotlb-replacement)
//   backpressure 7          the RTL adapter's response back-pressure seed (absent: none)
//   plusargs +a=1 +b        plusargs the RTL design was given (absent: none)
//   lookup ...              the operations, one a line (program/iotlb_ops.h)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "program/iotlb_ops.h"
#include "rtl/lockstep_iotlb.h"
#include "rtl/rtl_iotlb.h"

namespace iommusim::program {

// Builds the IOTLB under test (fresh for every replay); waves apply to an RTL IOTLB.
using iotlb_maker = std::function<std::unique_ptr<iotlb_if>(const iotlb_geometry&, const rtl_waves_options&)>;

struct iotlb_diff_setup {
    iotlb_geometry geometry{64, 4};
    iotlb_replacement replacement = iotlb_replacement::tree_plru;
    iotlb_maker make_dut;
};

struct iotlb_diff_failure {
    uint64_t op_index = 0;    // 0-based, in the sequence that ran
    std::string description;  // the first divergence or protocol violation
};

// Runs operations on a fresh reference and a fresh IOTLB under test in lockstep until the first
// failure, with a last comparison of the contents at the end. next() yields the operations
// (std::nullopt: no more). ops_run is set to the operations that ran.
std::optional<iotlb_diff_failure> run_iotlb_diff(const iotlb_diff_setup& setup,
                                                 const std::function<std::optional<iotlb_op>()>& next,
                                                 uint64_t& ops_run, const rtl_waves_options& waves = {});
std::optional<iotlb_diff_failure> run_iotlb_diff(const iotlb_diff_setup& setup, const std::vector<iotlb_op>& ops,
                                                 const rtl_waves_options& waves = {});

struct iotlb_shrink_result {
    std::vector<iotlb_op> ops;           // still failing, and no single operation can be removed
    iotlb_diff_failure failure;          // how the shrunk sequence fails
    unsigned replays = 0;                // sequences replayed
    bool replay_budget_reached = false;  // stopped early: ops is failing but maybe not minimal
};

// Shrinks a failing sequence: the shortest failing suffix of doubling lengths first (the cause is
// usually recent), then delta debugging (ddmin: drop chunks of halving size while the rest still
// fails, down to single operations). std::invalid_argument when `failing` does not fail.
iotlb_shrink_result shrink_iotlb_diff(const iotlb_diff_setup& setup, std::vector<iotlb_op> failing,
                                      unsigned max_replays = 20000);

struct iotlb_reproducer {
    std::string iotlb;  // the kind string it failed on ("" when not recorded)
    iotlb_geometry geometry{64, 4};
    iotlb_replacement replacement = iotlb_replacement::tree_plru;
    std::optional<uint64_t> backpressure_seed;  // rtl_iotlb_options::backpressure_seed of the run
    std::string plusargs;                       // rtl_iotlb_options::plusargs of the run
    std::vector<std::string> comments;          // written as "# ..." lines after the header
    std::vector<iotlb_op> ops;
};

std::string format_reproducer(const iotlb_reproducer& r);
// std::nullopt with `error` naming the line for anything that is not the format above.
std::optional<iotlb_reproducer> parse_reproducer(const std::string& text, std::string& error);

// "SxW" with both powers of two (1..4096 sets, 1..64 ways); std::nullopt otherwise.
std::optional<iotlb_geometry> parse_geometry(const std::string& text);

}  // namespace iommusim::program
