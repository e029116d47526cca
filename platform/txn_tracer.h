// Transaction-level waves: the platform's activity as signals on the simulated time axis, written
// to a VCD file (platform/vcd_writer.h) with every event at the simulated time it happens, for
// GTKWave next to the RTL IOTLB signals.
//
// Signals (one group per device, named like its device file, then the IOMMU):
//   vfio<N>.dma_valid  high while device N's DMA is in flight        vfio<N>.dma_write   direction
//   vfio<N>.dma_rid    requester id        vfio<N>.dma_pasid (0xFFFFFFFF = no PASID)
//   vfio<N>.dma_iova   input address        vfio<N>.dma_seq  DMAs started so far (back-to-back
//                      DMAs keep dma_valid high; dma_seq steps at each one's start)
//   vfio<N>.dma_hit    from the IOTLB lookup to the end of the DMA: every piece hit (valid only
//                      while dma_valid; 0 otherwise)
//   vfio<N>.dma_fault  VT-d fault reason from the faulting translation to the end of the DMA
//   iommu.iotlb_hits / iotlb_misses / walks   running counters, stepping at each IOTLB lookup
//   iommu.walk_accesses                       running counter, stepping at each page-table access
//   iommu.walk_addr / walk_stage / walk_level the walk's last memory access: address, table
//                      (tlm/page_walker.h walk_stage: 1 root .. 6 second stage, 7 A/D update) and
//                      level (5..1 for paging entries, 0 for root/context/PASID structures)
//   iommu.faults_recorded                     running counter, sampled at the end of each DMA
//   vfio<N>.pr_pending high from the device's page request (PRI) to its group's response
//   vfio<N>.pr_page    the page the last page request asked for
//   vfio<N>.pr_response the response's code by name (Success, Invalid_Request, Response_Failure),
//                      for 1 ns at its arrival (text)
//   vfio<N>.pr_retry   high while the translation asked again after a Success response is in
//                      flight; vfio<N>.pr_retry_ok whether that retry granted the access
//   prq.pqt / prq.requests  the page request queue's tail and the descriptors the unit wrote
//   qi.iqh / qi.iqt / qi.desc_type / qi.waits queue engine state (desc_type 9: a page group response)
//   irq.fault / irq.inv / irq.prq             interrupt lines (irq.prq: the page request event)
//   cpu.busy           high while the CPU runs an ioctl through the driver; cpu.ioctl its name
//   guest.pte_edit     the guest's edit of a present page-table entry, for 1 ns (text)
#pragma once

#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "iommusim/hw/vtd_fault.h"
#include "platform/dma_device.h"
#include "platform/vcd_writer.h"
#include "tlm/iommu.h"

namespace iommusim {

class txn_tracer : public sc_core::sc_module, public iommu_observer, public dma_observer, public queue_wave_observer {
  public:
    // Opens `path` (".vcd" appended when missing) for the devices with requester ids `rids`,
    // registers every signal and observes `mmu` and `devices`. Call during elaboration.
    SC_HAS_PROCESS(txn_tracer);
    txn_tracer(const sc_core::sc_module_name& name, const std::string& path, const std::vector<uint16_t>& rids,
               iommu& mmu, std::vector<std::unique_ptr<dma_device>>& devices, sc_core::sc_signal<bool>& irq_fault,
               sc_core::sc_signal<bool>& irq_inv, sc_core::sc_signal<bool>& irq_prq);
    ~txn_tracer() override;
    txn_tracer(const txn_tracer&) = delete;
    txn_tracer& operator=(const txn_tracer&) = delete;

    const std::string& path() const { return m_path; }
    // Simulated time (ps) of the first DMA's start, 0 when there was none.
    uint64_t first_dma_ps() const { return m_first_dma_ps == UINT64_MAX ? 0 : m_first_dma_ps; }

