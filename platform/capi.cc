// The C API (iommusim/iommusim.h): a descriptor table over iommufd contexts and VFIO device files.
//
// Models: open/ioctl/close with -1/errno returns like the system calls; the VFIO cdev calls
// VFIO_DEVICE_BIND_IOMMUFD, VFIO_DEVICE_ATTACH_IOMMUFD_PT and VFIO_DEVICE_DETACH_IOMMUFD_PT
// (include/uapi/linux/vfio.h rules: minsz copy, argsz/flags checks, EINVAL before bind, pt_id
// written back, undo on a failed write-back), with VFIO_DEVICE_ATTACH_PASID /
// VFIO_DEVICE_DETACH_PASID extending the copy to `pasid` (argsz below it EINVAL) and acting on that
// PASID (attach or replace; detaching a PASID without a HWPT does nothing); a device fd keeps its
// iommufd context alive.
// Every call that may reach a platform device's driver runs on the simulated CPU thread
// (platform::run); contexts that never bound a platform device run on the caller's thread.
// The region and interrupt calls of a device fd (GET_INFO, GET_REGION_INFO, GET_IRQ_INFO, SET_IRQS,
// RESET) and pread/pwrite go to the device's DMA engine (platform/dma_engine.h).
// /dev/vfio/vfio opens an iommufd context (the VFIO container backed by iommufd,
// iommufd/vfio_compat.cc).
// The selftest's access files (IOMMU_TEST_OP_CREATE_ACCESS) are descriptors of this table too: each
// keeps its iommufd context alive, like the kernel's access holding its iommufd_ctx, answers every
// ioctl with ENOTTY, and iommusim_close() on it unpins its pages and destroys the access. Under the
// interposer they are the program's real descriptors (platform/descriptor_names.h).
// The fault fds (IOMMU_FAULT_QUEUE_ALLOC) and vEVENTQ fds (IOMMU_VEVENTQ_ALLOC) likewise: each
// keeps its context alive and holds a user of its object until closed; iommusim_read()/
// iommusim_write() take the fault records (a vEVENTQ fd reads vEVENT records, has no write),
// iommusim_poll() reports their readiness (under the interposer a real descriptor mirrors it).
// Differences: VFIO_DEVICE_ATTACH_PASID with PASID 0 is refused (EINVAL) as a PASID attach; the
// kernel would attach the device's IOMMU_NO_PASID through its PASID ids.
// Does not model: bind tokens, VFIO groups.
#include "iommusim/iommusim.h"

#include <poll.h>
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>

#include "driver/iommu_ops.h"
#include "driver/uaccess.h"
#include "driver/user_space.h"
#include "iommufd/context.h"
#include "iommufd/event_queue.h"
#include "iommufd/fail_nth.h"
#include "iommufd/selftest_access.h"
#include "iommusim/iommufd.h"
#include "platform/descriptor_names.h"
#include "platform/dma_engine.h"
#include "platform/platform.h"
#include "util/id_allocator.h"
#include "util/klog.h"

