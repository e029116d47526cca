// IOMMU_IOAS_MAP_FILE (Linux 6.13+, newest upstream drivers/iommu/iommufd/ioas.c iommufd_ioas_map_file,
// io_pagetable.c iopt_map_file_pages, pages.c, mm/gup.c memfd_pin_folios): the errno of every check in
// the kernel's order, lazy pinning of the file (EINVAL at attach for a file that is not a memfd or is
// too short), automatic IOVAs aligned to the file offset, COPY and CHANGE_PROCESS of file areas, and
// the data path: the mock domain maps the memfd's own pages (MD_CHECK_MAP against the caller's shared
// view), and a VT-d device's DMA reads and writes the file after the caller unmapped its view.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

#include "iommufd/iommufd_util.h"

namespace iommusim::test {
namespace {

constexpr uint64_t page = 4096;
constexpr uint64_t file_pages = 4;
constexpr uint64_t ulong_max = std::numeric_limits<uint64_t>::max();
constexpr uint32_t rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
constexpr uint32_t fixed = IOMMU_IOAS_MAP_FIXED_IOVA;
// Maps made before a mock domain attaches must lie inside its aperture.
constexpr uint64_t aperture = MOCK_APERTURE_START;

// The byte the test writes at file offset i (never 0, so a hole would show).
uint8_t pattern(uint64_t i) {
    return static_cast<uint8_t>(0x11 + (i * 7) % 0xe0);
}

int IoasMapFile(int fd, uint32_t ioas, int mfd, uint64_t start, uint64_t length, uint64_t* iova, uint32_t flags) {
    iommu_ioas_map_file cmd{};
    cmd.size = sizeof(cmd);
    cmd.flags = flags;
    cmd.ioas_id = ioas;
    cmd.fd = mfd;
    cmd.start = start;
    cmd.length = length;
    cmd.iova = *iova;
    const int err = Ioctl(fd, IOMMU_IOAS_MAP_FILE, &cmd);
    *iova = cmd.iova;
    return err;
}

// How many mappings of this process map the file with inode `ino` (/proc/self/maps column 5).
int mappings_of(ino_t ino) {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    int n = 0;
    while (std::getline(maps, line)) {
        unsigned long long inode = 0;
        char dev[16] = {};
        if (std::sscanf(line.c_str(), "%*s %*s %*s %15s %llu", dev, &inode) == 2 && inode == ino) {
            ++n;
        }
    }
    return n;
}

// A context with an IOAS and a 4-page memfd holding pattern(), with the caller's shared view of it.
class MapFile : public ::testing::Test {
  protected:
    void SetUp() override {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        TestCmdIoasAlloc(m_fd, &m_ioas);
        m_mfd = memfd_create("iommusim-map-file", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        ASSERT_GE(m_mfd, 0);
        ASSERT_EQ(0, ftruncate(m_mfd, file_pages * page));
        void* v = mmap(nullptr, file_pages * page, PROT_READ | PROT_WRITE, MAP_SHARED, m_mfd, 0);
        ASSERT_NE(MAP_FAILED, v);
        m_view = static_cast<uint8_t*>(v);
        for (uint64_t i = 0; i < file_pages * page; ++i) {
            m_view[i] = pattern(i);
        }
        struct stat st {};
        ASSERT_EQ(0, fstat(m_mfd, &st));
        m_ino = st.st_ino;
    }
    void TearDown() override {
        EXPECT_EQ(0, iommusim_close(m_fd));
        if (m_view != nullptr) {
            munmap(m_view, file_pages * page);
        }
        if (m_mfd >= 0) {
            close(m_mfd);
        }
    }
    int map_file(uint64_t start, uint64_t length, uint64_t* iova, uint32_t flags = rw) {
        return IoasMapFile(m_fd, m_ioas, m_mfd, start, length, iova, flags);
    }

    int m_fd = -1;
    uint32_t m_ioas = 0;
    int m_mfd = -1;
    uint8_t* m_view = nullptr;
    ino_t m_ino = 0;
};

TEST_F(MapFile, ChecksInTheKernelsOrder) {
    uint64_t iova = 0;
    EXPECT_EQ(EOPNOTSUPP, map_file(0, page, &iova, rw | (1u << 3)));
    iova = ulong_max;
    EXPECT_EQ(EOVERFLOW, map_file(0, page, &iova, rw | IOMMU_IOAS_MAP_FIXED_IOVA));
    iova = 0;
    EXPECT_EQ(EOVERFLOW, map_file(0, ulong_max, &iova));
    EXPECT_EQ(EINVAL, map_file(0, page, &iova, 0)) << "neither readable nor writeable";
    EXPECT_EQ(ENOENT, IoasMapFile(m_fd, m_ioas + 1, m_mfd, 0, page, &iova, rw));
    // The length and the file range come before the descriptor.
    EXPECT_EQ(EINVAL, IoasMapFile(m_fd, m_ioas, -1, 0, 0, &iova, rw)) << "length 0";
    EXPECT_EQ(EOVERFLOW, IoasMapFile(m_fd, m_ioas, -1, ulong_max - page + 1, 2 * page, &iova, rw));
    EXPECT_EQ(EBADF, IoasMapFile(m_fd, m_ioas, -1, 0, page, &iova, rw));
    const int closed = dup(m_mfd);
    ASSERT_GE(closed, 0);
    ASSERT_EQ(0, close(closed));
    EXPECT_EQ(EBADF, IoasMapFile(m_fd, m_ioas, closed, 0, page, &iova, rw)) << "a closed descriptor";
    // Kernel iopt_alloc_pages: a length above ULONG_MAX - PAGE_SIZE.
    EXPECT_EQ(EINVAL, map_file(0, ulong_max - page + 1, &iova));
    // Nothing was mapped by any of them.
    uint64_t unmapped = 1;
    EXPECT_EQ(0, IoasUnmap(m_fd, m_ioas, 0, ulong_max, &unmapped));
    EXPECT_EQ(0u, unmapped);
}

TEST_F(MapFile, WriteableNeedsAWriteableUnsealedFile) {
    const int ro = open(("/proc/self/fd/" + std::to_string(m_mfd)).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(ro, 0);
    uint64_t iova = 0;
    EXPECT_EQ(EPERM, IoasMapFile(m_fd, m_ioas, ro, 0, page, &iova, rw)) << "FMODE_WRITE";
    EXPECT_EQ(0, IoasMapFile(m_fd, m_ioas, ro, 0, page, &iova, IOMMU_IOAS_MAP_READABLE));
    close(ro);
    // F_SEAL_WRITE needs no writable mapping of the file; drop the caller's first.
    ASSERT_EQ(0, munmap(m_view, file_pages * page));
    m_view = nullptr;
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas, iova, page));
    ASSERT_EQ(0, fcntl(m_mfd, F_ADD_SEALS, F_SEAL_WRITE));
    EXPECT_EQ(EPERM, map_file(0, page, &iova, rw)) << "mapping_map_writable of a write-sealed memfd";
    EXPECT_EQ(0, map_file(0, page, &iova, IOMMU_IOAS_MAP_READABLE));
}

TEST_F(MapFile, MockDomainMapsTheFilesPages) {
    uint64_t iova = aperture;
    ASSERT_EQ(0, map_file(0, file_pages * page, &iova, rw | fixed));
    uint32_t stdev = 0;
    uint32_t hwpt = 0;
    uint32_t idev = 0;
    TestCmdMockDomain(m_fd, m_ioas, &stdev, &hwpt, &idev);
    EXPECT_EQ(0, CheckMap(m_fd, hwpt, iova, file_pages * page, m_view)) << "the caller's view is the same pages";
    EXPECT_EQ(0, CheckMap(m_fd, hwpt, iova + page, page, m_view + page));
    EXPECT_EQ(EINVAL, CheckMap(m_fd, hwpt, iova, page, m_view + page)) << "another page of the file";
    // A private copy holds the same bytes in other pages.
    void* copy = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, copy);
    std::memcpy(copy, m_view, page);
    EXPECT_EQ(EINVAL, CheckMap(m_fd, hwpt, iova, page, copy));
    munmap(copy, page);
    // Mapped into an IOAS that already has the domain: pinned at once.
    uint64_t iova2 = 0;
    ASSERT_EQ(0, map_file(2 * page, page, &iova2));
    EXPECT_EQ(0, CheckMap(m_fd, hwpt, iova2, page, m_view + 2 * page));
}

TEST_F(MapFile, AFileThatIsNotAMemfdFailsAtPinTime) {
    // A regular file (the test program) on a disk filesystem, and a pipe.
    const int regular = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(regular, 0);
    struct statfs fs {};
    ASSERT_EQ(0, fstatfs(regular, &fs));
    ASSERT_NE(static_cast<long>(TMPFS_MAGIC), static_cast<long>(fs.f_type)) << "precondition: not shmem";
    int pipefd[2] = {-1, -1};
    ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
    // No domain: the kernel only holds the file (lazy pinning), so both maps succeed...
    uint64_t iova_regular = aperture;
    uint64_t iova_pipe = aperture + page;
    ASSERT_EQ(0, IoasMapFile(m_fd, m_ioas, regular, 0, page, &iova_regular, IOMMU_IOAS_MAP_READABLE | fixed));
    ASSERT_EQ(0, IoasMapFile(m_fd, m_ioas, pipefd[0], 0, page, &iova_pipe, IOMMU_IOAS_MAP_READABLE | fixed));
    // ...and attaching a domain pins them: memfd_pin_folios refuses both with EINVAL.
    uint32_t stdev = 0;
    uint32_t hwpt = 0;
    uint32_t idev = 0;
    EXPECT_EQ(EINVAL, MockDomain(m_fd, m_ioas, &stdev, &hwpt, &idev));
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas, iova_regular, page));
    EXPECT_EQ(EINVAL, MockDomain(m_fd, m_ioas, &stdev, &hwpt, &idev));
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas, iova_pipe, page));
    TestCmdMockDomain(m_fd, m_ioas, &stdev, &hwpt, &idev);
    // With the domain the map itself pins, and fails.
    EXPECT_EQ(EINVAL, IoasMapFile(m_fd, m_ioas, regular, 0, page, &iova_regular, IOMMU_IOAS_MAP_READABLE));
    EXPECT_EQ(EINVAL, IoasMapFile(m_fd, m_ioas, pipefd[1], 0, page, &iova_pipe, IOMMU_IOAS_MAP_READABLE));
    uint64_t unmapped = 1;
    EXPECT_EQ(0, IoasUnmap(m_fd, m_ioas, 0, ulong_max, &unmapped));
    EXPECT_EQ(0u, unmapped) << "the failed maps left nothing";
    close(regular);
    close(pipefd[0]);
    close(pipefd[1]);
}

