// Invalidation-queue throughput. Functional core: decode + apply of one descriptor against the
// translator (IOTLB + paging-structure caches) with a 1024-entry IOTLB kept full (the descriptors
// drop nothing, so every iteration sees the same full IOTLB). SystemC engine: 64 page-selective descriptors and one
// wait per batch through invalidation_queue, time per descriptor (host time; simulated time as a counter).
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include <systemc>
#include <tlm>

#include "bench/bench_iterations.h"
#include "iommusim/hw/vtd_regs.h"
#include "tlm/invalidation_queue.h"
#include "tlm/iotlb.h"
#include "tlm/sparse_memory.h"
#include "tlm/translator.h"

namespace iommusim {
namespace {

constexpr uint32_t k_pasids = 8;

iommu_config bench_config() {
    iommu_config c;
    c.iotlb_sets = 256;
    c.iotlb_ways = 4;  // 1024 entries
    return c;
}

// Page of the i-th of the first-stage entries of DID 1 that fill an IOTLB of `sets` sets: PASID
// i % 8, placed in set i % sets (the set index XORs the DID+PASID hash into the page number), so
// every set holds `ways` entries of one PASID and the fill evicts nothing.
uint64_t first_stage_fill_page(uint64_t i, unsigned sets) {
    return i ^ iotlb_set_hash(1, static_cast<uint32_t>(i % k_pasids), translation_kind::first_stage, sets);
}

// A translator over a full IOTLB: every set holds four 4 KiB first-stage entries of DID 1 and one
// of PASIDs 0..7.
struct core_setup {
    iommu_config cfg = bench_config();
    sparse_memory mem{cfg.phys_addr_bits};
    iotlb tlb{iotlb_geometry{cfg.iotlb_sets, cfg.iotlb_ways}};
    translator tr{cfg, mem, tlb};
    decode_caps caps;

