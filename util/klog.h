// The model's kernel log, in the role of Linux's printk ring and dmesg: the driver and iommufd
// record why they refused a request or which hardware error they recovered from, each record with
// the prefix its Linux counterpart prints ("DMAR: ", "iommufd: ", ...) and a kernel severity level.
//
// Every record goes to a ring of ring_bytes (the oldest records are dropped first). A record at
// the output's level or more severe is also written, as one line, to the output chosen by
// set_output(): nowhere (the default, so the test suite and the program stay quiet), stderr, or a
// file. The log is process-wide, as the kernel log is system-wide.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace iommusim::klog {

// The kernel's levels (KERN_EMERG .. KERN_DEBUG), most severe first.
enum class level : int { emerg = 0, alert, crit, err, warning, notice, info, debug };

// Capacity of the ring in bytes, counting each record as read_all() formats it.
inline constexpr std::size_t ring_bytes = 64 * 1024;

// "emerg" .. "debug" (the kernel's names, as dmesg --level takes them). false for any other name.
bool parse_level(std::string_view name, level& out);

// Appends one record: `prefix` followed by the printf-formatted text (no trailing newline).
void printk(level lv, const char* prefix, const char* format, ...) __attribute__((format(printf, 3, 4)));

// Where records are written besides the ring: "" nowhere, "stderr", or a file path (created or
// truncated). Returns "" or a message naming the path and the reason; on failure nothing changes.
std::string set_output(const std::string& destination, level output_level);

// Non-destructive read, like syslog(2) SYSLOG_ACTION_READ_ALL: the newest whole records that fit in
// `max_bytes`, oldest first, each as "<N>PREFIX: text\n" with N the level's number.
std::string read_all(std::size_t max_bytes = SIZE_MAX);
// Bytes read_all() returns when nothing limits it.
std::size_t size();
// Drops every record (dmesg --clear).
void clear();

}  // namespace iommusim::klog
