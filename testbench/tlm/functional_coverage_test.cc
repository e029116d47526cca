// Functional coverage tests: the translation points count each sampled translation once in every
// point that names it (kind x outcome, kind x page, request x kind, ATS answers, structure faults).
#include "tlm/functional_coverage.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace iommusim {
namespace {

using hw::fault_reason;
using nlohmann::json;

// The hits of one bin of one point, -1 when there is no such bin.
int64_t hits(const json& points, const std::string& point, const std::vector<std::string>& at) {
    for (const json& p : points) {
        if (p["name"] == point) {
            for (const json& b : p["bins"]) {
                if (b["at"] == at) {
                    return b["hits"].get<int64_t>();
                }
            }
        }
    }
    return -1;
}

int64_t total(const json& points, const std::string& point) {
    int64_t n = 0;
    for (const json& p : points) {
        if (p["name"] == point) {
            for (const json& b : p["bins"]) {
                n += b["hits"].get<int64_t>();
            }
        }
    }
    return n;
}

translation_request request(bool pasid, bool write, bool ats = false) {
    translation_request q;
    q.has_pasid = pasid;
    q.write = write;
    q.ats_translation = ats;
    return q;
}

translation_result translated(translation_kind kind, uint64_t page_bytes) {
    translation_result r;
    r.kind = kind;
    r.page_bytes = page_bytes;
    return r;
}

translation_result faulted(translation_kind kind, fault_reason f) {
    translation_result r;
    r.kind = kind;
    r.fault = f;
    return r;
}

TEST(FunctionalCoverage, EachTranslationCountsOnceInEveryPointThatNamesIt) {
    functional_coverage c;
    constexpr uint64_t k4 = 4096;
    constexpr uint64_t m2 = uint64_t{1} << 21;
    for (int i = 0; i < 3; ++i) {
        c.translation(request(false, false), translated(translation_kind::second_stage, k4));
    }
    c.translation(request(true, true), translated(translation_kind::first_stage, m2));
    c.translation(request(true, false, true), translated(translation_kind::nested, k4));  // ATS, translated
    c.translation(request(true, false, true), translated(translation_kind::nested, k4));  // ATS, R=W=0
    c.translation(request(true, false, true), faulted(translation_kind::nested, fault_reason::fs_not_present));
    c.translation(request(false, true), faulted(translation_kind::second_stage, fault_reason::ctx_not_present));
    translation_stats ts;
    ts.ats_no_rights = 1;
    const json points = json::parse(c.to_json(ts, invalidation_queue_stats{}));

    EXPECT_EQ(hits(points, "translation.kind_x_fault", {"second_stage", "no fault"}), 3);
    EXPECT_EQ(hits(points, "translation.kind_x_fault", {"first_stage", "no fault"}), 1);
    EXPECT_EQ(hits(points, "translation.kind_x_fault", {"nested", "no fault"}), 2);
    EXPECT_EQ(hits(points, "translation.kind_x_fault", {"nested", "SFL.2 (0x71)"}), 1);
    EXPECT_EQ(total(points, "translation.kind_x_fault"), 7);  // the context fault is a structure fault
    EXPECT_EQ(hits(points, "translation.structure_fault", {"SCT.2 (0x41)"}), 1);
    EXPECT_EQ(total(points, "translation.structure_fault"), 1);

    EXPECT_EQ(hits(points, "translation.kind_x_page", {"second_stage", "4 KiB"}), 3);
    EXPECT_EQ(hits(points, "translation.kind_x_page", {"first_stage", "2 MiB"}), 1);
    EXPECT_EQ(hits(points, "translation.kind_x_page", {"nested", "4 KiB"}), 2);
    EXPECT_EQ(total(points, "translation.kind_x_page"), 6);

    EXPECT_EQ(hits(points, "translation.request_x_kind", {"untagged read", "second_stage"}), 3);
    EXPECT_EQ(hits(points, "translation.request_x_kind", {"untagged write", "second_stage"}), 1);
    EXPECT_EQ(hits(points, "translation.request_x_kind", {"PASID write", "first_stage"}), 1);
    EXPECT_EQ(hits(points, "translation.request_x_kind", {"ATS translation request", "nested"}), 3);
    EXPECT_EQ(total(points, "translation.request_x_kind"), 8);

    EXPECT_EQ(hits(points, "ats.translation", {"translated"}), 1);
    EXPECT_EQ(hits(points, "ats.translation", {"R=W=0"}), 1);
    EXPECT_EQ(hits(points, "ats.translation", {"fault"}), 1);
}

}  // namespace
}  // namespace iommusim
