#include "platform/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace iommusim {

namespace fs = std::filesystem;

namespace {

// The outermost ancestor of `dir` that does not exist yet ("" when `dir` exists).
fs::path first_missing(const fs::path& dir) {
    fs::path missing;
    std::error_code ec;
    for (fs::path p = dir; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
        missing = p;
        if (p == p.parent_path()) {
            break;
        }
    }
    return missing;
}

// Where the bytes for `path` go. A regular file (also one reached through a symbolic link, which
// stays a link) is replaced whole: a temporary beside it is renamed over it. Anything else that
// exists, a device, a pipe or a /dev or /proc alias such as /dev/stdout, is appended to in place:
// it is never replaced or truncated under a stream that is already writing to it.
struct write_target {
    std::string file;  // the file written or replaced
    bool in_place;
};

// Under /dev or /proc: a name for a stream (/dev/stdout, /proc/self/fd/1), not a file of its own.
bool names_a_stream(const std::string& path) {
    std::error_code ec;
    const fs::path abs = fs::absolute(path, ec);
    auto part = abs.begin();
    if (part == abs.end() || ++part == abs.end()) {
        return false;
    }
    return *part == "dev" || *part == "proc";
}

write_target target_of(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec) || fs::symlink_status(path, ec).type() == fs::file_type::regular) {
        return {path, false};
    }
    const fs::path real = fs::canonical(path, ec);
    if (!ec && fs::is_regular_file(real, ec) && !names_a_stream(path)) {
        return {real.string(), false};
    }
    return {path, true};
}

bool same_file(const std::string& path, int fd) {
    struct stat a {};
    struct stat b {};
    return ::stat(path.c_str(), &a) == 0 && ::fstat(fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Can `path` be written as write_output_file will write it? Leaves nothing behind.
std::string probe_writable(const std::string& path) {
    const write_target t = target_of(path);
    if (t.in_place) {
        return ::access(path.c_str(), W_OK) == 0 ? "" : "cannot write " + path + ": " + std::strerror(errno);
    }
    const fs::path dir = fs::path(t.file).parent_path();
    if (::access(dir.empty() ? "." : dir.c_str(), W_OK | X_OK) != 0) {
        return "cannot write " + path + ": its directory is not writable (" + std::strerror(errno) + ")";
    }
    std::error_code ec;
    const bool existed = fs::exists(t.file, ec);
    const int fd = existed ? ::open(t.file.c_str(), O_WRONLY | O_APPEND)
                           : ::open(t.file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        return "cannot write " + path + ": " + std::strerror(errno);
    }
    ::close(fd);
    if (!existed) {
        ::unlink(t.file.c_str());
    }
    return "";
}

}  // namespace

std::string prepare_output_file(const std::string& path) {
    if (path.empty()) {
        return "an output path is empty";
    }
    std::error_code ec;
    const fs::path p(path);
    if (fs::is_directory(p, ec)) {
        return path + " is a directory, not a file";
    }
    const fs::path dir = p.parent_path();
    const fs::path created = dir.empty() ? fs::path() : first_missing(dir);
    if (!dir.empty()) {
        if (!created.empty() && !fs::create_directories(dir, ec) && ec) {
            return "cannot create directory " + dir.string() + " for " + path + ": " + ec.message();
        }
        if (!fs::is_directory(dir, ec)) {
            return "cannot write " + path + ": " + dir.string() + " is not a directory";
        }
    }
    if (std::string err = probe_writable(path); !err.empty()) {
        if (!created.empty()) {
            fs::remove_all(created, ec);
        }
        return err;
    }
    return "";
}

std::string write_output_file(const std::string& path, const std::string& text) {
    const write_target t = target_of(path);
    // Our own standard output or error under another name (/dev/stdout): written through the
    // stream, which keeps its place in the file; a second opening of it would not.
    for (std::ostream* stream : {&std::cout, &std::cerr}) {
        if (same_file(path, stream == &std::cout ? STDOUT_FILENO : STDERR_FILENO)) {
            *stream << text << std::flush;
            return *stream ? "" : "cannot write " + path;
        }
    }
    if (t.in_place) {
        std::ofstream out(path, std::ios::binary | std::ios::app);
        out << text;
        out.close();
        return out ? "" : "cannot write " + path;
    }
    const std::string tmp = t.file + ".tmp";
    std::error_code ec;
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        out.close();
        if (!out) {
            fs::remove(tmp, ec);
            return "cannot write " + path;
        }
    }
    fs::rename(tmp, t.file, ec);
    if (ec) {
        fs::remove(tmp, ec);
        return "cannot write " + path + ": " + ec.message();
    }
    return "";
}

std::string resolve_waves_file(const std::string& requested, const std::string& stem, std::string& resolved) {
    if (requested.empty()) {
        return "the wave file path is empty";
    }
    std::error_code ec;
    std::string file = requested;
    if (requested.back() == '/' || fs::is_directory(requested, ec)) {
        file = (fs::path(requested) / (stem + ".vcd")).string();
    } else if (!file.ends_with(".vcd") && !file.ends_with(".fst")) {  // .fst: the merged waves as FST
        file += ".vcd";
    }
    if (std::string err = prepare_output_file(file); !err.empty()) {
        return err;
    }
    resolved = file;
    return "";
}

}  // namespace iommusim