TEST_F(MapFile, PastTheEndOfTheFileFailsAtPinTime) {
    uint32_t stdev = 0;
    uint32_t hwpt = 0;
    uint32_t idev = 0;
    // No domain: a range past the end is held; the attach pins it and fails, until the file grows.
    uint64_t iova = aperture;
    ASSERT_EQ(0, map_file(3 * page, 2 * page, &iova, rw | fixed));
    EXPECT_EQ(EINVAL, MockDomain(m_fd, m_ioas, &stdev, &hwpt, &idev));
    ASSERT_EQ(0, ftruncate(m_mfd, 5 * page));
    TestCmdMockDomain(m_fd, m_ioas, &stdev, &hwpt, &idev);
    EXPECT_EQ(0, CheckMap(m_fd, hwpt, iova, page, m_view + 3 * page));
    // With the domain: beyond the end, across it, and after the file is emptied (the kernel
    // selftest's iommufd_mock_domain.basic, file variant).
    uint64_t other = 0;
    EXPECT_EQ(EINVAL, map_file(5 * page, page, &other));
    EXPECT_EQ(EINVAL, map_file(4 * page, 2 * page, &other));
    EXPECT_EQ(0, map_file(4 * page, page, &other));
    EXPECT_EQ(0, IoasUnmap(m_fd, m_ioas, other, page));
    const int small = memfd_create("iommusim-small", MFD_CLOEXEC);
    ASSERT_GE(small, 0);
    ASSERT_EQ(0, ftruncate(small, page + 100)) << "the last page is only partly inside the file";
    EXPECT_EQ(EINVAL, IoasMapFile(m_fd, m_ioas, small, 0, 2 * page, &other, rw));
    EXPECT_EQ(0, IoasMapFile(m_fd, m_ioas, small, 0, page, &other, rw));
    ASSERT_EQ(0, ftruncate(small, 0));
    EXPECT_EQ(EINVAL, IoasMapFile(m_fd, m_ioas, small, 0, page, &other, rw));
    close(small);
}

