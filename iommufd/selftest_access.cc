// The selftest's access ops (kernel iommufd/selftest.c): IOMMU_TEST_OP_CREATE_ACCESS,
// ACCESS_REPLACE_IOAS, ACCESS_PAGES, ACCESS_RW and DESTROY_ACCESS_PAGES, and the access file.
//
// Models: the access file as a descriptor of the caller's table (reserved before the access is
// created, live only once the reply is written; closing its last descriptor unpins every item and
// destroys the access); an access op names its file by descriptor (EBADFD for anything else) and
// acts in the file's own context; the mock's unmap op drops and unpins every item meeting the range,
// so an IOAS_UNMAP over pinned pages succeeds and DESTROY_ACCESS_PAGES of such an item is ENOENT;
// ACCESS_PAGES's check of the pinned pages against uptr (-EBADE on a mismatch, -EFAULT for an
// unmapped uptr page); MOCK_FLAGS_ACCESS_SYZ's IOVA as the nth area and an offset; the kernel's
// errno and its order in each op.
// Does not model: physical pages: ACCESS_PAGES compares the user addresses the IOAS maps with uptr,
// so two mappings of one page differ here (the kernel compares struct page).
#include <cerrno>
#include <vector>

#include "driver/uaccess.h"
#include "driver/user_space.h"
#include "iommufd/selftest_access.h"
#include "iommusim/iommufd.h"

