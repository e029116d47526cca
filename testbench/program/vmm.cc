#include "program/vmm.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "iommusim/hw/vtd_fault.h"
#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"

namespace iommusim::program {

vmm_error::vmm_error(const std::string& call, int err)
    : std::runtime_error(call + " failed: " + std::strerror(err) + " (errno " + std::to_string(err) + ")")
    , m_err(err) {}

namespace {

// Issues an ioctl and returns 0 or the errno it set.
int ioctl_errno(int fd, unsigned long request, void* arg) {
    errno = 0;
    return iommusim_ioctl(fd, request, arg) == 0 ? 0 : errno;
}

void check(const char* call, int err) {
    if (err != 0) {
        throw vmm_error(call, err);
    }
}

std::string hex(uint64_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}

}  // namespace

int vmm::note(const std::string& call, int err, const std::string& result) {
    if (m_trace) {
        m_trace(call + " -> " + (err == 0 ? result : std::string(std::strerror(err))));
    }
    return err;
}

vmm::vmm() {
    m_iommufd = iommusim_open("/dev/iommu", O_RDWR);
    if (m_iommufd < 0) {
        throw vmm_error("open(/dev/iommu)", errno);
    }
}

vmm::~vmm() {
    for (const device& d : m_devices) {
        iommusim_close(d.fd);
    }
    iommusim_close(m_iommufd);
}

unsigned vmm::open_device(unsigned n) {
    const std::string path = "/dev/vfio/devices/vfio" + std::to_string(n);
    const int fd = iommusim_open(path.c_str(), O_RDWR);
    if (fd < 0) {
        throw vmm_error("open(" + path + ")", errno);
    }
    vfio_device_bind_iommufd bind{};
    bind.argsz = sizeof(bind);
    bind.iommufd = m_iommufd;
    int err = ioctl_errno(fd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
    err = note("VFIO_DEVICE_BIND_IOMMUFD " + path + " iommufd " + std::to_string(m_iommufd), err,
               "dev_id " + std::to_string(bind.out_devid));
    if (err != 0) {
        iommusim_close(fd);
        throw vmm_error("VFIO_DEVICE_BIND_IOMMUFD", err);
    }
    m_devices.push_back({fd, bind.out_devid});
    return static_cast<unsigned>(m_devices.size() - 1);
}

uint32_t vmm::ioas_alloc() {
    iommu_ioas_alloc cmd{};
    cmd.size = sizeof(cmd);
    const int err = ioctl_errno(m_iommufd, IOMMU_IOAS_ALLOC, &cmd);
    check("IOMMU_IOAS_ALLOC", note("IOMMU_IOAS_ALLOC", err, "ioas_id " + std::to_string(cmd.out_ioas_id)));
    return cmd.out_ioas_id;
}

void vmm::ioas_map(uint32_t ioas, void* host, std::size_t len, uint64_t iova, bool writeable) {
    iommu_ioas_map cmd{};
    cmd.size = sizeof(cmd);
    cmd.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | (writeable ? IOMMU_IOAS_MAP_WRITEABLE : 0);
    cmd.ioas_id = ioas;
    cmd.user_va = reinterpret_cast<uintptr_t>(host);
    cmd.length = len;
    cmd.iova = iova;
    check("IOMMU_IOAS_MAP", note("IOMMU_IOAS_MAP ioas " + std::to_string(ioas) + " iova " + hex(iova) + " length " +
                                     hex(len) + (writeable ? " rw" : " ro"),
                                 ioctl_errno(m_iommufd, IOMMU_IOAS_MAP, &cmd)));
}

void vmm::ioas_map_file(uint32_t ioas, int fd, uint64_t start, std::size_t len, uint64_t iova, bool writeable) {
    iommu_ioas_map_file cmd{};
    cmd.size = sizeof(cmd);
    cmd.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | (writeable ? IOMMU_IOAS_MAP_WRITEABLE : 0);
    cmd.ioas_id = ioas;
    cmd.fd = fd;
    cmd.start = start;
    cmd.length = len;
    cmd.iova = iova;
    check("IOMMU_IOAS_MAP_FILE",
          note("IOMMU_IOAS_MAP_FILE ioas " + std::to_string(ioas) + " fd " + std::to_string(fd) + " start " +
                   hex(start) + " iova " + hex(iova) + " length " + hex(len) + (writeable ? " rw" : " ro"),
               ioctl_errno(m_iommufd, IOMMU_IOAS_MAP_FILE, &cmd)));
}

void vmm::ioas_unmap(uint32_t ioas, uint64_t iova, std::size_t len) {
    iommu_ioas_unmap cmd{};
    cmd.size = sizeof(cmd);
    cmd.ioas_id = ioas;
    cmd.iova = iova;
    cmd.length = len;
    check("IOMMU_IOAS_UNMAP",
          note("IOMMU_IOAS_UNMAP ioas " + std::to_string(ioas) + " iova " + hex(iova) + " length " + hex(len),
               ioctl_errno(m_iommufd, IOMMU_IOAS_UNMAP, &cmd)));
}

uint32_t vmm::hwpt_alloc_nest_parent(unsigned dev, uint32_t ioas) {
    iommu_hwpt_alloc cmd{};
    cmd.size = sizeof(cmd);
    cmd.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
    cmd.dev_id = dev_id(dev);
    cmd.pt_id = ioas;
    const int err = ioctl_errno(m_iommufd, IOMMU_HWPT_ALLOC, &cmd);
    check("IOMMU_HWPT_ALLOC(nest parent)",
          note("IOMMU_HWPT_ALLOC NEST_PARENT dev_id " + std::to_string(cmd.dev_id) + " pt_id " + std::to_string(ioas),
               err, "hwpt_id " + std::to_string(cmd.out_hwpt_id)));
    return cmd.out_hwpt_id;
}

uint32_t vmm::hwpt_alloc_paging(unsigned dev, uint32_t ioas, uint32_t flags) {
    iommu_hwpt_alloc cmd{};
    cmd.size = sizeof(cmd);
    cmd.flags = flags;
    cmd.dev_id = dev_id(dev);
    cmd.pt_id = ioas;
    const int err = ioctl_errno(m_iommufd, IOMMU_HWPT_ALLOC, &cmd);
    check("IOMMU_HWPT_ALLOC(paging)", note("IOMMU_HWPT_ALLOC flags " + hex(flags) + " dev_id " +
                                               std::to_string(cmd.dev_id) + " pt_id " + std::to_string(ioas),
                                           err, "hwpt_id " + std::to_string(cmd.out_hwpt_id)));
    return cmd.out_hwpt_id;
}

uint64_t vmm::hw_capabilities(unsigned dev) {
    iommu_hw_info cmd{};
    cmd.size = sizeof(cmd);
    cmd.dev_id = dev_id(dev);
    const int err = ioctl_errno(m_iommufd, IOMMU_GET_HW_INFO, &cmd);
    check("IOMMU_GET_HW_INFO", note("IOMMU_GET_HW_INFO dev_id " + std::to_string(cmd.dev_id), err,
                                    "out_capabilities " + hex(cmd.out_capabilities)));
    return cmd.out_capabilities;
}

void vmm::set_dirty_tracking(uint32_t hwpt, bool enable) {
    iommu_hwpt_set_dirty_tracking cmd{};
    cmd.size = sizeof(cmd);
    cmd.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0;
    cmd.hwpt_id = hwpt;
    const int err = ioctl_errno(m_iommufd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
    check(
        "IOMMU_HWPT_SET_DIRTY_TRACKING",
        note("IOMMU_HWPT_SET_DIRTY_TRACKING hwpt_id " + std::to_string(hwpt) + (enable ? " ENABLE" : " disable"), err));
}

void vmm::get_dirty_bitmap(uint32_t hwpt, uint64_t iova, uint64_t length, uint64_t page_size, bool no_clear,
                           std::vector<uint64_t>& bitmap) {
    iommu_hwpt_get_dirty_bitmap cmd{};
    cmd.size = sizeof(cmd);
    cmd.hwpt_id = hwpt;
    cmd.flags = no_clear ? IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR : 0;
    cmd.iova = iova;
    cmd.length = length;
    cmd.page_size = page_size;
    cmd.data = reinterpret_cast<uintptr_t>(bitmap.data());
    const int err = ioctl_errno(m_iommufd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
    check("IOMMU_HWPT_GET_DIRTY_BITMAP", note("IOMMU_HWPT_GET_DIRTY_BITMAP hwpt_id " + std::to_string(hwpt) + " iova " +
                                                  hex(iova) + " length " + hex(length) + (no_clear ? " NO_CLEAR" : ""),
                                              err));
}

uint32_t vmm::hwpt_alloc_nested_vtd(unsigned dev, uint32_t parent, uint64_t s1_root_gpa, uint32_t addr_width,
                                    uint64_t s1_flags, uint32_t alloc_flags, uint32_t fault_id) {
    iommu_hwpt_vtd_s1 data{};
    data.flags = s1_flags;
    data.pgtbl_addr = s1_root_gpa;
    data.addr_width = addr_width;
    iommu_hwpt_alloc cmd{};
    cmd.size = sizeof(cmd);
    cmd.flags = alloc_flags | (fault_id != 0 ? uint32_t{IOMMU_HWPT_FAULT_ID_VALID} : 0);
    cmd.dev_id = dev_id(dev);
    cmd.pt_id = parent;
    cmd.fault_id = fault_id;
    cmd.data_type = IOMMU_HWPT_DATA_VTD_S1;
    cmd.data_len = sizeof(data);
    cmd.data_uptr = reinterpret_cast<uintptr_t>(&data);
    const int err = ioctl_errno(m_iommufd, IOMMU_HWPT_ALLOC, &cmd);
    check("IOMMU_HWPT_ALLOC(nested VT-d)",
          note("IOMMU_HWPT_ALLOC VTD_S1 dev_id " + std::to_string(cmd.dev_id) + " parent " + std::to_string(parent) +
                   " pgtbl " + hex(s1_root_gpa) + " addr_width " + std::to_string(addr_width) +
                   (fault_id != 0 ? " fault_id " + std::to_string(fault_id) : std::string()),
               err, "hwpt_id " + std::to_string(cmd.out_hwpt_id)));
    return cmd.out_hwpt_id;
}

vmm::fault_queue vmm::fault_queue_alloc() {
    iommu_fault_alloc cmd{};
    cmd.size = sizeof(cmd);
    const int err = ioctl_errno(m_iommufd, IOMMU_FAULT_QUEUE_ALLOC, &cmd);
    check("IOMMU_FAULT_QUEUE_ALLOC",
          note("IOMMU_FAULT_QUEUE_ALLOC", err,
               "fault_id " + std::to_string(cmd.out_fault_id) + " fault fd " + std::to_string(cmd.out_fault_fd)));
    return {cmd.out_fault_id, static_cast<int>(cmd.out_fault_fd)};
}

bool vmm::read_fault(int fault_fd, void* pgfault, std::size_t size) {
    const ssize_t n = iommusim_read(fault_fd, pgfault, size);
    note("read(fault fd) " + std::to_string(size) + " bytes",
         n == static_cast<ssize_t>(size) ? 0 : (n < 0 ? errno : EIO), std::to_string(n) + " bytes");
    return n == static_cast<ssize_t>(size);
}

int vmm::page_response(int fault_fd, uint32_t cookie, uint32_t code) {
    const iommu_hwpt_page_response resp{cookie, code};
    const ssize_t n = iommusim_write(fault_fd, &resp, sizeof resp);
    const int err = n == static_cast<ssize_t>(sizeof resp) ? 0 : (n < 0 ? errno : EIO);
    return note("write(fault fd) page response cookie " + std::to_string(cookie) + " code " + std::to_string(code),
                err);
}

void vmm::attach(unsigned dev, uint32_t pt_id) {
    vfio_device_attach_iommufd_pt cmd{};
    cmd.argsz = sizeof(cmd);
    cmd.pt_id = pt_id;
    check(
        "VFIO_DEVICE_ATTACH_IOMMUFD_PT",
        note("VFIO_DEVICE_ATTACH_IOMMUFD_PT dev_id " + std::to_string(dev_id(dev)) + " pt_id " + std::to_string(pt_id),
             ioctl_errno(m_devices.at(dev).fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd)));
}

void vmm::attach_pasid(unsigned dev, uint32_t pasid, uint32_t pt_id) {
    vfio_device_attach_iommufd_pt cmd{};
    cmd.argsz = sizeof(cmd);
    cmd.flags = VFIO_DEVICE_ATTACH_PASID;
    cmd.pt_id = pt_id;
    cmd.pasid = pasid;
    check("VFIO_DEVICE_ATTACH_IOMMUFD_PT(PASID)",
          note("VFIO_DEVICE_ATTACH_IOMMUFD_PT dev_id " + std::to_string(dev_id(dev)) + " PASID " +
                   std::to_string(pasid) + " pt_id " + std::to_string(pt_id),
               ioctl_errno(m_devices.at(dev).fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd)));
}

void vmm::destroy(uint32_t id) {
    iommu_destroy cmd{};
    cmd.size = sizeof(cmd);
    cmd.id = id;
    check("IOMMU_DESTROY", note("IOMMU_DESTROY " + std::to_string(id), ioctl_errno(m_iommufd, IOMMU_DESTROY, &cmd)));
}

int vmm::hwpt_invalidate(uint32_t hwpt, const std::vector<inv_range>& ranges, uint32_t* entry_num_out) {
    std::vector<iommu_hwpt_vtd_s1_invalidate> entries(ranges.size());
    for (size_t i = 0; i < ranges.size(); ++i) {
        entries[i] = {};
        entries[i].addr = ranges[i].addr;
        entries[i].npages = ranges[i].npages;
        entries[i].flags = ranges[i].leaf ? IOMMU_VTD_INV_FLAGS_LEAF : 0;
    }
    iommu_hwpt_invalidate cmd{};
    cmd.size = sizeof(cmd);
    cmd.hwpt_id = hwpt;
    cmd.data_uptr = reinterpret_cast<uintptr_t>(entries.data());
    cmd.data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1;
    cmd.entry_len = sizeof(iommu_hwpt_vtd_s1_invalidate);
    cmd.entry_num = static_cast<uint32_t>(entries.size());
    const int err = ioctl_errno(m_iommufd, IOMMU_HWPT_INVALIDATE, &cmd);
    if (m_trace) {
        std::string call = "IOMMU_HWPT_INVALIDATE hwpt " + std::to_string(hwpt) + ":";
        for (const inv_range& r : ranges) {
            call += " {" + hex(r.addr) + " x" + std::to_string(r.npages) + (r.leaf ? " leaf}" : "}");
        }
        note(call, err, "ok, entry_num " + std::to_string(cmd.entry_num));
    }
    if (entry_num_out) {
        *entry_num_out = cmd.entry_num;
    }
    return err;
}

int vmm::dma(unsigned dev, uint64_t iova, void* buf, std::size_t len, bool is_write, uint32_t pasid, int* reason) {
    errno = 0;
    const int fd = m_devices.at(dev).fd;
    const bool ok = iommusim_dma(fd, pasid, iova, buf, len, is_write ? 1 : 0) == 0;
    const int err = ok ? 0 : errno;
    const int fault = ok ? 0 : iommusim_last_fault(fd);
    if (reason && !ok) {
        *reason = fault;
    }
    if (m_trace) {
        const std::string call = std::string("DMA dev_id ") + std::to_string(dev_id(dev)) +
                                 (is_write ? " write " : " read ") + std::to_string(len) + " bytes at " + hex(iova) +
                                 (pasid ? " pasid " + std::to_string(pasid) : std::string());
        m_trace(call + " -> " +
                (ok ? std::string("ok")
                    : std::string(std::strerror(err)) + ", fault reason " + hex(static_cast<unsigned>(fault)) + " (" +
                          std::string(hw::fault_reason_name(static_cast<hw::fault_reason>(fault))) + ")"));
    }
    return err;
}

}  // namespace iommusim::program