TEST_F(MapFile, AutomaticIovaKeepsTheFileOffsetsAlignment) {
    // No domain, alignment 1 (kernel iopt_alloc_iova with the file offset as the address):
    // min(roundup_pow_of_two(length), lowest set bit of start), page offset kept, lowest free IOVA
    // from PAGE_SIZE.
    uint64_t iova = 0;
    ASSERT_EQ(0, map_file(0, 2 * page, &iova));
    EXPECT_EQ(0x2000u, iova) << "start 0: aligned to the 8 KiB length";
    uint64_t iova2 = 0;
    ASSERT_EQ(0, map_file(page, 2 * page, &iova2));
    EXPECT_EQ(0x4000u, iova2) << "start 0x1000: 4 KiB aligned; the 4 KiB hole below the first area is too small";
    uint64_t iova3 = 0;
    ASSERT_EQ(0, map_file(page + 0x800, 0x800, &iova3));
    EXPECT_EQ(0x1800u, iova3) << "start 0x1800: 2 KiB aligned with the page offset 0x800 kept, in that hole";
}

TEST_F(MapFile, CopyCarriesTheFileAndItOutlivesTheCallersDescriptor) {
    uint64_t iova = 0;
    ASSERT_EQ(0, map_file(page, 2 * page, &iova));
    uint32_t dst = 0;
    TestCmdIoasAlloc(m_fd, &dst);
    iommu_ioas_copy copy{};
    copy.size = sizeof(copy);
    copy.flags = rw;
    copy.dst_ioas_id = dst;
    copy.src_ioas_id = m_ioas;
    copy.length = 2 * page;
    copy.src_iova = iova;
    ASSERT_EQ(0, Ioctl(m_fd, IOMMU_IOAS_COPY, &copy));
    EXPECT_EQ(0x1000u, copy.dst_iova) << "aligned to the file offset 0x1000";
    ASSERT_EQ(0, IoasUnmap(m_fd, dst, copy.dst_iova, 2 * page));
    copy.flags = rw | fixed;
    copy.dst_iova = aperture;
    ASSERT_EQ(0, Ioctl(m_fd, IOMMU_IOAS_COPY, &copy));
    // The source area and the caller's descriptor go; the copy still holds the file.
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas, iova, 2 * page));
    ASSERT_EQ(0, close(m_mfd));
    m_mfd = -1;
    uint32_t stdev = 0;
    uint32_t hwpt = 0;
    uint32_t idev = 0;
    TestCmdMockDomain(m_fd, dst, &stdev, &hwpt, &idev);
    EXPECT_EQ(0, CheckMap(m_fd, hwpt, copy.dst_iova, 2 * page, m_view + page));
    // Once the copy is unmapped too, the model holds no mapping of the file.
    TestCmdDestroy(m_fd, stdev);
    ASSERT_EQ(0, IoasUnmap(m_fd, dst, copy.dst_iova, 2 * page));
    EXPECT_EQ(1, mappings_of(m_ino)) << "only the caller's view is left";
}

