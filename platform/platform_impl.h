// Inside of the platform: the SystemC modules, the driver stack and the bookkeeping behind
// platform.h, which gives tests and tools the few parts they observe (driver, IOMMU, DMA engines).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "driver/iommu_ops.h"
#include "driver/page_allocator.h"
#include "driver/vtd_iommu.h"
#include "platform/cpu.h"
#include "platform/dma_device.h"
#include "platform/fan_in_bus.h"
#include "platform/own_device.h"
#include "platform/platform_config.h"
#include "platform/txn_tracer.h"
#include "tlm/iommu.h"
#include "tlm/iotlb_if.h"
#include "tlm/memory.h"
#include "tlm/stats_group.h"
#include "tlm/stats_timeline.h"

namespace iommusim {

namespace driver {
class vtd_ops;
}

// A DMA device as the iommufd core sees it: a built-in one (hw) or a user's own (own).
struct platform_device : driver::iommu_device {
    unsigned index = 0;
    dma_device* hw = nullptr;
    own_device* own = nullptr;
};

// The SystemC part, elaborated once per process.
struct platform_top : sc_core::sc_module {
    platform_top(const sc_core::sc_module_name& name, const platform_config& cfg, iotlb_if& tlb,
                 const std::vector<own_device*>& own);

    memory mem;
    fan_in_bus mem_bus;
    iommu mmu;
    fan_in_bus pcie;
    iommusim::cpu cpu;
    std::vector<std::unique_ptr<dma_device>> devices;
    std::vector<own_device*> own_devices;  // attached by the user (platform::attach), not owned
    sc_core::sc_signal<bool> irq_fault;
    sc_core::sc_signal<bool> irq_inv;
    sc_core::sc_signal<bool> irq_prq;
};

class platform_impl : public cpu::user_memory_pinner {
  public:
    platform_impl(const platform_config& cfg, const std::vector<own_device*>& own);
    ~platform_impl() override;

    const platform_config& config() const { return m_cfg; }
    platform_top& top() { return *m_top; }
    iotlb_if& iotlb() { return *m_iotlb; }
    driver::vtd_iommu& vtd() { return *m_vtd; }
    driver::iommu_ops& ops();
    std::vector<std::unique_ptr<platform_device>>& devices() { return m_devices; }
    // The device with requester id rid (Linux device_rbtree_find), nullptr when none.
    driver::iommu_device* find_device(uint16_t rid);
    txn_tracer* tracer() { return m_tracer.get(); }

    void run(const std::function<void()>& fn);
    // Inside a job: one step of device d's translation with page requests of the pages of
    // [iova, iova + len) (platform::iopf_request_range).
    int iopf_step(platform_device& d, bool has_pasid, uint32_t pasid, uint64_t iova, std::size_t len, bool is_write);
    // platform::iopf_complete(_range): the group's response, then the translation of the pages of
    // [iova, iova + retried) asked again, then the DMA of len bytes.
    int iopf_complete(unsigned n, uint32_t pasid, uint64_t iova, void* buf, std::size_t len, std::size_t retried,
                      bool is_write, uint8_t* response_code);
    // Inside a job: device d's DMA (a built-in device's transfer, or an own device's dma()), over
    // when it has completed in simulated time.
    tlm::tlm_response_status transfer(platform_device& d, bool has_pasid, uint32_t pasid, uint64_t iova, void* buf,
                                      std::size_t len, bool is_write, hw::fault_reason* reason);
    // Inside a job: device d's ATS translation of iova for the access (dma_device::translate_for_access).
    dma_device::pri_step translate_for_access(platform_device& d, bool has_pasid, uint32_t pasid, uint64_t iova,
                                              bool is_write);
    // Inside a job: device d's page request for iova's page in `group` (LPIG when `last`); true when
    // the unit answered the group at once (*code).
    bool send_page_request(platform_device& d, bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write,
                           uint16_t group, bool last, uint8_t* code);
    // A built-in device gives back the time it ran ahead (own devices never run ahead).
    void sync_device(platform_device& d);
    // Inside a job: takes device d's response to the page request for iova's group, if it has come.
    bool take_page_response(platform_device& d, bool has_pasid, uint32_t pasid, uint64_t iova, uint8_t* code);
    void set_job_name(const char* name) { m_job_name = name; }

    // cpu::user_memory_pinner
    bool pin(void* host, std::size_t len, uint64_t& pa) override;
    void unpin(uint64_t pa) override;

    // {"platform": {...}, "driver": {"qi": {...}}, "model": <the IOMMU's group>}
    const stats_group& statistics() const { return m_stats; }
    std::string stats_json() const { return m_stats.to_json(); }
    void sample_timeline();
    void finish();

  private:
    void register_statistics();
    void merge_rtl_waves(const std::string& fst);
    void write_rtl_view(const std::string& fst);
    void convert_waves_to_fst(const std::string& vcd, const std::string& fst);
    platform_config m_cfg;
    std::unique_ptr<iotlb_if> m_iotlb;
    std::unique_ptr<platform_top> m_top;
    std::unique_ptr<txn_tracer> m_tracer;
    std::unique_ptr<driver::page_allocator> m_pages;
    std::unique_ptr<driver::vtd_iommu> m_vtd;
    std::unique_ptr<driver::vtd_ops> m_ops;
    std::vector<std::unique_ptr<platform_device>> m_devices;
    std::map<uint64_t, std::size_t> m_pinned;  // pa -> length
    uint64_t m_next_user_pa;
    stats_group m_stats;
    std::unique_ptr<stats_timeline> m_timeline;  // the IOTLB's hits and misses over simulated time
    bool m_finished = false;
    const char* m_job_name = nullptr;
};

}  // namespace iommusim