namespace iommusim::iommufd {

namespace {

constexpr uint64_t page_size = 4096;
constexpr uint64_t max_length = 16 * 1024 * 1024;  // the kernel's guard against huge allocations

// Kernel iommufd_test_access_unmap: every item meeting [iova, iova + length - 1] is unpinned.
void unmap_items(selftest_access& file, uint64_t iova, uint64_t length) {
    const uint64_t last = iova + length - 1;
    for (auto it = file.items.begin(); it != file.items.end();) {
        if (iova > it->iova + it->length - 1 || last < it->iova) {
            ++it;
            continue;
        }
        access_unpin_pages(*file.acc, it->iova, it->length);
        it = file.items.erase(it);
    }
}

// The caller's descriptor table: none for a call of another process (a forked child), whose table
// the model cannot reach.
file_table* caller_files(ucmd& u) {
    return driver::current_user_space() ? nullptr : u.ctx.files;
}

// Kernel iommufd_access_get: the access file of descriptor fd, else nullptr (-> EBADFD).
std::shared_ptr<selftest_access> access_get(ucmd& u, uint32_t fd) {
    file_table* files = caller_files(u);
    if (files == nullptr || fd > INT32_MAX) {
        return nullptr;
    }
    std::shared_ptr<selftest_access> file = files->access_file(static_cast<int>(fd));
    return file && file->acc != nullptr ? file : nullptr;
}

// Kernel iommufd_test_syz_conv_iova: the low 32 bits pick the nth area, the high 32 an offset in it.
uint64_t syz_iova(const access& acc, uint64_t encoded) {
    if (acc.ioas == nullptr) {
        return 0;
    }
    uint32_t nth = static_cast<uint32_t>(encoded);
    for (const auto& [iova, area] : acc.ioas->areas) {
        (void)area;
        if (nth == 0) {
            return iova + (encoded >> 32);
        }
        --nth;
    }
    return 0;
}

// Kernel iommufd_test_check_pages: page i of uptr must be the ith pinned page.
int check_pages(uint64_t uptr, const std::vector<uint64_t>& pages) {
    for (std::size_t i = 0; i < pages.size(); ++i) {
        const uint64_t user = uptr + i * page_size;
        unsigned char probe = 0;
        if (driver::copy_from_user(&probe, user, 1) != 0) {
            return -EFAULT;
        }
        if ((user & ~(page_size - 1)) != pages[i]) {
            return -EBADE;
        }
    }
    return 0;
}

}  // namespace

void selftest_access_release(selftest_access& file) {
    if (file.acc == nullptr) {
        return;
    }
    unmap_items(file, 0, ~uint64_t{0});
    file.ctx->destroy_object(*file.acc);
    file.acc = nullptr;
}

int test_create_access(ucmd& u, iommu_test_cmd& cmd) {
    const uint32_t flags = cmd.create_access.flags;
    if ((flags & ~uint32_t{MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES}) != 0) {
        return -EOPNOTSUPP;
    }
    auto file = std::make_shared<selftest_access>();
    file->ctx = &u.ctx;
    file_table* files = caller_files(u);
    const int fd = files != nullptr ? files->reserve(file) : -1;
    if (fd < 0) {
        return -ENOMEM;
    }
    access* acc = nullptr;
    selftest_access* raw = file.get();
    int rc = access_create(
        u.ctx, (flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) != 0,
        [raw](uint64_t iova, uint64_t length) { unmap_items(*raw, iova, length); }, acc);
    if (rc != 0) {
        files->unreserve(fd);
        return rc;
    }
    rc = access_attach(u.ctx, *acc, cmd.id);
    if (rc == 0) {
        cmd.create_access.out_access_fd = static_cast<uint32_t>(fd);
        rc = u.respond(sizeof(cmd));
    }
    if (rc != 0) {
        u.ctx.destroy_object(*acc);
        files->unreserve(fd);
        return rc;
    }
    file->acc = acc;
    files->install(fd);
    return 0;
}

int test_access_replace_ioas(ucmd& u, iommu_test_cmd& cmd) {
    std::shared_ptr<selftest_access> file = access_get(u, cmd.id);
    if (!file) {
        return -EBADFD;
    }
    return access_replace(*file->ctx, *file->acc, cmd.access_replace_ioas.ioas_id);
}

int test_access_pages(ucmd& u, iommu_test_cmd& cmd) {
    const uint32_t flags = cmd.access_pages.flags;
    if (cmd.access_pages.length > max_length) {
        return -ENOMEM;
    }
    if ((flags & ~uint32_t{MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ}) != 0) {
        return -EOPNOTSUPP;
    }
    std::shared_ptr<selftest_access> file = access_get(u, cmd.id);
    if (!file) {
        return -EBADFD;
    }
    if (!file->acc->needs_pin_pages) {
        return -EOPNOTSUPP;
    }
    uint64_t iova = cmd.access_pages.iova;
    if ((flags & MOCK_FLAGS_ACCESS_SYZ) != 0) {
        iova = syz_iova(*file->acc, iova);
    }
    const uint64_t length = cmd.access_pages.length;
    std::vector<uint64_t> pages;
    int rc = access_pin_pages(*file->acc, iova, length, (flags & MOCK_FLAGS_ACCESS_WRITE) != 0, pages);
    if (rc != 0) {
        return rc;
    }
    const uint64_t uptr = cmd.access_pages.uptr;
    if (uptr != 0) {  // syzkaller passes NULL to skip the check
        rc = check_pages(uptr - (iova % page_size), pages);
    }
    if (rc == 0) {
        const uint32_t id = file->next_id++;
        file->items.push_back({iova, length, id});
        cmd.access_pages.out_access_pages_id = id;
        rc = u.respond(sizeof(cmd));
        if (rc != 0) {
            file->items.pop_back();
        }
    }
    if (rc != 0) {
        access_unpin_pages(*file->acc, iova, length);
    }
    return rc;
}

int test_access_rw(ucmd& u, iommu_test_cmd& cmd) {
    const uint32_t flags = cmd.access_rw.flags;
    const uint64_t length = cmd.access_rw.length;
    if (length > max_length) {
        return -ENOMEM;
    }
    if ((flags & ~uint32_t{MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH | MOCK_FLAGS_ACCESS_SYZ}) != 0) {
        return -EOPNOTSUPP;
    }
    std::shared_ptr<selftest_access> file = access_get(u, cmd.id);
    if (!file) {
        return -EBADFD;
    }
    std::vector<unsigned char> tmp(length);
    const bool write = (flags & MOCK_ACCESS_RW_WRITE) != 0;
    if (write && driver::copy_from_user(tmp.data(), cmd.access_rw.uptr, length) != 0) {
        return -EFAULT;
    }
    uint64_t iova = cmd.access_rw.iova;
    if ((flags & MOCK_FLAGS_ACCESS_SYZ) != 0) {
        iova = syz_iova(*file->acc, iova);
    }
    int rc = access_rw(*file->acc, iova, tmp.data(), length, flags);
    if (rc == 0 && !write && driver::copy_to_user(cmd.access_rw.uptr, tmp.data(), length) != 0) {
        rc = -EFAULT;
    }
    return rc;
}

int test_destroy_access_pages(ucmd& u, iommu_test_cmd& cmd) {
    std::shared_ptr<selftest_access> file = access_get(u, cmd.id);
    if (!file) {
        return -EBADFD;
    }
    for (auto it = file->items.begin(); it != file->items.end(); ++it) {
        if (it->id == cmd.destroy_access_pages.access_pages_id) {
            access_unpin_pages(*file->acc, it->iova, it->length);
            file->items.erase(it);
            return 0;
        }
    }
    return -ENOENT;
}

}  // namespace iommusim::iommufd