namespace iommusim {

namespace {

struct iommufd_file {
    std::unique_ptr<iommufd::context> ctx;
    bool uses_platform = false;  // a platform device was bound: driver calls need the CPU thread
};

struct file {
    std::shared_ptr<iommufd_file> ictx;                // /dev/iommu, the context a device is bound to or an access's
    std::shared_ptr<iommufd::selftest_access> access;  // an access file
    iommufd::event_queue_file* eventq = nullptr;       // a fault or vEVENTQ fd: its object, of which it holds a user
    bool is_device = false;
    unsigned device_index = 0;
    uint32_t dev_id = 0;  // device object id while bound
    uint8_t last_fault = 0;
};

std::mutex g_lock;  // the descriptor table; calls are serialised like one process's syscalls
// Never destroyed: descriptors still open at exit must not tear down contexts (and call into
// drivers) after the platform itself may already be gone.
std::map<int, std::shared_ptr<file>>& g_files = *new std::map<int, std::shared_ptr<file>>;
// Descriptors from 1024, far from real ones, so a mix-up fails loudly; the lowest free one, as open(2).
id_allocator& g_fds = *new id_allocator(1024, INT32_MAX);

int set_errno(int rc) {
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return rc;
}

int alloc_fd(std::shared_ptr<file> f) {
    uint32_t fd = 0;
    if (!g_fds.alloc(fd)) {
        errno = EMFILE;
        return -1;
    }
    g_files.emplace(static_cast<int>(fd), std::move(f));
    return static_cast<int>(fd);
}

const descriptor_names* g_names = nullptr;
// The context whose ioctl is running (set under g_lock): the owner of the files it creates.
std::shared_ptr<iommufd_file> g_calling;

// The descriptors the contexts hand out, access files and event queue fds (kernel get_unused_fd_flags /
// fd_install / fget), in this table, named by the program's descriptors when the interposer
// installed its descriptor names.
class handed_out_files final : public iommufd::file_table {
  public:
    int reserve(std::shared_ptr<iommufd::selftest_access> access) override {
        auto f = std::make_shared<file>();
        f->access = std::move(access);
        return reserve_file(std::move(f), g_names != nullptr ? g_names->reserve : nullptr);
    }
    int reserve_event_queue(iommufd::event_queue_file& queue) override {
        auto f = std::make_shared<file>();
        f->eventq = &queue;
        return reserve_file(std::move(f), g_names != nullptr ? g_names->reserve_fault : nullptr);
    }
    void install(int fd) override {
        auto it = m_reserved.find(fd);
        if (it == m_reserved.end()) {
            return;
        }
        const int model_fd = it->second.model_fd;
        if (iommufd::event_queue_file* queue = it->second.f->eventq) {
            // A real descriptor of the program mirrors the queue's readiness (poll, select, epoll).
            queue->on_pending_changed = [model_fd](bool pending) {
                if (g_names != nullptr) {
                    g_names->fault_pending(model_fd, pending);
                }
            };
        }
        g_files.emplace(model_fd, std::move(it->second.f));
        m_reserved.erase(it);
        if (g_names != nullptr) {
            g_names->install(fd);
        }
    }
    void unreserve(int fd) override {
        auto it = m_reserved.find(fd);
        if (it == m_reserved.end()) {
            return;
        }
        g_fds.free(static_cast<uint32_t>(it->second.model_fd));
        m_reserved.erase(it);  // the context reference goes with it; the caller's ioctl holds another
        if (g_names != nullptr) {
            g_names->unreserve(fd);
        }
    }
    std::shared_ptr<iommufd::selftest_access> access_file(int fd) override {
        const int model_fd = g_names != nullptr ? g_names->to_model(fd) : fd;
        auto it = g_files.find(model_fd);
        return it == g_files.end() ? nullptr : it->second->access;
    }

  private:
    int reserve_file(std::shared_ptr<file> f, int (*reserve_visible)(int model_fd)) {
        uint32_t fd = 0;
        if (!g_calling || !g_fds.alloc(fd)) {
            return -EMFILE;
        }
        const int model_fd = static_cast<int>(fd);
        int visible = model_fd;
        if (reserve_visible != nullptr && (visible = reserve_visible(model_fd)) < 0) {
            g_fds.free(fd);
            return visible;
        }
        f->ictx = g_calling;
        m_reserved[visible] = {model_fd, std::move(f)};
        return visible;
    }

