// The port-contract checker on hand-made traces: a clean lookup, fill and invalidation pass; each
// contract violation is named with its cycle; and the real RTL behind the adapter never violates.
#include "rtl/iotlb_protocol_checker.h"

#include <gtest/gtest.h>

#include <random>

#include "rtl/rtl_iotlb.h"

namespace iommusim {
namespace {

constexpr unsigned lookup = 0, fill = 1, invalidate = 2;

// A trace built edge by edge; each edge starts idle (all ready, nothing valid).
class trace {
  public:
    iotlb_port_sample& edge() {
        m_edges.emplace_back();
        for (auto& r : m_edges.back().request) {
            r.ready = true;
        }
        for (auto& r : m_edges.back().response) {
            r.ready = true;
        }
        return m_edges.back();
    }
    iotlb_protocol_checker run() const {
        iotlb_protocol_checker c;
        for (std::size_t i = 0; i < m_edges.size(); ++i) {
            c.on_edge(m_edges[i], i + 1, (i + 1) * 1000);
        }
        return c;
    }

  private:
    std::vector<iotlb_port_sample> m_edges;
};

// Request accepted at one edge, response taken at the next.
void operation(trace& t, unsigned channel, uint64_t payload) {
    auto& req = t.edge().request[channel];
    req.valid = true;
    req.payload[0] = payload;
    auto& resp = t.edge().response[channel];
    resp.valid = true;
    resp.payload[0] = payload + 1;
}

TEST(IotlbProtocolChecker, CleanTraceHasNoViolation) {
    trace t;
    operation(t, lookup, 1);
    operation(t, fill, 2);
    // An invalidation held off for two cycles, then a response four cycles later.
    for (int i = 0; i < 2; ++i) {
        auto& e = t.edge();
        e.request[invalidate] = {true, false, {7}};
    }
    t.edge().request[invalidate] = {true, true, {7}};
    for (int i = 0; i < 3; ++i) {
        t.edge();
    }
    t.edge().response[invalidate].valid = true;
    t.edge();
    const auto c = t.run();
    EXPECT_EQ(c.violations(), 0u) << c.report();
}

TEST(IotlbProtocolChecker, ResponseWithoutRequest) {
    trace t;
    t.edge();
    t.edge().response[fill].valid = true;
    const auto c = t.run();
    ASSERT_EQ(c.violations(), 1u);
    EXPECT_EQ(c.log()[0].to_string(), "cycle 2 (2000 ps): fill response without a request");
}

TEST(IotlbProtocolChecker, RequestPayloadChangedWhileNotReady) {
    trace t;
    t.edge().request[lookup] = {true, false, {5}};
    t.edge().request[lookup] = {true, true, {6}};
    t.edge().response[lookup].valid = true;
    const auto c = t.run();
    ASSERT_EQ(c.violations(), 1u) << c.report();
    EXPECT_EQ(c.log()[0].to_string(), "cycle 2 (2000 ps): lookup request payload changed while valid and not ready");
}

TEST(IotlbProtocolChecker, ValidDroppedBeforeReady) {
    trace t;
    t.edge().request[invalidate] = {true, false, {5}};
    t.edge();
    const auto c = t.run();
    ASSERT_EQ(c.violations(), 1u) << c.report();
    EXPECT_EQ(c.log()[0].what, "invalidate request valid dropped before ready");
}

TEST(IotlbProtocolChecker, ResponseChangedWhileNotTaken) {
    trace t;
    t.edge().request[lookup].valid = true;
    t.edge().response[lookup] = {true, false, {1}};
    t.edge().response[lookup] = {true, true, {2}};
    const auto c = t.run();
    ASSERT_EQ(c.violations(), 1u) << c.report();
    EXPECT_EQ(c.log()[0].what, "lookup response payload changed while valid and not ready");
}

TEST(IotlbProtocolChecker, SecondOperationAcceptedWhileOneIsInFlight) {
    trace t;
    t.edge().request[invalidate].valid = true;
    t.edge().request[lookup].valid = true;  // accepted (ready) while the invalidation walks
    const auto c = t.run();
    ASSERT_GE(c.violations(), 1u);
    EXPECT_EQ(c.log()[0].to_string(),
              "cycle 2 (2000 ps): lookup request accepted while a invalidate operation is in flight");
    trace both;
    auto& e = both.edge();
    e.request[fill].valid = true;
    e.request[lookup].valid = true;  // two accepted at one edge
    EXPECT_EQ(both.run().violations(), 1u);
}

// The adapter feeds the checker every edge: the project's RTL keeps the contract.
TEST(IotlbProtocolChecker, TheRtlIotlbKeepsTheContract) {
    rtl_iotlb t({16, 4});
    std::mt19937_64 rng(3);
    for (int i = 0; i < 20000; ++i) {
        const uint64_t vpn = rng() % 4096;
        switch (rng() % 3) {
            case 0:
                t.lookup(1, 0, translation_kind::second_stage, vpn);
                break;
            case 1:
                t.fill({{1, 0, translation_kind::second_stage, page_level::size_4k, vpn}, {vpn, 0}});
                break;
            default:
                t.invalidate_domain_range(1, vpn, static_cast<unsigned>(rng() % 12));
                break;
        }
    }
    EXPECT_GT(t.cycle(), 20000u);
    EXPECT_EQ(t.protocol_violations(), 0u) << t.protocol_report();
}

}  // namespace
}  // namespace iommusim
