// Translation-core throughput: IOTLB hit path (a request repeating the last one's page, and hits
// that move to another page every time), first-stage 4-level walk, nested 4x4 walk without
// and with warm paging-structure caches (leaf miss). The walk benchmarks use an IOTLB that never
// hits so every iteration walks; the tables' A flags are set by the first walk, so the steady
// state measures reads only.
#include <benchmark/benchmark.h>

#include <memory>

#include "bench/bench_iterations.h"
#include "tlm/iotlb.h"
#include "tlm/sparse_memory.h"
#include "tlm/table_builder_util.h"
#include "tlm/translator.h"

namespace iommusim {
namespace {

// Never hits, never holds anything: forces a walk on every translation.
class null_iotlb : public iotlb_if {
  public:
    std::optional<iotlb_entry> lookup(uint16_t, uint32_t, translation_kind, uint64_t) override { return std::nullopt; }
    iotlb_fill_result fill(const iotlb_entry&) override { return {}; }
    unsigned invalidate(iotlb_scope, uint16_t, uint32_t, const page_range&) override { return 0; }
    iotlb_geometry geometry() const override { return {1, 1}; }
    void for_each_valid(const std::function<void(unsigned, unsigned, const iotlb_entry&)>&) const override {}
    std::string name() const override { return "null_iotlb"; }
};

constexpr uint16_t k_rid = 0x0100;
constexpr uint64_t k_va = 0x7f12'3456'7000;

struct setup {
    iommu_config cfg;
    sparse_memory mem;
    test::table_builder tb{mem};
    std::unique_ptr<iotlb_if> tlb;
    std::unique_ptr<translator> tr;
    translation_request req;

    void finish(bool real_iotlb) {
        if (real_iotlb) {
            tlb = std::make_unique<iotlb>(iotlb_geometry{cfg.iotlb_sets, cfg.iotlb_ways});
        } else {
            tlb = std::make_unique<null_iotlb>();
        }
        tr = std::make_unique<translator>(cfg, mem, *tlb);
        tr->set_root(tb.rtaddr_value());
    }

    void second_stage() {
        const uint64_t ss = tb.new_ss();
        tb.set_context(k_rid);
        test::pasid_opts o;
        o.ssptptr = ss;
        tb.set_pasid(k_rid, 0, o);
        tb.map_ss(ss, 4, k_va, 0x8'0000'0000);
        req.rid = k_rid;
        req.addr = k_va + 0x40;
    }

    void first_stage() {
        const test::fs_space fs = tb.new_fs(4);
        tb.set_context(k_rid);
        test::pasid_opts o;
        o.pgtt = hw::pgtt::first_stage;
        o.fsptptr = fs.root;
        tb.set_pasid(k_rid, 7, o);
        tb.map_fs(fs, k_va, 0x8'0000'0000);
        req.rid = k_rid;
        req.has_pasid = true;
        req.pasid = 7;
        req.addr = k_va + 0x40;
    }

    void nested() {
        const uint64_t ss = tb.new_ss();
        const test::fs_space fs = tb.new_nested_fs(ss);
        tb.set_context(k_rid);
        test::pasid_opts o;
        o.pgtt = hw::pgtt::nested;
        o.fsptptr = fs.root;
        o.ssptptr = ss;
        tb.set_pasid(k_rid, 7, o);
        tb.map_fs(fs, k_va, 0x9000'0000);
        tb.map_ss(ss, 4, 0x9000'0000, 0x8'0000'0000);
        req.rid = k_rid;
        req.has_pasid = true;
        req.pasid = 7;
        req.addr = k_va + 0x40;
    }
};

void run(benchmark::State& state, setup& s) {
    if (!s.tr->translate(s.req).ok()) {
        state.SkipWithError("setup translation faulted");
        return;
    }
    for (auto _ : state) {
        translation_result r = s.tr->translate(s.req);
        benchmark::DoNotOptimize(r);
    }
    const translation_stats st = s.tr->stats();
    state.counters["walk_accesses_per_op"] =
        static_cast<double>(st.walk_accesses) / static_cast<double>(st.translations ? st.translations : 1);
}

void BM_TranslateIotlbHit(benchmark::State& state) {
    setup s;
    s.second_stage();
    s.finish(true);
    run(state, s);
}
BENCHMARK(BM_TranslateIotlbHit)->Apply(iommusim::bench::iterations_from_environment);

// Every translation hits a different page than the one before it (round robin over `pages`
// mapped pages of one source), so none is a repeat: the full hit path, IOTLB probe included.
void BM_TranslateIotlbHitPages(benchmark::State& state) {
    const auto pages = static_cast<uint64_t>(state.range(0));
    setup s;
    const uint64_t ss = s.tb.new_ss();
    s.tb.set_context(k_rid);
    test::pasid_opts o;
    o.ssptptr = ss;
    s.tb.set_pasid(k_rid, 0, o);
    for (uint64_t i = 0; i < pages; ++i) {
        s.tb.map_ss(ss, 4, k_va + i * 0x1000, 0x8'0000'0000 + i * 0x1000);
    }
    s.req.rid = k_rid;
    s.finish(true);
    for (uint64_t i = 0; i < pages; ++i) {
        s.req.addr = k_va + i * 0x1000 + 0x40;
        if (!s.tr->translate(s.req).ok()) {
            state.SkipWithError("setup translation faulted");
            return;
        }
    }
    uint64_t page = 0;
    for (auto _ : state) {
        s.req.addr = k_va + page * 0x1000 + 0x40;
        page = page + 1 == pages ? 0 : page + 1;
        translation_result r = s.tr->translate(s.req);
        benchmark::DoNotOptimize(r);
    }
    const translation_stats st = s.tr->stats();
    state.counters["hit_rate"] =
        static_cast<double>(st.iotlb_hits) / static_cast<double>(st.translations ? st.translations : 1);
}
BENCHMARK(BM_TranslateIotlbHitPages)->Arg(16)->Apply(iommusim::bench::iterations_from_environment);

void BM_TranslateFirstStageWalk4(benchmark::State& state) {
    setup s;
    s.cfg.psc_enable = false;
    s.first_stage();
    s.finish(false);
    run(state, s);
}
BENCHMARK(BM_TranslateFirstStageWalk4)->Apply(iommusim::bench::iterations_from_environment);

void BM_TranslateNestedWalk4x4(benchmark::State& state) {
    setup s;
    s.cfg.psc_enable = false;
    s.nested();
    s.finish(false);
    run(state, s);
}
BENCHMARK(BM_TranslateNestedWalk4x4)->Apply(iommusim::bench::iterations_from_environment);

void BM_TranslateNestedWalk4x4Psc(benchmark::State& state) {
    setup s;
    s.cfg.psc_enable = true;
    s.nested();
    s.finish(false);
    run(state, s);
}
BENCHMARK(BM_TranslateNestedWalk4x4Psc)->Apply(iommusim::bench::iterations_from_environment);

}  // namespace
}  // namespace iommusim
