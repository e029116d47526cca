// A minimal VMM written only against the public iommufd/VFIO C API (<iommusim/iommusim.h>,
// <iommusim/iommufd.h>), the way QEMU's iommufd backend drives the kernel. Scenarios use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace iommusim::program {

// An API call failed unexpectedly; what() names the call and errno.
class vmm_error : public std::runtime_error {
  public:
    vmm_error(const std::string& call, int err);
    int err() const { return m_err; }

  private:
    int m_err;
};

class vmm {
  public:
    vmm();
    ~vmm();
    vmm(const vmm&) = delete;
    vmm& operator=(const vmm&) = delete;

    int iommufd() const { return m_iommufd; }

    // Receives one line per call made through this VMM (the call, its arguments and its result);
    // the program prints them with --verbose.
    void set_trace(std::function<void(const std::string&)> trace) { m_trace = std::move(trace); }

    // Opens /dev/vfio/devices/vfio<n> and binds it to this iommufd; returns the device index used
    // by the other calls.
    unsigned open_device(unsigned n);
    uint32_t dev_id(unsigned dev) const { return m_devices.at(dev).dev_id; }
    int device_fd(unsigned dev) const { return m_devices.at(dev).fd; }

    uint32_t ioas_alloc();
    void ioas_map(uint32_t ioas, void* host, std::size_t len, uint64_t iova, bool writeable = true);
    // IOMMU_IOAS_MAP_FILE: len bytes of the memfd `fd` from `start` at iova (QEMU's memfd-backed
    // guest RAM); pinning a file costs nothing per page.
    void ioas_map_file(uint32_t ioas, int fd, uint64_t start, std::size_t len, uint64_t iova, bool writeable = true);
    void ioas_unmap(uint32_t ioas, uint64_t iova, std::size_t len);
    uint32_t hwpt_alloc_nest_parent(unsigned dev, uint32_t ioas);
    // A nested HWPT over the guest's stage-1 table; a nonzero `fault_id` (a fault queue) sets
    // IOMMU_HWPT_FAULT_ID_VALID, so its page faults go to that queue.
    uint32_t hwpt_alloc_nested_vtd(unsigned dev, uint32_t parent, uint64_t s1_root_gpa, uint32_t addr_width = 48,
                                   uint64_t s1_flags = 0, uint32_t alloc_flags = 0, uint32_t fault_id = 0);
    // IOMMU_FAULT_QUEUE_ALLOC: the fault object's id and its fault fd (the caller closes the fd).
    struct fault_queue {
        uint32_t id;
        int fd;
    };
    fault_queue fault_queue_alloc();
    // Reads one struct iommu_hwpt_pgfault from the fault fd (false: none could be read); writes
    // one struct iommu_hwpt_page_response {cookie, code} (returns the errno, 0 when written).
    bool read_fault(int fault_fd, void* pgfault, std::size_t size);
    int page_response(int fault_fd, uint32_t cookie, uint32_t code);
    // A paging HWPT over `ioas` with IOMMU_HWPT_ALLOC_* `flags` (DIRTY_TRACKING: live migration).
    uint32_t hwpt_alloc_paging(unsigned dev, uint32_t ioas, uint32_t flags);
    // IOMMU_GET_HW_INFO's out_capabilities (IOMMU_HW_CAP_*) for the device.
    uint64_t hw_capabilities(unsigned dev);
    void set_dirty_tracking(uint32_t hwpt, bool enable);
    // IOMMU_HWPT_GET_DIRTY_BITMAP of [iova, iova + length) in page_size pages into `bitmap` (bit i:
    // the page at iova + i * page_size; sized by the caller); `no_clear` keeps the dirty state.
    void get_dirty_bitmap(uint32_t hwpt, uint64_t iova, uint64_t length, uint64_t page_size, bool no_clear,
                          std::vector<uint64_t>& bitmap);
    void attach(unsigned dev, uint32_t pt_id);
    // VFIO_DEVICE_ATTACH_IOMMUFD_PT with VFIO_DEVICE_ATTACH_PASID: `pt_id` on the device's `pasid`
    // (a HWPT allocated with IOMMU_HWPT_ALLOC_PASID).
    void attach_pasid(unsigned dev, uint32_t pasid, uint32_t pt_id);
    void destroy(uint32_t id);

    // One IOMMU_HWPT_INVALIDATE with VT-d stage-1 entries {addr, npages, leaf}; returns the
    // errno (0 on success) and the entry_num the kernel wrote back.
    struct inv_range {
        uint64_t addr;
        uint64_t npages;
        bool leaf;
    };
    int hwpt_invalidate(uint32_t hwpt, const std::vector<inv_range>& ranges, uint32_t* entry_num_out = nullptr);

    // DMA through the IOMMU from device `dev`. Returns 0 or the errno (EFAULT on an IOMMU fault,
    // with the VT-d fault reason in *reason).
    int dma(unsigned dev, uint64_t iova, void* buf, std::size_t len, bool is_write, uint32_t pasid = 0,
            int* reason = nullptr);

  private:
    // Traces `call` with `result`, or with the errno when err != 0; returns err.
    int note(const std::string& call, int err, const std::string& result = "ok");
    struct device {
        int fd;
        uint32_t dev_id;
    };
    std::function<void(const std::string&)> m_trace;
    int m_iommufd = -1;
    std::vector<device> m_devices;
};

}  // namespace iommusim::program
