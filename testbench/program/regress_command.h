// `iommusim regress`: a scenario over many seeds, each in its own process, N at a time, with
// progress, the command that reruns each failing seed, JUnit XML, and the commands to spread the
// seeds over other machines and collect their results (program/regress_report.h has the files).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace iommusim::program {

std::string regress_usage();

// Runs `iommusim regress ARGS` (args without the program name and "regress"); `program` is the
// iommusim executable the seeds run with. Exit status: 0 every seed passed, 1 a seed failed (or
// left no record), 2 bad usage, 128 + signal when SIGINT/SIGTERM stopped the regression.
int regress_main(const std::vector<std::string>& args, const std::string& program, std::ostream& out,
                 std::ostream& err);

}  // namespace iommusim::program
