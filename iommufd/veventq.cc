// The vEVENTQ object, its fd and IOMMU_VEVENTQ_ALLOC (kernel drivers/iommu/iommufd/eventq.c).
#include <cerrno>
#include <climits>
#include <cstring>

#include "driver/uaccess.h"
#include "driver/user_space.h"
#include "iommufd/file_table.h"
#include "iommufd/viommu.h"
#include "iommusim/iommufd.h"
#include "util/klog.h"

namespace iommusim::iommufd {

void veventq::add(const void* data, std::size_t len) {
    vevent event;
    if (m_num_events == depth) {
        event.lost_events = true;  // the event is dropped; the header tells the reader
    } else {
        const auto* bytes = static_cast<const unsigned char*>(data);
        event.data.assign(bytes, bytes + len);
        ++m_num_events;
    }
    queue(std::move(event));
}

void veventq::queue(vevent event) {
    const bool before = pending();
    if (!m_deliver.empty() && m_deliver.back().lost_events) {
        m_deliver.pop_back();
    }
    event.sequence = m_sequence;
    m_sequence = (m_sequence + 1) & INT_MAX;
    m_deliver.push_back(std::move(event));
    notify_if_changed(before);
}

long veventq::read(uint64_t buf, std::size_t count) {
    const bool before = pending();
    constexpr std::size_t header_size = sizeof(iommufd_vevent_header);
    std::size_t done = 0;
    long rc = 0;
    while (!m_deliver.empty()) {
        const vevent& cur = m_deliver.front();
        if (done >= count || header_size > count - done) {
            break;
        }
        if (!cur.lost_events && header_size + cur.data.size() > count - done) {
            break;
        }
        const iommufd_vevent_header header{cur.lost_events ? uint32_t{IOMMU_VEVENTQ_FLAG_LOST_EVENTS} : 0u,
                                           cur.sequence};
        if (driver::copy_to_user(buf + done, &header, header_size) != 0) {
            rc = -EFAULT;
            break;
        }
        done += header_size;
        // The kernel counts the header copied even when the data then faults; the record stays.
        if (!cur.data.empty() && driver::copy_to_user(buf + done, cur.data.data(), cur.data.size()) != 0) {
            rc = -EFAULT;
            break;
        }
        done += cur.data.size();
        if (!cur.lost_events) {
            --m_num_events;
        }
        m_deliver.pop_front();
    }
    notify_if_changed(before);
    return done == 0 ? rc : static_cast<long>(done);
}

long veventq::write(uint64_t buf, std::size_t count) {
    (void)buf, (void)count;
    return -EINVAL;
}

void veventq::release_file() {
    on_pending_changed = nullptr;
    --users;
}

void veventq::notify_if_changed(bool before) {
    if (pending() != before && on_pending_changed) {
        on_pending_changed(pending());
    }
}

void veventq_destroy(context& ctx, object& obj) {
    (void)ctx;
    auto& queue = static_cast<veventq&>(obj);
    if (queue.viommu != nullptr) {
        queue.viommu->veventqs.erase(queue.queue_type);
        --queue.viommu->users;
    }
}

int veventq_alloc_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_veventq_alloc>();
    if (cmd.flags != 0 || cmd.__reserved != 0 || cmd.type == IOMMU_VEVENTQ_TYPE_DEFAULT) {
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_VEVENTQ_ALLOC refused: flags 0x%x and __reserved must be 0, type %u not DEFAULT "
                     "(EOPNOTSUPP)",
                     cmd.flags, cmd.type);
        return -EOPNOTSUPP;
    }
    if (cmd.veventq_depth == 0) {
        klog::printk(klog::level::info, iommufd_log, "IOMMU_VEVENTQ_ALLOC refused: veventq_depth 0 (EINVAL)");
        return -EINVAL;
    }
    auto* v = u.ctx.get<viommu>(cmd.viommu_id, obj_type::viommu);
    if (v == nullptr) {
        klog::printk(klog::level::info, iommufd_log, "IOMMU_VEVENTQ_ALLOC refused: %u is not a vIOMMU id (ENOENT)",
                     cmd.viommu_id);
        return -ENOENT;
    }
    if (v->veventqs.count(cmd.type) != 0) {
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_VEVENTQ_ALLOC refused: vIOMMU %u already has a vEVENTQ of type 0x%x (EEXIST)", v->id,
                     cmd.type);
        return -EEXIST;
    }
    auto obj = std::make_unique<veventq>();
    veventq* queue = obj.get();
    int rc = 0;
    const uint32_t id = u.ctx.add(std::move(obj), rc);
    if (rc != 0) {
        return rc;
    }
    queue->viommu = v;
    ++v->users;
    queue->queue_type = cmd.type;
    queue->depth = cmd.veventq_depth;
    v->veventqs.emplace(cmd.type, queue);
    // The vEVENTQ fd (kernel iommufd_eventq_init: anon_inode_getfile + get_unused_fd_flags(O_CLOEXEC));
    // none for a call of another process, whose descriptor table the model cannot reach.
    file_table* files = driver::current_user_space() ? nullptr : u.ctx.files;
    const int fd = files != nullptr ? files->reserve_event_queue(*queue) : -ENOMEM;
    if (fd < 0) {
        u.ctx.abort(id);
        return fd;
    }
    ++queue->users;  // the file's
    cmd.out_veventq_id = id;
    cmd.out_veventq_fd = static_cast<uint32_t>(fd);
    rc = u.respond(sizeof(cmd));
    if (rc != 0) {
        files->unreserve(fd);
        --queue->users;
        u.ctx.abort(id);
        return rc;
    }
    u.ctx.finalize(id);
    files->install(fd);
    return 0;
}

}  // namespace iommusim::iommufd
