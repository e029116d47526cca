// The iommufd core's dirty tracking against a scripted driver: what it asks of a domain's dirty
// ops (kernel io_pagetable.c iopt_set_dirty_tracking, iopt_clear_dirty_data,
// iopt_read_and_clear_dirty_data): the clearing pass over every area without a bitmap before
// tracking starts, one read_and_clear_dirty per piece of each area a range covers, with the
// NO_CLEAR flag passed on, reports clipped to the requested range, and a driver error returned
// with nothing written. Uses iommufd::context directly.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "driver/iommu_ops.h"
#include "iommufd/context.h"
#include "iommusim/iommufd.h"

namespace iommusim::test {
namespace {

constexpr uint64_t page = 4096;
constexpr uint64_t base = 1ull << 32;

struct read_call {
    uint64_t iova;
    uint64_t size;
    unsigned long flags;
    bool reports;
    bool operator==(const read_call&) const = default;
};

// A paging domain with dirty ops that reports a fixed list of ranges from every read.
class scripted_dirty_domain : public driver::iommu_domain {
  public:
    scripted_dirty_domain(driver::iommu_ops* owner, bool dirty_ops)
        : iommu_domain(driver::domain_type::paging, owner), m_dirty_ops(dirty_ops) {}
    int attach_dev(driver::iommu_device& dev) override {
        dev.domain = this;
        return 0;
    }
    int map(uint64_t, void*, uint64_t, int) override { return 0; }
    int unmap(uint64_t, uint64_t) override { return 0; }
    bool has_dirty_ops() const override { return m_dirty_ops; }
    int set_dirty_tracking(bool enabled) override {
        tracking_calls.push_back(enabled);
        return 0;
    }
    int read_and_clear_dirty(uint64_t iova, uint64_t size, unsigned long flags,
                             driver::dirty_bitmap_sink& dirty) override {
        reads.push_back({iova, size, flags, dirty.reports()});
        for (const auto& [at, length] : report) {
            dirty.record(at, length);
        }
        return reads.size() == fail_at_read ? read_rc : 0;
    }

    std::vector<read_call> reads;
    std::vector<bool> tracking_calls;
    std::vector<std::pair<uint64_t, uint64_t>> report;
    std::size_t fail_at_read = 0;  // the 1-based read that returns read_rc (0: none)
    int read_rc = 0;