    core_setup() {
        const unsigned n = cfg.iotlb_sets * cfg.iotlb_ways;
        for (unsigned i = 0; i < n; ++i) {
            iotlb_entry e;
            e.tag = iotlb_tag{1, i % k_pasids, translation_kind::first_stage, page_level::size_4k,
                              first_stage_fill_page(i, cfg.iotlb_sets)};
            e.payload.out_pfn = 0x10000 + i;
            tlb.fill(e);
        }
        caps.mamv = cfg.mamv;
        caps.nd = cfg.nd;
    }
    unsigned valid() const { return tlb.valid_count(); }
};

// Page-selective descriptors for the cached DID and PASIDs, at pages just above the cached ones:
// each walks the set its page maps to, set p, which holds four entries of its PASID, and compares
// every way there, drops nothing, and leaves the IOTLB full.
std::vector<hw::inv_desc> page_selective_ring() {
    std::vector<hw::inv_desc> ring;
    const iommu_config cfg = bench_config();
    for (uint64_t p = 0; p < 64; ++p) {
        ring.push_back(hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 1, static_cast<uint32_t>(p % k_pasids),
                                            (1024 + first_stage_fill_page(p, cfg.iotlb_sets)) << 12, 0, true));
    }
    return ring;
}

void run_core(benchmark::State& state, core_setup& s, const std::vector<hw::inv_desc>& ring) {
    std::size_t i = 0;
    uint64_t dropped = 0;
    for (auto _ : state) {
        const decode_result r = descriptor_decoder::decode(ring[i], true, s.caps);
        dropped += s.tr.invalidate(r.desc.scope);
        i = (i + 1) % ring.size();
    }
    benchmark::DoNotOptimize(dropped);
    if (s.valid() != s.cfg.iotlb_sets * s.cfg.iotlb_ways) {
        state.SkipWithError("IOTLB lost entries: the benchmark no longer measures a full IOTLB");
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.counters["per_desc"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                    benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_QiPasidIotlbPageSelective(benchmark::State& state) {
    core_setup s;
    run_core(state, s, page_selective_ring());
}
BENCHMARK(BM_QiPasidIotlbPageSelective)->Apply(iommusim::bench::iterations_from_environment);

// Domain-selective for DIDs with nothing cached: the IOTLB's per-DID filter answers without a
// scan, which is what a guest's flush of an idle domain costs.
void BM_QiIotlbDomainSelective(benchmark::State& state) {
    core_setup s;
    std::vector<hw::inv_desc> ring;
    for (uint16_t did = 2; did < 66; ++did) {
        ring.push_back(hw::make_iotlb_inv(hw::iotlb_desc::domain, did));
    }
    run_core(state, s, ring);
}
BENCHMARK(BM_QiIotlbDomainSelective)->Apply(iommusim::bench::iterations_from_environment);

// Breakdown: the same page-selective descriptors applied to the bare IOTLB (no paging-structure
// caches, no translator bookkeeping).
// The IOTLB's share of each cache scope, without the paging-structure caches.
class iotlb_only_target final : public invalidation_target {
  public:
    explicit iotlb_only_target(iotlb& t) : m_tlb(t) {}
    unsigned invalidate(const invalidation_scope& s) override {
        switch (s.kind) {
            case scope_kind::iotlb_all:
                return m_tlb.invalidate_all();
            case scope_kind::iotlb_domain:
                return m_tlb.invalidate_domain(s.did);
            case scope_kind::iotlb_domain_range:
                return m_tlb.invalidate(iotlb_scope::domain_range, s.did, 0, s.range);
            case scope_kind::iotlb_pasid:
                return m_tlb.invalidate_pasid(s.did, s.pasid);
            case scope_kind::iotlb_pasid_range:
                return m_tlb.invalidate(iotlb_scope::pasid_range, s.did, s.pasid, s.range);
            default:
                return 0;
        }
    }

  private:
    iotlb& m_tlb;
};

void BM_QiPasidIotlbPageSelectiveIotlbOnly(benchmark::State& state) {
    core_setup s;
    iotlb_only_target target(s.tlb);
    const std::vector<hw::inv_desc> ring = page_selective_ring();
    std::size_t i = 0;
    uint64_t dropped = 0;
    for (auto _ : state) {
        const decode_result r = descriptor_decoder::decode(ring[i], true, s.caps);
        dropped += target.invalidate(r.desc.scope);
        i = (i + 1) % ring.size();
    }
    benchmark::DoNotOptimize(dropped);
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_QiPasidIotlbPageSelectiveIotlbOnly)->Apply(iommusim::bench::iterations_from_environment);

// Decode and validate only (no cache work), for reference.
void BM_QiDecodeOnly(benchmark::State& state) {
    decode_caps caps;
    std::vector<hw::inv_desc> ring;
    for (uint64_t p = 0; p < 64; ++p) {
        ring.push_back(hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 1, 3, p << 12, 0, true));
    }
    std::size_t i = 0;
    for (auto _ : state) {
        decode_result r = descriptor_decoder::decode(ring[i], true, caps);
        benchmark::DoNotOptimize(r);
        i = (i + 1) % ring.size();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_QiDecodeOnly)->Apply(iommusim::bench::iterations_from_environment);

// ---- Costs against capacity ----------------------------------------------------------------------
// A translator whose IOTLB of `entries` (sets x 4 ways) is full of DID 1 entries of one kind at
// pages 0..entries-1 (PASIDs 0..7 for first-stage entries, each page's low bits flipped by its
// PASID's set hash so that every set holds four entries of one PASID), so that descriptors for pages
// far above drop nothing and every iteration sees the same full IOTLB: what an invalidation that
// matches nothing costs at that capacity.
struct capacity_setup {
    iommu_config cfg;
    std::unique_ptr<sparse_memory> mem;
    std::unique_ptr<iotlb> tlb;
    std::unique_ptr<translator> tr;
    decode_caps caps;
    unsigned entries;

    capacity_setup(unsigned n, translation_kind kind) : entries(n) {
        cfg.iotlb_sets = n / 4;
        cfg.iotlb_ways = 4;
        mem = std::make_unique<sparse_memory>(cfg.phys_addr_bits);
        tlb = std::make_unique<iotlb>(iotlb_geometry{cfg.iotlb_sets, cfg.iotlb_ways});
        tr = std::make_unique<translator>(cfg, *mem, *tlb);
        for (unsigned i = 0; i < n; ++i) {
            iotlb_entry e;
            const bool first_stage = kind == translation_kind::first_stage;
            const uint32_t pasid = first_stage ? i % k_pasids : 0;
            e.tag = iotlb_tag{1, pasid, kind, page_level::size_4k,
                              first_stage ? first_stage_fill_page(i, cfg.iotlb_sets) : i};
            e.payload.out_pfn = 0x10000 + i;
            tlb->fill(e);
        }
        caps.mamv = cfg.mamv;
        caps.nd = cfg.nd;
    }
};

void run_capacity(benchmark::State& state, capacity_setup& s, const std::vector<hw::inv_desc>& ring) {
    if (s.tlb->valid_count() != s.entries) {
        state.SkipWithError("the IOTLB did not fill: the geometry no longer holds one entry per page");
        return;
    }
    std::size_t i = 0;
    uint64_t dropped = 0;
    for (auto _ : state) {
        const decode_result r = descriptor_decoder::decode(ring[i], true, s.caps);
        dropped += s.tr->invalidate(r.desc.scope);
        i = (i + 1) % ring.size();
    }
    benchmark::DoNotOptimize(dropped);
    if (dropped != 0 || s.tlb->valid_count() != s.entries) {
        state.SkipWithError("an invalidation dropped entries: the benchmark no longer measures a miss");
    }
    state.counters["entries"] = s.entries;
}

// Type-2 (IOTLB) page-selective, AM=0, over an IOTLB full of the DID's second-stage entries, none
// in range (type 2 drops every first-stage entry of the DID, so the fill is second-stage only).
void BM_QiIotlbPageSelectiveType2(benchmark::State& state) {
    capacity_setup s(static_cast<unsigned>(state.range(0)), translation_kind::second_stage);
    std::vector<hw::inv_desc> ring;
    for (uint64_t p = 0; p < 64; ++p) {
        ring.push_back(hw::make_iotlb_inv(hw::iotlb_desc::page, 1, (uint64_t{1} << 30) + (p << 12), 0));
    }
    run_capacity(state, s, ring);
}
BENCHMARK(BM_QiIotlbPageSelectiveType2)
    ->Arg(64)
    ->Arg(512)
    ->Arg(4096)
    ->Apply(iommusim::bench::iterations_from_environment);

// Type-6 (PASID-based IOTLB) page-selective with address mask AM over a 4096-entry IOTLB full of
// the DID's first-stage entries of PASIDs 0..7, the range (2^AM pages at 4 GiB, from the page whose
// set holds entries of the PASID) covering none.
void BM_QiPasidPageSelectiveAm(benchmark::State& state) {
    capacity_setup s(4096, translation_kind::first_stage);
    const auto am = static_cast<uint8_t>(state.range(0));
    std::vector<hw::inv_desc> ring;
    for (uint32_t pasid = 0; pasid < k_pasids; ++pasid) {
        ring.push_back(
            hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 1, pasid,
                                 (uint64_t{1} << 32) + (first_stage_fill_page(pasid, s.cfg.iotlb_sets) << 12), am));
    }
    run_capacity(state, s, ring);
}
BENCHMARK(BM_QiPasidPageSelectiveAm)
    ->Arg(0)
    ->Arg(4)
    ->Arg(9)
    ->Arg(12)
    ->Arg(18)
    ->Apply(iommusim::bench::iterations_from_environment);

// Domain-selective for a domain that holds entries: each iteration refills 16 first-stage entries
// of one of 64 domains (in a 1024-entry IOTLB holding the other domains' entries too) and drops them
// with a type-2 domain-selective descriptor. The figure includes the 16 fills.
void BM_QiIotlbDomainSelectiveCached(benchmark::State& state) {
    capacity_setup s(1024, translation_kind::first_stage);
    constexpr unsigned per_domain = 16;
    constexpr uint16_t domains = 64;
    auto fill_domain = [&](uint16_t did) {
        for (unsigned i = 0; i < per_domain; ++i) {
            iotlb_entry e;
            e.tag = iotlb_tag{did, 0, translation_kind::first_stage, page_level::size_4k, 0x100000 + i};
            e.payload.out_pfn = 0x20000 + i;
            s.tlb->fill(e);
        }
    };
    std::vector<hw::inv_desc> ring;
    for (uint16_t d = 0; d < domains; ++d) {
        ring.push_back(hw::make_iotlb_inv(hw::iotlb_desc::domain, static_cast<uint16_t>(2 + d)));
    }
    std::size_t i = 0;
    uint64_t dropped = 0;
    for (auto _ : state) {
        fill_domain(static_cast<uint16_t>(2 + i));
        const decode_result r = descriptor_decoder::decode(ring[i], true, s.caps);
        dropped += s.tr->invalidate(r.desc.scope);
        i = (i + 1) % ring.size();
    }
    if (dropped != uint64_t{per_domain} * state.iterations()) {
        state.SkipWithError("a domain-selective invalidation did not drop the domain's 16 entries");
    }
    state.counters["dropped_per_desc"] = per_domain;
}
BENCHMARK(BM_QiIotlbDomainSelectiveCached)->Apply(iommusim::bench::iterations_from_environment);

// ---- SystemC engine --------------------------------------------------------------------------------

constexpr uint64_t k_ring = 0x100000;
constexpr uint64_t k_status = 0x200000;
constexpr uint32_t k_entries = 256;  // QS=1, 256-bit descriptors
constexpr uint32_t k_batch = 64;

class engine_setup : public qi_host {
  public:
    engine_setup() : qi("qi", cfg, *this) {
        // As on the platform: the engine may run up to a quantum ahead of the kernel.
        tlm::tlm_global_quantum::instance().set(sc_core::sc_time(static_cast<double>(cfg.quantum_ns), sc_core::SC_NS));
        qi.write_iqt(0);
        qi.write_iqa(hw::iqa::iqa::make(k_ring >> 12) | hw::iqa::dw::make(1) | hw::iqa::qs::make(1));
        qi.set_enabled(true);
    }
    phys_mem_if& memory() override { return core.mem; }
    invalidation_target& caches() override { return core.tr; }
    unsigned active_ttm() override { return 1; }
    void set_fsts(uint32_t bits) override { fsts |= bits; }
    void raise_completion_event(uint64_t, uint32_t) override {}

    // One batch: the descriptors and a wait with status write.
    void batch(const std::vector<hw::inv_desc>& descs, uint32_t seq) {
        for (std::size_t i = 0; i <= descs.size(); ++i) {
            const hw::inv_desc d = i < descs.size() ? descs[i] : hw::make_wait(true, k_status, seq);
            core.mem.write(k_ring + uint64_t{tail} * 32, d.data(), 32);
            tail = (tail + 1) % k_entries;
        }
        qi.write_iqt(hw::iqt::qt::make(uint64_t{tail} << 1));
        sc_core::sc_start();  // runs until the engine is idle again
    }
    uint32_t status() {
        uint32_t v = 0;
        core.mem.read(k_status, &v, sizeof v);
        return v;
    }

    core_setup core;
    iommu_config cfg = bench_config();
    invalidation_queue qi;
    uint32_t fsts = 0;
    uint32_t tail = 0;
};

// SystemC elaborates once per process: the engine is built on the first run and reused.
engine_setup& engine() {
    static engine_setup* s = new engine_setup;
    return *s;
}

// Batches of `descs` and a wait; per_desc counts the wait too when count_wait.
void run_engine(benchmark::State& state, const std::vector<hw::inv_desc>& descs, bool count_wait) {
    engine_setup& s = engine();
    uint32_t seq = s.status();
    const sc_core::sc_time t0 = sc_core::sc_time_stamp();
    for (auto _ : state) {
        s.batch(descs, ++seq);
        if (s.status() != seq || s.fsts != 0) {
            state.SkipWithError("batch did not complete");
            break;
        }
    }
    if (s.core.valid() != s.core.cfg.iotlb_sets * s.core.cfg.iotlb_ways) {
        state.SkipWithError("IOTLB lost entries: the benchmark no longer measures a full IOTLB");
    }
    const double descs_done = static_cast<double>(state.iterations()) * (descs.size() + (count_wait ? 1 : 0));
    state.SetItemsProcessed(static_cast<int64_t>(descs_done));
    state.counters["per_desc"] =
        benchmark::Counter(descs_done, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["sim_ns_per_desc"] =
        (sc_core::sc_time_stamp() - t0).to_seconds() * 1e9 / (descs_done > 0 ? descs_done : 1);
}

// 64 type-6 page-selective descriptors of a PASID with nothing cached, and a wait (65 per batch).
void BM_QiBatch64WithWait(benchmark::State& state) {
    std::vector<hw::inv_desc> descs;
    for (uint32_t i = 0; i < k_batch; ++i) {
        descs.push_back(hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 1, k_pasids, uint64_t{i} << 12));
    }
    run_engine(state, descs, true);
}
BENCHMARK(BM_QiBatch64WithWait)->Apply(iommusim::bench::iterations_from_environment);

// The pair of BM_QiPasidIotlbPageSelective through the engine: the same 64 descriptors against the
// same full IOTLB, one wait per batch; per_desc is per page-selective descriptor (the wait's share
// included).
void BM_QiEnginePasidIotlbPageSelective(benchmark::State& state) {
    run_engine(state, page_selective_ring(), false);
}
BENCHMARK(BM_QiEnginePasidIotlbPageSelective)->Apply(iommusim::bench::iterations_from_environment);

}  // namespace
}  // namespace iommusim