    struct reserved {
        int model_fd;
        std::shared_ptr<file> f;
    };
    std::map<int, reserved> m_reserved;
};

handed_out_files& g_handed_out_files = *new handed_out_files;

// Runs fn where the context's drivers expect it.
template <typename Fn>
void in_context(const iommufd_file& f, Fn&& fn) {
    if (f.uses_platform) {
        // The job runs on the simulation's thread, on behalf of the same calling process.
        const std::shared_ptr<driver::user_space> caller = driver::current_user_space();
        platform::instance().run([&] {
            const driver::user_space_scope same_caller(caller);
            fn();
        });
    } else {
        fn();
    }
}

// Drops one reference to a context; the last one destroys it (and its objects) in context.
void release(std::shared_ptr<iommufd_file>& f) {
    if (f && f.use_count() == 1) {
        in_context(*f, [&f] { f->ctx.reset(); });
    }
    f.reset();
}

bool parse_device_path(const char* path, unsigned& n) {
    static const char prefix[] = "/dev/vfio/devices/vfio";
    const std::size_t plen = sizeof(prefix) - 1;
    if (std::strncmp(path, prefix, plen) != 0 || path[plen] == '\0') {
        return false;
    }
    if (path[plen] == '0' && path[plen + 1] != '\0') {
        return false;  // device nodes are named without leading zeros
    }
    unsigned long v = 0;
    for (const char* p = path + plen; *p != '\0'; ++p) {
        if (*p < '0' || *p > '9' || v > 0xffff) {
            return false;
        }
        v = v * 10 + static_cast<unsigned>(*p - '0');
    }
    n = static_cast<unsigned>(v);
    return true;
}

// Kernel-log prefix of the VFIO device layer.
constexpr const char* vfio_log = "vfio: ";

// Logs why a VFIO device ioctl was refused and returns the errno.
int vfio_refused(const file& f, const char* call, int rc, const char* reason) {
    klog::printk(klog::level::info, vfio_log, "vfio%u: %s refused: %s (%s)", f.device_index, call, reason,
                 strerrorname_np(-rc));
    return rc;
}

int vfio_bind(file& f, uint64_t arg) {
    const char* call = "VFIO_DEVICE_BIND_IOMMUFD";
    vfio_device_bind_iommufd bind{};
    const std::size_t minsz = offsetof(vfio_device_bind_iommufd, out_devid) + sizeof(bind.out_devid);
    if (driver::copy_from_user(&bind, arg, minsz) != 0) {
        return vfio_refused(f, call, -EFAULT, "the argument is not readable");
    }
    if (bind.argsz < minsz || bind.flags != 0 || bind.iommufd < 0) {
        return vfio_refused(f, call, -EINVAL, "argsz below the minimum, non-zero flags or a negative iommufd");
    }
    if (f.ictx) {
        return vfio_refused(f, call, -EINVAL, "the device is already bound");
    }
    auto it = g_files.find(bind.iommufd);
    if (it == g_files.end()) {
        return vfio_refused(f, call, -EBADF, "iommufd is not an open descriptor");
    }
    if (it->second->is_device) {
        return vfio_refused(f, call, -EBADFD, "iommufd is a VFIO device, not /dev/iommu");
    }
    if (it->second->access) {
        return vfio_refused(f, call, -EBADFD, "iommufd is an access file, not /dev/iommu");
    }
    if (it->second->eventq != nullptr) {
        return vfio_refused(f, call, -EBADFD, "iommufd is an event queue fd, not /dev/iommu");
    }
    std::shared_ptr<iommufd_file> ictx = it->second->ictx;
    platform& p = platform::instance();
    ictx->uses_platform = true;
    int rc = 0;
    uint32_t dev_id = 0;
    p.run([&] {
        rc = ictx->ctx->bind(p.device(f.device_index), dev_id);
        if (rc == 0 &&
            driver::copy_to_user(arg + offsetof(vfio_device_bind_iommufd, out_devid), &dev_id, sizeof(dev_id)) != 0) {
            ictx->ctx->unbind(dev_id);
            rc = -EFAULT;
        }
    });
    if (rc != 0) {
        return rc;
    }
    f.ictx = std::move(ictx);
    f.dev_id = dev_id;
    return 0;
}

int vfio_attach(file& f, uint64_t arg) {
    const char* call = "VFIO_DEVICE_ATTACH_IOMMUFD_PT";
    vfio_device_attach_iommufd_pt attach{};
    const std::size_t minsz = offsetof(vfio_device_attach_iommufd_pt, pt_id) + sizeof(attach.pt_id);
    if (driver::copy_from_user(&attach, arg, minsz) != 0) {
        return vfio_refused(f, call, -EFAULT, "the argument is not readable");
    }
    if (attach.argsz < minsz || (attach.flags & ~uint32_t{VFIO_DEVICE_ATTACH_PASID}) != 0) {
        return vfio_refused(f, call, -EINVAL, "argsz below the minimum or unknown flags");
    }
    const bool with_pasid = (attach.flags & VFIO_DEVICE_ATTACH_PASID) != 0;
    if (with_pasid) {
        // drivers/vfio/device_cdev.c: the flag extends the copy to the pasid field.
        const std::size_t xend = offsetof(vfio_device_attach_iommufd_pt, pasid) + sizeof(attach.pasid);
        if (attach.argsz < xend) {
            return vfio_refused(f, call, -EINVAL, "VFIO_DEVICE_ATTACH_PASID with argsz not reaching pasid");
        }
        if (driver::copy_from_user(reinterpret_cast<uint8_t*>(&attach) + minsz, arg + minsz, xend - minsz) != 0) {
            return vfio_refused(f, call, -EFAULT, "the pasid field is not readable");
        }
        if (attach.pasid > static_cast<uint32_t>(INT32_MAX)) {
            // vfio_iommufd_physical_pasid_attach_ioas records the PASID in an IDA of int ids.
            return vfio_refused(f, call, -ENOSPC, "the PASID does not fit the device's PASID ids");
        }
    }
    int rc = 0;
    in_context(*f.ictx, [&] {
        auto* idev = f.ictx->ctx->get<iommufd::device>(f.dev_id, iommufd::obj_type::device);
        if (idev == nullptr) {
            rc = vfio_refused(f, call, -ENODEV, "the device object of its iommufd is gone");
            return;
        }
        uint32_t pt_id = attach.pt_id;
        rc = with_pasid ? f.ictx->ctx->attach_pasid(*idev, attach.pasid, pt_id) : f.ictx->ctx->attach(*idev, pt_id);
        if (rc == 0 &&
            driver::copy_to_user(arg + offsetof(vfio_device_attach_iommufd_pt, pt_id), &pt_id, sizeof(pt_id)) != 0) {
            if (with_pasid) {
                f.ictx->ctx->detach_pasid(*idev, attach.pasid);
            } else {
                f.ictx->ctx->detach(*idev);
            }
            rc = -EFAULT;
        }
    });
    return rc;
}

int vfio_detach(file& f, uint64_t arg) {
    const char* call = "VFIO_DEVICE_DETACH_IOMMUFD_PT";
    vfio_device_detach_iommufd_pt detach{};
    const std::size_t minsz = offsetof(vfio_device_detach_iommufd_pt, flags) + sizeof(detach.flags);
    if (driver::copy_from_user(&detach, arg, minsz) != 0) {
        return vfio_refused(f, call, -EFAULT, "the argument is not readable");
    }
    if (detach.argsz < minsz || (detach.flags & ~uint32_t{VFIO_DEVICE_DETACH_PASID}) != 0) {
        return vfio_refused(f, call, -EINVAL, "argsz below the minimum or unknown flags");
    }
    const bool with_pasid = (detach.flags & VFIO_DEVICE_DETACH_PASID) != 0;
    if (with_pasid) {
        const std::size_t xend = offsetof(vfio_device_detach_iommufd_pt, pasid) + sizeof(detach.pasid);
        if (detach.argsz < xend) {
            return vfio_refused(f, call, -EINVAL, "VFIO_DEVICE_DETACH_PASID with argsz not reaching pasid");
        }
        if (driver::copy_from_user(reinterpret_cast<uint8_t*>(&detach) + minsz, arg + minsz, xend - minsz) != 0) {
            return vfio_refused(f, call, -EFAULT, "the pasid field is not readable");
        }
    }
    in_context(*f.ictx, [&] {
        if (auto* idev = f.ictx->ctx->get<iommufd::device>(f.dev_id, iommufd::obj_type::device)) {
            // A PASID that is not attached is nothing to do (vfio_iommufd_physical_pasid_detach_ioas).
            if (with_pasid) {
                f.ictx->ctx->detach_pasid(*idev, detach.pasid);
            } else {
                f.ictx->ctx->detach(*idev);
            }
        }
    });
    return 0;
}

int device_ioctl(file& f, unsigned long request, uint64_t arg) {
    if (request == VFIO_DEVICE_BIND_IOMMUFD) {
        return vfio_bind(f, arg);
    }
    if (!f.ictx) {
        return vfio_refused(f, "ioctl", -EINVAL, "the device is not bound to an iommufd yet");
    }
    switch (request) {
        case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
            return vfio_attach(f, arg);
        case VFIO_DEVICE_DETACH_IOMMUFD_PT:
            return vfio_detach(f, arg);
        default:
            return dma_engine_of(f.device_index).ioctl(request, arg);
    }
}

std::shared_ptr<file> lookup(int fd) {
    auto it = g_files.find(fd);
    return it == g_files.end() ? nullptr : it->second;
}

}  // namespace

}  // namespace iommusim

