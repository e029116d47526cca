// Files the tests write and read back: a per-process temporary path and a whole file as text.
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

// Unique per process, so tests running in parallel never share a file.
inline std::string temp_path(const char* name) {
    return testing::TempDir() + name + std::to_string(getpid());
}

}  // namespace iommusim::test
