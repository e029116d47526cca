#include "program/regress_report.h"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "platform/output_file.h"

namespace iommusim::program {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string read_text(const std::string& path, std::string& text) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return path + ": cannot be read";
    }
    std::ostringstream s;
    s << in.rdbuf();
    text = s.str();
    return "";
}

std::string read_json(const std::string& path, json& j) {
    std::string text;
    if (std::string error = read_text(path, text); !error.empty()) {
        return error;
    }
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        return path + ": not valid JSON (" + e.what() + ")";
    }
    return "";
}

// Text as XML character data: markup escaped, characters XML 1.0 does not allow dropped.
std::string xml_escaped(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
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
            case '\'':
                out += "&apos;";
                break;
            default:
                if (u >= 0x20 || c == '\n' || c == '\t' || c == '\r') {
                    out += c;
                }
        }
    }
    return out;
}

// The last `max_lines` lines of a file (a report must stay readable for a run that printed a lot).
std::string log_tail(const std::string& path, std::size_t max_lines = 40) {
    std::string text;
    if (!read_text(path, text).empty()) {
        return "(no log at " + path + ")\n";
    }
    std::size_t start = text.size();
    for (std::size_t lines = 0; start > 0 && lines <= max_lines;) {
        if (text[--start] == '\n' && start + 1 < text.size()) {
            ++lines;
        }
    }
    if (start > 0) {
        return "...\n" + text.substr(start + 1);
    }
    return text;
}

std::string seconds_text(double s) {
    std::ostringstream o;
    o << std::fixed << std::setprecision(3) << s;
    return o.str();
}

}  // namespace

bool seed_outcome::interrupted() const {
    return signal == SIGINT || signal == SIGTERM || exit_status == 128 + SIGINT || exit_status == 128 + SIGTERM;
}

std::string plan_path(const std::string& dir) {
    return (fs::path(dir) / "regress.json").string();
}
std::string seed_record_path(const std::string& dir, uint64_t seed) {
    return (fs::path(dir) / ("seed-" + std::to_string(seed) + ".json")).string();
}
std::string seed_log_path(const std::string& dir, uint64_t seed) {
    return (fs::path(dir) / ("seed-" + std::to_string(seed) + ".log")).string();
}
std::string seed_stats_path(const std::string& dir, uint64_t seed) {
    return (fs::path(dir) / ("seed-" + std::to_string(seed) + ".stats.json")).string();
}

std::string seed_coverage_path(const std::string& dir, uint64_t seed) {
    return (fs::path(dir) / ("seed-" + std::to_string(seed) + ".coverage.json")).string();
}

std::string write_plan(const std::string& dir, const regress_plan& plan) {
    const json j = {
        {"scenario", plan.scenario}, {"seeds", plan.seeds}, {"run_args", plan.run_args}, {"program", plan.program}};
    return write_output_file(plan_path(dir), j.dump(2) + '\n');
}

std::string read_plan(const std::string& dir, regress_plan& plan) {
    const std::string path = plan_path(dir);
    json j;
    if (std::string error = read_json(path, j); !error.empty()) {
        return error;
    }
    try {
        plan.scenario = j.at("scenario").get<std::string>();
        plan.seeds = j.at("seeds").get<std::string>();
        plan.run_args = j.at("run_args").get<std::vector<std::string>>();
        plan.program = j.at("program").get<std::string>();
    } catch (const json::exception& e) {
        return path + ": not a regression plan (" + e.what() + ")";
    }
    return "";
}

std::string write_seed_record(const std::string& dir, const seed_outcome& o) {
    const json j = {{"seed", o.seed},       {"exit_status", o.exit_status}, {"signal", o.signal},
                    {"seconds", o.seconds}, {"result", o.result},           {"rerun", o.rerun},
                    {"log", o.log}};
    return write_output_file(seed_record_path(dir, o.seed), j.dump(2) + '\n');
}

