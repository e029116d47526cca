// Files a run writes (waves, statistics): checked, and their missing directories created, before
// the run starts, so a bad path is refused up front with its name instead of failing at the end.
#pragma once

#include <string>

namespace iommusim {

// Makes `path` ready to be written: creates missing parent directories and checks that the file
// can be created or overwritten. Returns "" or a message naming the path; on failure nothing is
// left behind (directories it created are removed again). Never leaves a file of its own.
std::string prepare_output_file(const std::string& path);

// Writes `text` to `path` whole or not at all: a regular file (also behind a symbolic link, which
// stays) is replaced by a temporary renamed into place; the process's own standard output or error
// under another name (/dev/stdout) goes through its stream; a device or pipe is appended to.
// Returns "" or a message naming the path.
std::string write_output_file(const std::string& path, const std::string& text);

// The wave file a run writes for the requested path: an existing directory, or a path ending in
// '/', gets <dir>/<stem>.vcd inside it; any other path gets ".vcd" appended when it has no such
// suffix. Its directory is prepared as by prepare_output_file. Returns "" or a message naming the
// path; `resolved` is then the file to write.
std::string resolve_waves_file(const std::string& requested, const std::string& stem, std::string& resolved);

}  // namespace iommusim
