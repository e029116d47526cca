#include "program/seed_set.h"

#include <algorithm>
#include <set>

#include "program/parse_number.h"

namespace iommusim::program {

std::string parse_seed_set(const std::string& text, std::vector<uint64_t>& seeds) {
    if (text.empty()) {
        return "--seeds needs a list such as 1-100 or 1,5,9-12";
    }
    std::set<uint64_t> unique;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        const std::string part = text.substr(start, comma - start);
        const std::size_t dash = part.find('-');
        uint64_t first = 0;
        uint64_t last = 0;
        const bool ok = dash == std::string::npos
                            ? parse_u64(part, first) && ((last = first), true)
                            : parse_u64(part.substr(0, dash), first) && parse_u64(part.substr(dash + 1), last);
        if (!ok) {
            return "--seeds: '" + part + "' is neither a seed nor a range FIRST-LAST";
        }
        if (last < first) {
            return "--seeds: the range '" + part + "' ends before it starts";
        }
        if (last - first >= max_seed_count || unique.size() + (last - first) >= max_seed_count) {
            return "--seeds: more than " + std::to_string(max_seed_count) + " seeds";
        }
        for (uint64_t s = first;; ++s) {
            unique.insert(s);
            if (s == last) {
                break;
            }
        }
        start = comma + 1;
    }
    seeds.assign(unique.begin(), unique.end());
    return "";
}

}  // namespace iommusim::program
