// Translation-core throughput: IOTLB hit path, first-stage 4-level walk, nested 4x4 walk without
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
