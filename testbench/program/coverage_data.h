// Functional coverage files (tlm/functional_coverage.h collects the points of a run): reading,
// merging the files of many runs, and the reports: totals, per point and cross, holes by name,
// and an HTML page with a heat map of every cross.
//
// File: {"format": "iommusim-coverage", "version": 1, "runs": [the run block of each run merged in],
//        "points": [{"name", "description", "axes": [...], "bins": [{"at": [...], "hits": n}]}]}
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace iommusim {
class platform;
}

namespace iommusim::program {

struct coverage_bin {
    std::vector<std::string> at;  // one value per axis
    uint64_t hits = 0;
};

struct coverage_point {
    std::string name;
    std::string description;
    std::vector<std::string> axes;
    std::vector<coverage_bin> bins;

    unsigned covered() const;  // bins with at least one hit
};

struct coverage_data {
    nlohmann::ordered_json runs = nlohmann::ordered_json::array();
    std::vector<coverage_point> points;

    unsigned bins() const;
    unsigned covered() const;
};

// The points of a run of `p`: the IOMMU model's and the program's own (lockstep comparisons), as
// a JSON array for coverage_with_run_metadata.
std::string run_coverage_points(platform& p);

// Each returns "" or a message naming the file and what is wrong with it.
std::string parse_coverage(const std::string& text, const std::string& name, coverage_data& out);
std::string read_coverage(const std::string& path, coverage_data& out);
// Adds `more` into `into`: hits of the same point and bin summed, points and bins only one side
// has kept; a point whose axes differ between the two is an error.
std::string merge_coverage(coverage_data& into, const coverage_data& more);
std::string coverage_json(const coverage_data& data);

// Totals, one line per point (covered/bins, percent), then every hole (bin without a hit) by name.
std::string coverage_text_report(const coverage_data& data);
// A self-contained HTML page: the totals and, per point, a heat map (rows: the first axis'
// values, columns: the other axes'; colour by hits on a log scale, holes marked, combinations that
// are no bin left blank).
std::string coverage_html_report(const coverage_data& data);

}  // namespace iommusim::program
