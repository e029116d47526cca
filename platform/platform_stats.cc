// The platform's statistics: its own, the driver's queue and the model's group in one group
// ({"platform": {...}, "driver": {"qi": {...}}, "model": {...}}), and the IOTLB timeline.
#include <utility>

#include "driver/vtd_ops.h"
#include "platform/platform_impl.h"
#include "rtl/lockstep_iotlb.h"

namespace iommusim {

void platform_impl::register_statistics() {
    const stats_group& model = m_top->mmu.statistics_group();
    auto model_counter = [&model](const char* path) {
        return [&model, path] { return model.counter_at(path).value_or(0); };
    };
    stats_group& own = m_stats.subgroup("platform", "the virtual platform");
    own.value("simulated_ns", "simulated time",
              [] { return static_cast<uint64_t>(sc_core::sc_time_stamp().to_seconds() * 1e9); });
    own.text("iotlb", "IOTLB implementation", [this] { return std::string(m_iotlb->name()); });
    own.json("lockstep", "the lockstep comparator",
             [this] { return dynamic_cast<const lockstep_iotlb&>(*m_iotlb).to_json(); })
        .only_if([this] { return dynamic_cast<const lockstep_iotlb*>(m_iotlb.get()) != nullptr; });
    own.value("iotlb_protocol_violations", "RTL IOTLB port-contract violations (rtl/iotlb_protocol_checker.h)",
              [this] { return m_iotlb->protocol_violations(); })
        .only_if([this] { return m_iotlb->name() != "iotlb"; });
    own.real("iotlb_hit_rate", "IOTLB hits per lookup", [&model] {
        const uint64_t hits = model.counter_at("translation.iotlb_hits").value_or(0);
        const uint64_t lookups = hits + model.counter_at("translation.iotlb_misses").value_or(0);
        return lookups ? static_cast<double>(hits) / static_cast<double>(lookups) : 0.0;
    });
    own.value("walks", "page walks", model_counter("translation.walks"));
    own.value("walk_memory_accesses", "memory accesses of walks", model_counter("translation.walk_accesses"));
    own.value("stale_hits", "stale cached entries used: the IOMMU's caches and the device TLBs", [this, &model] {
        uint64_t n = model.counter_at("translation.stale_hits").value_or(0);
        for (const auto& d : m_top->devices) {
            n += d->atc() ? d->atc()->statistics().stale_hits : 0;
        }
        return n;
    });

    // Invalidation latency: IQT write to wait completion, exact nearest-rank percentiles of every
    // sample and the log2 buckets (upper bounds) for the picture.
    using histogram = invalidation_queue_stats::histogram;
    const histogram& h = m_top->mmu.queue().stats().iqt_to_wait_ns;
    stats_group& latency = own.subgroup("invalidation_latency_ns", "IQT write to wait completion");
    latency.counter("samples", "latencies recorded", h.samples);
    latency.counter("min", "smallest", h.min_ns);
    latency.counter("max", "largest", h.max_ns);
    latency.value("mean", "mean (rounded down)", [&h] { return h.samples ? h.sum_ns / h.samples : 0; });
    latency.value("p50", "median (nearest rank)", [&h] { return h.percentile_ns(50); });
    latency.value("p99", "99th percentile (nearest rank)", [&h] { return h.percentile_ns(99); });
    latency.records(
        "buckets", "log2 buckets that counted latencies", [] { return std::size_t{histogram::buckets}; },
        [&h](std::size_t i, stats_group& bucket) {
            bucket.value("le_ns", "largest latency the bucket counts",
                         [i] { return histogram::bucket_upper_bound_ns(static_cast<unsigned>(i)); });
            bucket.counter("count", "latencies in the bucket", h.counts[i]);
            return h.counts[i] != 0;
        });

    m_timeline = std::make_unique<stats_timeline>(
        model,
        std::vector<std::pair<std::string, std::string>>{{"iotlb_hits", "translation.iotlb_hits"},
                                                         {"iotlb_misses", "translation.iotlb_misses"}},
        m_cfg.timeline_interval_ns);
    m_timeline->register_stats(own, "timeline", "IOTLB hits and misses over simulated time");

    own.records(
        "devices", "DMA devices", [this] { return m_top->devices.size(); },
        [this](std::size_t i, stats_group& device) {
            dma_device& d = *m_top->devices[i];
            const dma_device::stats& s = d.statistics();
            device.value("rid", "requester id", [this, i] { return uint64_t{m_cfg.devices[i].rid}; });
            device.counter("transfers", "DMA transfers", s.transfers);
            device.counter("bytes", "bytes transferred", s.bytes);
            device.counter("faults", "transfers ended with an error", s.faults);
            device.counter("target_aborts", "of those, refused by memory", s.target_aborts);
            device.counter("dmi_accesses", "chunks through a DMI pointer", s.dmi_accesses);
            device.counter("ats_translations", "ATS translations received", s.ats_translations);
            device.counter("page_requests", "page requests sent (PRI)", s.page_requests);
            device.counter("page_responses", "page group responses received", s.page_responses);
            device.counter("page_request_retries", "translations asked again after a Success response",
                           s.page_request_retries);
            device.counter("retries_granted", "of those, granting the access", s.retries_granted);
            device.counter("page_request_failures", "groups answered Invalid Request or Response Failure",
                           s.page_request_failures);
            device.value("atc_invalidations", "device-TLB invalidations received",
                         [&d] { return static_cast<uint64_t>(d.atc() ? d.atc()->requests().size() : 0); });
            device.value("atc_hits", "device-TLB hits the device used",
                         [&d] { return d.atc() ? d.atc()->statistics().hits : uint64_t{0}; });
            device.value("atc_stale_hits", "device-TLB hits on entries a completed invalidation covered",
                         [&d] { return d.atc() ? d.atc()->statistics().stale_hits : uint64_t{0}; });
            return true;
        });
    stats_group& cpu = own.subgroup("cpu", "the driver's CPU");
    cpu.value("mmio_accesses", "register accesses", [this] { return m_top->cpu.mmio_accesses(); });
    cpu.value("memory_accesses", "memory accesses", [this] { return m_top->cpu.mem_accesses(); });
    stats_group& mem = own.subgroup("memory", "system memory");
    mem.value("errors", "accesses refused", [this] { return m_top->mem.statistics().errors; });
    mem.value("host_faults", "accesses to adopted memory the process gave up",
              [this] { return m_top->mem.store().host_faults(); });

    const driver::qi_stats& q = m_vtd->qi().stats();
    stats_group& driver_qi = m_stats.subgroup("driver", "the VT-d driver").subgroup("qi", "queued invalidation");
    driver_qi.counter("batches", "batches submitted", q.batches);
    driver_qi.counter("descriptors", "descriptors submitted", q.descriptors);
    driver_qi.counter("wait_ns_total", "time from the first IQT write to completion, summed", q.wait_ns_total);
    driver_qi.counter("wait_ns_max", "longest such time", q.wait_ns_max);
    driver_qi.counter("full_waits", "polls for a free ring slot", q.full_waits);
    driver_qi.counter("iqe", "queue errors recovered", q.iqe);
    driver_qi.counter("ite", "device-TLB time-outs", q.ite);
    driver_qi.counter("ice", "completion errors cleared", q.ice);
    driver_qi.counter("timeouts", "batches given up", q.timeouts);

    m_stats.add(model, "model");
}

}  // namespace iommusim
