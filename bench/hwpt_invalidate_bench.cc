// BM_HwptInvalidateIoctl64: one IOMMU_HWPT_INVALIDATE with 64 VT-d stage-1 entries, end to end
// through the C API, the iommufd core, the VT-d driver (descriptors, queue, wait) and the IOMMU
// model. Reports host time per entry and simulated time per ioctl.
#include <benchmark/benchmark.h>
#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "iommusim/hw/vtd_pte.h"
#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"
#include "platform/platform.h"

namespace {

constexpr uint64_t page = 4096;
constexpr uint64_t gpa_base = 0x100000;
constexpr unsigned guest_pages = 8;
constexpr uint64_t guest_iova = 0x40000000;
constexpr unsigned entries = 64;

struct setup {
    int fd = -1;
    int vfio = -1;
    uint32_t nested = 0;
    uint8_t* guest = nullptr;
    bool ok = false;

    static int ioctl(int fd, unsigned long req, void* arg) { return iommusim_ioctl(fd, req, arg) == 0 ? 0 : errno; }

    void put(unsigned table, unsigned index, uint64_t target) {
        using namespace iommusim::hw;
        uint64_t e = fs_pte::p::make(1) | fs_pte::rw::make(1) | fs_pte::us::make(1) | fs_pte::addr::make(target >> 12);
        std::memcpy(guest + table * page + index * 8, &e, 8);
    }

