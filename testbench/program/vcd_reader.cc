#include "program/vcd_reader.h"

#include <fstream>
#include <sstream>

namespace iommusim::program {

namespace {

bool all_of(const std::string& s, std::size_t from, const char* allowed) {
    return s.size() > from && s.find_first_not_of(allowed, from) == std::string::npos;
}

}  // namespace

vcd read_vcd(const std::string& path) {
    vcd v;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        v.error = "cannot read " + path;
        return v;
    }
    std::stringstream whole;
    whole << in.rdbuf();
    const std::string text = whole.str();
    if (!text.empty() && text.back() != '\n') {
        v.error = "the last line has no newline (file cut short)";
    }
    std::istringstream lines(text);
    std::string line;
    std::vector<std::string> scopes;
    unsigned line_no = 0;
    bool in_comment = false;  // inside a multi-line $comment/$date/... section
    auto fail = [&](const std::string& what) {
        if (v.error.empty()) {
            v.error = "line " + std::to_string(line_no) + ": " + what + ": '" + line + "'";
        }
    };
    while (std::getline(lines, line)) {
        ++line_no;
        std::istringstream tokens(line);
        std::string tok;
        if (!(tokens >> tok)) {
            continue;
        }
        if (in_comment) {
            in_comment = line.find("$end") == std::string::npos;
            continue;
        }
        if (!v.header_ok) {
            if (tok == "$scope") {
                std::string kind, name;
                tokens >> kind >> name;
                scopes.push_back(name);
            } else if (tok == "$upscope") {
                if (!scopes.empty()) {
                    scopes.pop_back();
                }
            } else if (tok == "$var") {
                std::string type, width, id, name;
                tokens >> type >> width >> id >> name;
                std::string full;
                for (std::size_t k = 0; k < scopes.size(); ++k) {
                    if (k > 0 || scopes[k] != "SystemC") {
                        full += scopes[k] + ".";
                    }
                }
                v.id_of[full + name] = id;
                v.width_of[id] = static_cast<unsigned>(std::stoul(width));
            } else if (tok == "$timescale") {
                std::string rest;
                while (tokens >> rest && rest != "$end") {
                    v.timescale += rest;
                }
                in_comment = rest != "$end";
            } else if (tok == "$enddefinitions") {
                v.header_ok = true;
            } else if (tok[0] == '$') {
                in_comment = line.find("$end") == std::string::npos;
            }
            continue;
        }
        if (tok == "$comment") {
            in_comment = line.find("$end") == std::string::npos;
            continue;
        }
        if (tok == "$dumpvars" || tok == "$end" || tok == "$dumpall" || tok == "$dumpon" || tok == "$dumpoff") {
            continue;
        }
        if (tok[0] == '#') {
            if (!all_of(tok, 1, "0123456789")) {
                fail("bad time stamp");
                continue;
            }
            const uint64_t t = std::stoull(tok.substr(1));
            if (t < v.last_time) {
                fail("time goes backwards");
            }
            v.last_time = t;
            continue;
        }
        std::string value, id;
        if (tok[0] == 's' || tok[0] == 'S') {
            if (!(tokens >> id)) {
                fail("bad string change");
            }
            value = tok.substr(1);
        } else if (tok[0] == 'b' || tok[0] == 'B' || tok[0] == 'r' || tok[0] == 'R') {
            if (!(tokens >> id) || (tok[0] != 'r' && tok[0] != 'R' && !all_of(tok, 1, "01xzXZ"))) {
                fail("bad vector change");
            }
            value = tok.substr(1);
        } else if (std::string("01xzXZ").find(tok[0]) != std::string::npos && tok.size() > 1) {
            value = tok.substr(0, 1);
            id = tok.substr(1);
        } else {
            fail("not a value change");
            continue;
        }
        if (!v.width_of.count(id)) {
            fail("undeclared identifier");
            continue;
        }
        v.changes[id].emplace_back(v.last_time, value);
    }
    if (!v.header_ok && v.error.empty()) {
        v.error = "no $enddefinitions";
    }
    return v;
}

const std::vector<std::pair<uint64_t, std::string>>& changes_of(const vcd& v, const std::string& name) {
    static const std::vector<std::pair<uint64_t, std::string>> none;
    auto id = v.id_of.find(name);
    if (id == v.id_of.end()) {
        return none;
    }
    auto c = v.changes.find(id->second);
    return c == v.changes.end() ? none : c->second;
}

std::vector<std::string> values_of(const vcd& v, const std::string& name) {
    std::vector<std::string> out;
    for (const auto& [t, value] : changes_of(v, name)) {
        out.push_back(value);
    }
    return out;
}

}  // namespace iommusim::program
