// The selftest's access files (kernel iommufd/selftest.c struct selftest_access): what
// IOMMU_TEST_OP_CREATE_ACCESS hands out as a file descriptor, and the descriptor table it lives in.
#pragma once

#include <cstdint>
#include <list>
#include <memory>

#include "iommufd/context.h"
#include "iommufd/file_table.h"
#include "iommusim/iommufd.h"

namespace iommusim::iommufd {

// One IOMMU_TEST_OP_ACCESS_PAGES pin (kernel struct selftest_access_item).
struct selftest_access_item {
    uint64_t iova;
    uint64_t length;
    uint32_t id;
};

// The file behind an access descriptor: the access object and the pins made through it.
struct selftest_access {
    context* ctx = nullptr;
    access* acc = nullptr;  // null until creation completed
    std::list<selftest_access_item> items;
    uint32_t next_id = 0;
};

// The file's release (its last descriptor closed): unpins every item and destroys the access.
void selftest_access_release(selftest_access& file);

// The IOMMU_TEST_CMD access ops: 0 or a negative errno.
int test_create_access(ucmd& u, iommu_test_cmd& cmd);
int test_access_replace_ioas(ucmd& u, iommu_test_cmd& cmd);
int test_access_pages(ucmd& u, iommu_test_cmd& cmd);
int test_access_rw(ucmd& u, iommu_test_cmd& cmd);
int test_destroy_access_pages(ucmd& u, iommu_test_cmd& cmd);

}  // namespace iommusim::iommufd
