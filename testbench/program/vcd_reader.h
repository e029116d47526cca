// A strict reader of the VCD files the program writes, for the tests: declarations, time stamps,
// scalar and vector value changes. Anything else after $enddefinitions (a line cut short, an
// unknown identifier, time going backwards, a last line without its newline) is an error.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace iommusim::program {

struct vcd {
    std::map<std::string, std::string> id_of;  // signal name (scopes joined by '.', without the
                                               // top "SystemC" scope) -> identifier code
    std::map<std::string, unsigned> width_of;  // identifier code -> declared width
    std::map<std::string, std::vector<std::pair<uint64_t, std::string>>> changes;  // id -> (time, value)
    std::string timescale;
    bool header_ok = false;  // $enddefinitions seen
    uint64_t last_time = 0;
    std::string error;  // "" when the whole file is well-formed, else the first problem and its line
};

vcd read_vcd(const std::string& path);

// Values of a signal in order (empty when it is not declared).
std::vector<std::string> values_of(const vcd& v, const std::string& name);
// (time, value) changes of a signal.
const std::vector<std::pair<uint64_t, std::string>>& changes_of(const vcd& v, const std::string& name);

}  // namespace iommusim::program
