// The fault object, its fault fd and IOMMU_FAULT_QUEUE_ALLOC (kernel iommufd/fault.c, 6.12).
#include "iommufd/fault.h"

#include <algorithm>
#include <cerrno>
#include <iterator>

#include "driver/uaccess.h"
#include "driver/user_space.h"
#include "iommufd/file_table.h"
#include "iommusim/iommufd.h"
#include "util/klog.h"

namespace iommusim::iommufd {

namespace {

constexpr std::size_t record_size = sizeof(iommu_hwpt_pgfault);
constexpr std::size_t response_size = sizeof(iommu_hwpt_page_response);

// Kernel iommufd_compose_fault_message: the flags, PASID and permission bits are the uAPI's.
iommu_hwpt_pgfault record_of(const fault_group& group, const driver::page_request& request, uint32_t cookie) {
    iommu_hwpt_pgfault out{};
    out.flags = request.flags;
    out.dev_id = group.dev_id;
    out.pasid = request.pasid;
    out.grpid = request.grpid;
    out.perm = request.perm;
    out.addr = request.addr;
    out.length = 0;
    out.cookie = cookie;
    return out;
}

}  // namespace

int fault::handle(driver::iommu_device& dev, const driver::page_request& request) {
    auto* idev = static_cast<device*>(dev.owner);
    if (idev == nullptr) {
        return -EINVAL;
    }
    const hw_pagetable* hwpt = idev->hwpt;
    uint32_t attachment = driver::no_pasid;
    if ((request.flags & driver::page_request_pasid_valid) != 0) {
        if (auto it = idev->pasid_hwpts.find(request.pasid); it != idev->pasid_hwpts.end()) {
            hwpt = it->second;
            attachment = request.pasid;
        }
    }
    if (hwpt == nullptr || hwpt->fault != this) {
        return -EINVAL;
    }
    if ((request.flags & driver::page_request_last_page) == 0) {
        // io-pgfault.c report_partial_fault: no response is due before the group's last request.
        m_partial[&dev].push_back(request);
        return 0;
    }
    fault_group group;
    group.dev = &dev;
    group.dev_id = idev->id;
    group.hwpt = hwpt;
    group.pasid = attachment;
    // io-pgfault.c iopf_group_alloc: the waiting requests of the same group index join it.
    auto partial = m_partial.find(&dev);
    if (partial != m_partial.end()) {
        auto& waiting = partial->second;
        auto same_group = std::stable_partition(
            waiting.begin(), waiting.end(), [&](const driver::page_request& r) { return r.grpid != request.grpid; });
        group.requests.assign(same_group, waiting.end());
        waiting.erase(same_group, waiting.end());
        if (waiting.empty()) {
            m_partial.erase(partial);
        }
    }
    group.requests.push_back(request);
    const bool before = pending();
    m_deliver.push_back(std::move(group));
    notify_if_changed(before);
    return 0;
}

long fault::read(uint64_t buf, std::size_t count) {
    if (count % record_size != 0) {
        return -ESPIPE;
    }
    const bool before = pending();
    std::size_t done = 0;
    long rc = 0;
    while (!m_deliver.empty()) {
        fault_group& group = m_deliver.front();
        const std::size_t group_bytes = group.requests.size() * record_size;
        if (done >= count || group_bytes > count - done) {
            if (done == 0) {
                rc = -EINVAL;  // the buffer cannot hold the first group
            }
            break;
        }
        uint32_t cookie = 0;
        if (!m_cookies.alloc(cookie)) {
            rc = -EBUSY;  // xa_alloc with every 32-bit cookie in use
            break;
        }
        std::size_t at = done;
        for (const driver::page_request& request : group.requests) {
            const iommu_hwpt_pgfault record = record_of(group, request, cookie);
            if (driver::copy_to_user(buf + at, &record, record_size) != 0) {
                rc = -EFAULT;
                break;
            }
            at += record_size;
        }
        if (rc != 0) {
            m_cookies.free(cookie);  // the group stays first in the queue
            break;
        }
        m_response.emplace(cookie, std::move(group));
        m_deliver.pop_front();
        done = at;
    }
    notify_if_changed(before);
    return done == 0 ? rc : static_cast<long>(done);
}

long fault::write(uint64_t buf, std::size_t count) {
    if (count % response_size != 0) {
        return -ESPIPE;
    }
    std::size_t done = 0;
    long rc = 0;
    while (count > done) {
        iommu_hwpt_page_response response{};
        if (driver::copy_from_user(&response, buf + done, response_size) != 0) {
            rc = -EFAULT;
            break;
        }
        if (response.code != IOMMUFD_PAGE_RESP_SUCCESS && response.code != IOMMUFD_PAGE_RESP_INVALID) {
            klog::printk(klog::level::info, iommufd_log,
                         "fault %u: page response refused: code %u is not SUCCESS or INVALID (EINVAL)", id,
                         response.code);
            rc = -EINVAL;
            break;
        }
        auto it = m_response.find(response.cookie);
        if (it == m_response.end()) {
            klog::printk(klog::level::info, iommufd_log,
                         "fault %u: page response refused: no group read with cookie %u awaits one (EINVAL)", id,
                         response.cookie);
            rc = -EINVAL;
            break;
        }
        answer(it->second, static_cast<driver::page_response_code>(response.code));
        m_response.erase(it);
        m_cookies.free(response.cookie);
        done += response_size;
    }
    return done == 0 ? rc : static_cast<long>(done);
}

void fault::auto_respond(const hw_pagetable& hwpt, const driver::iommu_device& dev, uint32_t pasid) {
    const bool before = pending();
    auto of_attachment = [&](const fault_group& g) { return g.hwpt == &hwpt && g.dev == &dev && g.pasid == pasid; };
    for (auto it = m_deliver.begin(); it != m_deliver.end();) {
        if (of_attachment(*it)) {
            answer(*it, driver::page_response_code::invalid);
            it = m_deliver.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = m_response.begin(); it != m_response.end();) {
        if (of_attachment(it->second)) {
            answer(it->second, driver::page_response_code::invalid);
            m_cookies.free(it->first);
            it = m_response.erase(it);
        } else {
            ++it;
        }
    }
    m_partial.erase(&dev);  // iopf_queue_remove_device drops the requests still waiting
    notify_if_changed(before);
}

void fault::respond_all_invalid() {
    const bool before = pending();
    for (const fault_group& group : m_deliver) {
        answer(group, driver::page_response_code::invalid);
    }
    m_deliver.clear();
    for (const auto& [cookie, group] : m_response) {
        answer(group, driver::page_response_code::invalid);
        m_cookies.free(cookie);
    }
    m_response.clear();
    m_partial.clear();
    notify_if_changed(before);
}

void fault::answer(const fault_group& group, driver::page_response_code code) {
    // io-pgfault.c iopf_group_response: the response names the group by its last request.
    const driver::page_request& last = group.requests.back();
    const driver::page_response response{last.pasid, last.grpid, code};
    group.dev->ops->page_response(*group.dev, last, response);
}

void fault::notify_if_changed(bool before) {
    if (pending() != before && on_pending_changed) {
        on_pending_changed(pending());
    }
}

void fault_destroy(context& ctx, object& obj) {
    (void)ctx;
    static_cast<fault&>(obj).respond_all_invalid();
}

void fault_file_release(fault& obj) {
    obj.on_pending_changed = nullptr;
    --obj.users;
}

void fault::release_file() {
    fault_file_release(*this);
}

int fault_queue_alloc_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_fault_alloc>();
    if (cmd.flags != 0) {
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_FAULT_QUEUE_ALLOC refused: flags 0x%x must be 0 (EOPNOTSUPP)", cmd.flags);
        return -EOPNOTSUPP;
    }
    auto obj = std::make_unique<fault>();
    fault* queue = obj.get();
    int rc = 0;
    const uint32_t fault_id = u.ctx.add(std::move(obj), rc);
    if (rc != 0) {
        return rc;
    }
    // The fault fd (kernel anon_inode_getfile + get_unused_fd_flags(O_CLOEXEC)): none for a call of
    // another process, whose descriptor table the model cannot reach.
    file_table* files = driver::current_user_space() ? nullptr : u.ctx.files;
    const int fd = files != nullptr ? files->reserve_event_queue(*queue) : -ENOMEM;
    if (fd < 0) {
        u.ctx.abort(fault_id);
        return fd;
    }
    ++queue->users;  // the file's (kernel refcount_inc(&fault->obj.users))
    cmd.out_fault_id = fault_id;
    cmd.out_fault_fd = static_cast<uint32_t>(fd);
    rc = u.respond(sizeof(cmd));
    if (rc != 0) {
        files->unreserve(fd);
        --queue->users;
        u.ctx.abort(fault_id);
        return rc;
    }
    u.ctx.finalize(fault_id);
    files->install(fd);
    return 0;
}

}  // namespace iommusim::iommufd