  private:
    bool m_dirty_ops;
};

class scripted_dirty_ops : public driver::iommu_ops {
  public:
    int hw_info(driver::iommu_device&, std::vector<uint8_t>&, uint32_t&, uint64_t&) override { return -ENODEV; }
    int domain_alloc_paging_flags(driver::iommu_device&, uint32_t flags, const driver::iommu_user_data*,
                                  std::unique_ptr<driver::iommu_domain>& out) override {
        auto d = std::make_unique<scripted_dirty_domain>(this, (flags & driver::alloc_flag_dirty_tracking) != 0);
        last = d.get();
        out = std::move(d);
        return 0;
    }
    void detach_dev(driver::iommu_device& dev) override { dev.domain = nullptr; }
    scripted_dirty_domain* last = nullptr;
};

// An IOAS with two adjacent areas [base, base + 2 pages) and [base + 2 pages, base + 3 pages), a
// third at base + 4 pages, and a dirty-tracking HWPT on it.
class DirtyCore : public ::testing::Test {
  protected:
    void SetUp() override {
        m_dev.ops = &m_ops;
        ASSERT_EQ(0, m_ctx.bind(m_dev, m_dev_id));
        iommu_ioas_alloc a{};
        a.size = sizeof(a);
        ASSERT_EQ(0, call(IOMMU_IOAS_ALLOC, &a));
        m_ioas = a.out_ioas_id;
        m_buf = mmap(nullptr, 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(MAP_FAILED, m_buf);
        ASSERT_EQ(0, map(0, 2 * page, base));
        ASSERT_EQ(0, map(2 * page, page, base + 2 * page));
        ASSERT_EQ(0, map(4 * page, page, base + 4 * page));
        m_hwpt = alloc(IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
        m_domain = m_ops.last;
        ASSERT_NE(nullptr, m_domain);
    }
    void TearDown() override {
        m_ctx.unbind(m_dev_id);
        munmap(m_buf, 8 * page);
    }
    int call(unsigned long cmd, void* arg) { return m_ctx.ioctl(cmd, reinterpret_cast<uint64_t>(arg)); }
    int map(uint64_t offset, uint64_t len, uint64_t iova) {
        iommu_ioas_map m{};
        m.size = sizeof(m);
        m.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
        m.ioas_id = m_ioas;
        m.user_va = reinterpret_cast<uint64_t>(m_buf) + offset;
        m.length = len;
        m.iova = iova;
        return call(IOMMU_IOAS_MAP, &m);
    }
    uint32_t alloc(uint32_t flags) {
        iommu_hwpt_alloc c{};
        c.size = sizeof(c);
        c.dev_id = m_dev_id;
        c.pt_id = m_ioas;
        c.flags = flags;
        EXPECT_EQ(0, call(IOMMU_HWPT_ALLOC, &c));
        return c.out_hwpt_id;
    }
    int set_tracking(uint32_t hwpt, bool enable) {
        iommu_hwpt_set_dirty_tracking c{};
        c.size = sizeof(c);
        c.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0;
        c.hwpt_id = hwpt;
        return call(IOMMU_HWPT_SET_DIRTY_TRACKING, &c);
    }
    int get_bitmap(uint32_t hwpt, uint64_t iova, uint64_t length, uint64_t* bitmap, uint32_t flags = 0) {
        iommu_hwpt_get_dirty_bitmap c{};
        c.size = sizeof(c);
        c.hwpt_id = hwpt;
        c.flags = flags;
        c.iova = iova;
        c.length = length;
        c.page_size = page;
        c.data = reinterpret_cast<uint64_t>(bitmap);
        return call(IOMMU_HWPT_GET_DIRTY_BITMAP, &c);
    }

    scripted_dirty_ops m_ops;
    driver::iommu_device m_dev;
    iommufd::context m_ctx;
    void* m_buf = MAP_FAILED;
    uint32_t m_dev_id = 0;
    uint32_t m_ioas = 0;
    uint32_t m_hwpt = 0;
    scripted_dirty_domain* m_domain = nullptr;
};

// Enabling clears every area with a report-less sink first, then enables; disabling only disables.
TEST_F(DirtyCore, EnableClearsEveryAreaFirst) {
    ASSERT_EQ(0, set_tracking(m_hwpt, true));
    const std::vector<read_call> clears = {
        {base, 2 * page, 0, false}, {base + 2 * page, page, 0, false}, {base + 4 * page, page, 0, false}};
    EXPECT_EQ(clears, m_domain->reads);
    EXPECT_EQ(std::vector<bool>{true}, m_domain->tracking_calls);
    ASSERT_EQ(0, set_tracking(m_hwpt, false));
    EXPECT_EQ(clears, m_domain->reads) << "disabling reads nothing";
    EXPECT_EQ((std::vector<bool>{true, false}), m_domain->tracking_calls);
}

// A failing clear stops before the driver is asked to enable.
TEST_F(DirtyCore, FailedClearLeavesTrackingOff) {
    m_domain->fail_at_read = 2;
    m_domain->read_rc = -EIO;
    EXPECT_EQ(-EIO, set_tracking(m_hwpt, true));
    EXPECT_EQ(2u, m_domain->reads.size());
    EXPECT_TRUE(m_domain->tracking_calls.empty());
}

// One read per piece of each area the range covers, NO_CLEAR passed on as dirty_no_clear; a
// report reaching outside the range sets only the bits of the range.
TEST_F(DirtyCore, ReadsEveryPieceAndClipsReports) {
    m_domain->report = {{base, 3 * page}};
    uint64_t bitmap = 0;
    ASSERT_EQ(0, get_bitmap(m_hwpt, base + page, 2 * page, &bitmap, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
    const std::vector<read_call> reads = {{base + page, page, driver::dirty_no_clear, true},
                                          {base + 2 * page, page, driver::dirty_no_clear, true}};
    EXPECT_EQ(reads, m_domain->reads);
    EXPECT_EQ(0b11u, bitmap);
    // A clearing read passes no flag; a part-page report sets the bit of its page.
    m_domain->reads.clear();
    m_domain->report = {{base + page + 100, 1}};
    bitmap = 0;
    ASSERT_EQ(0, get_bitmap(m_hwpt, base, 2 * page, &bitmap));
    EXPECT_EQ((std::vector<read_call>{{base, 2 * page, 0, true}}), m_domain->reads);
    EXPECT_EQ(0b10u, bitmap);
}

// The hole at base + 3 pages: EINVAL before the driver is asked anything.
TEST_F(DirtyCore, HoleIsEinvalWithoutReads) {
    uint64_t bitmap = 0;
    EXPECT_EQ(-EINVAL, get_bitmap(m_hwpt, base, 5 * page, &bitmap));
    EXPECT_TRUE(m_domain->reads.empty());
}

// A driver error in the second piece is returned; the bits of the first are not written.
TEST_F(DirtyCore, DriverErrorWritesNothing) {
    m_domain->report = {{base, page}};
    m_domain->fail_at_read = 2;
    m_domain->read_rc = -EIO;
    uint64_t bitmap = 0;
    EXPECT_EQ(-EIO, get_bitmap(m_hwpt, base, 3 * page, &bitmap));
    EXPECT_EQ(2u, m_domain->reads.size());
    EXPECT_EQ(0u, bitmap);
}

// A domain without dirty ops: both ioctls EOPNOTSUPP, nothing asked of the driver.
TEST_F(DirtyCore, NoDirtyOpsIsEopnotsupp) {
    const uint32_t plain = alloc(0);
    scripted_dirty_domain* domain = m_ops.last;
    uint64_t bitmap = 0;
    EXPECT_EQ(-EOPNOTSUPP, set_tracking(plain, true));
    EXPECT_EQ(-EOPNOTSUPP, get_bitmap(plain, base, page, &bitmap));
    EXPECT_TRUE(domain->reads.empty());
    EXPECT_TRUE(domain->tracking_calls.empty());
}

}  // namespace
}  // namespace iommusim::test
