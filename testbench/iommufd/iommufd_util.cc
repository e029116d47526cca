#include "iommufd/iommufd_util.h"

#include <cerrno>

namespace iommusim::test {

int Ioctl(int fd, unsigned long request, void* arg) {
    errno = 0;
    int rc = iommusim_ioctl(fd, request, arg);
    if (rc == 0) {
        return 0;
    }
    return errno != 0 ? errno : -1;
}

int IoasAlloc(int fd, uint32_t* ioas_id) {
    iommu_ioas_alloc cmd{};
    cmd.size = sizeof(cmd);
    int err = Ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);
    if (err == 0 && ioas_id != nullptr) {
        *ioas_id = cmd.out_ioas_id;
    }
    return err;
}

int Destroy(int fd, uint32_t id) {
    iommu_destroy cmd{};
    cmd.size = sizeof(cmd);
    cmd.id = id;
    return Ioctl(fd, IOMMU_DESTROY, &cmd);
}

int IoasMap(int fd, uint32_t ioas_id, void* buf, uint64_t length, uint64_t* iova, uint32_t flags) {
    iommu_ioas_map cmd{};
    cmd.size = sizeof(cmd);
    cmd.flags = flags;
    cmd.ioas_id = ioas_id;
    cmd.user_va = reinterpret_cast<uint64_t>(buf);
    cmd.length = length;
    cmd.iova = iova != nullptr ? *iova : 0;
    int err = Ioctl(fd, IOMMU_IOAS_MAP, &cmd);
    if (err == 0 && iova != nullptr) {
        *iova = cmd.iova;
    }
    return err;
}

int IoasUnmap(int fd, uint32_t ioas_id, uint64_t iova, uint64_t length, uint64_t* out_len) {
    iommu_ioas_unmap cmd{};
    cmd.size = sizeof(cmd);
    cmd.ioas_id = ioas_id;
    cmd.iova = iova;
    cmd.length = length;
    int err = Ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);
    if (err == 0 && out_len != nullptr) {
        *out_len = cmd.length;
    }
    return err;
}

int HwptAlloc(int fd, uint32_t dev_id, uint32_t pt_id, uint32_t flags, uint32_t* out_hwpt_id, uint32_t data_type,
              const void* data, uint32_t data_len) {
    iommu_hwpt_alloc cmd{};
    cmd.size = sizeof(cmd);
    cmd.flags = flags;
    cmd.dev_id = dev_id;
    cmd.pt_id = pt_id;
    cmd.data_type = data_type;
    cmd.data_len = data_len;
    cmd.data_uptr = reinterpret_cast<uint64_t>(data);
    int err = Ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);
    if (err == 0 && out_hwpt_id != nullptr) {
        *out_hwpt_id = cmd.out_hwpt_id;
    }
    return err;
}

int HwptInvalidate(int fd, uint32_t hwpt_id, const void* reqs, uint32_t data_type, uint32_t entry_len,
                   uint32_t* entry_num) {
    iommu_hwpt_invalidate cmd{};
    cmd.size = sizeof(cmd);
    cmd.hwpt_id = hwpt_id;
    cmd.data_uptr = reinterpret_cast<uint64_t>(reqs);
    cmd.data_type = data_type;
    cmd.entry_len = entry_len;
    cmd.entry_num = *entry_num;
    int err = Ioctl(fd, IOMMU_HWPT_INVALIDATE, &cmd);
    *entry_num = cmd.entry_num;
    return err;
}

namespace {

// Writes an ioctl's result to *out when the caller asked for it (out may be null).
template <typename T, typename V>
void store_out(T* out, V value) {
    if (out != nullptr) {
        *out = static_cast<T>(value);
    }
}

}  // namespace

int GetHwInfo(int fd, uint32_t dev_id, void* data, uint32_t data_len, uint32_t* out_type, uint64_t* out_caps,
              uint32_t* out_len) {
    iommu_hw_info cmd{};
    cmd.size = sizeof(cmd);
    cmd.dev_id = dev_id;
    cmd.data_len = data_len;
    cmd.data_uptr = reinterpret_cast<uint64_t>(data);
    int err = Ioctl(fd, IOMMU_GET_HW_INFO, &cmd);
    if (err == 0) {
        store_out(out_type, cmd.out_data_type);
        store_out(out_caps, cmd.out_capabilities);
        store_out(out_len, cmd.data_len);
    }
    return err;
}

int MockDomain(int fd, uint32_t pt_id, uint32_t* stdev_id, uint32_t* hwpt_id, uint32_t* idev_id) {
    iommu_test_cmd cmd{};
    cmd.size = sizeof(cmd);
    cmd.op = IOMMU_TEST_OP_MOCK_DOMAIN;
    cmd.id = pt_id;
    int err = Ioctl(fd, IOMMU_TEST_CMD, &cmd);
    if (err == 0) {
        store_out(stdev_id, cmd.mock_domain.out_stdev_id);
        store_out(hwpt_id, cmd.mock_domain.out_hwpt_id);
        store_out(idev_id, cmd.mock_domain.out_idev_id);
    }
    return err;
}

