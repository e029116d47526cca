#include "util/klog.h"

#include <array>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>

namespace iommusim::klog {

namespace {

constexpr std::array<const char*, 8> level_names = {"emerg",   "alert",  "crit", "err",
                                                    "warning", "notice", "info", "debug"};

struct log_state {
    std::mutex lock;
    std::deque<std::string> records;  // each "<N>text\n", oldest first
    std::size_t bytes = 0;
    std::FILE* output = nullptr;  // nullptr: ring only
    bool output_owned = false;    // a file we opened (stderr is not ours to close)
    level output_level = level::debug;
};

// Never destroyed: records may still be logged while static objects of other files are destroyed.
log_state& state() {
    static log_state* s = new log_state;
    return *s;
}

}  // namespace

bool parse_level(std::string_view name, level& out) {
    for (std::size_t i = 0; i < level_names.size(); ++i) {
        if (name == level_names[i]) {
            out = static_cast<level>(i);
            return true;
        }
    }
    return false;
}

void printk(level lv, const char* prefix, const char* format, ...) {
    std::array<char, 512> text{};
    va_list args;
    va_start(args, format);
    std::vsnprintf(text.data(), text.size(), format, args);
    va_end(args);
    const std::string line = std::string(prefix) + text.data() + "\n";

    log_state& s = state();
    std::lock_guard guard(s.lock);
    s.records.push_back("<" + std::to_string(static_cast<int>(lv)) + ">" + line);
    s.bytes += s.records.back().size();
    while (s.bytes > ring_bytes) {
        s.bytes -= s.records.front().size();
        s.records.pop_front();
    }
    if (s.output && lv <= s.output_level) {
        std::fputs(line.c_str(), s.output);
        std::fflush(s.output);
    }
}

std::string set_output(const std::string& destination, level output_level) {
    std::FILE* next = nullptr;
    bool owned = false;
    if (destination == "stderr") {
        next = stderr;
    } else if (!destination.empty()) {
        next = std::fopen(destination.c_str(), "w");
        if (next == nullptr) {
            return "log_file \"" + destination + "\": " + std::strerror(errno);
        }
        owned = true;
    }
    log_state& s = state();
    std::lock_guard guard(s.lock);
    if (s.output_owned) {
        std::fclose(s.output);
    }
    s.output = next;
    s.output_owned = owned;
    s.output_level = output_level;
    return "";
}

std::string read_all(std::size_t max_bytes) {
    log_state& s = state();
    std::lock_guard guard(s.lock);
    // The newest records that fit, then in chronological order.
    std::size_t taken = 0;
    auto first = s.records.end();
    while (first != s.records.begin() && taken + std::prev(first)->size() <= max_bytes) {
        --first;
        taken += first->size();
    }
    std::string out;
    out.reserve(taken);
    for (auto it = first; it != s.records.end(); ++it) {
        out += *it;
    }
    return out;
}

std::size_t size() {
    log_state& s = state();
    std::lock_guard guard(s.lock);
    return s.bytes;
}

void clear() {
    log_state& s = state();
    std::lock_guard guard(s.lock);
    s.records.clear();
    s.bytes = 0;
}

}  // namespace iommusim::klog
