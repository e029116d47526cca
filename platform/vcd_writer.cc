#include "platform/vcd_writer.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

namespace iommusim {

namespace {

// Printable identifier codes '!'..'~', shortest first.
std::string code_for(std::size_t n) {
    std::string id;
    do {
        id += static_cast<char>('!' + n % 94);
        n /= 94;
    } while (n);
    return id;
}

// String values are one token: spaces would end it.
std::string vcd_text(const std::string& text) {
    std::string out = text.empty() ? std::string("-") : text;
    std::replace_if(
        out.begin(), out.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n'; }, '_');
    return out;
}

}  // namespace

vcd_writer::vcd_writer(std::string path, std::string top)
    : m_path(std::move(path)), m_top(std::move(top)), m_out(m_path + ".part", std::ios::trunc) {}

vcd_writer::~vcd_writer() {
    if (m_open) {
        close(0);
    }
}

unsigned vcd_writer::add_wire(const std::string& scope, const std::string& name, unsigned width, uint64_t initial) {
    m_signals.push_back({scope, name, code_for(m_signals.size()), width, false, initial, "", 0, 0, false});
    return static_cast<unsigned>(m_signals.size() - 1);
}

unsigned vcd_writer::add_string(const std::string& scope, const std::string& name, const std::string& initial) {
    m_signals.push_back({scope, name, code_for(m_signals.size()), 0, true, 0, vcd_text(initial), 0, 0, false});
    return static_cast<unsigned>(m_signals.size() - 1);
}

void vcd_writer::set(uint64_t t_ps, unsigned signal, uint64_t value) {
    if (m_open) {
        m_pending.push_back({t_ps, m_seq++, signal, value, {}});
    }
}

void vcd_writer::set(uint64_t t_ps, unsigned signal, const std::string& text) {
    if (m_open) {
        m_pending.push_back({t_ps, m_seq++, signal, 0, vcd_text(text)});
    }
}

std::pair<uint64_t, uint64_t> vcd_writer::activity(unsigned signal) const {
    uint64_t first = m_signals[signal].changed ? m_signals[signal].first : UINT64_MAX;
    uint64_t last = m_signals[signal].changed ? m_signals[signal].last : 0;
    for (const change& c : m_pending) {
        if (c.signal == signal) {
            first = std::min(first, c.t);
            last = std::max(last, c.t);
        }
    }
    return first == UINT64_MAX ? std::pair<uint64_t, uint64_t>{0, 0} : std::pair{first, last};
}

void vcd_writer::write_header() {
    m_header_written = true;
    m_out << "$date\n\tiommusim\n$end\n$version\n\tiommusim vcd_writer\n$end\n$timescale\n\t1 ps\n$end\n";
    m_out << "$scope module " << m_top << " $end\n";
    std::map<std::string, std::vector<const signal_decl*>> scopes;  // grouped, in first-seen order
    std::vector<std::string> order;
    for (const signal_decl& s : m_signals) {
        if (!scopes.count(s.scope)) {
            order.push_back(s.scope);
        }
        scopes[s.scope].push_back(&s);
    }
    for (const std::string& scope : order) {
        m_out << "$scope module " << scope << " $end\n";
        for (const signal_decl* s : scopes[scope]) {
            if (s->is_string) {
                m_out << "$var string 1 " << s->code << " " << s->name << " $end\n";
            } else {
                m_out << "$var wire " << s->width << " " << s->code << " " << s->name
                      << (s->width > 1 ? " [" + std::to_string(s->width - 1) + ":0]" : std::string()) << " $end\n";
            }
        }
        m_out << "$upscope $end\n";
    }
    m_out << "$upscope $end\n$enddefinitions $end\n#0\n$dumpvars\n";
    for (const signal_decl& s : m_signals) {
        write_value(s);
    }
    m_out << "$end\n";
    m_any_time = true;
    m_written_time = 0;
}

void vcd_writer::write_value(const signal_decl& s) {
    if (s.is_string) {
        m_out << 's' << s.text << ' ' << s.code << '\n';
    } else if (s.width == 1) {
        m_out << (s.value & 1) << s.code << '\n';
    } else {
        m_out << 'b';
        bool leading = true;
        for (int bit = static_cast<int>(s.width) - 1; bit >= 0; --bit) {
            const bool one = (s.value >> bit) & 1;
            if (one || !leading || bit == 0) {
                m_out << (one ? '1' : '0');
                leading = false;
            }
        }
        m_out << ' ' << s.code << '\n';
    }
}

void vcd_writer::flush_before(uint64_t t_ps) {
    if (!m_open) {
        return;
    }
    if (!m_header_written) {
        write_header();
    }
    // Stable by (time, recording order): the last change at one time wins.
    std::sort(m_pending.begin(), m_pending.end(),
              [](const change& a, const change& b) { return a.t != b.t ? a.t < b.t : a.seq < b.seq; });
    std::size_t i = 0;
    while (i < m_pending.size() && m_pending[i].t < t_ps) {
        const uint64_t t = m_pending[i].t;
        std::map<unsigned, const change*> last;  // per signal, the last change at t
        for (; i < m_pending.size() && m_pending[i].t == t; ++i) {
            last[m_pending[i].signal] = &m_pending[i];
        }
        bool stamped = false;
        for (const auto& [index, c] : last) {
            signal_decl& s = m_signals[index];
            if (s.is_string ? s.text == c->text : s.value == c->value) {
                continue;
            }
            if (!stamped && (!m_any_time || t != m_written_time)) {
                m_out << '#' << t << '\n';
                m_written_time = t;
                m_any_time = true;
            }
            stamped = true;
            s.value = c->value;
            s.text = c->text;
            if (!s.changed) {
                s.first = t;
            }
            s.changed = true;
            s.last = t;
            write_value(s);
        }
    }
    m_pending.erase(m_pending.begin(), m_pending.begin() + static_cast<std::ptrdiff_t>(i));
}

std::string vcd_writer::close(uint64_t end_ps) {
    if (!m_open) {
        return "";
    }
    flush_before(UINT64_MAX);
    m_open = false;
    const uint64_t end = std::max(end_ps, m_written_time);
    if (end != m_written_time) {
        m_out << '#' << end << '\n';
    }
    m_out.close();
    std::error_code ec;
    if (!m_out) {
        std::filesystem::remove(m_path + ".part", ec);
        return "cannot write " + m_path;
    }
    std::filesystem::rename(m_path + ".part", m_path, ec);
    if (ec) {
        return "cannot write " + m_path + ": " + ec.message();
    }
    return "";
}

}  // namespace iommusim
