#include "program/iotlb_diff.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "program/parse_number.h"
#include "tlm/iotlb.h"

namespace iommusim::program {

namespace {

std::optional<iotlb_diff_failure> failure_of(lockstep_iotlb& ls, uint64_t op_index) {
    if (const lockstep_divergence* d = ls.first_divergence()) {
        return iotlb_diff_failure{d->op_index, "divergence: " + d->to_string()};
    }
    if (ls.protocol_violations() != 0) {
        return iotlb_diff_failure{op_index, "protocol violation: " + ls.protocol_report()};
    }
    return std::nullopt;
}

bool is_power_of_two(uint64_t v) {
    return v != 0 && (v & (v - 1)) == 0;
}

}  // namespace

std::optional<iotlb_diff_failure> run_iotlb_diff(const iotlb_diff_setup& setup,
                                                 const std::function<std::optional<iotlb_op>()>& next,
                                                 uint64_t& ops_run, const rtl_waves_options& waves) {
    lockstep_options options;
    options.report = false;  // the caller reports the failure once
    options.log_limit = 0;   // the first divergence is kept regardless
    options.replacement = setup.replacement;
    lockstep_iotlb ls(std::make_unique<iotlb>(setup.geometry), setup.make_dut(setup.geometry, waves), options);
    ops_run = 0;
    std::optional<iotlb_diff_failure> failure;
    while (!failure) {
        const std::optional<iotlb_op> op = next();
        if (!op) {
            // An entry one side lost without any operation showing it yet still counts.
            ls.compare_state();
            failure = failure_of(ls, ops_run == 0 ? 0 : ops_run - 1);
            break;
        }
        try {
            apply(ls, *op);
        } catch (const std::exception& e) {
            // A broken IOTLB (one that hangs, or refuses a legal operation) is a failure too.
            ++ops_run;
            failure = iotlb_diff_failure{ops_run - 1, std::string("the IOTLB under test failed: ") + e.what()};
            break;
        }
        ++ops_run;
        if (ls.divergences() != 0 || ls.protocol_violations() != 0) {
            failure = failure_of(ls, ops_run - 1);
        }
    }
    ls.close_waves();
    return failure;
}

std::optional<iotlb_diff_failure> run_iotlb_diff(const iotlb_diff_setup& setup, const std::vector<iotlb_op>& ops,
                                                 const rtl_waves_options& waves) {
    std::size_t i = 0;
    uint64_t ops_run = 0;
    return run_iotlb_diff(
        setup, [&]() -> std::optional<iotlb_op> { return i < ops.size() ? std::optional(ops[i++]) : std::nullopt; },
        ops_run, waves);
}

iotlb_shrink_result shrink_iotlb_diff(const iotlb_diff_setup& setup, std::vector<iotlb_op> failing,
                                      unsigned max_replays) {
    iotlb_shrink_result r;
    // Replays a candidate; a failure keeps it (the sequence is cut after the failing operation).
    auto try_keep = [&](std::vector<iotlb_op> candidate) {
        if (r.replays >= max_replays) {
            r.replay_budget_reached = true;
            return false;
        }
        ++r.replays;
        auto failure = run_iotlb_diff(setup, candidate);
        if (!failure) {
            return false;
        }
        candidate.resize(std::min<std::size_t>(candidate.size(), failure->op_index + 1));
        r.ops = std::move(candidate);
        r.failure = *failure;
        return true;
    };
    if (!try_keep(std::move(failing))) {
        throw std::invalid_argument("shrink_iotlb_diff: the sequence does not fail");
    }
    // The shortest failing suffix of 1, 2, 4, ... operations.
    for (std::size_t n = 1; n < r.ops.size(); n *= 2) {
        if (try_keep(std::vector<iotlb_op>(r.ops.end() - static_cast<std::ptrdiff_t>(n), r.ops.end()))) {
            break;
        }
    }
    // ddmin on complements: remove one of `chunks` equal parts while the rest still fails; when
    // none can go, halve the parts, down to single operations.
    std::size_t chunks = 2;
    while (r.ops.size() >= 2 && !r.replay_budget_reached) {
        const std::size_t size = r.ops.size();
        const std::size_t chunk = (size + chunks - 1) / chunks;
        bool removed = false;
        for (std::size_t start = 0; start < size && !removed; start += chunk) {
            std::vector<iotlb_op> rest(r.ops.begin(), r.ops.begin() + static_cast<std::ptrdiff_t>(start));
            rest.insert(rest.end(), r.ops.begin() + static_cast<std::ptrdiff_t>(std::min(size, start + chunk)),
                        r.ops.end());
            removed = try_keep(std::move(rest));
        }
        if (removed) {
            chunks = std::max<std::size_t>(chunks - 1, 2);
        } else if (chunk == 1) {
            break;  // no single operation can go: 1-minimal
        } else {
            chunks = std::min(size, chunks * 2);
        }
    }
    return r;
}

std::string format_reproducer(const iotlb_reproducer& r) {
    std::ostringstream os;
    os << "# iommusim iotlb-diff reproducer: iommusim iotlb-diff --replay FILE\n";
    if (!r.iotlb.empty()) {
        os << "iotlb " << r.iotlb << '\n';
    }
    os << "geometry " << r.geometry.sets << 'x' << r.geometry.ways << '\n';
    os << "replacement " << to_string(r.replacement) << '\n';
    if (r.backpressure_seed) {
        os << "backpressure " << *r.backpressure_seed << '\n';
    }
    if (!r.plusargs.empty()) {
        os << "plusargs " << r.plusargs << '\n';
    }
    // A comment of several lines (a protocol report) stays a comment on each.
    for (const std::string& c : r.comments) {
        std::istringstream lines(c);
        for (std::string line; std::getline(lines, line);) {
            if (!line.empty()) {
                os << "# " << line << '\n';
            }
        }
    }
    for (const iotlb_op& op : r.ops) {
        os << format_op(op) << '\n';
    }
    return os.str();
}

std::optional<iotlb_geometry> parse_geometry(const std::string& text) {
    const std::size_t x = text.find('x');
    if (x == std::string::npos || x == 0 || x + 1 == text.size() ||
        text.find_first_not_of("0123456789x") != std::string::npos || text.find('x', x + 1) != std::string::npos ||
        x > 5 || text.size() - x > 4) {
        return std::nullopt;
    }
    const unsigned sets = static_cast<unsigned>(std::stoul(text.substr(0, x)));
    const unsigned ways = static_cast<unsigned>(std::stoul(text.substr(x + 1)));
    if (!is_power_of_two(sets) || !is_power_of_two(ways) || sets > 4096 || ways > 64) {
        return std::nullopt;
    }
    return iotlb_geometry{sets, ways};
}

std::optional<iotlb_reproducer> parse_reproducer(const std::string& text, std::string& error) {
    iotlb_reproducer r;
    bool have_geometry = false;
    std::istringstream in(text);
    std::string line;
    for (unsigned number = 1; std::getline(in, line); ++number) {
        const std::string where = "line " + std::to_string(number) + ": ";
        const std::size_t first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#') {
            continue;
        }
        line = line.substr(first, line.find_last_not_of(" \t\r") + 1 - first);
        const std::size_t space = line.find(' ');
        const std::string word = line.substr(0, space);
        const std::string rest = space == std::string::npos ? "" : line.substr(line.find_first_not_of(' ', space));
        const bool header = word == "iotlb" || word == "geometry" || word == "replacement" || word == "backpressure" ||
                            word == "plusargs";
        if (header && !r.ops.empty()) {
            error = where + word + " belongs before the operations";
            return std::nullopt;
        }
        if (word == "iotlb") {
            if (rest.empty() || rest.find(' ') != std::string::npos) {
                error = where + "iotlb needs one kind";
                return std::nullopt;
            }
            r.iotlb = rest;
        } else if (word == "geometry") {
            auto g = parse_geometry(rest);
            if (!g) {
                error = where + "geometry '" + rest + "' is not SETSxWAYS with both powers of two";
                return std::nullopt;
            }
            r.geometry = *g;
            have_geometry = true;
        } else if (word == "replacement") {
            auto p = parse_iotlb_replacement(rest);
            if (!p) {
                error = where + "replacement '" + rest + "' is not tree-plru or free";
                return std::nullopt;
            }
            r.replacement = *p;
        } else if (word == "backpressure") {
            uint64_t seed = 0;
            if (!parse_u64(rest, seed)) {
                error = where + "backpressure needs a seed, not '" + rest + "'";
                return std::nullopt;
            }
            r.backpressure_seed = seed;
        } else if (word == "plusargs") {
            if (rest.empty()) {
                error = where + "plusargs needs at least one +plusarg";
                return std::nullopt;
            }
            r.plusargs = rest;
        } else {
            std::string op_error;
            auto op = parse_op(line, op_error);
            if (!op) {
                error = where + op_error;
                return std::nullopt;
            }
            r.ops.push_back(*op);
        }
    }
    if (!have_geometry) {
        error = "no geometry line (geometry SETSxWAYS)";
        return std::nullopt;
    }
    if (r.ops.empty()) {
        error = "no operations";
        return std::nullopt;
    }
    return r;
}

}  // namespace iommusim::program
