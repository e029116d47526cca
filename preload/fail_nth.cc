#include "preload/fail_nth.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include "iommusim/iommusim.h"

namespace iommusim::preload {

namespace {

// Whether [p, end of string) is a decimal number.
bool all_digits(const char* p) {
    if (*p == '\0') {
        return false;
    }
    for (; *p != '\0'; ++p) {
        if (*p < '0' || *p > '9') {
            return false;
        }
    }
    return true;
}

// "<digits>/fail-nth"
bool task_file(const char* p) {
    const char* slash = std::strchr(p, '/');
    if (slash == nullptr || std::strcmp(slash, "/fail-nth") != 0 || slash == p) {
        return false;
    }
    return all_digits(std::string(p, slash).c_str());
}

}  // namespace

bool is_fail_nth_path(const char* path) {
    if (std::strncmp(path, "/proc/", 6) != 0) {
        return false;  // every other open of the program passes here: no cost beyond this
    }
    if (std::strcmp(path, "/proc/thread-self/fail-nth") == 0) {
        return true;
    }
    if (std::strncmp(path, "/proc/self/task/", 16) == 0) {
        return task_file(path + 16);
    }
    const std::string own = "/proc/" + std::to_string(getpid()) + "/task/";
    return std::strncmp(path, own.c_str(), own.size()) == 0 && task_file(path + own.size());
}

ssize_t fail_nth_read(int fd, void* buf, std::size_t len, off_t offset) {
    char text[16];
    const int n = std::snprintf(text, sizeof(text), "%u\n", iommusim_fail_nth_get());
    const bool at_position = offset < 0;
    if (at_position) {
        offset = lseek(fd, 0, SEEK_CUR);
    }
    if (offset < 0 || offset >= n) {
        return 0;
    }
    const std::size_t count = std::min(len, static_cast<std::size_t>(n - offset));
    std::memcpy(buf, text + offset, count);
    if (at_position) {
        lseek(fd, offset + static_cast<off_t>(count), SEEK_SET);
    }
    return static_cast<ssize_t>(count);
}

ssize_t fail_nth_write(const void* buf, std::size_t len) {
    // kstrtouint: decimal, one trailing newline allowed; anything else EINVAL.
    std::string text(static_cast<const char*>(buf), std::min<std::size_t>(len, 32));
    if (len > 32) {
        errno = EINVAL;
        return -1;
    }
    if (!text.empty() && text.back() == '\n') {
        text.pop_back();
    }
    if (!all_digits(text.c_str()) || text.size() > 10 || std::strtoul(text.c_str(), nullptr, 10) > 0xffffffffUL) {
        errno = EINVAL;
        return -1;
    }
    iommusim_fail_nth_set(static_cast<unsigned>(std::strtoul(text.c_str(), nullptr, 10)));
    return static_cast<ssize_t>(len);
}

namespace {

struct debugfs_copy {
    std::string path;
    pid_t owner = 0;
};

debugfs_copy& the_copy() {
    static debugfs_copy* c = new debugfs_copy;  // never destroyed: the exit handler reads it
    return *c;
}

void remove_debugfs_copy() {
    if (getpid() != the_copy().owner) {
        return;  // a forked child leaves it to the process that made it
    }
    std::error_code ec;
    std::filesystem::remove_all(the_copy().path, ec);
}

}  // namespace

bool is_debugfs_path(const char* path) {
    return path != nullptr &&
           (std::strcmp(path, "/sys/kernel/debug") == 0 || std::strcmp(path, "/sys/kernel/debug/") == 0);
}

const char* fault_injection_debugfs() {
    static std::mutex lock;
    std::lock_guard<std::mutex> guard(lock);
    debugfs_copy& c = the_copy();
    if (!c.path.empty()) {
        return c.path.c_str();
    }
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/iommusim-debugfs-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) {
        return nullptr;
    }
    for (const char* attr : {"failslab", "fail_page_alloc"}) {
        const std::string dir = templ + "/" + attr;
        mkdir(dir.c_str(), 0700);
        for (const char* file : {"ignore-gfp-wait", "ignore-gfp-highmem", "verbose"}) {
            std::ofstream(dir + "/" + file) << "N\n";
        }
    }
    c.path = templ;
    c.owner = getpid();
    std::atexit(remove_debugfs_copy);
    return c.path.c_str();
}

}  // namespace iommusim::preload
