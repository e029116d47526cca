// A declarative statistics group, in the manner of gem5's statistics groups: a named group holds
// entries (counters, values, distributions' fields) registered with a name and a description, and
// subgroups. Components register their statistics into a group once; the group alone writes them:
// the JSON of --stats-json, single values by path (end-of-run summaries, timeline samples).
//
// Entries are read when the group is written, in registration order. A counter refers to a live
// count (its owner must outlive the group); a value, real, text or JSON entry calls its source. A
// group's prepare hooks run before it is written or read (to take a snapshot of statistics that
// are computed, not stored). JSON: objects as {"name": value, ...}, arrays as [a, b], names and
// texts escaped (quote, backslash, control characters).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace iommusim {

class stats_group {
  public:
    explicit stats_group(std::string name = {}, std::string description = {});
    stats_group(const stats_group&) = delete;
    stats_group& operator=(const stats_group&) = delete;
    ~stats_group();

    const std::string& name() const { return m_name; }
    const std::string& description() const { return m_description; }

    // ---- Registration (each returns *this, so that only_if() can follow) ----
    stats_group& counter(std::string name, std::string description, const uint64_t& source);
    stats_group& value(std::string name, std::string description, std::function<uint64_t()> source);
    stats_group& real(std::string name, std::string description, std::function<double()> source);
    stats_group& text(std::string name, std::string description, std::function<std::string()> source);
    // A JSON array of the counts.
    stats_group& counters(std::string name, std::string description, std::span<const uint64_t> source);
    // A JSON object of the counts: key(index, count) names each, an empty name leaves it out.
    stats_group& named_counters(std::string name, std::string description, std::span<const uint64_t> source,
                                std::function<std::string(std::size_t, uint64_t)> key);
    // JSON another writer produced (a component outside this scheme), written as it is.
    stats_group& json(std::string name, std::string description, std::function<std::string()> source);
    // A list of records built when written: fill(i, record) for i < count(); false leaves record i out.
    stats_group& records(std::string name, std::string description, std::function<std::size_t()> count,
                         std::function<bool(std::size_t, stats_group&)> fill);
    // A subgroup this group owns.
    stats_group& subgroup(std::string name, std::string description = {});
    // Another component's group, written here under its own name or `name`.
    stats_group& add(const stats_group& group, std::string name = {});
    // The entry registered last is written only while present() holds.
    stats_group& only_if(std::function<bool()> present);
    // Runs before the group's entries are written or read.
    void on_prepare(std::function<void()> prepare);

    // ---- Writing ----
    std::string to_json() const;
    void write_json(std::string& out) const;
    // A scalar entry (counter, value, real or text) by dotted path below this group, e.g.
    // "translation.iotlb_hits"; nothing for an unknown path or an entry that is not a scalar.
    std::optional<uint64_t> counter_at(std::string_view path) const;
    // The same entry as summary text: integers as they are, reals with four significant digits,
    // texts unquoted; "n/a" for an unknown path.
    std::string summary_text(std::string_view path) const;

    // JSON string literal of `s` (quotes included).
    static std::string quoted(std::string_view s);

  private:
    enum class entry_kind { counter, value, real, text, counters, named_counters, json, records, group };
    struct entry;
    entry& add_entry(entry_kind what, std::string name, std::string description);
    const entry* find(std::string_view path, const stats_group*& owner) const;
    void prepare() const;

    std::string m_name;
    std::string m_description;
    std::vector<entry> m_entries;
    std::vector<std::unique_ptr<stats_group>> m_owned;
    std::vector<std::function<void()>> m_prepare;
};

}  // namespace iommusim
