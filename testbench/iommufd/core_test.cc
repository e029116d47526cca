// The iommufd core against a scripted driver: the paths the mock and VT-d drivers never take
// (driver errors, missing ops, cross-driver nesting, a driver returning the wrong domain type) and
// the driver-facing contract (IOAS ranges reach every paging domain with the host pointer, undo on
// failure, replace keeps the old attachment on error). Uses iommufd::context directly.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "driver/iommu_ops.h"
#include "iommufd/context.h"
#include "iommusim/iommufd.h"

namespace iommusim::test {
namespace {

struct map_call {
    uint64_t iova;
    void* host;
    uint64_t len;
    int prot;
    bool operator==(const map_call&) const = default;
};

class scripted_paging : public driver::iommu_domain {
  public:
    scripted_paging(driver::iommu_ops* owner, bool nest_parent, int* map_rc, int* attach_rc)
        : iommu_domain(driver::domain_type::paging, owner)
        , m_nest_parent(nest_parent)
        , m_map_rc(map_rc)
        , m_attach_rc(attach_rc) {}
    bool is_nest_parent() const override { return m_nest_parent; }
    int attach_dev(driver::iommu_device& dev) override {
        if (*m_attach_rc != 0) {
            return *m_attach_rc;
        }
        dev.domain = this;
        return 0;
    }
    int map(uint64_t iova, void* host, uint64_t len, int prot) override {
        if (*m_map_rc != 0) {
            return *m_map_rc;
        }
        maps[iova] = map_call{iova, host, len, prot};
        return 0;
    }
    int unmap(uint64_t iova, uint64_t len) override {
        auto it = maps.find(iova);
        if (it == maps.end() || it->second.len != len) {
            return -ENOENT;
        }
        maps.erase(it);
        return 0;
    }
    std::map<uint64_t, map_call> maps;

  private:
    bool m_nest_parent;
    int* m_map_rc;
    int* m_attach_rc;
};

// A nested domain without cache_invalidate_user.
class scripted_nested : public driver::iommu_domain {
  public:
    explicit scripted_nested(driver::iommu_ops* owner) : iommu_domain(driver::domain_type::nested, owner) {}
    int attach_dev(driver::iommu_device& dev) override {
        dev.domain = this;
        return 0;
    }
};

class scripted_ops : public driver::iommu_ops {
  public:
    int hw_info(driver::iommu_device&, std::vector<uint8_t>& data, uint32_t& type, uint64_t& caps) override {
        if (hw_info_rc != 0) {
            return hw_info_rc;
        }
        data = {1, 2, 3};
        type = hw_type;
        caps = 0;
        return 0;
    }
    int domain_alloc_paging_flags(driver::iommu_device&, uint32_t flags, const driver::iommu_user_data*,
                                  std::unique_ptr<driver::iommu_domain>& out) override {
        auto d =
            std::make_unique<scripted_paging>(this, (flags & driver::alloc_flag_nest_parent) != 0, &map_rc, &attach_rc);
        domains.push_back(d.get());
        out = std::move(d);
        return 0;
    }
    bool has_domain_alloc_nested() const override { return nested_op; }
    int domain_alloc_nested(driver::iommu_device&, driver::iommu_domain&, uint32_t, const driver::iommu_user_data&,
                            std::unique_ptr<driver::iommu_domain>& out) override {
        if (nested_returns_paging) {
            out = std::make_unique<scripted_paging>(this, false, &map_rc, &attach_rc);
        } else {
            out = std::make_unique<scripted_nested>(this);
        }
        return 0;
    }
    void detach_dev(driver::iommu_device& dev) override { dev.domain = nullptr; }