TEST_F(MapFile, ChangeProcessNeedsEveryAreaFileBacked) {
    iommu_ioas_change_process cmd{};
    cmd.size = sizeof(cmd);
    uint64_t iova = 0;
    ASSERT_EQ(0, map_file(0, page, &iova));
    EXPECT_EQ(0, Ioctl(m_fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd)) << "only a file area";
    void* buf = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, buf);
    uint64_t user_iova = 0;
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas, buf, page, &user_iova, rw));
    EXPECT_EQ(EINVAL, Ioctl(m_fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd)) << "a user-VA area";
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas, user_iova, page));
    EXPECT_EQ(0, Ioctl(m_fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd));
    munmap(buf, page);
}

// vfio0 of the VT-d platform on the IOAS: its DMA goes through the IOAS area to the file.
class MapFileDma : public MapFile {
  protected:
    void SetUp() override {
        MapFile::SetUp();
        m_vfio = iommusim_open("/dev/vfio/devices/vfio0", O_RDWR);
        ASSERT_GE(m_vfio, 0);
        vfio_device_bind_iommufd bind{};
        bind.argsz = sizeof(bind);
        bind.iommufd = m_fd;
        ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind));
        vfio_device_attach_iommufd_pt attach{};
        attach.argsz = sizeof(attach);
        attach.pt_id = m_ioas;
        ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
    }
    void TearDown() override {
        EXPECT_EQ(0, iommusim_close(m_vfio));
        MapFile::TearDown();
    }
    int m_vfio = -1;
};

