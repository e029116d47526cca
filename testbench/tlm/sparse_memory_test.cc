#include "tlm/sparse_memory.h"

#include <gtest/gtest.h>

#include <sys/mman.h>

#include <array>
#include <cstring>
#include <vector>

#include "tlm/fault_safe_copy.h"

namespace iommusim {
namespace {

TEST(SparseMemory, UntouchedMemoryReadsZeroWithoutAllocating) {
    sparse_memory mem;
    uint64_t v = 1;
    ASSERT_TRUE(mem.read64(0x1234'5678'9000, v));
    EXPECT_EQ(v, 0u);
    EXPECT_EQ(mem.pages_allocated(), 0u);  // reads allocate nothing
    ASSERT_TRUE(mem.write64(0x1234'5678'9008, 7));
    EXPECT_EQ(mem.pages_allocated(), 1u);  // the first write allocates the page, zero-filled
    ASSERT_TRUE(mem.read64(0x1234'5678'9000, v));
    EXPECT_EQ(v, 0u);
}

TEST(SparseMemory, WriteReadRoundTripAcrossPages) {
    sparse_memory mem;
    std::vector<uint8_t> data(3 * 4096 + 17);
    for (size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<uint8_t>(i * 7 + 3);
    }
    const uint64_t pa = 0x7'0000'0ff9;  // misaligned, crosses four pages
    ASSERT_TRUE(mem.write(pa, data.data(), data.size()));
    std::vector<uint8_t> back(data.size());
    ASSERT_TRUE(mem.read(pa, back.data(), back.size()));
    EXPECT_EQ(back, data);
    EXPECT_EQ(mem.pages_allocated(), 5u);
    uint8_t before = 0xff;
    ASSERT_TRUE(mem.read(pa - 1, &before, 1));
    EXPECT_EQ(before, 0u);
}

TEST(SparseMemory, WholeFiftyTwoBitSpaceAndLimit) {
    sparse_memory mem;
    const uint64_t top = (uint64_t{1} << 52) - 8;
    ASSERT_TRUE(mem.write64(top, 0xdeadbeefcafef00dull));
    uint64_t v = 0;
    ASSERT_TRUE(mem.read64(top, v));
    EXPECT_EQ(v, 0xdeadbeefcafef00dull);
    EXPECT_FALSE(mem.read64(top + 4, v));  // straddles the limit
    EXPECT_FALSE(mem.write64(uint64_t{1} << 52, 1));
    EXPECT_FALSE(mem.read64(~uint64_t{0} - 3, v));  // wraps
    sparse_memory small(36);
    EXPECT_EQ(small.limit(), uint64_t{1} << 36);
    EXPECT_FALSE(small.write64(uint64_t{1} << 36, 1));
    EXPECT_TRUE(small.write64((uint64_t{1} << 36) - 8, 1));
}

TEST(SparseMemory, FailedAccessTransfersNothing) {
    sparse_memory mem;
    mem.inject_error_range(0x2000, 0x10);
    uint8_t buf[32];
    std::memset(buf, 0xaa, sizeof buf);
    EXPECT_FALSE(mem.write(0x1ff8, buf, sizeof buf));  // touches the error range
    uint64_t v = 5;
    EXPECT_TRUE(mem.read64(0x1ff8, v));
    EXPECT_EQ(v, 0u);  // the part before the error range was not written
    EXPECT_FALSE(mem.read64(0x2008, v));
    EXPECT_TRUE(mem.read64(0x2010, v));
    uint64_t obs = 0;
    EXPECT_FALSE(mem.cmpxchg64(0x2000, 0, 1, obs));
    mem.clear_error_ranges();
    EXPECT_TRUE(mem.read64(0x2008, v));
}

TEST(SparseMemory, Cmpxchg64SwapsOnlyOnMatch) {
    sparse_memory mem;
    ASSERT_TRUE(mem.write64(0x5000, 10));
    uint64_t obs = 0;
    ASSERT_TRUE(mem.cmpxchg64(0x5000, 11, 20, obs));
    EXPECT_EQ(obs, 10u);
    uint64_t v = 0;
    mem.read64(0x5000, v);
    EXPECT_EQ(v, 10u);
    ASSERT_TRUE(mem.cmpxchg64(0x5000, 10, 20, obs));
    EXPECT_EQ(obs, 10u);
    mem.read64(0x5000, v);
    EXPECT_EQ(v, 20u);
    // Page-crossing operand.
    ASSERT_TRUE(mem.write64(0x5ffc, 0x1122334455667788ull));
    ASSERT_TRUE(mem.cmpxchg64(0x5ffc, 0x1122334455667788ull, 7, obs));
    mem.read64(0x5ffc, v);
    EXPECT_EQ(v, 7u);
}

TEST(SparseMemory, AdoptMapsHostBufferWithoutCopy) {
    sparse_memory mem;
    alignas(4096) static std::array<uint8_t, 3 * 4096> host{};
    ASSERT_TRUE(mem.write64(0x10'0000'1000, 99));  // shadowed by the adopted region
    ASSERT_TRUE(mem.adopt(0x10'0000'0000, host.data(), host.size()));
    host[0x1000 + 5] = 0x42;
    uint8_t b = 0;
    ASSERT_TRUE(mem.read(0x10'0000'1005, &b, 1));
    EXPECT_EQ(b, 0x42);
    ASSERT_TRUE(mem.write64(0x10'0000'2ff0, 0x0102030405060708ull));
    EXPECT_EQ(host[0x2ff0], 0x08);
    size_t len = 1;
    EXPECT_EQ(mem.host_ptr(0x10'0000'0010, len), nullptr) << "no raw pointer into adopted memory";
    EXPECT_EQ(len, 0u);
    EXPECT_TRUE(mem.is_adopted(0x10'0000'2fff));
    EXPECT_FALSE(mem.is_adopted(0x10'0000'3000));
    // Overlap and misalignment are refused.
    static std::array<uint8_t, 8192> other{};
    EXPECT_FALSE(mem.adopt(0x10'0000'2000, other.data(), other.size()));
    EXPECT_FALSE(mem.adopt(0x0f'ffff'f000, other.data(), other.size()));
    EXPECT_FALSE(mem.adopt(0x20'0000'0800, other.data(), 4096));
    EXPECT_FALSE(mem.adopt(0x20'0000'0000, other.data(), 100));
    ASSERT_TRUE(mem.release(0x10'0000'0000));
    EXPECT_FALSE(mem.release(0x10'0000'0000));
    uint64_t v = 1;
    ASSERT_TRUE(mem.read64(0x10'0000'1000, v));
    EXPECT_EQ(v, 0u);  // the previously written page was discarded by adopt
}

// Adopted memory the host unmaps or write-protects behind the model's back: accesses fail and
// are counted, the process gets no signal. Each way of copying (tlm/fault_safe_copy.h).
TEST(SparseMemory, AdoptedMemoryThatTheHostTakesAwayFailsInsteadOfCrashing) {
    for (const fault_safe_backend backend :
         {fault_safe_backend::fault_fixup, fault_safe_backend::process_vm, fault_safe_backend::pipe}) {
        if (backend == fault_safe_backend::fault_fixup && !fault_safe_copy_fixup_available()) {
            continue;  // a sanitizer build
        }
        SCOPED_TRACE(static_cast<int>(backend));
        fault_safe_copy_use(backend);
        sparse_memory mem;
        void* m = mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(m, MAP_FAILED);
        auto* host = static_cast<uint8_t*>(m);
        const uint64_t pa = 0x20'0000'0000;
        ASSERT_TRUE(mem.adopt(pa, host, 2 * 4096));
        ASSERT_TRUE(mem.write64(pa + 0x10, 0x1111'2222'3333'4444ull));
        EXPECT_EQ(host[0x10], 0x44);
        ASSERT_EQ(mprotect(host + 4096, 4096, PROT_READ), 0);
        uint64_t v = 0;
        EXPECT_FALSE(mem.write64(pa + 4096, 1)) << "write-protected page";
        EXPECT_TRUE(mem.read64(pa + 4096, v));
        EXPECT_EQ(v, 0u);
        ASSERT_EQ(munmap(host + 4096, 4096), 0);
        EXPECT_FALSE(mem.read64(pa + 4096, v)) << "unmapped page";
        uint64_t obs = 0;
        EXPECT_FALSE(mem.cmpxchg64(pa + 4096, 0, 1, obs));
        EXPECT_EQ(mem.host_faults(), 3u);
        EXPECT_TRUE(mem.read64(pa + 0x10, v)) << "the page still mapped keeps working";
        EXPECT_EQ(v, 0x1111'2222'3333'4444ull);
        ASSERT_TRUE(mem.release(pa));
        munmap(host, 4096);
    }
    fault_safe_copy_use(std::nullopt);
}

TEST(SparseMemory, HostPtrIsPageBoundedAndStopsBeforeErrors) {
    sparse_memory mem;
    size_t len = 0;
    uint8_t* p = mem.host_ptr(0x3010, len);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(len, 4096u - 0x10);
    p[0] = 0x5a;
    uint8_t b = 0;
    mem.read(0x3010, &b, 1);
    EXPECT_EQ(b, 0x5a);
    mem.inject_error_range(0x3800, 0x100);
    p = mem.host_ptr(0x3010, len);
    EXPECT_EQ(len, 0x7f0u);
    EXPECT_EQ(mem.host_ptr(0x3800, len), nullptr);
    EXPECT_EQ(len, 0u);
    EXPECT_EQ(mem.host_ptr(uint64_t{1} << 52, len), nullptr);
}

}  // namespace
}  // namespace iommusim
