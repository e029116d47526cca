#include "program/plot.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>
#include <vector>

#include <sys/wait.h>

namespace iommusim::program {

namespace {

using json = nlohmann::json;

// j[key] when j is an object that has it, else null (a statistics file of another shape is
// reported, not thrown through).
const json& member(const json& j, const char* key) {
    static const json none;
    if (!j.is_object()) {
        return none;
    }
    const auto it = j.find(key);
    return it == j.end() ? none : *it;
}

double number_or(const json& j, const char* key, double fallback) {
    const json& v = member(j, key);
    return v.is_number() ? v.get<double>() : fallback;
}

bool write_rows(const std::string& path, const std::vector<std::vector<double>>& rows) {
    std::ofstream out(path);
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            out << (i ? " " : "") << row[i];
        }
        out << '\n';
    }
    return static_cast<bool>(out);
}

// For /bin/sh.
std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
    }
    return q + "'";
}

// A gnuplot single-quoted string: a quote is doubled; control characters (which would end the
// command) become spaces.
std::string gnuplot_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        if (c == '\'') {
            q += "''";
        } else {
            q += std::iscntrl(static_cast<unsigned char>(c)) ? ' ' : c;
        }
    }
    return q + "'";
}

// "iommusim: SCENARIO, seed N" from the statistics' run metadata (the "run" block the program
// writes), else the file's name.
std::string plot_title(const json& doc, const std::string& stats_json_path) {
    const json& run_block = member(doc, "run");
    const json& scenario = member(run_block, "scenario");
    const json& seed = member(run_block, "seed");
    std::string run;
    if (scenario.is_string()) {
        run = scenario.get<std::string>();
    }
    if (seed.is_number_unsigned() || seed.is_string()) {
        run += (run.empty() ? "seed " : ", seed ") +
               (seed.is_string() ? seed.get<std::string>() : std::to_string(seed.get<uint64_t>()));
    }
    if (run.empty()) {
        run = std::filesystem::path(stats_json_path).filename().string();
    }
    return "iommusim: " + run;
}

// Vertical dashed line and label at a latency percentile (the histogram's x axis is log2).
std::string percentile_marker(const std::string& name, uint64_t ns, const char* color, double label_height) {
    const uint64_t x = std::max<uint64_t>(ns, 1);  // 0 ns sits in the first bucket, drawn from 1 ns
    std::ostringstream s;
    s << "set arrow from " << x << ", graph 0 to " << x << ", graph 1 nohead front dashtype 2 linewidth 2 linecolor '"
      << color << "'\n"
      << "set label " << gnuplot_quote(" " + name + " " + std::to_string(ns) + " ns") << " at " << x << ", graph "
      << label_height << " left front\n";
    return s.str();
}

// Runs the script; "" or gnuplot's complaint.
std::string run_gnuplot(const std::string& script_path) {
    const std::string cmd = "gnuplot " + shell_quote(script_path) + " 2>&1";
    FILE* pipe = popen(cmd.c_str(), "r");
    if (!pipe) {
        return "cannot start a shell to run gnuplot";
    }
    std::string output;
    char line[256];
    while (fgets(line, sizeof line, pipe)) {
        output += line;
    }
    const int status = pclose(pipe);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        return "gnuplot is not installed (Debian package gnuplot-nox)";
    }
    if (status != 0) {
        return "gnuplot failed: " + output;
    }
    return "";
}

}  // namespace

std::optional<std::string> plot_terminal_for(const std::string& out_path) {
    std::string ext = std::filesystem::path(out_path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == ".png") {
        return "pngcairo size 1000,800 noenhanced";
    }
    if (ext == ".svg") {
        return "svg size 1000,800 noenhanced";
    }
    if (ext == ".pdf") {
        return "pdfcairo size 10in,8in noenhanced";
    }
    return std::nullopt;
}

