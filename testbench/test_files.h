// Files the tests write and read back: a per-process temporary path, a whole file as text, and a
// path or argument quoted for the shell that runs the program.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace iommusim::test {

inline std::string file_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// `s` as one shell word (single-quoted), for tests that run the program through a shell.
inline std::string shell_quoted(const std::string& s) {
    std::string q = "'";
    for (const char c : s) {
        q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return q + "'";
}

// Unique per process, so tests running in parallel never share a file.
inline std::string temp_path(const char* name) {
    return testing::TempDir() + name + std::to_string(getpid());
}

}  // namespace iommusim::test
