// The IOMMU core's fault routing (driver/page_fault.h, kernel io-pgfault.c find_fault_handler):
// which domain's iopf handler a page request reaches, and the invalid answer when none does.
#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "driver/mock_driver.h"
#include "driver/page_fault.h"

namespace iommusim::driver {
namespace {

// A domain that keeps the requests its iopf handler was given (or has no handler at all).
struct recording_domain : iommu_domain, iopf_handler {
    std::vector<page_request> requests;
    explicit recording_domain(domain_type type, bool takes_faults = true) : iommu_domain(type, nullptr) {
        if (takes_faults) {
            set_iopf_handler(this);
        }
    }
    int attach_dev(iommu_device& dev) override {
        dev.domain = this;
        return 0;
    }
    int handle(iommu_device&, const page_request& r) override {
        requests.push_back(r);
        return 0;
    }
};

page_request request(uint32_t grpid, bool with_pasid, uint32_t pasid) {
    page_request r;
    r.flags = page_request_last_page | (with_pasid ? page_request_pasid_valid : 0);
    r.pasid = pasid;
    r.grpid = grpid;
    r.perm = page_request_perm_read;
    r.addr = 0x4000;
    return r;
}

class FaultRouting : public ::testing::Test {
  protected:
    void SetUp() override {
        m_dev = mock_driver::instance().create_device();
        ASSERT_NE(m_dev, nullptr);
        m_rid_domain.attach_dev(*m_dev);
        m_dev->pasid_domains[5] = &m_pasid_domain;
    }
    mock_device& dev() { return static_cast<mock_device&>(*m_dev); }

    std::unique_ptr<iommu_device> m_dev;
    recording_domain m_rid_domain{domain_type::nested};
    recording_domain m_pasid_domain{domain_type::paging};
};

TEST_F(FaultRouting, UntaggedRequestGoesToTheRidDomain) {
    EXPECT_EQ(report_page_request(*m_dev, request(1, false, 0)), 0);
    EXPECT_EQ(m_rid_domain.requests.size(), 1u);
    EXPECT_TRUE(m_pasid_domain.requests.empty());
}

TEST_F(FaultRouting, RequestWithAnAttachedPasidGoesToThatPasidsDomain) {
    EXPECT_EQ(report_page_request(*m_dev, request(2, true, 5)), 0);
    ASSERT_EQ(m_pasid_domain.requests.size(), 1u);
    EXPECT_EQ(m_pasid_domain.requests[0].pasid, 5u);
    EXPECT_TRUE(m_rid_domain.requests.empty());
    EXPECT_TRUE(dev().page_responses.empty()) << "answered later, by the handler's owner";
}

TEST_F(FaultRouting, RequestWithAnotherPasidFallsBackToTheNestedRidDomain) {
    // The mock has a user-managed PASID table: its nested domain on the RID takes every PASID.
    EXPECT_EQ(report_page_request(*m_dev, request(3, true, 9)), 0);
    EXPECT_EQ(m_rid_domain.requests.size(), 1u);
    EXPECT_TRUE(m_pasid_domain.requests.empty());
}

TEST_F(FaultRouting, PasidDomainWithoutAHandlerIsAnsweredInvalidWithoutFallback) {
    recording_domain silent(domain_type::paging, false);
    m_dev->pasid_domains[5] = &silent;
    EXPECT_EQ(report_page_request(*m_dev, request(4, true, 5)), -EINVAL);
    EXPECT_TRUE(m_rid_domain.requests.empty());
    ASSERT_EQ(dev().page_responses.size(), 1u);
    EXPECT_EQ(dev().page_responses[0].grpid, 4u);
    EXPECT_EQ(dev().page_responses[0].code, page_response_code::invalid);
}

}  // namespace
}  // namespace iommusim::driver