int MockDomainFlags(int fd, uint32_t pt_id, uint32_t dev_flags, uint32_t* stdev_id, uint32_t* hwpt_id,
                    uint32_t* idev_id) {
    iommu_test_cmd cmd{};
    cmd.size = sizeof(cmd);
    cmd.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS;
    cmd.id = pt_id;
    cmd.mock_domain_flags.dev_flags = dev_flags;
    int err = Ioctl(fd, IOMMU_TEST_CMD, &cmd);
    if (err == 0) {
        store_out(stdev_id, cmd.mock_domain_flags.out_stdev_id);
        store_out(hwpt_id, cmd.mock_domain_flags.out_hwpt_id);
        store_out(idev_id, cmd.mock_domain_flags.out_idev_id);
    }
    return err;
}

int DevCheckCache(int fd, uint32_t dev_id, uint32_t cache_id, uint32_t value) {
    iommu_test_cmd cmd{};
    cmd.size = sizeof(cmd);
    cmd.op = IOMMU_TEST_OP_DEV_CHECK_CACHE;
    cmd.id = dev_id;
    cmd.check_dev_cache.id = cache_id;
    cmd.check_dev_cache.cache = value;
    return Ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

int CheckMap(int fd, uint32_t hwpt_id, uint64_t iova, uint64_t length, const void* uptr) {
    iommu_test_cmd cmd{};
    cmd.size = sizeof(cmd);
    cmd.op = IOMMU_TEST_OP_MD_CHECK_MAP;
    cmd.id = hwpt_id;
    cmd.check_map.iova = iova;
    cmd.check_map.length = length;
    cmd.check_map.uptr = reinterpret_cast<uint64_t>(uptr);
    return Ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

int MockDomainReplace(int fd, uint32_t stdev_id, uint32_t pt_id, uint32_t* out_pt_id) {
    iommu_test_cmd cmd{};
    cmd.size = sizeof(cmd);
    cmd.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
    cmd.id = stdev_id;
    cmd.mock_domain_replace.pt_id = pt_id;
    int err = Ioctl(fd, IOMMU_TEST_CMD, &cmd);
    if (err == 0 && out_pt_id != nullptr) {
        *out_pt_id = cmd.mock_domain_replace.pt_id;
    }
    return err;
}

int CheckIotlb(int fd, uint32_t hwpt_id, uint32_t iotlb_id, uint32_t value) {
    iommu_test_cmd cmd{};
    cmd.size = sizeof(cmd);
    cmd.op = IOMMU_TEST_OP_MD_CHECK_IOTLB;
    cmd.id = hwpt_id;
    cmd.check_iotlb.id = iotlb_id;
    cmd.check_iotlb.iotlb = value;
    return Ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

int SetTempMemoryLimit(int fd, uint32_t limit) {
    iommu_test_cmd cmd{};
    cmd.size = sizeof(cmd);
    cmd.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT;
    cmd.memory_limit.limit = limit;
    return Ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

int FaultQueueAlloc(int fd, uint32_t* fault_id, int* fault_fd) {
    iommu_fault_alloc cmd{};
    cmd.size = sizeof(cmd);
    int err = Ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd);
    if (err == 0) {
        *fault_id = cmd.out_fault_id;
        *fault_fd = static_cast<int>(cmd.out_fault_fd);
    }
    return err;
}

int HwptAllocIopf(int fd, uint32_t dev_id, uint32_t pt_id, uint32_t fault_id, uint32_t* out_hwpt_id, uint32_t data_type,
                  const void* data, uint32_t data_len) {
    iommu_hwpt_alloc cmd{};
    cmd.size = sizeof(cmd);
    cmd.flags = IOMMU_HWPT_FAULT_ID_VALID;
    cmd.dev_id = dev_id;
    cmd.pt_id = pt_id;
    cmd.data_type = data_type;
    cmd.data_len = data_len;
    cmd.data_uptr = reinterpret_cast<uint64_t>(data);
    cmd.fault_id = fault_id;
    int err = Ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);
    if (err == 0 && out_hwpt_id != nullptr) {
        *out_hwpt_id = cmd.out_hwpt_id;
    }
    return err;
}

int TriggerIopfRoundTrip(int fd, uint32_t dev_id, int fault_fd) {
    iommu_test_cmd cmd{};
    cmd.size = sizeof(cmd);
    cmd.op = IOMMU_TEST_OP_TRIGGER_IOPF;
    cmd.trigger_iopf.dev_id = dev_id;
    cmd.trigger_iopf.pasid = 0x1;
    cmd.trigger_iopf.grpid = 0x2;
    cmd.trigger_iopf.perm = IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE;
    cmd.trigger_iopf.addr = 0xdeadbeaf;
    int err = Ioctl(fd, IOMMU_TEST_CMD, &cmd);
    if (err != 0) {
        return err;
    }
    iommu_hwpt_pgfault fault{};
    if (iommusim_read(fault_fd, &fault, sizeof(fault)) <= 0) {
        return EIO;
    }
    iommu_hwpt_page_response response{};
    response.cookie = fault.cookie;
    response.code = IOMMUFD_PAGE_RESP_SUCCESS;
    if (iommusim_write(fault_fd, &response, sizeof(response)) <= 0) {
        return EIO;
    }
    return 0;
}

}  // namespace iommusim::test
