#include "program/shipped_scenarios.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <vector>

#include "program/scenario_file.h"

namespace iommusim::program {

namespace fs = std::filesystem;

std::string shipped_scenarios_dir() {
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    std::vector<fs::path> candidates;
    if (!ec) {
        candidates.push_back(self.parent_path() / IOMMUSIM_DATADIR_FROM_BINDIR / "iommusim" / "scenarios");
    }
    candidates.emplace_back(IOMMUSIM_SOURCE_SCENARIOS_DIR);
    for (const fs::path& c : candidates) {
        if (fs::is_directory(c, ec)) {
            return fs::weakly_canonical(c, ec).string();
        }
    }
    return "";
}

std::string find_scenario_file(const std::string& name) {
    std::error_code ec;
    if (fs::exists(name, ec) || name.find('/') != std::string::npos) {
        return name;
    }
    const std::string dir = shipped_scenarios_dir();
    if (!dir.empty() && fs::is_regular_file(fs::path(dir) / name, ec)) {
        return (fs::path(dir) / name).string();
    }
    return name;
}

void list_shipped_scenario_files(std::ostream& out) {
    const std::string dir = shipped_scenarios_dir();
    if (dir.empty()) {
        return;
    }
    std::vector<fs::path> files;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
        if (e.is_regular_file(ec) && is_scenario_file_name(e.path().filename().string())) {
            files.push_back(e.path());
        }
    }
    if (files.empty()) {
        return;
    }
    std::sort(files.begin(), files.end());
    out << "\nscenario files (iommusim run NAME.yaml; in " << dir << "):\n";
    for (const fs::path& f : files) {
        std::ifstream in(f);
        std::ostringstream text;
        text << in.rdbuf();
        scenario_document doc;
        std::string summary;
        if (const std::string error = parse_scenario_document(text.str(), f.string(), doc); !error.empty()) {
            summary = "(invalid: " + error + ")";
        } else {
            summary = doc.description.empty() ? doc.name : doc.description;
            summary = summary.substr(0, summary.find('\n'));
        }
        out << std::left << std::setw(27) << f.filename().string() << summary << '\n';
    }
}

}  // namespace iommusim::program
