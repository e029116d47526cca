// Fail-nth (after the kernel's tools/testing/selftests/iommu/iommufd_fail_nth.c): run the nested
// HWPT sequence with the nth object allocation failing, for every n until the sequence passes.
// Each failing step must answer ENOMEM and leave the object table exactly as it was before the
// step (two-phase creation aborts cleanly), and the context must still tear down.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <vector>

#include "iommufd/context.h"
#include "iommufd/fail_nth.h"
#include "iommusim/iommufd.h"

namespace iommusim::test {
namespace {

struct step_result {
    int rc = 0;
    std::size_t objects_before = 0;
    std::size_t objects_after = 0;
};

class sequence {
  public:
    explicit sequence(iommufd::context& ctx) : m_ctx(ctx) {}

    // Runs the steps; stops at the first failing one and returns its result.
    step_result run() {
        std::vector<std::function<int()>> steps = {
            [this] { return ioas_alloc(); },    [this] { return mock_domain(); },     [this] { return alloc_parent(); },
            [this] { return alloc_nested(); },  [this] { return replace(m_nested); }, [this] { return invalidate(); },
            [this] { return replace(m_ioas); }, [this] { return mock_domain(); },
        };
        step_result r;
        for (auto& step : steps) {
            r.objects_before = m_ctx.object_count();
            r.rc = step();
            r.objects_after = m_ctx.object_count();
            if (r.rc != 0) {
                return r;
            }
        }
        return r;
    }

  private:
    int call(unsigned long cmd, void* arg) { return m_ctx.ioctl(cmd, reinterpret_cast<uint64_t>(arg)); }
    int ioas_alloc() {
        iommu_ioas_alloc c{};
        c.size = sizeof(c);
        int rc = call(IOMMU_IOAS_ALLOC, &c);
        m_ioas = c.out_ioas_id;
        return rc;
    }
    int mock_domain() {
        iommu_test_cmd c{};
        c.size = sizeof(c);
        c.op = IOMMU_TEST_OP_MOCK_DOMAIN;
        c.id = m_ioas;
        int rc = call(IOMMU_TEST_CMD, &c);
        if (rc == 0 && m_stdev == 0) {
            m_stdev = c.mock_domain.out_stdev_id;
            m_idev = c.mock_domain.out_idev_id;
        }
        return rc;
    }
    int alloc_parent() {
        iommu_hwpt_alloc c{};
        c.size = sizeof(c);
        c.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
        c.dev_id = m_idev;
        c.pt_id = m_ioas;
        int rc = call(IOMMU_HWPT_ALLOC, &c);
        m_parent = c.out_hwpt_id;
        return rc;
    }
    int alloc_nested() {
        iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
        iommu_hwpt_alloc c{};
        c.size = sizeof(c);
        c.dev_id = m_idev;
        c.pt_id = m_parent;
        c.data_type = IOMMU_HWPT_DATA_SELFTEST;
        c.data_len = sizeof(data);
        c.data_uptr = reinterpret_cast<uint64_t>(&data);
        int rc = call(IOMMU_HWPT_ALLOC, &c);
        m_nested = c.out_hwpt_id;
        return rc;
    }
    int replace(uint32_t pt) {
        iommu_test_cmd c{};
        c.size = sizeof(c);
        c.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
        c.id = m_stdev;
        c.mock_domain_replace.pt_id = pt;
        return call(IOMMU_TEST_CMD, &c);
    }
    int invalidate() {
        iommu_hwpt_invalidate_selftest req{IOMMU_TEST_INVALIDATE_FLAG_ALL, 0};
        iommu_hwpt_invalidate c{};
        c.size = sizeof(c);
        c.hwpt_id = m_nested;
        c.data_uptr = reinterpret_cast<uint64_t>(&req);
        c.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
        c.entry_len = sizeof(req);
        c.entry_num = 1;
        return call(IOMMU_HWPT_INVALIDATE, &c);
    }

    iommufd::context& m_ctx;
    uint32_t m_ioas = 0;
    uint32_t m_stdev = 0;
    uint32_t m_idev = 0;
    uint32_t m_parent = 0;
    uint32_t m_nested = 0;
};

TEST(FailNth, NestedSequenceUnwindsAtEveryAllocation) {
    unsigned failures = 0;
    for (unsigned nth = 1; nth < 100; ++nth) {
        SCOPED_TRACE(testing::Message() << "fail_nth=" << nth);
        iommufd::context ctx;
        ctx.fail_nth_allocation(nth);
        step_result r = sequence(ctx).run();
        if (r.rc == 0) {
            break;  // nth is past the last allocation point: the whole sequence ran
        }
        ++failures;
        EXPECT_EQ(-ENOMEM, r.rc);
        EXPECT_EQ(r.objects_before, r.objects_after);
    }
    // ioas, 2 x (selftest object, device, automatic hwpt on first use), parent, nested, and the
    // automatic hwpt re-created by the replace back to the IOAS.
    EXPECT_EQ(9u, failures);
}

TEST(FailNth, InjectionIsOneShot) {
    iommufd::context ctx;
    ctx.fail_nth_allocation(1);
    iommu_ioas_alloc c{};
    c.size = sizeof(c);
    EXPECT_EQ(-ENOMEM, ctx.ioctl(IOMMU_IOAS_ALLOC, reinterpret_cast<uint64_t>(&c)));
    EXPECT_EQ(0u, ctx.object_count());
    EXPECT_EQ(0, ctx.ioctl(IOMMU_IOAS_ALLOC, reinterpret_cast<uint64_t>(&c)));
    EXPECT_EQ(1u, c.out_ioas_id);
}

// The process-wide count (the kernel's per-task fail_nth, /proc/<pid>/fail-nth): allocations in
// every context count down one number; reading it back gives what is left, 0 once it fired.
TEST(FailNth, TaskCountSpansContexts) {
    iommufd::context first;
    iommufd::context second;
    iommu_ioas_alloc c{};
    c.size = sizeof(c);
    iommufd::set_task_fail_nth(3);
    EXPECT_EQ(0, first.ioctl(IOMMU_IOAS_ALLOC, reinterpret_cast<uint64_t>(&c)));
    EXPECT_EQ(0, second.ioctl(IOMMU_IOAS_ALLOC, reinterpret_cast<uint64_t>(&c)));
    EXPECT_EQ(1u, iommufd::task_fail_nth());
    EXPECT_EQ(-ENOMEM, first.ioctl(IOMMU_IOAS_ALLOC, reinterpret_cast<uint64_t>(&c)));
    EXPECT_EQ(0u, iommufd::task_fail_nth());
    EXPECT_EQ(1u, first.object_count());
    EXPECT_EQ(0, second.ioctl(IOMMU_IOAS_ALLOC, reinterpret_cast<uint64_t>(&c)));  // one-shot
    iommufd::set_task_fail_nth(5);
    iommufd::set_task_fail_nth(0);  // disarmed
    EXPECT_EQ(0, first.ioctl(IOMMU_IOAS_ALLOC, reinterpret_cast<uint64_t>(&c)));
    EXPECT_EQ(0u, iommufd::task_fail_nth());
}

}  // namespace
}  // namespace iommusim::test