    int hw_info_rc = 0;
    uint32_t hw_type = 0x1234;
    bool nested_op = true;
    bool nested_returns_paging = false;
    int map_rc = 0;
    int attach_rc = 0;
    std::vector<scripted_paging*> domains;  // every paging domain allocated (may be freed)
};

class IommufdCore : public ::testing::Test {
  protected:
    void SetUp() override {
        m_dev.ops = &m_ops;
        m_other_dev.ops = &m_other_ops;
        ASSERT_EQ(0, m_ctx.bind(m_dev, m_dev_id));
        ASSERT_EQ(0, m_ctx.bind(m_other_dev, m_other_dev_id));
        iommu_ioas_alloc a{};
        a.size = sizeof(a);
        ASSERT_EQ(0, call(IOMMU_IOAS_ALLOC, &a));
        m_ioas = a.out_ioas_id;
    }
    void TearDown() override {
        m_ctx.unbind(m_dev_id);
        m_ctx.unbind(m_other_dev_id);
    }
    int call(unsigned long cmd, void* arg) { return m_ctx.ioctl(cmd, reinterpret_cast<uint64_t>(arg)); }
    int hwpt_alloc(uint32_t dev, uint32_t pt, uint32_t flags, uint32_t* out, uint32_t type = 0, uint32_t len = 0) {
        static const uint32_t blob[4] = {};
        iommu_hwpt_alloc c{};
        c.size = sizeof(c);
        c.dev_id = dev;
        c.pt_id = pt;
        c.flags = flags;
        c.data_type = type;
        c.data_len = len;
        c.data_uptr = reinterpret_cast<uint64_t>(blob);
        int rc = call(IOMMU_HWPT_ALLOC, &c);
        *out = c.out_hwpt_id;
        return rc;
    }
    int map(void* buf, uint64_t len, uint64_t iova) {
        iommu_ioas_map m{};
        m.size = sizeof(m);
        m.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE;
        m.ioas_id = m_ioas;
        m.user_va = reinterpret_cast<uint64_t>(buf);
        m.length = len;
        m.iova = iova;
        return call(IOMMU_IOAS_MAP, &m);
    }
    iommufd::device& idev() { return *m_ctx.get<iommufd::device>(m_dev_id, iommufd::obj_type::device); }