TEST_F(MapFileDma, DeviceReadsAndWritesTheFileAfterTheCallerUnmapsItsView) {
    uint64_t iova = 0x100000;
    ASSERT_EQ(0, map_file(page, 2 * page, &iova, rw | IOMMU_IOAS_MAP_FIXED_IOVA));
    ASSERT_EQ(0, munmap(m_view, file_pages * page));
    m_view = nullptr;
    // Read: the file's bytes at offset page + 100.
    uint8_t got[64] = {};
    ASSERT_EQ(0, iommusim_dma(m_vfio, IOMMU_NO_PASID, iova + 100, got, sizeof(got), 0));
    for (uint64_t i = 0; i < sizeof(got); ++i) {
        ASSERT_EQ(pattern(page + 100 + i), got[i]) << i;
    }
    // Write across the page boundary inside the area; the file holds it.
    uint8_t put[32];
    for (uint64_t i = 0; i < sizeof(put); ++i) {
        put[i] = static_cast<uint8_t>(0xa0 + i);
    }
    const uint64_t at = page - 16;  // IOVA offset: file offset 2 * page - 16
    ASSERT_EQ(0, iommusim_dma(m_vfio, IOMMU_NO_PASID, iova + at, put, sizeof(put), 1));
    uint8_t back[sizeof(put)] = {};
    ASSERT_EQ(static_cast<ssize_t>(sizeof(back)), pread(m_mfd, back, sizeof(back), 2 * page - 16));
    EXPECT_EQ(0, std::memcmp(put, back, sizeof(put)));
    // Unmapped: the device faults, the file keeps its size and the bytes written, and the model
    // holds no mapping of it any more.
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas, iova, 2 * page));
    errno = 0;
    EXPECT_EQ(-1, iommusim_dma(m_vfio, IOMMU_NO_PASID, iova + 100, got, 1, 0));
    EXPECT_EQ(EFAULT, errno);
    struct stat st {};
    ASSERT_EQ(0, fstat(m_mfd, &st));
    EXPECT_EQ(static_cast<off_t>(file_pages * page), st.st_size);
    ASSERT_EQ(static_cast<ssize_t>(sizeof(back)), pread(m_mfd, back, sizeof(back), 2 * page - 16));
    EXPECT_EQ(0, std::memcmp(put, back, sizeof(put)));
    uint8_t first = 0;
    ASSERT_EQ(1, pread(m_mfd, &first, 1, 0));
    EXPECT_EQ(pattern(0), first) << "outside the area untouched";
    EXPECT_EQ(0, mappings_of(m_ino));
}

}  // namespace
}  // namespace iommusim::test
