// The scenario files shipped with iommusim (scenarios/ in the source tree, installed under
// share/iommusim/scenarios): where a program finds them, and their list for --list.
#pragma once

#include <iosfwd>
#include <string>

namespace iommusim::program {

// The directory of the shipped scenario files: the installed one beside the running program
// (<bindir>/../share/iommusim/scenarios), else the source tree's the program was built from;
// "" when neither exists.
std::string shipped_scenarios_dir();

// `name` when that file exists or names a directory path; else, for a bare file name, the shipped
// file of that name when there is one; else `name` (its error names what was asked for).
std::string find_scenario_file(const std::string& name);

// Prints the shipped files (name and summary) after the built-in scenarios, or nothing without any.
void list_shipped_scenario_files(std::ostream& out);

}  // namespace iommusim::program