std::string read_seed_records(const std::string& dir, std::vector<seed_outcome>& outcomes) {
    outcomes.clear();
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) {
        return dir + ": cannot be read (" + ec.message() + ")";
    }
    for (const fs::directory_entry& entry : it) {
        const std::string name = entry.path().filename().string();
        const bool record = name.size() > 10 && name.rfind("seed-", 0) == 0 && name.ends_with(".json") &&
                            !name.ends_with(".stats.json") && !name.ends_with(".coverage.json");
        if (!record) {
            continue;
        }
        json j;
        if (std::string error = read_json(entry.path().string(), j); !error.empty()) {
            return error;
        }
        seed_outcome o;
        try {
            o.seed = j.at("seed").get<uint64_t>();
            o.exit_status = j.at("exit_status").get<int>();
            o.signal = j.at("signal").get<int>();
            o.seconds = j.at("seconds").get<double>();
            o.result = j.at("result").get<std::string>();
            o.rerun = j.at("rerun").get<std::string>();
            o.log = j.at("log").get<std::string>();
        } catch (const json::exception& e) {
            return entry.path().string() + ": not a seed record (" + e.what() + ")";
        }
        outcomes.push_back(std::move(o));
    }
    std::sort(outcomes.begin(), outcomes.end(), [](const auto& a, const auto& b) { return a.seed < b.seed; });
    return "";
}

std::string result_line(const std::string& log_text) {
    std::string last;
    std::istringstream in(log_text);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("RESULT:", 0) == 0) {
            last = line;
        }
    }
    return last;
}

std::string shell_command(const std::vector<std::string>& args) {
    std::string cmd;
    for (const std::string& a : args) {
        const bool plain = !a.empty() && std::all_of(a.begin(), a.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) ||
                   std::string_view("-_./=:,+@%").find(c) != std::string_view::npos;
        });
        if (!cmd.empty()) {
            cmd += ' ';
        }
        if (plain) {
            cmd += a;
            continue;
        }
        cmd += '\'';
        for (const char c : a) {
            cmd += c == '\'' ? std::string("'\\''") : std::string(1, c);
        }
        cmd += '\'';
    }
    return cmd;
}

std::string junit_xml(const std::string& suite, const std::vector<seed_outcome>& outcomes,
                      const std::vector<uint64_t>& missing) {
    unsigned failures = 0;
    unsigned errors = static_cast<unsigned>(missing.size());
    unsigned skipped = 0;
    double total = 0;
    for (const seed_outcome& o : outcomes) {
        total += o.seconds;
        if (o.interrupted()) {
            ++skipped;
        } else if (o.signal != 0) {
            ++errors;
        } else if (!o.passed()) {
            ++failures;
        }
    }
    const std::string name = xml_escaped(suite);
    std::ostringstream x;
    x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    x << "<testsuites name=\"" << name << "\" tests=\"" << outcomes.size() + missing.size() << "\" failures=\""
      << failures << "\" errors=\"" << errors << "\" skipped=\"" << skipped << "\" time=\"" << seconds_text(total)
      << "\">\n";
    x << "  <testsuite name=\"" << name << "\" tests=\"" << outcomes.size() + missing.size() << "\" failures=\""
      << failures << "\" errors=\"" << errors << "\" skipped=\"" << skipped << "\" time=\"" << seconds_text(total)
      << "\">\n";
    for (const seed_outcome& o : outcomes) {
        x << "    <testcase classname=\"" << name << "\" name=\"seed " << o.seed << "\" time=\""
          << seconds_text(o.seconds) << "\">\n";
        const std::string what = o.result.empty() ? std::string("no RESULT line") : o.result;
        if (o.interrupted()) {
            x << "      <skipped message=\"" << xml_escaped(what.empty() ? "interrupted" : what) << "\"/>\n";
        } else if (o.signal != 0) {
            x << "      <error type=\"signal " << o.signal << "\" message=\"ended by signal " << o.signal << "\"/>\n";
        } else if (!o.passed()) {
            x << "      <failure type=\"exit status " << o.exit_status << "\" message=\"" << xml_escaped(what)
              << "\"/>\n";
        }
        x << "      <system-out>" << xml_escaped("rerun: " + o.rerun + "\n" + log_tail(o.log)) << "</system-out>\n";
        x << "    </testcase>\n";
    }
    for (const uint64_t seed : missing) {
        x << "    <testcase classname=\"" << name << "\" name=\"seed " << seed << "\" time=\"0\">\n"
          << "      <error type=\"missing\" message=\"the seed's run left no record\"/>\n"
          << "    </testcase>\n";
    }
    x << "  </testsuite>\n</testsuites>\n";
    return x.str();
}

}  // namespace iommusim::program
