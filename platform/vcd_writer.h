// A VCD writer on an explicit time axis. Loosely-timed SystemC processes run ahead of
// sc_time_stamp() (annotated delays), so a change is recorded with the simulated time it happens
// at, which may be later than now, and changes arrive out of time order. They are buffered, and
// written in time order once no later recording can precede them (flush_before(sc_time_stamp())).
//
// Signals are unsigned values up to 64 bits or strings (GTKWave's VCD string extension: a value
// line "s<text> <id>", shown as text). Several changes of one signal at one time keep the last.
// The file is written as <path>.part and renamed to <path> by close(), so an interrupted or failed
// run never leaves a half-written <path>.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace iommusim {

class vcd_writer {
  public:
    // `top` is the outermost scope ("SystemC" for the platform's signals).
    vcd_writer(std::string path, std::string top);
    ~vcd_writer();  // closes (end time: the latest change) when close() was not called
    vcd_writer(const vcd_writer&) = delete;
    vcd_writer& operator=(const vcd_writer&) = delete;

    // Declarations, before the first change. `scope` is one level below the top ("vfio0", "iommu").
    unsigned add_wire(const std::string& scope, const std::string& name, unsigned width, uint64_t initial = 0);
    unsigned add_string(const std::string& scope, const std::string& name, const std::string& initial);

    // A change at t_ps (picoseconds of simulated time).
    void set(uint64_t t_ps, unsigned signal, uint64_t value);
    void set(uint64_t t_ps, unsigned signal, const std::string& text);

    // Writes every buffered change earlier than t_ps: no later call may record one before t_ps.
    void flush_before(uint64_t t_ps);
    // Writes everything, ends the file at max(end_ps, latest change) and renames it into place.
    // Returns "" or a message naming the file.
    std::string close(uint64_t end_ps);

    const std::string& path() const { return m_path; }
    bool is_open() const { return m_open; }
    // Earliest and latest time of a change of `signal` written or buffered (0, 0 when none).
    std::pair<uint64_t, uint64_t> activity(unsigned signal) const;

  private:
    struct signal_decl {
        std::string scope, name, code;
        unsigned width;
        bool is_string;
        uint64_t value;
        std::string text;
        uint64_t first = 0, last = 0;
        bool changed = false;
    };
    struct change {
        uint64_t t;
        uint64_t seq;
        unsigned signal;
        uint64_t value;
        std::string text;
    };
    void write_header();
    void write_value(const signal_decl& s);

    std::string m_path;
    std::string m_top;
    std::ofstream m_out;
    bool m_open = true;
    bool m_header_written = false;
    std::vector<signal_decl> m_signals;
    std::vector<change> m_pending;
    uint64_t m_seq = 0;
    uint64_t m_written_time = 0;  // time of the last "#t" line
    bool m_any_time = false;
};

}  // namespace iommusim
