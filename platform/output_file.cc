#include "platform/output_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace iommusim {

namespace fs = std::filesystem;

namespace {

// The outermost ancestor of `dir` that does not exist yet ("" when `dir` exists).
fs::path first_missing(const fs::path& dir) {
    fs::path missing;
    std::error_code ec;
    for (fs::path p = dir; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
        missing = p;
        if (p == p.parent_path())
            break;
    }
    return missing;
}

// A regular file (not a link to one) is replaced by renaming a temporary over it; anything else
// that exists (/dev/stdout, a pipe, a link) is written in place, so the link or device stays.
bool replaced_by_rename(const std::string& path) {
    std::error_code ec;
    return fs::symlink_status(path, ec).type() == fs::file_type::regular;
}

// Can `path` be created (then removed again) or, when it exists, opened for writing unchanged?
// A regular file also needs its directory writable: write_output_file renames a temporary into it.
std::string probe_writable(const std::string& path) {
    std::error_code ec;
    const bool existed = fs::exists(path, ec);
    if (existed && !replaced_by_rename(path))  // a device, a pipe, a symbolic link: written in place
        return ::access(path.c_str(), W_OK) == 0 ? "" : "cannot write " + path + ": " + std::strerror(errno);
    const fs::path dir = fs::path(path).parent_path();
    if (::access(dir.empty() ? "." : dir.c_str(), W_OK | X_OK) != 0)
        return "cannot write " + path + ": its directory is not writable (" + std::strerror(errno) + ")";
    const int fd =
        existed ? ::open(path.c_str(), O_WRONLY | O_APPEND) : ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return "cannot write " + path + ": " + std::strerror(errno);
    ::close(fd);
    if (!existed)
        ::unlink(path.c_str());
    return "";
}

}  // namespace

std::string prepare_output_file(const std::string& path) {
    if (path.empty())
        return "an output path is empty";
    std::error_code ec;
    const fs::path p(path);
    if (fs::is_directory(p, ec))
        return path + " is a directory, not a file";
    const fs::path dir = p.parent_path();
    const fs::path created = dir.empty() ? fs::path() : first_missing(dir);
    if (!dir.empty()) {
        if (!created.empty() && !fs::create_directories(dir, ec) && ec)
            return "cannot create directory " + dir.string() + " for " + path + ": " + ec.message();
        if (!fs::is_directory(dir, ec))
            return "cannot write " + path + ": " + dir.string() + " is not a directory";
    }
    if (std::string err = probe_writable(path); !err.empty()) {
        if (!created.empty())
            fs::remove_all(created, ec);
        return err;
    }
    return "";
}

std::string write_output_file(const std::string& path, const std::string& text) {
    std::error_code ec;
    if (fs::exists(path, ec) && !replaced_by_rename(path)) {
        std::ofstream out(path, std::ios::binary);
        out << text;
        out.close();
        return out ? "" : "cannot write " + path;
    }
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        out.close();
        if (!out) {
            std::error_code ec;
            fs::remove(tmp, ec);
            return "cannot write " + path;
        }
    }
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        return "cannot write " + path + ": " + ec.message();
    }
    return "";
}

std::string resolve_waves_file(const std::string& requested, const std::string& stem, std::string& resolved) {
    if (requested.empty())
        return "the wave file path is empty";
    std::error_code ec;
    std::string file = requested;
    if (requested.back() == '/' || fs::is_directory(requested, ec))
        file = (fs::path(requested) / (stem + ".vcd")).string();
    else if (file.size() < 4 || file.compare(file.size() - 4, 4, ".vcd") != 0)
        file += ".vcd";
    if (std::string err = prepare_output_file(file); !err.empty())
        return err;
    resolved = file;
    return "";
}

}  // namespace iommusim