    // Around each named CPU job (an ioctl): cpu.busy and cpu.ioctl.
    void job_started(const std::string& name);
    void job_finished();
    // The guest edited a present page-table entry (`what` says which).
    void guest_pte_edit(const std::string& what);
    // Writes what no later event can precede (called between CPU jobs).
    void flush();
    // Closes the file (end of simulation) and writes the GTKWave view <stem>.gtkw beside it:
    // groups per device, IOMMU, queue and interrupts; fault reasons, walk stages and descriptor
    // types shown by name through the filter files in `filter_dir`. `rtl_fst` (may be empty) is
    // noted for the RTL IOTLB view. `view_dump` (default: path()) is the file the view opens, when
    // the VCD is converted afterwards. Returns "" or what could not be written.
    std::string close(const std::string& rtl_fst = "", const std::string& view_dump = "");

    // The view of a wave file whose activity spans [begin_ps, end_ps]: opens zoomed to it.
    // `active[n]`: device n did DMA (its group comes first and open). `filter_dir`: where the
    // translate filters are (an absolute path, or relative to the view's directory).
    static std::string gtkw_for(const std::string& vcd_path, const std::vector<bool>& active,
                                const std::string& rtl_fst, uint64_t begin_ps, uint64_t end_ps,
                                const std::string& filter_dir);
    // Where the view's translate filters are: IOMMUSIM_WAVES_FILTERS, else the installed share
    // directory when it has them, else the source tree's waves/ (absolute paths).
    static std::string filter_dir();

    // iommu_observer
    void translated(bool looked_up, sc_core::sc_time at, sc_core::sc_time done, uint16_t rid, bool hit, bool walked,
                    hw::fault_reason fault) override;
    void walk_access(sc_core::sc_time at, uint64_t pa, walk_stage stage, unsigned level) override;
    void page_request_queued(sc_core::sc_time at, uint64_t pqt) override;
    // dma_observer
    void dma_started(unsigned device, uint16_t rid, bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write,
                     sc_core::sc_time at) override;
    void dma_finished(unsigned device, hw::fault_reason fault, sc_core::sc_time at) override;
    void page_request_sent(unsigned device, uint64_t page, sc_core::sc_time at) override;
    void page_response_received(unsigned device, uint8_t code, sc_core::sc_time at) override;
    void translation_retried(unsigned device, uint64_t page, bool granted, sc_core::sc_time at,
                             sc_core::sc_time done) override;

  private:
    struct device_signals {
        unsigned valid, write, rid, pasid, iova, hit, fault, seq;
        unsigned pr_pending, pr_page, pr_response, pr_retry, pr_retry_ok;
        uint64_t count = 0;
        bool in_flight = false;
        bool all_hit = true;
        bool looked_up = false;
    };
    void sample_irqs();
    // queue_wave_observer: the queue engine's state at its own time.
    void queue_state_changed(sc_core::sc_time at, const queue_wave_state& state) override;
    static uint64_t ps(sc_core::sc_time t);

    std::string m_path;
    iommu& m_mmu;
    std::vector<std::unique_ptr<dma_device>>& m_dma_devices;
    sc_core::sc_signal<bool>& m_irq_fault_line;
    sc_core::sc_signal<bool>& m_irq_inv_line;
    sc_core::sc_signal<bool>& m_irq_prq_line;
    vcd_writer m_vcd;
    std::vector<uint16_t> m_rids;
    std::vector<device_signals> m_devices;
    std::vector<bool> m_active;  // per device: did DMA
    unsigned m_iotlb_hits, m_iotlb_misses, m_walks, m_walk_accesses, m_faults_recorded;
    unsigned m_walk_addr, m_walk_stage, m_walk_level;
    unsigned m_iqh, m_iqt, m_desc_type, m_waits, m_irq_fault, m_irq_inv, m_cpu_busy, m_cpu_ioctl, m_pte_edit;
    unsigned m_prq_pqt, m_prq_requests, m_irq_prq;
    uint64_t m_hits = 0, m_misses = 0, m_walk_count = 0, m_accesses = 0, m_page_requests = 0;
    uint64_t m_first_dma_ps = UINT64_MAX;
};

}  // namespace iommusim
