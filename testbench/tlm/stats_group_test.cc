// stats_group: the JSON it writes (shape, escaping of names and texts, subgroup nesting, entries
// read when written), lookups by path for summaries, and stats_timeline's samples. Expected
// strings are written out by hand.
#include "tlm/stats_group.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tlm/stats_timeline.h"

namespace iommusim {
namespace {

TEST(StatsGroup, EmptyGroupIsAnEmptyObject) {
    const stats_group g("nothing");
    EXPECT_EQ(g.to_json(), "{}");
}

TEST(StatsGroup, EntriesInRegistrationOrderReadWhenWritten) {
    uint64_t hits = 1;
    stats_group g;
    g.counter("hits", "lookups that hit", hits);
    g.value("twice", "hits times two", [&] { return hits * 2; });
    g.real("rate", "a real", [] { return 0.5; });
    g.text("kind", "a text", [] { return std::string("cpp"); });
    EXPECT_EQ(g.to_json(), R"({"hits": 1, "twice": 2, "rate": 0.5, "kind": "cpp"})");
    hits = 7;
    EXPECT_EQ(g.to_json(), R"({"hits": 7, "twice": 14, "rate": 0.5, "kind": "cpp"})");
}

TEST(StatsGroup, RealsUseSixSignificantDigits) {
    stats_group g;
    g.real("third", "", [] { return 1.0 / 3.0; });
    g.real("zero", "", [] { return 0.0; });
    EXPECT_EQ(g.to_json(), R"({"third": 0.333333, "zero": 0})");
}

TEST(StatsGroup, NamesAndTextsAreEscaped) {
    stats_group g;
    g.text("quote\"back\\slash", "", [] { return std::string("line\nfeed\ttab\x01"); });
    EXPECT_EQ(g.to_json(), "{\"quote\\\"back\\\\slash\": \"line\\nfeed\\ttab\\u0001\"}");
    EXPECT_EQ(stats_group::quoted("plain"), "\"plain\"");
}

TEST(StatsGroup, SubgroupsNestAndAnotherGroupCanBeAdded) {
    uint64_t a = 1, b = 2, c = 3;
    stats_group component("unit", "another component's group");
    component.counter("c", "", c);
    stats_group root;
    stats_group& outer = root.subgroup("outer", "first level");
    outer.counter("a", "", a);
    outer.subgroup("inner").counter("b", "", b);
    root.add(component);
    root.add(component, "renamed");
    EXPECT_EQ(root.to_json(), R"({"outer": {"a": 1, "inner": {"b": 2}}, "unit": {"c": 3}, "renamed": {"c": 3}})");
}

TEST(StatsGroup, ArraysNamedCountsAndRecords) {
    const std::array<uint64_t, 4> counts{0, 5, 0, 2};
    stats_group g;
    g.counters("all", "", counts);
    g.named_counters("seen", "", counts,
                     [](std::size_t i, uint64_t n) { return n ? "t" + std::to_string(i) : std::string(); });
    g.records(
        "list", "", [] { return std::size_t{3}; },
        [](std::size_t i, stats_group& r) {
            r.value("i", "", [i] { return uint64_t{i}; });
            return i != 1;
        });
    g.counters("none", "", std::span<const uint64_t>{});
    EXPECT_EQ(g.to_json(),
              R"({"all": [0, 5, 0, 2], "seen": {"t1": 5, "t3": 2}, "list": [{"i": 0}, {"i": 2}], "none": []})");
}

TEST(StatsGroup, ConditionalEntriesAndRawJson) {
    bool shown = false;
    stats_group g;
    g.json("raw", "", [] { return std::string("null"); });
    g.subgroup("maybe").json("x", "", [] { return std::string("[1]"); });
    g.only_if([&] { return shown; });
    EXPECT_EQ(g.to_json(), R"({"raw": null})");
    shown = true;
    EXPECT_EQ(g.to_json(), R"({"raw": null, "maybe": {"x": [1]}})");
}

TEST(StatsGroup, PrepareRunsBeforeWritingAndReading) {
    uint64_t source = 4, snapshot = 0;
    unsigned prepared = 0;
    stats_group root;
    stats_group& sub = root.subgroup("sub");
    sub.on_prepare([&] {
        snapshot = source;
        ++prepared;
    });
    sub.counter("n", "", snapshot);
    EXPECT_EQ(root.to_json(), R"({"sub": {"n": 4}})");
    source = 9;
    EXPECT_EQ(root.counter_at("sub.n"), std::optional<uint64_t>(9));
    EXPECT_EQ(prepared, 2u);
}

TEST(StatsGroup, LookupsByPath) {
    uint64_t n = 12;
    stats_group root;
    root.subgroup("a").subgroup("b").counter("n", "", n);
    root.real("rate", "", [] { return 2.0 / 3.0; });
    root.text("name", "", [] { return std::string("x\"y"); });
    EXPECT_EQ(root.counter_at("a.b.n"), std::optional<uint64_t>(12));
    EXPECT_FALSE(root.counter_at("a.b"));    // a group, not a counter
    EXPECT_FALSE(root.counter_at("a.b.m"));  // no such entry
    EXPECT_FALSE(root.counter_at("rate"));   // not an integer
    EXPECT_EQ(root.summary_text("a.b.n"), "12");
    EXPECT_EQ(root.summary_text("rate"), "0.6667");  // four significant digits
    EXPECT_EQ(root.summary_text("name"), "x\"y");    // unquoted
    EXPECT_EQ(root.summary_text("a.x"), "n/a");
}

TEST(StatsTimeline, SamplesAtMostOncePerInterval) {
    uint64_t hits = 0, misses = 0;
    stats_group model;
    stats_group& t = model.subgroup("translation");
    t.counter("iotlb_hits", "", hits);
    t.counter("iotlb_misses", "", misses);
    stats_timeline timeline(model, {{"h", "translation.iotlb_hits"}, {"m", "translation.iotlb_misses"}}, 100);
    timeline.sample(0);
    hits = 3;
    timeline.sample(50);  // within the interval: dropped
    misses = 1;
    timeline.sample(100);
    EXPECT_EQ(timeline.size(), 2u);
    stats_group out;
    timeline.register_stats(out, "timeline", "");
    EXPECT_EQ(out.to_json(), R"({"timeline": [{"t_ns": 0, "h": 0, "m": 0}, {"t_ns": 100, "h": 3, "m": 1}]})");
}

TEST(StatsTimeline, ZeroIntervalTakesNoSamples) {
    stats_group model;
    stats_timeline timeline(model, {}, 0);
    timeline.sample(10);
    EXPECT_EQ(timeline.size(), 0u);
}

}  // namespace
}  // namespace iommusim