    scripted_ops m_ops;
    scripted_ops m_other_ops;
    driver::iommu_device m_dev;
    driver::iommu_device m_other_dev;
    iommufd::context m_ctx;
    uint32_t m_dev_id = 0;
    uint32_t m_other_dev_id = 0;
    uint32_t m_ioas = 0;
};

TEST_F(IommufdCore, GetHwInfoDriverPaths) {
    uint8_t data[8] = {};
    iommu_hw_info c{};
    c.size = sizeof(c);
    c.dev_id = m_dev_id;
    c.data_len = sizeof(data);
    c.data_uptr = reinterpret_cast<uint64_t>(data);
    ASSERT_EQ(0, call(IOMMU_GET_HW_INFO, &c));
    EXPECT_EQ(3u, c.data_len);
    EXPECT_EQ(0x1234u, c.out_data_type);
    EXPECT_EQ(3, data[2]);
    m_ops.hw_info_rc = -EIO;
    c.data_len = sizeof(data);
    EXPECT_EQ(-EIO, call(IOMMU_GET_HW_INFO, &c));
    m_ops.hw_info_rc = 0;
    m_ops.hw_type = IOMMU_HW_INFO_TYPE_NONE;
    EXPECT_EQ(-ENODEV, call(IOMMU_GET_HW_INFO, &c));
}

TEST_F(IommufdCore, NestedAllocDriverPaths) {
    uint32_t parent = 0;
    uint32_t plain = 0;
    uint32_t out = 0;
    ASSERT_EQ(0, hwpt_alloc(m_dev_id, m_ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &parent));
    ASSERT_EQ(0, hwpt_alloc(m_dev_id, m_ioas, 0, &plain));
    // No nested op: EOPNOTSUPP, checked before the parent (even a non-nest-parent).
    m_ops.nested_op = false;
    EXPECT_EQ(-EOPNOTSUPP, hwpt_alloc(m_dev_id, plain, 0, &out, 1, 4));
    m_ops.nested_op = true;
    EXPECT_EQ(-EINVAL, hwpt_alloc(m_dev_id, plain, 0, &out, 1, 4));
    // The parent belongs to another driver.
    EXPECT_EQ(-EINVAL, hwpt_alloc(m_other_dev_id, parent, 0, &out, 1, 4));
    // A driver that returns a non-nested domain: EINVAL, nothing left behind.
    const std::size_t before = m_ctx.object_count();
    m_ops.nested_returns_paging = true;
    EXPECT_EQ(-EINVAL, hwpt_alloc(m_dev_id, parent, 0, &out, 1, 4));
    EXPECT_EQ(before, m_ctx.object_count());
    m_ops.nested_returns_paging = false;
    // A nested domain without cache_invalidate_user: HWPT_INVALIDATE is EOPNOTSUPP, entry_num 0.
    uint32_t nested = 0;
    ASSERT_EQ(0, hwpt_alloc(m_dev_id, parent, 0, &nested, 1, 4));
    iommu_hwpt_invalidate inv{};
    inv.size = sizeof(inv);
    inv.hwpt_id = nested;
    inv.entry_num = 0;
    EXPECT_EQ(-EOPNOTSUPP, call(IOMMU_HWPT_INVALIDATE, &inv));
    EXPECT_EQ(0u, inv.entry_num);
    // Attaching another driver's device to this HWPT is EINVAL.
    uint32_t pt = nested;
    EXPECT_EQ(-EINVAL, m_ctx.attach(*m_ctx.get<iommufd::device>(m_other_dev_id, iommufd::obj_type::device), pt));
}

TEST_F(IommufdCore, IoasRangesReachEveryPagingDomain) {
    alignas(4096) static uint8_t buf[3 * 4096];
    // A range mapped before the HWPT exists is filled in at creation.
    ASSERT_EQ(0, map(buf, 4096, 0x10000));
    uint32_t a = 0;
    uint32_t b = 0;
    ASSERT_EQ(0, hwpt_alloc(m_dev_id, m_ioas, 0, &a));
    ASSERT_EQ(0, hwpt_alloc(m_dev_id, m_ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &b));
    ASSERT_EQ(2u, m_ops.domains.size());
    scripted_paging* da = m_ops.domains[0];
    scripted_paging* db = m_ops.domains[1];
    const map_call first{0x10000, buf, 4096, driver::prot_read};
    EXPECT_EQ(first, da->maps.at(0x10000));
    EXPECT_EQ(first, db->maps.at(0x10000));
    // A new range reaches both with the host pointer.
    ASSERT_EQ(0, map(buf + 4096, 2 * 4096, 0x20000));
    const map_call second{0x20000, buf + 4096, 2 * 4096, driver::prot_read};
    EXPECT_EQ(second, da->maps.at(0x20000));
    EXPECT_EQ(second, db->maps.at(0x20000));
    // A driver failure undoes the map everywhere and records nothing.
    m_ops.map_rc = -ENOMEM;
    EXPECT_EQ(-ENOMEM, map(buf, 4096, 0x40000));
    m_ops.map_rc = 0;
    EXPECT_EQ(2u, da->maps.size());
    EXPECT_EQ(2u, db->maps.size());
    EXPECT_EQ(0, map(buf, 4096, 0x40000));
    // Unmap reaches every domain.
    iommu_ioas_unmap u{};
    u.size = sizeof(u);
    u.ioas_id = m_ioas;
    u.iova = 0x20000;
    u.length = 2 * 4096;
    ASSERT_EQ(0, call(IOMMU_IOAS_UNMAP, &u));
    EXPECT_EQ(0u, da->maps.count(0x20000));
    EXPECT_EQ(0u, db->maps.count(0x20000));
    EXPECT_EQ(2u, da->maps.size());
    // A HWPT whose fill fails is not created.
    m_ops.map_rc = -EIO;
    uint32_t c = 0;
    const std::size_t before = m_ctx.object_count();
    EXPECT_EQ(-EIO, hwpt_alloc(m_dev_id, m_ioas, 0, &c));
    EXPECT_EQ(before, m_ctx.object_count());
    m_ops.map_rc = 0;
}

TEST_F(IommufdCore, FailedReplaceKeepsTheOldAttachment) {
    uint32_t a = 0;
    uint32_t b = 0;
    ASSERT_EQ(0, hwpt_alloc(m_dev_id, m_ioas, 0, &a));
    ASSERT_EQ(0, hwpt_alloc(m_dev_id, m_ioas, 0, &b));
    uint32_t pt = a;
    ASSERT_EQ(0, m_ctx.attach(idev(), pt));
    EXPECT_EQ(m_ops.domains[0], m_dev.domain);
    m_ops.attach_rc = -EBUSY;
    pt = b;
    EXPECT_EQ(-EBUSY, m_ctx.attach(idev(), pt));
    m_ops.attach_rc = 0;
    EXPECT_EQ(m_ops.domains[0], m_dev.domain);
    EXPECT_EQ(-EBUSY, m_ctx.destroy(a));
    EXPECT_EQ(0, m_ctx.destroy(b));
    m_ctx.detach(idev());
    EXPECT_EQ(nullptr, m_dev.domain);
    EXPECT_EQ(0, m_ctx.destroy(a));
}

TEST_F(IommufdCore, BindRules) {
    uint32_t id = 0;
    // Already owned by this context.
    EXPECT_EQ(-EBUSY, m_ctx.bind(m_dev, id));
    // Owned devices cannot be bound by another context either.
    iommufd::context other;
    EXPECT_EQ(-EBUSY, other.bind(m_dev, id));
    m_ctx.unbind(m_dev_id);
    EXPECT_EQ(nullptr, m_dev.owner);
    EXPECT_EQ(0, other.bind(m_dev, id));
    other.unbind(id);
    ASSERT_EQ(0, m_ctx.bind(m_dev, m_dev_id));
}

}  // namespace
}  // namespace iommusim::test
