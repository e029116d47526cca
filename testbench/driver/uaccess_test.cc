// driver/uaccess: kernel copy_from_user / copy_to_user / copy_struct_from_user semantics, the
// iommu_copy_struct_from_user(_array) length rules and the array reader built on them
// (docs/iommufd-facts.md §1.3, §3.3), including EFAULT on unmapped and read-only memory without crashing.
#include "driver/uaccess.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "driver/user_space.h"
#include "tlm/fault_safe_copy.h"

namespace iommusim::driver {
namespace {

// Page 0 read-write, page 1 with `prot`.
class two_pages {
  public:
    explicit two_pages(int prot) {
        m_page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        void* p = mmap(nullptr, 2 * m_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            throw std::bad_alloc();
        }
        m_base = static_cast<unsigned char*>(p);
        std::memset(m_base, 0, 2 * m_page);
        mprotect(m_base + m_page, m_page, prot);
    }
    ~two_pages() { munmap(m_base, 2 * m_page); }
    two_pages(const two_pages&) = delete;
    two_pages& operator=(const two_pages&) = delete;
    unsigned char* boundary() const { return m_base + m_page; }
    uint64_t addr(const void* p) const { return reinterpret_cast<uint64_t>(p); }

  private:
    std::size_t m_page = 0;
    unsigned char* m_base = nullptr;
};

// Every test runs with each way of copying (tlm/fault_safe_copy.h).
class Uaccess : public ::testing::TestWithParam<fault_safe_backend> {
  protected:
    void SetUp() override {
        if (GetParam() == fault_safe_backend::fault_fixup && !fault_safe_copy_fixup_available()) {
            GTEST_SKIP() << "no fault-fixup copy in this build (a sanitizer keeps the fault handler)";
        }
        fault_safe_copy_use(GetParam());
    }
    void TearDown() override { fault_safe_copy_use(std::nullopt); }
};

TEST_P(Uaccess, CopyFromUserReportsAndZeroFillsTheUncopiedTail) {
    two_pages mem(PROT_NONE);
    unsigned char* src = mem.boundary() - 4;
    std::memcpy(src, "\x01\x02\x03\x04", 4);
    unsigned char dst[8];
    std::memset(dst, 0xee, sizeof(dst));
    EXPECT_EQ(4u, copy_from_user(dst, mem.addr(src), 8));
    EXPECT_EQ(0, std::memcmp(dst, "\x01\x02\x03\x04\0\0\0\0", 8));
    EXPECT_EQ(0u, copy_from_user(dst, mem.addr(src), 4));
    EXPECT_EQ(8u, copy_from_user(dst, 0, 8));
    EXPECT_EQ(8u, copy_from_user(dst, mem.addr(mem.boundary()), 8));
    EXPECT_EQ(0u, copy_from_user(dst, 0, 0));
}

TEST_P(Uaccess, CopyToUserStopsAtReadOnlyMemory) {
    two_pages mem(PROT_READ);
    const unsigned char src[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    EXPECT_EQ(4u, copy_to_user(mem.addr(mem.boundary() - 4), src, 8));
    EXPECT_EQ(0, std::memcmp(mem.boundary() - 4, src, 4));
    EXPECT_EQ(8u, copy_to_user(mem.addr(mem.boundary()), src, 8));
    EXPECT_EQ(8u, copy_to_user(0, src, 8));
    EXPECT_EQ(0u, copy_to_user(mem.addr(mem.boundary() - 8), src, 8));
}

TEST_P(Uaccess, CheckZeroedUser) {
    two_pages mem(PROT_NONE);
    unsigned char* p = mem.boundary() - 600;
    EXPECT_EQ(1, check_zeroed_user(mem.addr(p), 600));
    p[599] = 1;
    EXPECT_EQ(0, check_zeroed_user(mem.addr(p), 600));
    EXPECT_EQ(-EFAULT, check_zeroed_user(mem.addr(p), 601));
    EXPECT_EQ(1, check_zeroed_user(mem.addr(p), 0));
}

TEST_P(Uaccess, CopyStructFromUser) {
    two_pages mem(PROT_NONE);
    uint32_t k[4];
    // usize < ksize: copy and zero-fill.
    auto* u = reinterpret_cast<uint32_t*>(mem.boundary() - 24);
    for (int i = 0; i < 6; ++i) {
        u[i] = 0;
    }
    u[0] = 7;
    u[1] = 8;
    std::memset(k, 0xee, sizeof(k));
    EXPECT_EQ(0, copy_struct_from_user(k, sizeof(k), mem.addr(u), 8));
    EXPECT_EQ(7u, k[0]);
    EXPECT_EQ(8u, k[1]);
    EXPECT_EQ(0u, k[2]);
    EXPECT_EQ(0u, k[3]);
    // usize > ksize: zero tail accepted, non-zero tail E2BIG, unreadable tail EFAULT.
    EXPECT_EQ(0, copy_struct_from_user(k, sizeof(k), mem.addr(u), 24));
    u[5] = 1;
    EXPECT_EQ(-E2BIG, copy_struct_from_user(k, sizeof(k), mem.addr(u), 24));
    EXPECT_EQ(-EFAULT, copy_struct_from_user(k, sizeof(k), mem.addr(u), 28));
    // Fault in the main copy.
    EXPECT_EQ(-EFAULT, copy_struct_from_user(k, sizeof(k), mem.addr(mem.boundary() - 8), 16));
}

TEST_P(Uaccess, IommuCopyStructFromUserIsExact) {
    struct entry {
        uint32_t a;
        uint32_t b;
    } e{};
    const uint32_t type = 0x1234;
    uint32_t user[3] = {1, 2, 0};
    const uint64_t uptr = reinterpret_cast<uint64_t>(user);
    EXPECT_EQ(0, iommu_copy_struct_from_user(&e, sizeof(e), sizeof(e), iommu_user_data{type, uptr, 8}, type));
    EXPECT_EQ(1u, e.a);
    EXPECT_EQ(2u, e.b);
    EXPECT_EQ(-EINVAL, iommu_copy_struct_from_user(&e, sizeof(e), sizeof(e), iommu_user_data{type + 1, uptr, 8}, type));
    EXPECT_EQ(-EINVAL, iommu_copy_struct_from_user(&e, sizeof(e), sizeof(e), iommu_user_data{type, uptr, 7}, type));
    // Larger than the kernel struct: EINVAL even though the extra bytes are zero.
    EXPECT_EQ(-EINVAL, iommu_copy_struct_from_user(&e, sizeof(e), sizeof(e), iommu_user_data{type, uptr, 12}, type));
    // Between min and sizeof: zero-filled.
    e = {9, 9};
    EXPECT_EQ(0, iommu_copy_struct_from_user(&e, sizeof(e), 4, iommu_user_data{type, uptr, 4}, type));
    EXPECT_EQ(1u, e.a);
    EXPECT_EQ(0u, e.b);
    EXPECT_EQ(-EFAULT, iommu_copy_struct_from_user(&e, sizeof(e), sizeof(e), iommu_user_data{type, 0, 8}, type));
}

TEST_P(Uaccess, IommuCopyStructFromUserArray) {
    struct entry {
        uint32_t a;
        uint32_t b;
    } e{};
    const uint32_t type = 7;
    uint32_t user[6] = {1, 2, 3, 4, 5, 6};
    iommu_user_data_array array{type, reinterpret_cast<uint64_t>(user), 8, 3};
    EXPECT_EQ(0, iommu_copy_struct_from_user_array(&e, sizeof(e), sizeof(e), array, type, 2));
    EXPECT_EQ(5u, e.a);
    EXPECT_EQ(6u, e.b);
    EXPECT_EQ(-EINVAL, iommu_copy_struct_from_user_array(&e, sizeof(e), sizeof(e), array, type, 3));
    EXPECT_EQ(-EINVAL, iommu_copy_struct_from_user_array(&e, sizeof(e), sizeof(e), array, type + 1, 0));
    array.entry_len = 12;
    EXPECT_EQ(-EINVAL, iommu_copy_struct_from_user_array(&e, sizeof(e), sizeof(e), array, type, 0));
    array.entry_len = 8;
    array.entry_num = 0;
    EXPECT_EQ(-EINVAL, iommu_copy_struct_from_user_array(&e, sizeof(e), sizeof(e), array, type, 0));
}

TEST_P(Uaccess, UserArrayReaderGivesWhatPerEntryCopiesGive) {
    struct entry {
        uint32_t a;
        uint32_t b;
    } e{};
    const uint32_t type = 7;
    // Three entries, the last one straddling into the unmapped page.
    two_pages mem(PROT_NONE);
    auto* user = reinterpret_cast<uint32_t*>(mem.boundary() - 20);
    for (uint32_t i = 0; i < 5; ++i) {
        user[i] = 10 + i;
    }
    iommu_user_data_array array{type, mem.addr(user), 8, 2};
    {
        // Readable as a whole: read once, later changes are not seen.
        const user_array_reader reader(array, sizeof(e), sizeof(e), type);
        user[2] = 99;
        EXPECT_EQ(0, reader.read(&e, 1));
        EXPECT_EQ(12u, e.a);
        EXPECT_EQ(13u, e.b);
        EXPECT_EQ(-EINVAL, reader.read(&e, 2)) << "beyond entry_num, as the per-entry copy";
    }
    user[2] = 12;
    array.entry_num = 3;
    const user_array_reader partly(array, sizeof(e), sizeof(e), type);
    EXPECT_EQ(0, partly.read(&e, 0));
    EXPECT_EQ(10u, e.a);
    EXPECT_EQ(0, partly.read(&e, 1));
    EXPECT_EQ(-EFAULT, partly.read(&e, 2)) << "the fault surfaces at the entry that crosses the boundary";
    // A stride other than the struct size or another type: every entry refused, as per entry.
    array.entry_len = 12;
    EXPECT_EQ(-EINVAL, user_array_reader(array, sizeof(e), sizeof(e), type).read(&e, 0));
    array.entry_len = 8;
    array.entry_num = 2;
    EXPECT_EQ(-EINVAL, user_array_reader(array, sizeof(e), sizeof(e), type + 1).read(&e, 0));
}

TEST_P(Uaccess, LargeCopiesCrossManyPages) {
    std::vector<unsigned char> src(5 * 4096 + 123);
    for (std::size_t i = 0; i < src.size(); ++i) {
        src[i] = static_cast<unsigned char>(i * 7);
    }
    std::vector<unsigned char> dst(src.size());
    EXPECT_EQ(0u, copy_from_user(dst.data(), reinterpret_cast<uint64_t>(src.data()), src.size()));
    EXPECT_EQ(src, dst);
    std::vector<unsigned char> back(src.size());
    EXPECT_EQ(0u, copy_to_user(reinterpret_cast<uint64_t>(back.data()), src.data(), src.size()));
    EXPECT_EQ(src, back);
}

TEST(UserRangeWritable, NeedsAWritableMappingForEveryByteAndWritesNothing) {
    two_pages ro(PROT_READ);
    unsigned char* first = ro.boundary() - 4096;
    std::memset(first, 0x3c, 4096);
    EXPECT_TRUE(user_range_writable(ro.addr(first), 4096));
    EXPECT_FALSE(user_range_writable(ro.addr(ro.boundary()), 4096)) << "read-only page";
    EXPECT_FALSE(user_range_writable(ro.addr(first), 2 * 4096)) << "ends in the read-only page";
    EXPECT_EQ(0x3c, first[4095]) << "the probe wrote nothing";
    void* m = mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, m);
    const uint64_t base = reinterpret_cast<uint64_t>(m);
    EXPECT_TRUE(user_range_writable(base, 2 * 4096));
    ASSERT_EQ(0, munmap(static_cast<char*>(m) + 4096, 4096));
    EXPECT_FALSE(user_range_writable(base + 4096, 4096)) << "unmapped page";
    EXPECT_FALSE(user_range_writable(base, 2 * 4096)) << "hole after the first page";
    munmap(m, 4096);
    EXPECT_FALSE(user_range_writable(~uint64_t{0} - 10, 4096)) << "wraps";
}

// Pinning for reading: the readable bytes from the start, up to the first hole or PROT_NONE page.
TEST(UserReadablePrefix, StopsAtTheFirstUnreadablePage) {
    auto* m = static_cast<char*>(mmap(nullptr, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(MAP_FAILED, static_cast<void*>(m));
    const uint64_t base = reinterpret_cast<uint64_t>(m);
    EXPECT_EQ(3u * 4096, user_readable_prefix(base, 3 * 4096)) << "read-only pages are readable";
    EXPECT_EQ(100u, user_readable_prefix(base + 8, 100)) << "never past len";
    EXPECT_EQ(0u, user_readable_prefix(base, 0));
    ASSERT_EQ(0, mprotect(m + 2 * 4096, 4096, PROT_NONE));
    EXPECT_EQ(2u * 4096, user_readable_prefix(base, 3 * 4096)) << "a PROT_NONE page";
    ASSERT_EQ(0, munmap(m + 4096, 4096));
    EXPECT_EQ(4096u, user_readable_prefix(base, 3 * 4096)) << "a hole";
    EXPECT_EQ(0u, user_readable_prefix(base + 4096, 4096)) << "starts in the hole";
    munmap(m, 4096);
    munmap(m + 2 * 4096, 4096);
    EXPECT_EQ(0u, user_readable_prefix(~uint64_t{0} - 10, 4096)) << "wraps";
}

// The shared mapping behind a range and where this process maps the same file offset: two views
// of one memfd are one memory; private memory and a range past a mapping have no shared file.
TEST(SharedMapping, FindsTheSameFileOffsetInAnotherView) {
    const int fd = memfd_create("uaccess-test", 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(0, ftruncate(fd, 4 * 4096));
    auto* first = static_cast<unsigned char*>(mmap(nullptr, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    auto* second =
        static_cast<unsigned char*>(mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2 * 4096));
    ASSERT_NE(MAP_FAILED, static_cast<void*>(first));
    ASSERT_NE(MAP_FAILED, static_cast<void*>(second));
    shared_mapping file;
    ASSERT_TRUE(shared_mapping_of(reinterpret_cast<uint64_t>(second) + 100, 4096, file));
    EXPECT_EQ(2u * 4096 + 100, file.offset);
    uint64_t at = 0;
    ASSERT_TRUE(address_of_shared(file, 4096, at));
    const uint64_t in_first = reinterpret_cast<uint64_t>(first) + 2 * 4096 + 100;
    const uint64_t in_second = reinterpret_cast<uint64_t>(second) + 100;
    EXPECT_TRUE(at == in_first || at == in_second);
    second[100] = 0x5a;
    EXPECT_EQ(0x5a, *reinterpret_cast<unsigned char*>(at)) << "the address reaches the same page";
    EXPECT_FALSE(shared_mapping_of(reinterpret_cast<uint64_t>(second) + 4096, 2 * 4096, file)) << "past the mapping";
    file.offset = 4 * 4096;
    EXPECT_FALSE(address_of_shared(file, 4096, at)) << "an offset no view maps";
    void* priv = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, priv);
    EXPECT_FALSE(shared_mapping_of(reinterpret_cast<uint64_t>(priv), 4096, file)) << "private memory";
    munmap(priv, 4096);
    munmap(first, 4 * 4096);
    munmap(second, 2 * 4096);
    close(fd);
}

// A user space that answers every access itself, recording it.
class recording_space : public user_space {
  public:
    std::size_t read(void* dst, uint64_t src, std::size_t len) override {
        last_read = src;
        std::memset(dst, 0x77, len);
        return 0;
    }
    std::size_t write(uint64_t dst, const void*, std::size_t len) override {
        last_write = dst;
        return len;  // nothing writable there
    }
    bool range_writable(uint64_t, std::size_t) override { return false; }
    uint64_t readable_prefix(uint64_t, uint64_t len) override { return len / 2; }
    bool model_address(uint64_t, uint64_t, uint64_t&) override { return false; }
    bool alive() const override { return true; }
    uint64_t last_read = 0;
    uint64_t last_write = 0;
};

// While a call of another process is served, the user copies reach that process; a nested scope of
// the model's own process (nullptr) reaches this one again, and the end of a scope restores the last.
TEST(UserSpaceScope, RoutesTheUserCopiesToTheCurrentSpace) {
    auto space = std::make_shared<recording_space>();
    unsigned char local[8];
    std::memset(local, 0x11, sizeof(local));
    unsigned char out[8] = {};
    const auto addr = reinterpret_cast<uint64_t>(local);
    {
        const user_space_scope caller(space);
        EXPECT_EQ(space, current_user_space());
        EXPECT_EQ(0u, copy_from_user(out, 0x1000, sizeof(out)));
        EXPECT_EQ(0x1000u, space->last_read);
        EXPECT_EQ(0x77, out[7]);
        EXPECT_EQ(sizeof(out), copy_to_user(0x2000, out, sizeof(out)));
        EXPECT_EQ(0x2000u, space->last_write);
        EXPECT_FALSE(user_range_writable(addr, sizeof(local)));
        EXPECT_EQ(4u, user_readable_prefix(addr, 8));
        {
            const user_space_scope model_memory(nullptr);
            EXPECT_EQ(0u, copy_from_user(out, addr, sizeof(out)));
            EXPECT_EQ(0x11, out[0]) << "this process's memory";
            EXPECT_TRUE(user_range_writable(addr, sizeof(local)));
        }
        EXPECT_EQ(space, current_user_space());
    }
    EXPECT_EQ(nullptr, current_user_space());
    EXPECT_EQ(0u, copy_to_user(addr, "abcdefgh", 8));
    EXPECT_EQ('h', local[7]);
}

INSTANTIATE_TEST_SUITE_P(Backends, Uaccess,
                         ::testing::Values(fault_safe_backend::fault_fixup, fault_safe_backend::process_vm,
                                           fault_safe_backend::pipe),
                         [](const ::testing::TestParamInfo<fault_safe_backend>& info) {
                             return std::string(fault_safe_backend_name(info.param));
                         });

}  // namespace
}  // namespace iommusim::driver
