#include "program/plot.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace iommusim::program {

namespace {

// Writes `rows` as a whitespace-separated data file for gnuplot.
bool write_data(const std::string& path, const std::vector<std::pair<double, double>>& rows) {
    std::ofstream out(path);
    for (const auto& [x, y] : rows)
        out << x << ' ' << y << '\n';
    return static_cast<bool>(out);
}

std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s)
        q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

}  // namespace

std::string plot_stats(const std::string& stats_json_path, const std::string& png_path) {
    std::ifstream in(stats_json_path);
    if (!in)
        return "cannot read " + stats_json_path;
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
        return stats_json_path + ": not valid JSON: " + e.what();
    }

    // Invalidation latency histogram: platform.invalidation_latency_ns {bucket upper bound -> count}.
    std::vector<std::pair<double, double>> histogram;
    const auto& hist = doc["platform"]["invalidation_latency_ns"]["buckets"];
    if (hist.is_array())
        for (const auto& b : hist)
            histogram.emplace_back(b.value("le_ns", 0.0), b.value("count", 0.0));
    // IOTLB hit rate over time: platform.timeline [{t_ns, iotlb_hits, iotlb_misses}], per interval.
    std::vector<std::pair<double, double>> hit_rate;
    const auto& timeline = doc["platform"]["timeline"];
    double prev_hits = 0, prev_misses = 0;
    if (timeline.is_array())
        for (const auto& s : timeline) {
            const double hits = s.value("iotlb_hits", 0.0), misses = s.value("iotlb_misses", 0.0);
            const double dh = hits - prev_hits, dm = misses - prev_misses;
            prev_hits = hits;
            prev_misses = misses;
            if (dh + dm > 0)
                hit_rate.emplace_back(s.value("t_ns", 0.0) / 1000.0, 100.0 * dh / (dh + dm));
        }
    if (histogram.empty() && hit_rate.empty())
        return stats_json_path + " has neither platform.invalidation_latency_ns nor platform.timeline";

    const std::string base = png_path + ".tmp";
    if (!write_data(base + ".hist", histogram) || !write_data(base + ".rate", hit_rate))
        return "cannot write temporary files next to " + png_path;
    std::ostringstream script;
    script << "set terminal pngcairo size 1000,800 noenhanced\n"
           << "set output " << quote(png_path) << "\n"
           << "set multiplot layout 2,1 title " << quote("iommusim: " + stats_json_path) << "\n"
           << "set title 'invalidation latency (IQT write to wait completion)'\n"
           << "set xlabel 'latency bucket upper bound (ns)'\nset ylabel 'waits'\nset logscale x 2\n"
           << "set style fill solid 0.6\nset boxwidth 0.5 relative\nset yrange [0:*]\n"
           << (histogram.empty() ? "set label 'no invalidations' at graph 0.4,0.5\nplot NaN notitle\n"
                                 : "plot " + quote(base + ".hist") + " using 1:2 with boxes notitle\n")
           << "unset logscale x\nunset label\n"
           << "set title 'IOTLB hit rate over simulated time'\n"
           << "set xlabel 'simulated time (us)'\nset ylabel 'hit rate (%)'\nset yrange [0:100]\n"
           << (hit_rate.empty() ? "set label 'no translations' at graph 0.4,0.5\nplot NaN notitle\n"
                                : "plot " + quote(base + ".rate") + " using 1:2 with linespoints notitle\n")
           << "unset multiplot\n";
    const std::string script_path = base + ".gp";
    {
        std::ofstream gp(script_path);
        gp << script.str();
    }
    const std::string cmd = "gnuplot " + quote(script_path) + " 2>&1";
    FILE* pipe = popen(cmd.c_str(), "r");
    if (!pipe)
        return "cannot run gnuplot (install gnuplot-nox)";
    std::string output;
    char line[256];
    while (fgets(line, sizeof line, pipe))
        output += line;
    const int status = pclose(pipe);
    std::remove((base + ".hist").c_str());
    std::remove((base + ".rate").c_str());
    std::remove(script_path.c_str());
    if (status != 0)
        return "gnuplot failed: " + output;
    return "";
}

}  // namespace iommusim::program