using iommusim::g_files;
using iommusim::g_lock;

void iommusim::set_descriptor_names(const descriptor_names* names) {
    std::lock_guard<std::mutex> guard(g_lock);
    g_names = names;
}

extern "C" int iommusim_configure(const struct iommusim_config* config) {
    using namespace iommusim;
    if (config == nullptr) {
        errno = EINVAL;
        return -1;
    }
    platform_config pc;
    if (config->num_devices > platform_config::max_devices) {
        std::fprintf(stderr, "iommusim_configure: num_devices=%u (at most %zu)\n", config->num_devices,
                     platform_config::max_devices);
        errno = EINVAL;
        return -1;
    }
    if (config->num_devices != 0) {
        pc.devices.clear();
        for (unsigned i = 0; i < config->num_devices; ++i) {
            dma_device_config d;
            d.rid = static_cast<uint16_t>(0x0100 + 8 * i);
            d.ats = (i % 2) == 1;
            pc.devices.push_back(d);
        }
    }
    if (config->page_requests != 0) {
        pc.iommu.prs = true;
        pc.iommu.pds = true;  // hardware with page requests drains them (Linux sets PD in its drain)
        for (dma_device_config& d : pc.devices) {
            d.pri = d.ats;
        }
    }
    if (config->iotlb != nullptr) {
        pc.iotlb = config->iotlb;
    }
    if (config->iotlb_replacement != nullptr) {
        pc.iotlb_replacement = config->iotlb_replacement;
    }
    if (config->waves != nullptr) {
        pc.waves = config->waves;
    }
    if (config->seed != 0) {
        pc.seed = config->seed;
    }
    if (config->stale_check != 0) {
        pc.iommu.stale_check = true;
    }
    if (config->log_file != nullptr) {
        pc.log_file = config->log_file;
    }
    std::lock_guard<std::mutex> guard(g_lock);
    if (platform::exists()) {
        errno = EBUSY;
        return -1;
    }
    std::string error;
    if (!platform::configure(pc, &error)) {
        std::fprintf(stderr, "iommusim_configure: %s\n", error.c_str());  // errno alone cannot name the field
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static int iommusim_open_unguarded(const char* path, int flags) {
    using namespace iommusim;
    (void)flags;
    if (path == nullptr) {
        errno = EFAULT;
        return -1;
    }
    std::lock_guard<std::mutex> guard(g_lock);
    auto f = std::make_shared<file>();
    // /dev/vfio/vfio is an iommufd too, as the kernel's CONFIG_IOMMUFD_VFIO_CONTAINER provides it.
    if (std::strcmp(path, "/dev/iommu") == 0 || std::strcmp(path, "/dev/vfio/vfio") == 0) {
        f->ictx = std::make_shared<iommufd_file>();
        f->ictx->ctx = std::make_unique<iommufd::context>();
        f->ictx->ctx->files = &g_handed_out_files;
        return alloc_fd(std::move(f));
    }
    unsigned n = 0;
    if (!parse_device_path(path, n) || n >= platform::instance().device_count()) {
        errno = ENOENT;
        return -1;
    }
    f->is_device = true;
    f->device_index = n;
    return alloc_fd(std::move(f));
}

namespace {

const char* ioctl_name(unsigned long request) {
    switch (request) {
        case IOMMU_DESTROY:
            return "IOMMU_DESTROY";
        case IOMMU_IOAS_ALLOC:
            return "IOMMU_IOAS_ALLOC";
        case IOMMU_IOAS_IOVA_RANGES:
            return "IOMMU_IOAS_IOVA_RANGES";
        case IOMMU_IOAS_MAP:
            return "IOMMU_IOAS_MAP";
        case IOMMU_IOAS_UNMAP:
            return "IOMMU_IOAS_UNMAP";
        case IOMMU_HWPT_ALLOC:
            return "IOMMU_HWPT_ALLOC";
        case IOMMU_GET_HW_INFO:
            return "IOMMU_GET_HW_INFO";
        case IOMMU_HWPT_INVALIDATE:
            return "IOMMU_HWPT_INVALIDATE";
        case IOMMU_TEST_CMD:
            return "IOMMU_TEST_CMD";
        case VFIO_DEVICE_BIND_IOMMUFD:
            return "VFIO_DEVICE_BIND_IOMMUFD";
        case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
            return "VFIO_DEVICE_ATTACH_IOMMUFD_PT";
        case VFIO_DEVICE_DETACH_IOMMUFD_PT:
            return "VFIO_DEVICE_DETACH_IOMMUFD_PT";
        default:
            return "ioctl";
    }
}

// Names the platform's CPU jobs after the ioctl while it runs (the waves' cpu.ioctl).
class named_ioctl {
  public:
    explicit named_ioctl(unsigned long request) {
        if (iommusim::platform::exists()) {
            iommusim::platform::instance().set_job_name(ioctl_name(request));
        }
    }
    ~named_ioctl() {
        if (iommusim::platform::exists()) {
            iommusim::platform::instance().set_job_name(nullptr);
        }
    }
    named_ioctl(const named_ioctl&) = delete;
    named_ioctl& operator=(const named_ioctl&) = delete;
};

}  // namespace

static int iommusim_ioctl_unguarded(int fd, unsigned long request, void* arg) {
    using namespace iommusim;
    std::lock_guard<std::mutex> guard(g_lock);
    const named_ioctl job(request);
    std::shared_ptr<file> f = lookup(fd);
    if (!f) {
        errno = EBADF;
        return -1;
    }
    const uint64_t uarg = reinterpret_cast<uint64_t>(arg);
    if (f->is_device) {
        return set_errno(device_ioctl(*f, request, uarg));
    }
    if (f->access || f->eventq != nullptr) {
        errno = ENOTTY;  // neither the access file nor an event queue fd has an ioctl
        return -1;
    }
    struct calling {
        explicit calling(const std::shared_ptr<iommufd_file>& ictx) { g_calling = ictx; }
        ~calling() { g_calling.reset(); }
        calling(const calling&) = delete;
        calling& operator=(const calling&) = delete;
    } const owner(f->ictx);
    int rc = 0;
    in_context(*f->ictx, [&] { rc = f->ictx->ctx->ioctl(request, uarg); });
    return set_errno(rc);
}

static int iommusim_close_unguarded(int fd) {
    using namespace iommusim;
    std::lock_guard<std::mutex> guard(g_lock);
    auto it = g_files.find(fd);
    if (it == g_files.end()) {
        errno = EBADF;
        return -1;
    }
    std::shared_ptr<file> f = it->second;
    g_fds.free(static_cast<uint32_t>(it->first));
    g_files.erase(it);
    if (f->is_device && f->ictx) {
        in_context(*f->ictx, [&] { f->ictx->ctx->unbind(f->dev_id); });
    }
    if (f->access) {
        in_context(*f->ictx, [&] { iommufd::selftest_access_release(*f->access); });
    }
    if (f->eventq != nullptr) {
        in_context(*f->ictx, [&] { f->eventq->release_file(); });
    }
    release(f->ictx);
    return 0;
}

static int iommusim_dma_unguarded(int device_fd, uint32_t pasid, uint64_t iova, void* buf, size_t len, int is_write) {
    using namespace iommusim;
    std::lock_guard<std::mutex> guard(g_lock);
    std::shared_ptr<file> f = lookup(device_fd);
    if (!f || !f->is_device) {
        errno = EBADF;
        return -1;
    }
    uint8_t reason = 0;
    int rc = platform::instance().dma(f->device_index, pasid, iova, buf, len, is_write != 0, &reason);
    if (rc == -EFAULT) {
        f->last_fault = reason;
    }
    return set_errno(rc);
}

// pread/pwrite: only device fds have a read/write op (the iommufd file has none: EINVAL); before
// bind, VFIO refuses every access (EINVAL).
static ssize_t iommusim_rw_unguarded(int fd, void* buf, size_t count, off_t offset, bool is_write) {
    using namespace iommusim;
    std::lock_guard<std::mutex> guard(g_lock);
    std::shared_ptr<file> f = lookup(fd);
    if (!f) {
        errno = EBADF;
        return -1;
    }
    if (f->eventq != nullptr) {
        // An event queue fd is not seekable (kernel nonseekable_open): pread and pwrite are ESPIPE.
        if (offset >= 0) {
            errno = ESPIPE;
            return -1;
        }
        long rc = 0;
        const auto ubuf = reinterpret_cast<uint64_t>(buf);
        in_context(*f->ictx, [&] { rc = is_write ? f->eventq->write(ubuf, count) : f->eventq->read(ubuf, count); });
        if (rc < 0) {
            errno = static_cast<int>(-rc);
            return -1;
        }
        return rc;
    }
    if (!f->is_device || !f->ictx || offset < 0) {
        errno = EINVAL;
        return -1;
    }
    dma_engine& engine = dma_engine_of(f->device_index);
    const long rc = is_write ? engine.write(buf, count, static_cast<uint64_t>(offset))
                             : engine.read(buf, count, static_cast<uint64_t>(offset));
    if (rc < 0) {
        errno = static_cast<int>(-rc);
        return -1;
    }
    return rc;
}

// poll(2)'s mask: an event queue fd's (kernel iommufd_eventq_fops_poll), or, for the files without a
// poll method (/dev/iommu, VFIO device files, access files), the kernel's DEFAULT_POLLMASK.
static int iommusim_poll_unguarded(int fd) {
    using namespace iommusim;
    std::lock_guard<std::mutex> guard(g_lock);
    std::shared_ptr<file> f = lookup(fd);
    if (!f) {
        errno = EBADF;
        return -1;
    }
    if (f->eventq == nullptr) {
        return POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
    }
    return POLLOUT | (f->eventq->pending() ? POLLIN | POLLRDNORM : 0);
}

extern "C" int iommusim_last_fault(int device_fd) {
    using namespace iommusim;
    std::lock_guard<std::mutex> guard(g_lock);
    std::shared_ptr<file> f = lookup(device_fd);
    if (!f || !f->is_device) {
        errno = EBADF;
        return -1;
    }
    return f->last_fault;
}

extern "C" void iommusim_fail_nth_set(unsigned nth) {
    std::lock_guard<std::mutex> guard(iommusim::g_lock);
    iommusim::iommufd::set_task_fail_nth(nth);
}

extern "C" unsigned iommusim_fail_nth_get(void) {
    std::lock_guard<std::mutex> guard(iommusim::g_lock);
    return iommusim::iommufd::task_fail_nth();
}

extern "C" size_t iommusim_log_read(char* buf, size_t len) {
    if (buf == nullptr || len == 0) {
        return iommusim::klog::size();
    }
    const std::string text = iommusim::klog::read_all(len - 1);
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    return text.size();
}

// ---- C entry points: no C++ exception crosses into a C caller ----------------------------------

namespace {

// A platform that cannot come up (a driver probe refusing the configured hardware, an IOTLB that
// cannot be built) is ENODEV; exhausted memory ENOMEM; anything else EIO. Nothing escapes.
template <typename Fn>
int guarded(Fn&& fn) {
    try {
        return fn();
    } catch (const std::bad_alloc&) {
        errno = ENOMEM;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "iommusim: %s\n", e.what());
        errno = iommusim::platform::exists() ? EIO : ENODEV;
    }
    return -1;
}

}  // namespace

extern "C" int iommusim_open(const char* path, int flags) {
    return guarded([&] { return iommusim_open_unguarded(path, flags); });
}

extern "C" int iommusim_ioctl(int fd, unsigned long request, void* arg) {
    return guarded([&] { return iommusim_ioctl_unguarded(fd, request, arg); });
}

extern "C" int iommusim_close(int fd) {
    return guarded([&] { return iommusim_close_unguarded(fd); });
}

extern "C" int iommusim_dma(int device_fd, uint32_t pasid, uint64_t iova, void* buf, size_t len, int is_write) {
    return guarded([&] { return iommusim_dma_unguarded(device_fd, pasid, iova, buf, len, is_write); });
}

extern "C" ssize_t iommusim_pread(int fd, void* buf, size_t count, off_t offset) {
    ssize_t n = -1;
    guarded([&] {
        n = iommusim_rw_unguarded(fd, buf, count, offset, false);
        return 0;
    });
    return n;
}

extern "C" ssize_t iommusim_read(int fd, void* buf, size_t count) {
    ssize_t n = -1;
    guarded([&] {
        n = iommusim_rw_unguarded(fd, buf, count, -1, false);
        return 0;
    });
    return n;
}

extern "C" ssize_t iommusim_write(int fd, const void* buf, size_t count) {
    ssize_t n = -1;
    guarded([&] {
        n = iommusim_rw_unguarded(fd, const_cast<void*>(buf), count, -1, true);
        return 0;
    });
    return n;
}

extern "C" int iommusim_poll(int fd) {
    return guarded([&] { return iommusim_poll_unguarded(fd); });
}

extern "C" ssize_t iommusim_pwrite(int fd, const void* buf, size_t count, off_t offset) {
    ssize_t n = -1;
    guarded([&] {
        n = iommusim_rw_unguarded(fd, const_cast<void*>(buf), count, offset, true);
        return 0;
    });
    return n;
}
