#include "tlm/stats_group.h"

#include <cstdio>
#include <sstream>
#include <utility>

namespace iommusim {

struct stats_group::entry {
    using kind = entry_kind;
    kind what = kind::counter;
    std::string name;
    std::string description;
    const uint64_t* count = nullptr;
    std::function<uint64_t()> value;
    std::function<double()> real;
    std::function<std::string()> text;  // text and json
    std::span<const uint64_t> counts;
    std::function<std::string(std::size_t, uint64_t)> key;
    std::function<std::size_t()> record_count;
    std::function<bool(std::size_t, stats_group&)> fill;
    const stats_group* group = nullptr;
    std::function<bool()> present;
};

namespace {

// Reals as an ostream writes them by default (six significant digits).
std::string real_text(double v, int precision) {
    std::ostringstream o;
    o.precision(precision);
    o << v;
    return o.str();
}

// Writes ", " before every item but the first of a list.
void separate(std::string& out, bool& first) {
    if (!first) {
        out += ", ";
    }
    first = false;
}

}  // namespace

stats_group::stats_group(std::string name, std::string description)
    : m_name(std::move(name)), m_description(std::move(description)) {}

stats_group::~stats_group() = default;

stats_group::entry& stats_group::add_entry(entry_kind what, std::string name, std::string description) {
    entry e;
    e.what = what;
    e.name = std::move(name);
    e.description = std::move(description);
    m_entries.push_back(std::move(e));
    return m_entries.back();
}

stats_group& stats_group::counter(std::string name, std::string description, const uint64_t& source) {
    add_entry(entry_kind::counter, std::move(name), std::move(description)).count = &source;
    return *this;
}

stats_group& stats_group::value(std::string name, std::string description, std::function<uint64_t()> source) {
    add_entry(entry_kind::value, std::move(name), std::move(description)).value = std::move(source);
    return *this;
}

stats_group& stats_group::real(std::string name, std::string description, std::function<double()> source) {
    add_entry(entry_kind::real, std::move(name), std::move(description)).real = std::move(source);
    return *this;
}

stats_group& stats_group::text(std::string name, std::string description, std::function<std::string()> source) {
    add_entry(entry_kind::text, std::move(name), std::move(description)).text = std::move(source);
    return *this;
}

stats_group& stats_group::counters(std::string name, std::string description, std::span<const uint64_t> source) {
    add_entry(entry_kind::counters, std::move(name), std::move(description)).counts = source;
    return *this;
}

stats_group& stats_group::named_counters(std::string name, std::string description, std::span<const uint64_t> source,
                                         std::function<std::string(std::size_t, uint64_t)> key) {
    entry& e = add_entry(entry_kind::named_counters, std::move(name), std::move(description));
    e.counts = source;
    e.key = std::move(key);
    return *this;
}

stats_group& stats_group::json(std::string name, std::string description, std::function<std::string()> source) {
    add_entry(entry_kind::json, std::move(name), std::move(description)).text = std::move(source);
    return *this;
}

stats_group& stats_group::records(std::string name, std::string description, std::function<std::size_t()> count,
                                  std::function<bool(std::size_t, stats_group&)> fill) {
    entry& e = add_entry(entry_kind::records, std::move(name), std::move(description));
    e.record_count = std::move(count);
    e.fill = std::move(fill);
    return *this;
}

stats_group& stats_group::subgroup(std::string name, std::string description) {
    m_owned.push_back(std::make_unique<stats_group>(std::move(name), std::move(description)));
    add(*m_owned.back());
    return *m_owned.back();
}

stats_group& stats_group::add(const stats_group& group, std::string name) {
    add_entry(entry_kind::group, name.empty() ? group.name() : std::move(name), group.description()).group = &group;
    return *this;
}

stats_group& stats_group::only_if(std::function<bool()> present) {
    if (!m_entries.empty()) {
        m_entries.back().present = std::move(present);
    }
    return *this;
}

void stats_group::on_prepare(std::function<void()> prepare) {
    m_prepare.push_back(std::move(prepare));
}

void stats_group::prepare() const {
    for (const std::function<void()>& p : m_prepare) {
        p();
    }
}

std::string stats_group::quoted(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char esc[8];
                    std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                    out += esc;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

std::string stats_group::to_json() const {
    std::string out;
    write_json(out);
    return out;
}

void stats_group::write_json(std::string& out) const {
    prepare();
    out += '{';
    bool first = true;
    for (const entry& e : m_entries) {
        if (e.present && !e.present()) {
            continue;
        }
        separate(out, first);
        out += quoted(e.name);
        out += ": ";
        switch (e.what) {
            case entry::kind::counter:
                out += std::to_string(*e.count);
                break;
            case entry::kind::value:
                out += std::to_string(e.value());
                break;
            case entry::kind::real:
                out += real_text(e.real(), 6);
                break;
            case entry::kind::text:
                out += quoted(e.text());
                break;
            case entry::kind::json:
                out += e.text();
                break;
            case entry::kind::counters: {
                out += '[';
                bool first_count = true;
                for (const uint64_t n : e.counts) {
                    separate(out, first_count);
                    out += std::to_string(n);
                }
                out += ']';
                break;
            }
            case entry::kind::named_counters: {
                out += '{';
                bool first_count = true;
                for (std::size_t i = 0; i < e.counts.size(); ++i) {
                    const std::string key = e.key(i, e.counts[i]);
                    if (key.empty()) {
                        continue;
                    }
                    separate(out, first_count);
                    out += quoted(key);
                    out += ": ";
                    out += std::to_string(e.counts[i]);
                }
                out += '}';
                break;
            }
            case entry::kind::records: {
                out += '[';
                bool first_record = true;
                const std::size_t n = e.record_count();
                for (std::size_t i = 0; i < n; ++i) {
                    stats_group record;
                    if (!e.fill(i, record)) {
                        continue;
                    }
                    separate(out, first_record);
                    record.write_json(out);
                }
                out += ']';
                break;
            }
            case entry::kind::group:
                e.group->write_json(out);
                break;
        }
    }
    out += '}';
}

const stats_group::entry* stats_group::find(std::string_view path, const stats_group*& owner) const {
    const std::size_t dot = path.find('.');
    const std::string_view head = path.substr(0, dot);
    for (const entry& e : m_entries) {
        if (e.name != head) {
            continue;
        }
        if (dot == std::string_view::npos) {
            owner = this;
            return &e;
        }
        if (e.what == entry::kind::group) {
            return e.group->find(path.substr(dot + 1), owner);
        }
    }
    return nullptr;
}

std::optional<uint64_t> stats_group::counter_at(std::string_view path) const {
    const stats_group* owner = nullptr;
    const entry* e = find(path, owner);
    if (!e || (e->what != entry::kind::counter && e->what != entry::kind::value)) {
        return std::nullopt;
    }
    owner->prepare();
    return e->what == entry::kind::counter ? *e->count : e->value();
}

std::string stats_group::summary_text(std::string_view path) const {
    const stats_group* owner = nullptr;
    const entry* e = find(path, owner);
    if (!e) {
        return "n/a";
    }
    owner->prepare();
    switch (e->what) {
        case entry::kind::counter:
            return std::to_string(*e->count);
        case entry::kind::value:
            return std::to_string(e->value());
        case entry::kind::real:
            return real_text(e->real(), 4);
        case entry::kind::text:
            return e->text();
        default:
            return "n/a";
    }
}

}  // namespace iommusim
