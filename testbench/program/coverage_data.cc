#include "program/coverage_data.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include "platform/platform.h"
#include "rtl/lockstep_iotlb.h"
#include "tlm/iommu.h"

namespace iommusim::program {

using json = nlohmann::ordered_json;

unsigned coverage_point::covered() const {
    return static_cast<unsigned>(std::count_if(bins.begin(), bins.end(), [](const coverage_bin& b) { return b.hits; }));
}

unsigned coverage_data::bins() const {
    unsigned n = 0;
    for (const coverage_point& p : points) {
        n += static_cast<unsigned>(p.bins.size());
    }
    return n;
}

unsigned coverage_data::covered() const {
    unsigned n = 0;
    for (const coverage_point& p : points) {
        n += p.covered();
    }
    return n;
}

std::string run_coverage_points(platform& p) {
    json points = json::parse(p.iommu_model().coverage_json());
    const lockstep_iotlb* lockstep = p.lockstep();
    const uint64_t lookups = lockstep ? lockstep->lookups() : 0;
    const uint64_t operations = lockstep ? lockstep->operations() : 0;
    points.push_back({{"name", "lockstep.comparison"},
                      {"description", "IOTLB operations compared between the C++ model and the RTL (--iotlb lockstep)"},
                      {"axes", {"operation"}},
                      {"bins",
                       {{{"at", {"lookup"}}, {"hits", lookups}},
                        {{"at", {"fill or invalidation"}}, {"hits", operations - std::min(lookups, operations)}}}}});
    return points.dump();
}

std::string parse_coverage(const std::string& text, const std::string& name, coverage_data& out) {
    coverage_data data;
    try {
        const json doc = json::parse(text);
        if (doc.value("format", "") != "iommusim-coverage" || doc.value("version", 0) != 1) {
            return name + ": not an iommusim coverage file (format iommusim-coverage, version 1)";
        }
        data.runs = doc.at("runs");
        for (const json& p : doc.at("points")) {
            coverage_point point;
            point.name = p.at("name").get<std::string>();
            point.description = p.value("description", "");
            point.axes = p.at("axes").get<std::vector<std::string>>();
            for (const json& b : p.at("bins")) {
                coverage_bin bin;
                bin.at = b.at("at").get<std::vector<std::string>>();
                bin.hits = b.at("hits").get<uint64_t>();
                if (bin.at.size() != point.axes.size()) {
                    return name + ": point " + point.name + " has a bin with " + std::to_string(bin.at.size()) +
                           " values for " + std::to_string(point.axes.size()) + " axes";
                }
                point.bins.push_back(std::move(bin));
            }
            data.points.push_back(std::move(point));
        }
    } catch (const json::exception& e) {
        return name + ": not a valid coverage file (" + e.what() + ")";
    }
    out = std::move(data);
    return "";
}

std::string read_coverage(const std::string& path, coverage_data& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return path + ": cannot be read";
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_coverage(text.str(), path, out);
}

std::string merge_coverage(coverage_data& into, const coverage_data& more) {
    coverage_data merged = into;
    for (const json& run : more.runs) {
        merged.runs.push_back(run);
    }
    for (const coverage_point& p : more.points) {
        auto it = std::find_if(merged.points.begin(), merged.points.end(),
                               [&](const coverage_point& q) { return q.name == p.name; });
        if (it == merged.points.end()) {
            merged.points.push_back(p);
            continue;
        }
        if (it->axes != p.axes) {
            return "point " + p.name + " has different axes in the files merged";
        }
        for (const coverage_bin& b : p.bins) {
            auto bin =
                std::find_if(it->bins.begin(), it->bins.end(), [&](const coverage_bin& c) { return c.at == b.at; });
            if (bin == it->bins.end()) {
                it->bins.push_back(b);
            } else {
                bin->hits += b.hits;
            }
        }
    }
    into = std::move(merged);
    return "";
}

std::string coverage_json(const coverage_data& data) {
    json doc = json::object();
    doc["format"] = "iommusim-coverage";
    doc["version"] = 1;
    doc["runs"] = data.runs;
    json points = json::array();
    for (const coverage_point& p : data.points) {
        json bins = json::array();
        for (const coverage_bin& b : p.bins) {
            bins.push_back({{"at", b.at}, {"hits", b.hits}});
        }
        points.push_back({{"name", p.name}, {"description", p.description}, {"axes", p.axes}, {"bins", bins}});
    }
    doc["points"] = points;
    return doc.dump(1) + '\n';
}

namespace {

std::string percent(unsigned covered, unsigned total) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << (total ? 100.0 * covered / total : 100.0) << " %";
    return s.str();
}

std::string joined(const std::vector<std::string>& values, std::size_t from, const char* sep) {
    std::string s;
    for (std::size_t i = from; i < values.size(); ++i) {
        s += (i > from ? sep : "") + values[i];
    }
    return s;
}

std::string html_escaped(const std::string& text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// Cell colour: holes red, hits from pale to deep green on a log scale up to the point's maximum.
std::string cell_colour(uint64_t hits, uint64_t max_hits) {
    if (hits == 0) {
        return "#f8c4c4";
    }
    const double share =
        max_hits > 1 ? std::log(static_cast<double>(hits)) / std::log(static_cast<double>(max_hits)) : 1.0;
    const int light = static_cast<int>(std::lround(88 - 50 * share));  // lightness 88 % .. 38 %
    return "hsl(130, 55%, " + std::to_string(light) + "%)";
}

}  // namespace

std::string coverage_text_report(const coverage_data& data) {
    std::ostringstream r;
    r << "functional coverage of " << data.runs.size() << " run(s): " << data.covered() << " of " << data.bins()
      << " bins (" << percent(data.covered(), data.bins()) << ")\n";
    std::size_t width = 0;
    for (const coverage_point& p : data.points) {
        width = std::max(width, p.name.size());
    }
    for (const coverage_point& p : data.points) {
        r << "  " << std::left << std::setw(static_cast<int>(width) + 2) << p.name << std::right << std::setw(4)
          << p.covered() << " / " << std::setw(3) << p.bins.size() << "  " << std::setw(7)
          << percent(p.covered(), static_cast<unsigned>(p.bins.size())) << '\n';
    }
    const unsigned holes = data.bins() - data.covered();
    r << "holes (" << holes << "):\n";
    for (const coverage_point& p : data.points) {
        for (const coverage_bin& b : p.bins) {
            if (!b.hits) {
                r << "  " << p.name << ": " << joined(b.at, 0, " x ") << '\n';
            }
        }
    }
    return r.str();
}

std::string coverage_html_report(const coverage_data& data) {
    std::ostringstream h;
    h << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>iommusim functional coverage</title>\n"
         "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
         "td,th{border:1px solid #999;padding:3px 6px;font-size:12px;text-align:center}"
         "th{background:#eee}td.none{background:#fff;border-color:#ddd}td.hole{font-weight:bold}"
         "caption{text-align:left;font-weight:bold;padding:4px 0}</style></head><body>\n";
    h << "<h1>Functional coverage</h1>\n<p>" << data.runs.size() << " run(s): <b>" << data.covered() << " of "
      << data.bins() << " bins (" << percent(data.covered(), data.bins())
      << ")</b>. Red cells are holes (bins without a hit), green cells hits (darker: more, log scale), blank "
         "cells combinations that are no "
         "bin.</p>\n<table><tr><th>point</th><th>covered</th><th>bins</th><th>%</th></tr>\n";
    for (const coverage_point& p : data.points) {
        h << "<tr><td style=\"text-align:left\"><a href=\"#" << html_escaped(p.name) << "\">" << html_escaped(p.name)
          << "</a></td><td>" << p.covered() << "</td><td>" << p.bins.size() << "</td><td>"
          << percent(p.covered(), static_cast<unsigned>(p.bins.size())) << "</td></tr>\n";
    }
    h << "</table>\n";
    for (const coverage_point& p : data.points) {
        std::vector<std::string> rows;
        std::vector<std::string> columns;
        std::map<std::pair<std::string, std::string>, uint64_t> cells;
        uint64_t max_hits = 0;
        for (const coverage_bin& b : p.bins) {
            const std::string row = b.at.empty() ? "" : b.at[0];
            const std::string column = b.at.size() > 1 ? joined(b.at, 1, " / ") : "hits";
            if (std::find(rows.begin(), rows.end(), row) == rows.end()) {
                rows.push_back(row);
            }
            if (std::find(columns.begin(), columns.end(), column) == columns.end()) {
                columns.push_back(column);
            }
            cells[{row, column}] += b.hits;
            max_hits = std::max(max_hits, b.hits);
        }
        h << "<table id=\"" << html_escaped(p.name) << "\"><caption>" << html_escaped(p.name) << " — "
          << html_escaped(p.description) << " (" << p.covered() << "/" << p.bins.size() << ", "
          << percent(p.covered(), static_cast<unsigned>(p.bins.size())) << ")</caption>\n<tr><th>"
          << html_escaped(p.axes.empty() ? "" : p.axes[0]) << " \\ "
          << html_escaped(p.axes.size() > 1 ? joined(p.axes, 1, " / ") : "") << "</th>";
        for (const std::string& c : columns) {
            h << "<th>" << html_escaped(c) << "</th>";
        }
        h << "</tr>\n";
        for (const std::string& r : rows) {
            h << "<tr><th style=\"text-align:left\">" << html_escaped(r) << "</th>";
            for (const std::string& c : columns) {
                const auto it = cells.find({r, c});
                if (it == cells.end()) {
                    h << "<td class=\"none\"></td>";
                } else {
                    h << "<td" << (it->second ? "" : " class=\"hole\"")
                      << " style=\"background:" << cell_colour(it->second, max_hits) << "\" title=\""
                      << html_escaped(r + " / " + c) << "\">" << it->second << "</td>";
                }
            }
            h << "</tr>\n";
        }
        h << "</table>\n";
    }
    h << "</body></html>\n";
    return h.str();
}

}  // namespace iommusim::program
