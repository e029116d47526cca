// The simulated system a VMM talks to: physical memory, the IOMMU (with the C++, RTL or lockstep
// IOTLB), DMA devices behind it, a simulated CPU that runs the VT-d driver, and the glue that lets a
// plain C or C++ program drive all of it through the iommufd/VFIO C API.
//
// SystemC elaborates once per process, so there is one platform per process: instance() creates it
// on first use (default configuration, or the one passed to configure() before that).
//
// Execution model: the caller's thread never runs simulation code directly. run(fn) hands fn to the
// simulated CPU thread (an SC_THREAD) and runs the SystemC kernel until fn has returned, so driver
// code inside fn may poll registers and wait in simulated time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "platform/platform_config.h"
#include "platform/traffic.h"

namespace iommusim {

namespace driver {
struct iommu_device;
class hw_bus;
class vtd_iommu;
}  // namespace driver

class platform_impl;
class lockstep_iotlb;
class iotlb_if;
class iommu;
class dma_device;
class own_device;

class platform {
  public:
    // The process-wide platform, created on first use.
    static platform& instance();
    // Sets the configuration used when the platform is created. Returns false (and changes
    // nothing) if it already exists or the configuration is invalid; `error` then says why.
    // A wave file is resolved and prepared here (platform/output_file.h: a directory gets
    // iommusim.vcd, missing directories are created); one that cannot be written is invalid.
    static bool configure(const platform_config& config, std::string* error = nullptr);
    static bool exists();
    // Attaches a user's own device model (platform/own_device.h) to the platform created later:
    // its socket is bound to the PCIe fan-in in front of the IOMMU, and it becomes the device after
    // the configured ones (device_index). Returns false (and changes nothing) once the platform
    // exists, for a device attached before, an invalid own_device_config, or a requester id another
    // device has (attached, or in the configuration); `error` then says why. The device must
    // outlive the platform (construct it in main, before the platform's first use).
    static bool attach(own_device& device, std::string* error = nullptr);
    // How many own devices are attached (before or after the platform's creation).
    static std::size_t attached_device_count();

    platform(const platform&) = delete;
    platform& operator=(const platform&) = delete;
    ~platform();

    const platform_config& config() const;

    // Runs fn on the simulated CPU thread and returns when it has finished.
    void run(const std::function<void()>& fn);
    // Names the CPU jobs run() starts while set: the C API sets the ioctl's name around each ioctl.
    // The waves show cpu.busy and cpu.ioctl for named jobs only (not for DMAs). nullptr: unnamed.
    void set_job_name(const char* name);
    // The guest edited a present page-table entry (`what`: which); the waves mark it.
    void note_guest_pte_edit(const std::string& what);
    // Simulated time in nanoseconds.
    uint64_t now_ns() const;

    // DMA devices, by index (the N of /dev/vfio/devices/vfioN): the configured ones, then the
    // attached own devices in the order they were attached.
    unsigned device_count() const;
    driver::iommu_device& device(unsigned n);
    // The index of an attached own device, or -1 for a device not attached to this platform.
    int device_index(const own_device& device) const;
    // Own device n, or nullptr when device n is a built-in one (or n is out of range).
    own_device* own_device_at(unsigned n);

    // Device n issues a DMA through the IOMMU (an own device: its dma()). Returns 0, or -EFAULT when the IOMMU faulted
    // (reason in *fault_reason, VT-d fault reason code), or -EINVAL for a bad device index.
    int dma(unsigned n, uint32_t pasid, uint64_t iova, void* buf, std::size_t len, bool is_write,
            uint8_t* fault_reason = nullptr);