std::string plot_stats(const std::string& stats_json_path, const std::string& out_path) {
    const std::optional<std::string> terminal = plot_terminal_for(out_path);
    if (!terminal) {
        return "cannot tell the format of '" + out_path + "': the output must end in .png, .svg or .pdf";
    }
    std::ifstream in(stats_json_path);
    if (!in) {
        return "cannot read " + stats_json_path;
    }
    json doc;
    try {
        doc = json::parse(in);
    } catch (const json::parse_error& e) {
        return stats_json_path + ": not valid JSON: " + e.what();
    }

    // Invalidation latency: platform.invalidation_latency_ns, log2 buckets [2^i, 2^(i+1)) given by
    // their largest value le_ns, drawn as [lower, upper, count] boxes; exact p50 and p99.
    const json& platform = member(doc, "platform");
    const json& latency = member(platform, "invalidation_latency_ns");
    std::vector<std::vector<double>> histogram;
    const json& buckets = member(latency, "buckets");
    if (buckets.is_array()) {
        for (const json& b : buckets) {
            const double le = number_or(b, "le_ns", -1), count = number_or(b, "count", 0);
            if (le >= 1 && count > 0) {
                histogram.push_back({(le + 1) / 2, le + 1, count});
            }
        }
    }
    // IOTLB hit rate over time: platform.timeline [{t_ns, iotlb_hits, iotlb_misses}], per interval.
    std::vector<std::vector<double>> hit_rate;
    const json& timeline = member(platform, "timeline");
    double prev_hits = 0, prev_misses = 0;
    if (timeline.is_array()) {
        for (const json& s : timeline) {
            const double hits = number_or(s, "iotlb_hits", 0), misses = number_or(s, "iotlb_misses", 0);
            const double dh = hits - prev_hits, dm = misses - prev_misses;
            prev_hits = hits;
            prev_misses = misses;
            if (dh + dm > 0) {
                hit_rate.push_back({number_or(s, "t_ns", 0) / 1000.0, 100.0 * dh / (dh + dm)});
            }
        }
    }
    if (histogram.empty() && hit_rate.empty()) {
        return stats_json_path + " has neither platform.invalidation_latency_ns nor platform.timeline";
    }

    // gnuplot writes a temporary file that replaces OUT only once it is complete.
    const std::string base = out_path + ".tmp";
    const std::string partial = base + ".out", hist_path = base + ".hist", rate_path = base + ".rate",
                      script_path = base + ".gp";
    auto remove_temporaries = [&] {
        for (const std::string* p : {&partial, &hist_path, &rate_path, &script_path}) {
            std::remove(p->c_str());
        }
    };
    std::ostringstream script;
    script << "set terminal " << *terminal << "\n"
           << "set output " << gnuplot_quote(partial) << "\n"
           << "set multiplot layout 2,1 title " << gnuplot_quote(plot_title(doc, stats_json_path)) << "\n"
           << "set title 'invalidation latency (IQT write to wait completion), exact p50 and p99'\n"
           << "set xlabel 'latency (ns), log2 buckets'\nset ylabel 'waits'\nset logscale x 2\n"
           << "set style fill solid 0.6\n";
    if (histogram.empty()) {
        script << "set label 'no invalidations' at graph 0.4,0.5\nplot NaN notitle\n";
    } else {
        double tallest = 0;
        for (const auto& row : histogram) {
            tallest = std::max(tallest, row[2]);
        }
        script << "set yrange [0:" << tallest * 1.3 << "]\n";  // room for the percentile labels
        if (const json& p50 = member(latency, "p50"); p50.is_number_unsigned()) {
            script << percentile_marker("p50", p50.get<uint64_t>(), "#1a7f37", 0.93);
        }
        if (const json& p99 = member(latency, "p99"); p99.is_number_unsigned()) {
            script << percentile_marker("p99", p99.get<uint64_t>(), "#cf222e", 0.83);
        }
        script << "plot " << gnuplot_quote(hist_path)
               << " using (sqrt($1*$2)):3:1:2:(0):3 with boxxyerror linecolor '#0969da' notitle\n";
    }
    script << "unset logscale x\nunset label\nunset arrow\n"
           << "set title 'IOTLB hit rate over simulated time'\n"
           << "set xlabel 'simulated time (us)'\nset ylabel 'hit rate (%)'\nset yrange [0:100]\n"
           << (hit_rate.empty() ? "set label 'no translations' at graph 0.4,0.5\nplot NaN notitle\n"
                                : "plot " + gnuplot_quote(rate_path) + " using 1:2 with linespoints notitle\n")
           << "unset multiplot\nset output\n";
    bool written = write_rows(hist_path, histogram) && write_rows(rate_path, hit_rate);
    {
        std::ofstream gp(script_path);
        gp << script.str();
        written = written && static_cast<bool>(gp);
    }
    if (!written) {
        remove_temporaries();
        return "cannot write temporary files next to " + out_path;
    }
    std::string error = run_gnuplot(script_path);
    if (error.empty()) {
        std::error_code ec;
        std::filesystem::rename(partial, out_path, ec);
        if (ec) {
            error = "cannot write " + out_path + ": " + ec.message();
        }
    }
    remove_temporaries();
    return error;
}

}  // namespace iommusim::program
