// The iommusim program as a function: a user's own main attaches its devices to the platform
// (platform::attach, platform/own_device.h) and hands the command line to program_main, which then
// runs scenarios, scenario files and regressions (seeds rerun this same executable) exactly as
// `iommusim` does, on a platform that has those devices.
#pragma once

namespace iommusim::program {

// Everything `iommusim` does with this command line (see `--help`); returns its exit status.
int program_main(int argc, char** argv);

}  // namespace iommusim::program
