#include "platform/vcd_merge.h"

#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

namespace iommusim {

namespace {

struct vcd_file {
    uint64_t timescale_fs = 0;        // one time unit, in femtoseconds
    std::vector<std::string> scopes;  // the $scope ... $upscope declarations, one token run per line
    std::set<std::string> ids;        // identifier codes declared
    std::vector<std::pair<uint64_t, std::string>> changes;  // (time in units, value change line)
};

uint64_t unit_fs(const std::string& unit) {
    static const std::map<std::string, uint64_t> units = {{"s", 1'000'000'000'000'000ull},
                                                          {"ms", 1'000'000'000'000ull},
                                                          {"us", 1'000'000'000ull},
                                                          {"ns", 1'000'000ull},
                                                          {"ps", 1'000ull},
                                                          {"fs", 1ull}};
    auto it = units.find(unit);
    return it == units.end() ? 0 : it->second;
}

// Parses "1 ns", "1ns", "100 ps" into femtoseconds (0 when malformed).
uint64_t parse_timescale(const std::string& text) {
    std::size_t i = 0;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) {
        ++i;
    }
    std::size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) {
        ++j;
    }
    if (j == i) {
        return 0;
    }
    const uint64_t n = std::stoull(text.substr(i, j - i));
    std::string unit;
    for (; j < text.size(); ++j) {
        if (!std::isspace(static_cast<unsigned char>(text[j]))) {
            unit += text[j];
        }
    }
    return n * unit_fs(unit);
}

// A timescale in VCD form (1, 10 or 100 of a unit); the merged unit is one of the inputs'.
std::string format_timescale(uint64_t fs) {
    static const std::pair<const char*, uint64_t> units[] = {{"s", 1'000'000'000'000'000ull},
                                                             {"ms", 1'000'000'000'000ull},
                                                             {"us", 1'000'000'000ull},
                                                             {"ns", 1'000'000ull},
                                                             {"ps", 1'000ull},
                                                             {"fs", 1ull}};
    for (const auto& [name, size] : units) {
        if (fs % size == 0 && (fs / size == 1 || fs / size == 10 || fs / size == 100)) {
            return std::to_string(fs / size) + name;
        }
    }
    return std::to_string(fs) + "fs";
}

// The identifier of a value-change line ("0!", "b1010 id", "r1.5 id", "stext id").
std::string id_of(const std::string& line) {
    if (line.empty()) {
        return "";
    }
    if (line[0] == 'b' || line[0] == 'B' || line[0] == 'r' || line[0] == 'R' || line[0] == 's' || line[0] == 'S') {
        const std::size_t sp = line.find(' ');
        return sp == std::string::npos ? "" : line.substr(sp + 1);
    }
    return line.substr(1);
}

std::string read_vcd(const std::string& path, vcd_file& f) {
    std::ifstream in(path);
    if (!in) {
        return "cannot read " + path;
    }
    std::string line;
    bool defs = true;
    uint64_t now = 0;
    std::string pending;  // a keyword section spanning lines ($timescale ... $end)
    while (std::getline(in, line)) {
        // Tokens of one line; VCD keywords are whitespace-separated.
        std::istringstream tokens(line);
        std::string first;
        if (!(tokens >> first)) {
            continue;
        }
        if (defs) {
            if (!pending.empty()) {
                if (first == "$end" || line.find("$end") != std::string::npos) {
                    pending.append(1, ' ').append(line, 0, line.find("$end"));
                    if (pending.rfind("$timescale", 0) == 0) {
                        f.timescale_fs = parse_timescale(pending.substr(10));
                    }
                    pending.clear();
                } else {
                    pending.append(1, ' ').append(line);
                }
                continue;
            }
            if (first == "$timescale" || first == "$date" || first == "$version" || first == "$comment") {
                if (line.find("$end") != std::string::npos) {
                    if (first == "$timescale") {
                        const std::size_t start = line.find("$timescale") + 10;
                        f.timescale_fs = parse_timescale(line.substr(start, line.find("$end") - start));
                    }
                } else {
                    pending = first == "$timescale" ? "$timescale" : first;
                }
            } else if (first == "$scope" || first == "$upscope") {
                f.scopes.push_back(line);
            } else if (first == "$var") {
                std::string type, width, id;
                tokens >> type >> width >> id;
                f.ids.insert(id);
                f.scopes.push_back(line);
            } else if (first == "$enddefinitions") {
                defs = false;
            }
            continue;
        }
        if (first == "$comment") {
            while (line.find("$end") == std::string::npos && std::getline(in, line)) {
            }
            continue;
        }
        if (first[0] == '$') {
            continue;  // $dumpvars, $end, $dumpall ...: the values inside are changes
        }
        if (first[0] == '#') {
            now = std::stoull(first.substr(1));
            continue;
        }
        const std::string trimmed = line.substr(line.find(first));
        f.changes.emplace_back(now, trimmed);
    }
    if (defs) {
        return path + ": no $enddefinitions (not a VCD file)";
    }
    if (f.timescale_fs == 0) {
        return path + ": no valid $timescale";
    }
    return "";
}

// Printable identifier codes ('!'..'~'), in order, skipping those in `taken`.
class id_generator {
  public:
    explicit id_generator(const std::set<std::string>& taken) : m_taken(taken) {}
    std::string next() {
        for (;;) {
            std::string id;
            uint64_t n = m_counter++;
            do {
                id += static_cast<char>('!' + n % 94);
                n /= 94;
            } while (n);
            if (!m_taken.count(id)) {
                return id;
            }
        }
    }

  private:
    const std::set<std::string>& m_taken;
    uint64_t m_counter = 0;
};

}  // namespace

std::string merge_vcd(const std::string& first, const std::string& second, const std::string& out) {
    vcd_file a, b;
    if (std::string err = read_vcd(first, a); !err.empty()) {
        return err;
    }
    if (std::string err = read_vcd(second, b); !err.empty()) {
        return err;
    }

    // The second file's codes move out of the first's way, to codes neither file uses (a fresh
    // code equal to one the second file keeps would merge two signals).
    std::map<std::string, std::string> rename;
    std::set<std::string> taken = a.ids;
    taken.insert(b.ids.begin(), b.ids.end());
    id_generator gen(taken);
    for (const std::string& id : b.ids) {
        rename[id] = a.ids.count(id) ? gen.next() : id;
    }

    const uint64_t unit = std::min(a.timescale_fs, b.timescale_fs);
    const uint64_t scale_a = a.timescale_fs / unit, scale_b = b.timescale_fs / unit;

    std::ostringstream o;
    o << "$date\n\tmerged by iommusim\n$end\n$version\n\tiommusim vcd_merge\n$end\n";
    o << "$timescale\n\t" << format_timescale(unit) << "\n$end\n";
    for (const std::string& s : a.scopes) {
        o << s << "\n";
    }
    for (const std::string& s : b.scopes) {
        std::istringstream t(s);
        std::string kw, type, width, id;
        t >> kw;
        if (kw != "$var") {
            o << s << "\n";
            continue;
        }
        t >> type >> width >> id;
        std::string rest;
        std::getline(t, rest);
        o << "$var " << type << " " << width << " " << rename[id] << rest << "\n";
    }
    o << "$enddefinitions $end\n";

    // Both change lists are in time order; merge them.
    std::size_t i = 0, j = 0;
    bool have_time = false;
    uint64_t last = 0;
    auto emit = [&](uint64_t t, const std::string& line) {
        if (!have_time || t != last) {
            o << "#" << t << "\n";
            have_time = true;
            last = t;
        }
        o << line << "\n";
    };
    while (i < a.changes.size() || j < b.changes.size()) {
        const bool take_a = j == b.changes.size() ||
                            (i < a.changes.size() && a.changes[i].first * scale_a <= b.changes[j].first * scale_b);
        if (take_a) {
            emit(a.changes[i].first * scale_a, a.changes[i].second);
            ++i;
        } else {
            const std::string& line = b.changes[j].second;
            const std::string id = id_of(line);
            const std::string value = line.substr(0, line.size() - id.size());
            emit(b.changes[j].first * scale_b, value + rename[id]);
            ++j;
        }
    }
    std::ofstream file(out);
    file << o.str();
    if (!file) {
        return "cannot write " + out;
    }
    return "";
}

}  // namespace iommusim