    // I/O page faults of device n (ATS with PRI, docs/vtd-facts.md §10). iopf_request: the device
    // asks for the translation of iova; when it comes back granting nothing, it sends a page
    // request, and the driver's page request thread (run on the page request event) reports it
    // to the IOMMU core, i.e. to the fault object of the device's HWPT. Returns 0 when the
    // translation was there, 1 when the page request is outstanding, -EAGAIN when the unit
    // answered it at once with Success (its queue was full: ask again), -EFAULT for a
    // non-recoverable translation fault, -EINVAL for a bad index, -EOPNOTSUPP without PRI.
    // iopf_complete: the device takes its group's response (-EAGAIN while there is none); on
    // Success it asks for the translation again and, when granted, moves len bytes of buf
    // (0, or -EFAULT when the DMA faulted); still not granted, it asks again (1 as above); on
    // Invalid Request or Response Failure the access fails (-EACCES). *response_code gets the code.
    int iopf_request(unsigned n, uint32_t pasid, uint64_t iova, bool is_write);
    int iopf_complete(unsigned n, uint32_t pasid, uint64_t iova, void* buf, std::size_t len, bool is_write,
                      uint8_t* response_code = nullptr);
    // The same over every page of [iova, iova + len): the device asks for each translation, and
    // the pages it did not get make one page request group (the group of iova's page: the same
    // PRGI, LPIG on the last request, PCIe PRI), answered by one response; iopf_complete_range
    // then asks again for every page of the range before it moves the len bytes.
    int iopf_request_range(unsigned n, uint32_t pasid, uint64_t iova, std::size_t len, bool is_write);
    int iopf_complete_range(unsigned n, uint32_t pasid, uint64_t iova, void* buf, std::size_t len, bool is_write,
                            uint8_t* response_code = nullptr);

    // Built-in device n runs a seeded, self-checking random DMA stream (platform/traffic.h); an own
    // device runs none (an empty result).
    traffic_result run_traffic(unsigned n, const traffic_spec& spec);

    // Makes a host buffer part of physical memory without copying (IOMMU_IOAS_MAP of user memory).
    // Returns its physical address; unmap_user_memory releases it.
    uint64_t map_user_memory(void* host, std::size_t len);
    void unmap_user_memory(uint64_t pa);

    // The driver's view of the hardware (MMIO, memory, time). Only valid inside run().
    driver::hw_bus& bus();
    // The VT-d driver the platform probed (its queue, statistics and GCMD), for tests and benchmarks.
    driver::vtd_iommu& vtd_driver();
    // The IOMMU model and device n's DMA engine (bad n: std::out_of_range), for observation.
    iommu& iommu_model();
    dma_device& dma_engine(unsigned n);

    // Statistics of the whole platform as JSON.
    std::string stats_json() const;
    // One statistic by dotted path ("platform.walks") as end-of-run summary text; "n/a" if none.
    std::string statistic(std::string_view path) const;
    // The comparator of the C++ and RTL IOTLBs when the IOTLB is "lockstep", else nullptr.
    lockstep_iotlb* lockstep();
    // The IOTLB in use (cpp, rtl or lockstep), for its checks (protocol_violations()).
    iotlb_if& iotlb();
    // Stale-translation checker: stale cached entries used so far (the IOMMU's caches and the
    // device TLBs), and one line per recorded report naming the cache, key and time.
    uint64_t stale_hits() const;
    std::vector<std::string> stale_reports() const;
    // Fault injection (the fault-injection scenario and tests):
    // device n (built-in or own) stops answering device-TLB invalidations (ITE) until cleared.
    void set_device_tlb_unresponsive(unsigned n, bool unresponsive);
    // The driver submits one raw descriptor followed by its wait descriptor, as if a driver bug
    // had produced it; returns the driver's result (0, -EINVAL after IQE recovery, -ETIMEDOUT).
    int submit_raw_descriptor(const std::array<uint64_t, 4>& desc);
    // Hardware fault state: FSTS_REG and the number of recorded primary faults.
    uint32_t fault_status() const;
    uint64_t recorded_faults() const;
    // Device-TLB invalidation time-outs (FSTS.ITE) the driver has seen and cleared.
    uint64_t driver_ite_count() const;

    // Ends the simulation cleanly (flushes wave files). The platform stays usable for queries.
    void finish();

  private:
    explicit platform(const platform_config& config);
    std::unique_ptr<platform_impl> m_impl;
};

}  // namespace iommusim
