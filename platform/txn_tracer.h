// Transaction-level waves: the platform's activity as signals on the simulated time axis, written
// to a VCD file through SystemC tracing, for GTKWave next to the RTL IOTLB signals.
//
// Signals (one group per device, then the IOMMU):
//   dev<N>.dma_valid  high while device N's DMA is in flight        dev<N>.dma_write   direction
//   dev<N>.dma_rid    requester id        dev<N>.dma_pasid (0xFFFFFFFF = no PASID)
//   dev<N>.dma_iova   input address       dev<N>.dma_fault  VT-d fault reason (0 = none)
//   dev<N>.dma_hit    the DMA hit the IOTLB (no walk)
//   iommu.iotlb_hits / iotlb_misses / walks / walk_accesses   running counters
//   iommu.faults_recorded                                      running counter
//   qi.iqh / qi.iqt / qi.desc_type / qi.waits                  queue engine state
//   irq.fault / irq.inv                                        interrupt lines
//   cpu.busy          high while the CPU runs a job (an ioctl through the driver)
#pragma once

#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "iommusim/hw/vtd_fault.h"

namespace iommusim {

class iommu;

class txn_tracer : public sc_core::sc_module {
  public:
    // Opens `path` (".vcd" appended when missing) and registers every signal. Call during
    // elaboration, before the first sc_start.
    txn_tracer(const sc_core::sc_module_name& name, const std::string& path, unsigned devices, iommu& mmu,
               sc_core::sc_signal<bool>& irq_fault, sc_core::sc_signal<bool>& irq_inv);
    ~txn_tracer() override;
    txn_tracer(const txn_tracer&) = delete;
    txn_tracer& operator=(const txn_tracer&) = delete;

    const std::string& path() const { return m_path; }

    // Called from the CPU thread around each DMA and each job.
    void dma_begin(unsigned dev, uint16_t rid, bool has_pasid, uint32_t pasid, uint64_t iova, bool write);
    void dma_end(unsigned dev, hw::fault_reason fault);
    void cpu_busy(bool busy) { m_cpu_busy.write(busy); }
    // Closes the file (end of simulation) and writes the GTKWave view <stem>.gtkw beside it:
    // groups per device, IOMMU, queue and interrupts; fault reasons and descriptor types shown by
    // name through waves/fault_reason.txt and waves/desc_type.txt (open GTKWave from the
    // repository root). `rtl_fst` (may be empty) is noted for the RTL IOTLB view.
    void close(const std::string& rtl_fst = "");
    // The view of a run that ended at end_ns of simulated time (zoomed to show all of it).
    // `active[n]`: device n did DMA (its group comes first and open).
    static std::string gtkw_for(const std::string& vcd_path, const std::vector<bool>& active,
                                const std::string& rtl_fst, double end_ns);

  private:
    struct device_signals {
        explicit device_signals(unsigned n);
        sc_core::sc_signal<bool> valid;
        sc_core::sc_signal<bool> write;
        sc_core::sc_signal<uint32_t> rid;
        sc_core::sc_signal<uint32_t> pasid;
        sc_core::sc_signal<uint64_t> iova;
        sc_core::sc_signal<uint32_t> fault;
        sc_core::sc_signal<bool> hit;
    };
    void sample_iommu();

    std::string m_path;
    sc_core::sc_trace_file* m_file = nullptr;
    iommu& m_mmu;
    std::vector<std::unique_ptr<device_signals>> m_devices;
    std::vector<bool> m_active;  // per device: did DMA
    uint64_t m_hits_before = 0;
    sc_core::sc_signal<uint64_t> m_iotlb_hits;
    sc_core::sc_signal<uint64_t> m_iotlb_misses;
    sc_core::sc_signal<uint64_t> m_walks;
    sc_core::sc_signal<uint64_t> m_walk_accesses;
    sc_core::sc_signal<uint64_t> m_faults_recorded;
    sc_core::sc_signal<bool> m_cpu_busy;
};

}  // namespace iommusim