    setup() {
        guest = static_cast<uint8_t*>(std::aligned_alloc(page, guest_pages * page));
        std::memset(guest, 0, guest_pages * page);
        using iommusim::hw::pt_index;
        put(0, pt_index(guest_iova, 4), gpa_base + 1 * page);
        put(1, pt_index(guest_iova, 3), gpa_base + 2 * page);
        put(2, pt_index(guest_iova, 2), gpa_base + 3 * page);
        for (unsigned i = 0; i < entries; ++i) {
            put(3, pt_index(guest_iova + i * page, 1), gpa_base + 4 * page);
        }
        fd = iommusim_open("/dev/iommu", O_RDWR);
        vfio = iommusim_open("/dev/vfio/devices/vfio0", O_RDWR);
        vfio_device_bind_iommufd bind{};
        bind.argsz = sizeof(bind);
        bind.iommufd = fd;
        iommu_ioas_alloc ioas{};
        ioas.size = sizeof(ioas);
        if (fd < 0 || vfio < 0 || ioctl(vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind) || ioctl(fd, IOMMU_IOAS_ALLOC, &ioas)) {
            return;
        }
        iommu_ioas_map map{};
        map.size = sizeof(map);
        map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
        map.ioas_id = ioas.out_ioas_id;
        map.user_va = reinterpret_cast<uint64_t>(guest);
        map.length = guest_pages * page;
        map.iova = gpa_base;
        iommu_hwpt_alloc parent{};
        parent.size = sizeof(parent);
        parent.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
        parent.dev_id = bind.out_devid;
        parent.pt_id = ioas.out_ioas_id;
        if (ioctl(fd, IOMMU_IOAS_MAP, &map) || ioctl(fd, IOMMU_HWPT_ALLOC, &parent)) {
            return;
        }
        iommu_hwpt_vtd_s1 s1{};
        s1.pgtbl_addr = gpa_base;
        s1.addr_width = 48;
        iommu_hwpt_alloc alloc{};
        alloc.size = sizeof(alloc);
        alloc.dev_id = bind.out_devid;
        alloc.pt_id = parent.out_hwpt_id;
        alloc.data_type = IOMMU_HWPT_DATA_VTD_S1;
        alloc.data_len = sizeof(s1);
        alloc.data_uptr = reinterpret_cast<uint64_t>(&s1);
        vfio_device_attach_iommufd_pt attach{};
        attach.argsz = sizeof(attach);
        if (ioctl(fd, IOMMU_HWPT_ALLOC, &alloc)) {
            return;
        }
        attach.pt_id = alloc.out_hwpt_id;
        if (ioctl(vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach)) {
            return;
        }
        nested = alloc.out_hwpt_id;
        ok = true;
    }
};

void BM_HwptInvalidateIoctl64(benchmark::State& state) {
    static setup s;
    if (!s.ok) {
        state.SkipWithError("platform set-up failed");
        return;
    }
    iommu_hwpt_vtd_s1_invalidate inv[entries] = {};
    for (unsigned i = 0; i < entries; ++i) {
        inv[i].addr = guest_iova + i * page;
        inv[i].npages = 1;
    }
    iommu_hwpt_invalidate cmd{};
    cmd.size = sizeof(cmd);
    cmd.hwpt_id = s.nested;
    cmd.data_uptr = reinterpret_cast<uint64_t>(inv);
    cmd.data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1;
    cmd.entry_len = sizeof(inv[0]);
    const uint64_t sim_start = iommusim::platform::instance().now_ns();
    for (auto _ : state) {
        cmd.entry_num = entries;
        if (iommusim_ioctl(s.fd, IOMMU_HWPT_INVALIDATE, &cmd) != 0 || cmd.entry_num != entries) {
            state.SkipWithError("IOMMU_HWPT_INVALIDATE failed");
            break;
        }
    }
    const double iters = static_cast<double>(state.iterations());
    state.SetItemsProcessed(state.iterations() * entries);
    state.counters["host_time_per_entry"] =
        benchmark::Counter(iters * entries, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    if (iters > 0) {
        state.counters["sim_ns_per_ioctl"] =
            static_cast<double>(iommusim::platform::instance().now_ns() - sim_start) / iters;
    }
}
BENCHMARK(BM_HwptInvalidateIoctl64);

// The same ioctl on the selftest mock nested domain: the cost of the C API, the dispatcher, the
// object lookup and the per-entry user copies, without a driver or hardware behind it.
void BM_HwptInvalidateIoctlMock64(benchmark::State& state) {
    const int fd = iommusim_open("/dev/iommu", O_RDWR);
    iommu_ioas_alloc ioas{};
    ioas.size = sizeof(ioas);
    iommu_test_cmd mock{};
    mock.size = sizeof(mock);
    mock.op = IOMMU_TEST_OP_MOCK_DOMAIN;
    if (fd < 0 || setup::ioctl(fd, IOMMU_IOAS_ALLOC, &ioas) != 0) {
        state.SkipWithError("context set-up failed");
        return;
    }
    mock.id = ioas.out_ioas_id;
    iommu_hwpt_alloc parent{};
    parent.size = sizeof(parent);
    parent.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
    parent.pt_id = ioas.out_ioas_id;
    iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
    iommu_hwpt_alloc nested{};
    nested.size = sizeof(nested);
    nested.data_type = IOMMU_HWPT_DATA_SELFTEST;
    nested.data_len = sizeof(data);
    nested.data_uptr = reinterpret_cast<uint64_t>(&data);
    if (setup::ioctl(fd, IOMMU_TEST_CMD, &mock) != 0) {
        state.SkipWithError("mock domain failed");
        return;
    }
    parent.dev_id = mock.mock_domain.out_idev_id;
    nested.dev_id = mock.mock_domain.out_idev_id;
    if (setup::ioctl(fd, IOMMU_HWPT_ALLOC, &parent) != 0) {
        state.SkipWithError("parent allocation failed");
        return;
    }
    nested.pt_id = parent.out_hwpt_id;
    if (setup::ioctl(fd, IOMMU_HWPT_ALLOC, &nested) != 0) {
        state.SkipWithError("nested allocation failed");
        return;
    }
    iommu_hwpt_invalidate_selftest inv[entries] = {};
    for (unsigned i = 0; i < entries; ++i) {
        inv[i].iotlb_id = i % MOCK_NESTED_DOMAIN_IOTLB_NUM;
    }
    iommu_hwpt_invalidate cmd{};
    cmd.size = sizeof(cmd);
    cmd.hwpt_id = nested.out_hwpt_id;
    cmd.data_uptr = reinterpret_cast<uint64_t>(inv);
    cmd.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
    cmd.entry_len = sizeof(inv[0]);
    for (auto _ : state) {
        cmd.entry_num = entries;
        if (iommusim_ioctl(fd, IOMMU_HWPT_INVALIDATE, &cmd) != 0 || cmd.entry_num != entries) {
            state.SkipWithError("IOMMU_HWPT_INVALIDATE failed");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * entries);
    state.counters["host_time_per_entry"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * entries, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    iommusim_close(fd);
}
BENCHMARK(BM_HwptInvalidateIoctlMock64);

}  // namespace
