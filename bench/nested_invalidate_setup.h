// The nested VT-d set-up the HWPT_INVALIDATE benchmarks invalidate in: device vfio0 bound and
// attached to a stage-1 HWPT (one 4-level guest table mapping `entries` pages at guest_iova) over a
// nesting parent. Written once for both ways a program reaches the model: the C API
// (iommusim_open/iommusim_ioctl) and the C library's open/ioctl under libiommusim-preload.so.
#pragma once

#include <benchmark/benchmark.h>
#include <fcntl.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "bench/bench_iterations.h"
#include "iommusim/hw/vtd_pte.h"
#include "iommusim/iommufd.h"

namespace iommusim::bench {

constexpr uint64_t page = 4096;
constexpr uint64_t gpa_base = 0x100000;
constexpr unsigned guest_pages = 8;
constexpr uint64_t guest_iova = 0x40000000;
constexpr unsigned entries = 64;

// Sys: static int open(const char*, int) and static int ioctl(int, unsigned long, void*), each as
// the system call (-1 with errno).
template <typename Sys>
struct nested_invalidate_setup {
    int fd = -1;
    int vfio = -1;
    uint32_t nested = 0;
    uint8_t* guest = nullptr;
    bool ok = false;

    static int ioctl(int fd, unsigned long req, void* arg) { return Sys::ioctl(fd, req, arg) == 0 ? 0 : errno; }

    void put(unsigned table, unsigned index, uint64_t target) {
        using namespace iommusim::hw;
        uint64_t e = fs_pte::p::make(1) | fs_pte::rw::make(1) | fs_pte::us::make(1) | fs_pte::addr::make(target >> 12);
        std::memcpy(guest + table * page + index * 8, &e, 8);
    }

    nested_invalidate_setup() {
        guest = static_cast<uint8_t*>(std::aligned_alloc(page, guest_pages * page));
        std::memset(guest, 0, guest_pages * page);
        using iommusim::hw::pt_index;
        put(0, pt_index(guest_iova, 4), gpa_base + 1 * page);
        put(1, pt_index(guest_iova, 3), gpa_base + 2 * page);
        put(2, pt_index(guest_iova, 2), gpa_base + 3 * page);
        for (unsigned i = 0; i < entries; ++i) {
            put(3, pt_index(guest_iova + i * page, 1), gpa_base + 4 * page);
        }
        fd = Sys::open("/dev/iommu", O_RDWR);
        vfio = Sys::open("/dev/vfio/devices/vfio0", O_RDWR);
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

    // The 64-entry invalidation of every page the guest table maps.
    struct invalidation {
        iommu_hwpt_vtd_s1_invalidate inv[entries] = {};
        iommu_hwpt_invalidate cmd{};
        explicit invalidation(uint32_t hwpt_id) {
            for (unsigned i = 0; i < entries; ++i) {
                inv[i].addr = guest_iova + i * page;
                inv[i].npages = 1;
            }
            cmd.size = sizeof(cmd);
            cmd.hwpt_id = hwpt_id;
            cmd.data_uptr = reinterpret_cast<uint64_t>(inv);
            cmd.data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1;
            cmd.entry_len = sizeof(inv[0]);
        }
    };
};

}  // namespace iommusim::bench
