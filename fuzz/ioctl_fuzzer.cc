// Fuzz target: the iommufd ioctl surface of the C API ("/dev/iommu" with the selftest mock driver,
// no SystemC, so a fresh context per input costs one open and one close).
//
// Each input is a program of ioctls on a fresh context. The structs are built from the input, with
// sizes below, at and above the kernel's, placed normally, at NULL or across an inaccessible page.
// The oracle is a model of its own, written from docs/iommufd-facts.md, not from iommufd/:
// - dispatcher (§1.2, §1.3): ENOTTY outside the table or for an unknown command, EFAULT for an
//   unreadable size, EINVAL below the minimum size, E2BIG for a non-zero tail, EFAULT for an
//   unreadable struct, and in all these cases nothing written back;
// - objects (§1.5, §1.6): an id this context never handed out (or has destroyed) is absent:
//   IOMMU_DESTROY gives ENOENT and no command succeeds on it; a new id is never one that is live;
// - IOMMU_HWPT_INVALIDATE (§3.1, §5): the errno of every step and the entry_num written back, for
//   the mock nested domain entry by entry, and the mock IOTLB the invalidations leave
//   (checked through IOMMU_TEST_OP_MD_CHECK_IOTLB);
// - dirty tracking (SET_DIRTY_TRACKING, GET_DIRTY_BITMAP, TEST_OP_DIRTY): flags and __reserved
//   EOPNOTSUPP, ENOENT for an id that is no paging HWPT, otherwise one of the kernel's errnos;
// - isolation: a second context, built once, keeps its objects and its mock IOTLB values whatever
//   the fuzzed context does with the same id numbers.
// - VFIO type1 compatibility: IOMMU_VFIO_IOAS against a shadow compat IOAS, and the container calls
//   below the table (EFAULT, EINVAL, ENODEV without a compat IOAS);
// - accesses (the selftest's CREATE_ACCESS and access ops): the flag and size checks first, EBADFD
//   for a descriptor that is no live access file, ENOENT for an IOAS that is not there, item ids
//   that were never handed out ENOENT; an access's object (whose id user space never learns) makes
//   DESTROY EBUSY and HWPT_INVALIDATE EINVAL on at most one unknown id per access; after the input, every access file
//   and the context closed, no page of the arena is pinned (MD_CHECK_REFS 0 through the other context);
// - fault queues: IOMMU_FAULT_QUEUE_ALLOC with flags EOPNOTSUPP, else a new object and a fault fd
//   (closed after the input); HWPT_ALLOC with IOMMU_HWPT_FAULT_ID_VALID succeeds only on a fault
//   object's id; IOMMU_TEST_OP_TRIGGER_IOPF succeeds on a device and is ENOENT on anything else;
// - vIOMMUs: VIOMMU_ALLOC (flags or type DEFAULT EOPNOTSUPP, ENOENT for a non-device, EOPNOTSUPP
//   for a type other than the mock's, ENOENT unless a paging HWPT, EINVAL for an automatic one),
//   VDEVICE_ALLOC (ENOENT unless a vIOMMU and a device, else 0 or EEXIST), VEVENTQ_ALLOC (flags,
//   __reserved, type DEFAULT EOPNOTSUPP, depth 0 EINVAL, ENOENT unless a vIOMMU, else 0 or
//   EEXIST, its fd closed after the input), HWPT_ALLOC on a vIOMMU (a mock nested HWPT), a device's
//   unbind taking its vdevice, TRIGGER_VEVENT ENOENT on anything but a device;
// Only the commands the model implements are expected to be known (docs/iommufd.md); the others
// are ENOTTY here, and IOMMU_TEST_CMD ops other than the modelled ones EOPNOTSUPP.
#include <fcntl.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <set>
#include <vector>

#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"
#include "oracle.h"

namespace {

constexpr std::size_t page = 4096;

#define END_OF(type, field) (offsetof(type, field) + sizeof(type::field))

// The commands the model implements, with the kernel's struct size and minimum size (§1.2).
struct command {
    unsigned long number;
    std::size_t size;
    std::size_t min_size;
};
constexpr std::array<command, 21> commands{{
    {IOMMU_DESTROY, sizeof(iommu_destroy), END_OF(iommu_destroy, id)},
    {IOMMU_IOAS_ALLOC, sizeof(iommu_ioas_alloc), END_OF(iommu_ioas_alloc, out_ioas_id)},
    {IOMMU_IOAS_IOVA_RANGES, sizeof(iommu_ioas_iova_ranges), END_OF(iommu_ioas_iova_ranges, out_iova_alignment)},
    {IOMMU_IOAS_MAP, sizeof(iommu_ioas_map), END_OF(iommu_ioas_map, iova)},
    {IOMMU_IOAS_MAP_FILE, sizeof(iommu_ioas_map_file), END_OF(iommu_ioas_map_file, iova)},
    {IOMMU_IOAS_UNMAP, sizeof(iommu_ioas_unmap), END_OF(iommu_ioas_unmap, length)},
    {IOMMU_VFIO_IOAS, sizeof(iommu_vfio_ioas), END_OF(iommu_vfio_ioas, __reserved)},
    {IOMMU_IOAS_ALLOW_IOVAS, sizeof(iommu_ioas_allow_iovas), END_OF(iommu_ioas_allow_iovas, allowed_iovas)},
    {IOMMU_IOAS_COPY, sizeof(iommu_ioas_copy), END_OF(iommu_ioas_copy, src_iova)},
    {IOMMU_OPTION, sizeof(iommu_option), END_OF(iommu_option, val64)},
    {IOMMU_IOAS_CHANGE_PROCESS, sizeof(iommu_ioas_change_process), END_OF(iommu_ioas_change_process, __reserved)},
    {IOMMU_HWPT_ALLOC, sizeof(iommu_hwpt_alloc), END_OF(iommu_hwpt_alloc, __reserved)},
    {IOMMU_GET_HW_INFO, sizeof(iommu_hw_info), END_OF(iommu_hw_info, __reserved)},
    {IOMMU_HWPT_INVALIDATE, sizeof(iommu_hwpt_invalidate), END_OF(iommu_hwpt_invalidate, __reserved)},
    {IOMMU_HWPT_SET_DIRTY_TRACKING, sizeof(iommu_hwpt_set_dirty_tracking),
     END_OF(iommu_hwpt_set_dirty_tracking, __reserved)},
    {IOMMU_HWPT_GET_DIRTY_BITMAP, sizeof(iommu_hwpt_get_dirty_bitmap), END_OF(iommu_hwpt_get_dirty_bitmap, data)},
    {IOMMU_TEST_CMD, sizeof(iommu_test_cmd), END_OF(iommu_test_cmd, last)},
    {IOMMU_FAULT_QUEUE_ALLOC, sizeof(iommu_fault_alloc), END_OF(iommu_fault_alloc, out_fault_fd)},
    {IOMMU_VIOMMU_ALLOC, sizeof(iommu_viommu_alloc), END_OF(iommu_viommu_alloc, out_viommu_id)},
    {IOMMU_VDEVICE_ALLOC, sizeof(iommu_vdevice_alloc), END_OF(iommu_vdevice_alloc, virt_id)},
    {IOMMU_VEVENTQ_ALLOC, sizeof(iommu_veventq_alloc), END_OF(iommu_veventq_alloc, __reserved)},
}};
constexpr unsigned table_first_nr = IOMMUFD_CMD_BASE;
constexpr unsigned table_end_nr = IOMMUFD_CMD_BASE + 33;  // through IOMMU_TEST_CMD

// The VFIO type1 container calls an iommufd answers outside its table (include/uapi/linux/vfio.h),
// with the bytes each copies in first: every other number there is ENOTTY.
struct vfio_call {
    unsigned long number;
    std::size_t minsz;  // 0: the argument is a value, not a pointer
};
constexpr std::array<vfio_call, 6> vfio_calls{{
    {VFIO_GET_API_VERSION, 0},
    {VFIO_CHECK_EXTENSION, 0},
    {VFIO_SET_IOMMU, 0},
    {VFIO_IOMMU_GET_INFO, END_OF(vfio_iommu_type1_info, iova_pgsizes)},
    {VFIO_IOMMU_MAP_DMA, END_OF(vfio_iommu_type1_dma_map, size)},
    {VFIO_IOMMU_UNMAP_DMA, END_OF(vfio_iommu_type1_dma_unmap, size)},
}};

// User memory the ioctls read and write: `pages` accessible pages, then one inaccessible page.
struct user_arena {
    static constexpr std::size_t pages = 4;
    uint8_t* base = nullptr;
    uint8_t* guard = nullptr;

    user_arena() {
        void* p = mmap(nullptr, (pages + 1) * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        FUZZ_CHECK(p != MAP_FAILED, "mmap of the user arena failed");
        base = static_cast<uint8_t*>(p);
        guard = base + pages * page;
        FUZZ_CHECK(mprotect(guard, page, PROT_NONE) == 0, "mprotect of the guard page failed");
    }
    // Bytes readable from address a (0 when outside the arena or on the guard page).
    std::size_t readable(uint64_t a) const {
        const auto b = reinterpret_cast<uint64_t>(base);
        const auto g = reinterpret_cast<uint64_t>(guard);
        return a >= b && a < g ? static_cast<std::size_t>(g - a) : 0;
    }
    uint64_t data() const { return reinterpret_cast<uint64_t>(base + page); }  // pages 1.. hold payloads

    // The arena as the ioctl found it: payloads may overlap the struct the ioctl writes back into.
    void take_snapshot() { std::memcpy(before.data(), base, before.size()); }
    // Copies len bytes at user address a from the snapshot; false if not all of them are readable.
    bool read_before(uint64_t a, void* dst, std::size_t len) const {
        if (readable(a) < len) {
            return false;
        }
        std::memcpy(dst, before.data() + (a - reinterpret_cast<uint64_t>(base)), len);
        return true;
    }
    std::array<uint8_t, pages * page> before{};
};

enum class kind { ioas, hwpt_paging, hwpt_auto, hwpt_nested, device, selftest, fault, viommu, vdevice, veventq };

constexpr uint64_t max_access_length = 16 * 1024 * 1024;  // the selftest's ENOMEM guard

struct object {
    kind k;
    std::array<uint32_t, MOCK_NESTED_DOMAIN_IOTLB_NUM> iotlb{};  // hwpt_nested
    uint32_t idev = 0;                                           // selftest, vdevice: its device object
};

// What the oracle knows about one context's objects. hwpt_auto entries (automatic domains of an
// IOAS attach) may have gone with their last device; every other kind lives until its DESTROY.
using shadow = std::map<uint32_t, object>;

const object* find(const shadow& s, uint32_t id) {
    auto it = s.find(id);
    return it == s.end() ? nullptr : &it->second;
}
bool is(const shadow& s, uint32_t id, kind k) {
    const object* o = find(s, id);
    return o != nullptr && o->k == k;
}

// Never mapped in user space (the kernel half): every access faults. Pointers in the structs are
// only ever NULL, this, or into the arena: a pointer into other memory of this process could make
// an ioctl write into it, or walk gigabytes of readable memory (the sanitizer shadow) entry by entry.
constexpr uint64_t unmapped_address = 0xffff'8000'0000'0000;

// Pointer and length fields that the raw byte edits leave alone (see unmapped_address).
bool guarded_field(unsigned long cmd, std::size_t off) {
    auto in = [off](std::size_t at, std::size_t len) { return off >= at && off < at + len; };
    switch (cmd) {
        case IOMMU_IOAS_IOVA_RANGES:
            return in(offsetof(iommu_ioas_iova_ranges, allowed_iovas), 8);
        case IOMMU_IOAS_MAP:
            return in(offsetof(iommu_ioas_map, user_va), 16);
        case IOMMU_IOAS_ALLOW_IOVAS:
            return in(offsetof(iommu_ioas_allow_iovas, num_iovas), 4) ||
                   in(offsetof(iommu_ioas_allow_iovas, allowed_iovas), 8);
        case IOMMU_HWPT_ALLOC:
            return in(offsetof(iommu_hwpt_alloc, data_uptr), 8);
        case IOMMU_GET_HW_INFO:
            return in(offsetof(iommu_hw_info, data_uptr), 8);
        case IOMMU_HWPT_INVALIDATE:
            return in(offsetof(iommu_hwpt_invalidate, data_uptr), 8);
        case IOMMU_HWPT_GET_DIRTY_BITMAP:  // the bitmap is written: it must stay in the arena
            return in(offsetof(iommu_hwpt_get_dirty_bitmap, data), 8);
        default:
            return false;
    }
}

// A struct as it lies in user memory, which need not be aligned for it: the caller's usize bytes
// (no more: the struct may end at the edge of the arena), the rest zero.
template <typename T>
T load(const uint8_t* p, uint32_t usize) {
    T v{};
    std::memcpy(&v, p, std::min<std::size_t>(sizeof(v), usize));
    return v;
}

int do_ioctl(int fd, unsigned long cmd, void* arg) {
    errno = 0;
    return iommusim_ioctl(fd, cmd, arg) == 0 ? 0 : errno;
}

void record_new(shadow& s, uint32_t id, object o) {
    FUZZ_CHECK(id != 0, "a new object got id 0");
    const object* old = find(s, id);
    FUZZ_CHECK(old == nullptr || old->k == kind::hwpt_auto, "new id %u is already a live object", id);
    s[id] = o;
}

// The isolation witness: a second context with an IOAS, a mock device, a nest parent and a mock
// nested HWPT, built once and checked after every input.
struct witness {
    static constexpr uint32_t iotlb_value = 0x5eed;
    int fd = -1;
    uint32_t ioas = 0, stdev = 0, idev = 0, parent = 0, nested = 0;

    witness() {
        fd = iommusim_open("/dev/iommu", O_RDWR);
        FUZZ_CHECK(fd >= 0, "open(/dev/iommu) failed: errno %d", errno);
        iommu_ioas_alloc a{};
        a.size = sizeof(a);
        FUZZ_CHECK(do_ioctl(fd, IOMMU_IOAS_ALLOC, &a) == 0, "witness IOAS_ALLOC");
        ioas = a.out_ioas_id;
        iommu_test_cmd t{};
        t.size = sizeof(t);
        t.op = IOMMU_TEST_OP_MOCK_DOMAIN;
        t.id = ioas;
        FUZZ_CHECK(do_ioctl(fd, IOMMU_TEST_CMD, &t) == 0, "witness MOCK_DOMAIN");
        stdev = t.mock_domain.out_stdev_id;
        idev = t.mock_domain.out_idev_id;
        iommu_hwpt_alloc h{};
        h.size = sizeof(h);
        h.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
        h.dev_id = idev;
        h.pt_id = ioas;
        FUZZ_CHECK(do_ioctl(fd, IOMMU_HWPT_ALLOC, &h) == 0, "witness nest parent");
        parent = h.out_hwpt_id;
        iommu_hwpt_selftest data{iotlb_value};
        h = {};
        h.size = sizeof(h);
        h.dev_id = idev;
        h.pt_id = parent;
        h.data_type = IOMMU_HWPT_DATA_SELFTEST;
        h.data_len = sizeof(data);
        h.data_uptr = reinterpret_cast<uint64_t>(&data);
        FUZZ_CHECK(do_ioctl(fd, IOMMU_HWPT_ALLOC, &h) == 0, "witness nested HWPT");
        nested = h.out_hwpt_id;
    }

    void check() const {
        std::array<iommu_iova_range, 4> ranges{};
        iommu_ioas_iova_ranges r{};
        r.size = sizeof(r);
        r.ioas_id = ioas;
        r.num_iovas = ranges.size();
        r.allowed_iovas = reinterpret_cast<uint64_t>(ranges.data());
        const int err = do_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &r);
        FUZZ_CHECK(err == 0, "the other context's IOAS %u is gone (errno %d)", ioas, err);
        for (uint32_t i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; ++i) {
            iommu_test_cmd t{};
            t.size = sizeof(t);
            t.op = IOMMU_TEST_OP_MD_CHECK_IOTLB;
            t.id = nested;
            t.check_iotlb.id = i;
            t.check_iotlb.iotlb = iotlb_value;
            const int err = do_ioctl(fd, IOMMU_TEST_CMD, &t);
            FUZZ_CHECK(err == 0, "the other context's nested HWPT %u iotlb[%u] changed (errno %d)", nested, i, err);
        }
        iommu_test_cmd t{};
        t.size = sizeof(t);
        t.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
        t.id = stdev;
        t.mock_domain_replace.pt_id = nested;
        FUZZ_CHECK(do_ioctl(fd, IOMMU_TEST_CMD, &t) == 0, "the other context's mock device %u is gone", stdev);
    }
};

// The expected result of the mock nested domain's cache_invalidate_user (§5) and its effect.
struct invalidate_outcome {
    int err = 0;
    uint32_t done = 0;
};
invalidate_outcome mock_invalidate(const user_arena& arena, const iommu_hwpt_invalidate& c, object& nested) {
    if (c.data_type != IOMMU_HWPT_INVALIDATE_DATA_SELFTEST) {
        return {EINVAL, 0};
    }
    for (uint32_t i = 0; i < c.entry_num; ++i) {
        if (c.entry_len != sizeof(iommu_hwpt_invalidate_selftest)) {
            return {EINVAL, i};
        }
        const uint64_t at = c.data_uptr + uint64_t{c.entry_len} * i;
        iommu_hwpt_invalidate_selftest e{};
        if (!arena.read_before(at, &e, sizeof(e))) {
            return {EFAULT, i};
        }
        if ((e.flags & ~uint32_t{IOMMU_TEST_INVALIDATE_FLAG_ALL}) != 0) {
            return {EOPNOTSUPP, i};
        }
        if (e.iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX) {
            return {EINVAL, i};
        }
        if ((e.flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) != 0) {
            nested.iotlb.fill(0);
        } else {
            nested.iotlb[e.iotlb_id] = 0;
        }
    }
    return {0, c.entry_num};
}

class program {
  public:
    program(FuzzedDataProvider& in, user_arena& arena, const witness& w) : m_in(in), m_arena(arena), m_w(w) {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        FUZZ_CHECK(m_fd >= 0, "open(/dev/iommu) failed: errno %d", errno);
    }
    ~program() {
        // An access file keeps its context alive: close them first, then nothing may stay pinned.
        for (const auto& [fd, items] : m_accesses) {
            (void)items;
            FUZZ_CHECK(iommusim_close(fd) == 0, "close of access file %d failed: errno %d", fd, errno);
        }
        for (int fd : m_fault_fds) {  // a fault fd keeps its context alive too
            FUZZ_CHECK(iommusim_close(fd) == 0, "close of fault fd %d failed: errno %d", fd, errno);
        }
        FUZZ_CHECK(iommusim_close(m_fd) == 0, "close(/dev/iommu) failed: errno %d", errno);
        iommu_test_cmd t{};
        t.size = sizeof(t);
        t.op = IOMMU_TEST_OP_MD_CHECK_REFS;
        t.check_refs.uptr = reinterpret_cast<uint64_t>(m_arena.base);
        t.check_refs.length = user_arena::pages * page;
        t.check_refs.refs = 0;
        const int err = do_ioctl(m_w.fd, IOMMU_TEST_CMD, &t);
        FUZZ_CHECK(err == 0, "arena pages still pinned after every file closed: errno %d", err);
    }

    void run() {
        for (unsigned n = 0; n < 64 && m_in.remaining_bytes() > 0; ++n) {
            step();
        }
    }

  private:
    uint32_t pick_id() {
        switch (m_in.ConsumeIntegralInRange<unsigned>(0, 7)) {
            case 0:
                return 0;
            case 1:
                return m_in.ConsumeIntegral<uint32_t>();
            case 2: {
                const uint32_t ids[] = {m_w.ioas, m_w.stdev, m_w.idev, m_w.parent, m_w.nested};
                return ids[m_in.ConsumeIntegralInRange<unsigned>(0, 4)];
            }
            case 3:
                return m_in.ConsumeIntegralInRange<uint32_t>(1, 16);
            default: {
                if (m_objects.empty()) {
                    return m_in.ConsumeIntegralInRange<uint32_t>(1, 8);
                }
                auto it = m_objects.begin();
                std::advance(it, m_in.ConsumeIntegralInRange<std::size_t>(0, m_objects.size() - 1));
                return it->first;
            }
        }
    }
    // An access file descriptor: one of ours, the context's own descriptor, or anything.
    uint32_t pick_access_fd() {
        if (!m_accesses.empty() && m_in.ConsumeProbability<float>() < 0.8f) {
            auto it = m_accesses.begin();
            std::advance(it, m_in.ConsumeIntegralInRange<std::size_t>(0, m_accesses.size() - 1));
            return static_cast<uint32_t>(it->first);
        }
        return m_in.ConsumeBool() ? static_cast<uint32_t>(m_fd) : m_in.ConsumeIntegral<uint32_t>();
    }
    uint32_t pick_id_of(kind k) {
        for (const auto& [id, o] : m_objects) {
            if (o.k == k && m_in.ConsumeBool()) {
                return id;
            }
        }
        return pick_id();
    }
    // A user pointer for a payload: the data pages, NULL, across the guard page, or anything.
    uint64_t pick_pointer(std::size_t len) {
        switch (m_in.ConsumeIntegralInRange<unsigned>(0, 9)) {
            case 0:
                return 0;
            case 1:
                return reinterpret_cast<uint64_t>(m_arena.guard) - m_in.ConsumeIntegralInRange<std::size_t>(0, len);
            case 2:
                return unmapped_address;
            default:
                return m_arena.data() + 8 * m_in.ConsumeIntegralInRange<std::size_t>(0, 16);
        }
    }
    // Fills the data pages from the input (payloads for the pointers above). The rest is 0xff, so
    // an array that runs past its payload meets an invalid entry instead of thousands of zero
    // (valid) ones on its way to the guard page, each costing a system call.
    void fill_payload() {
        const std::size_t n = m_in.ConsumeIntegralInRange<std::size_t>(0, 64);
        std::vector<uint8_t> bytes = m_in.ConsumeBytes<uint8_t>(n);
        std::memset(m_arena.base + page, 0xff, (user_arena::pages - 1) * page);
        std::copy(bytes.begin(), bytes.end(), m_arena.base + page);
    }

    // Builds the struct of a known command with plausible fields, then lets the input bend them.
    void build(unsigned long cmd, uint8_t* s) {
        switch (cmd) {
            case IOMMU_DESTROY:
                reinterpret_cast<iommu_destroy*>(s)->id = pick_id();
                break;
            case IOMMU_IOAS_ALLOC:
                reinterpret_cast<iommu_ioas_alloc*>(s)->flags = m_in.ConsumeProbability<float>() < 0.9f ? 0 : 1;
                break;
            case IOMMU_IOAS_IOVA_RANGES: {
                auto* c = reinterpret_cast<iommu_ioas_iova_ranges*>(s);
                c->ioas_id = pick_id_of(kind::ioas);
                c->num_iovas = m_in.ConsumeIntegralInRange<uint32_t>(0, 2);
                c->allowed_iovas = pick_pointer(32);
                break;
            }
            case IOMMU_IOAS_MAP: {
                auto* c = reinterpret_cast<iommu_ioas_map*>(s);
                c->flags = m_in.ConsumeIntegralInRange<uint32_t>(0, 8);
                c->ioas_id = pick_id_of(kind::ioas);
                c->user_va = m_in.ConsumeBool() ? reinterpret_cast<uint64_t>(m_arena.base + page) : pick_pointer(page);
                c->length = page * m_in.ConsumeIntegralInRange<uint64_t>(0, 4);
                c->iova = MOCK_APERTURE_START + page * m_in.ConsumeIntegralInRange<uint64_t>(0, 16);
                break;
            }
            case IOMMU_IOAS_UNMAP: {
                auto* c = reinterpret_cast<iommu_ioas_unmap*>(s);
                c->ioas_id = pick_id_of(kind::ioas);
                c->iova =
                    m_in.ConsumeBool() ? 0 : MOCK_APERTURE_START + page * m_in.ConsumeIntegralInRange<uint64_t>(0, 16);
                c->length = m_in.ConsumeBool() ? ~uint64_t{0} : page * m_in.ConsumeIntegralInRange<uint64_t>(0, 4);
                break;
            }
            case IOMMU_HWPT_ALLOC: {
                auto* c = reinterpret_cast<iommu_hwpt_alloc*>(s);
                c->flags =
                    m_in.ConsumeBool() ? IOMMU_HWPT_ALLOC_NEST_PARENT : m_in.ConsumeIntegralInRange<uint32_t>(0, 16);
                c->dev_id = pick_id_of(kind::device);
                c->pt_id = pick_id();
                if (m_in.ConsumeBool()) {
                    c->data_type = m_in.ConsumeBool() ? IOMMU_HWPT_DATA_SELFTEST : m_in.ConsumeIntegral<uint32_t>();
                    c->data_len =
                        m_in.ConsumeBool() ? sizeof(iommu_hwpt_selftest) : m_in.ConsumeIntegralInRange<uint32_t>(0, 9);
                    c->data_uptr = pick_pointer(c->data_len);
                }
                break;
            }
            case IOMMU_GET_HW_INFO: {
                auto* c = reinterpret_cast<iommu_hw_info*>(s);
                c->dev_id = pick_id_of(kind::device);
                c->data_len = m_in.ConsumeIntegralInRange<uint32_t>(0, 16);
                c->data_uptr = pick_pointer(c->data_len);
                break;
            }
            case IOMMU_HWPT_INVALIDATE: {
                auto* c = reinterpret_cast<iommu_hwpt_invalidate*>(s);
                c->hwpt_id = pick_id_of(kind::hwpt_nested);
                c->data_type =
                    m_in.ConsumeBool() ? IOMMU_HWPT_INVALIDATE_DATA_SELFTEST : m_in.ConsumeIntegral<uint32_t>();
                c->entry_len = m_in.ConsumeBool() ? sizeof(iommu_hwpt_invalidate_selftest)
                                                  : m_in.ConsumeIntegralInRange<uint32_t>(0, 12);
                c->entry_num = m_in.ConsumeProbability<float>() < 0.9f ? m_in.ConsumeIntegralInRange<uint32_t>(0, 8)
                                                                       : m_in.ConsumeIntegral<uint32_t>();
                c->data_uptr = pick_pointer(std::size_t{c->entry_len} * 4);
                break;
            }
            case IOMMU_HWPT_SET_DIRTY_TRACKING: {
                auto* c = reinterpret_cast<iommu_hwpt_set_dirty_tracking*>(s);
                c->flags = m_in.ConsumeIntegralInRange<uint32_t>(0, 2);
                c->hwpt_id = pick_id_of(kind::hwpt_paging);
                break;
            }
            case IOMMU_HWPT_GET_DIRTY_BITMAP: {
                auto* c = reinterpret_cast<iommu_hwpt_get_dirty_bitmap*>(s);
                c->hwpt_id = pick_id_of(kind::hwpt_paging);
                c->flags = m_in.ConsumeIntegralInRange<uint32_t>(0, 2);
                c->iova = MOCK_APERTURE_START + page * m_in.ConsumeIntegralInRange<uint64_t>(0, 4);
                c->length = page * m_in.ConsumeIntegralInRange<uint64_t>(0, 4);
                c->page_size = m_in.ConsumeBool() ? page : m_in.ConsumeIntegralInRange<uint64_t>(0, 2 * page);
                // At most 4 bits: one byte, wherever pick_pointer puts it.
                c->data = pick_pointer(1);
                break;
            }
            case IOMMU_VIOMMU_ALLOC: {
                auto* c = reinterpret_cast<iommu_viommu_alloc*>(s);
                c->type = m_in.ConsumeProbability<float>() < 0.8f ? IOMMU_VIOMMU_TYPE_SELFTEST
                                                                  : m_in.ConsumeIntegralInRange<uint32_t>(0, 2);
                c->dev_id = pick_id_of(kind::device);
                c->hwpt_id = m_in.ConsumeBool() ? pick_id_of(kind::hwpt_paging) : pick_id();
                break;
            }
            case IOMMU_VDEVICE_ALLOC: {
                auto* c = reinterpret_cast<iommu_vdevice_alloc*>(s);
                c->viommu_id = pick_id_of(kind::viommu);
                c->dev_id = pick_id_of(kind::device);
                c->virt_id = m_in.ConsumeIntegralInRange<uint64_t>(0, 3);
                break;
            }
            case IOMMU_VEVENTQ_ALLOC: {
                auto* c = reinterpret_cast<iommu_veventq_alloc*>(s);
                c->viommu_id = pick_id_of(kind::viommu);
                c->type =
                    m_in.ConsumeBool() ? IOMMU_VEVENTQ_TYPE_SELFTEST : m_in.ConsumeIntegralInRange<uint32_t>(0, 2);
                c->veventq_depth = m_in.ConsumeIntegralInRange<uint32_t>(0, 4);
                break;
            }
            case IOMMU_VFIO_IOAS: {
                auto* c = reinterpret_cast<iommu_vfio_ioas*>(s);
                c->op = m_in.ConsumeIntegralInRange<uint16_t>(0, 3);
                c->ioas_id = pick_id_of(kind::ioas);
                break;
            }
            case IOMMU_TEST_CMD: {
                auto* c = reinterpret_cast<iommu_test_cmd*>(s);
                const uint32_t ops[] = {IOMMU_TEST_OP_MOCK_DOMAIN,         IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
                                        IOMMU_TEST_OP_MD_CHECK_IOTLB,      IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
                                        IOMMU_TEST_OP_CREATE_ACCESS,       IOMMU_TEST_OP_ACCESS_PAGES,
                                        IOMMU_TEST_OP_ACCESS_RW,           IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
                                        IOMMU_TEST_OP_DESTROY_ACCESS_PAGES};
                c->op = m_in.ConsumeProbability<float>() < 0.9f
                            ? ops[m_in.ConsumeIntegralInRange<std::size_t>(0, std::size(ops) - 1)]
                            : m_in.ConsumeIntegral<uint32_t>();
                const uint64_t iova = MOCK_APERTURE_START + page * m_in.ConsumeIntegralInRange<uint64_t>(0, 16) +
                                      (m_in.ConsumeBool() ? 0 : m_in.ConsumeIntegralInRange<uint64_t>(0, page - 1));
                const uint64_t length = m_in.ConsumeProbability<float>() < 0.9f
                                            ? m_in.ConsumeIntegralInRange<uint64_t>(0, 3 * page)
                                            : m_in.ConsumeIntegral<uint64_t>();
                if (c->op == IOMMU_TEST_OP_CREATE_ACCESS) {
                    c->id = pick_id_of(kind::ioas);
                    c->create_access.flags = m_in.ConsumeProbability<float>() < 0.9f
                                                 ? m_in.ConsumeIntegralInRange<uint32_t>(0, 1)
                                                 : m_in.ConsumeIntegral<uint32_t>();
                } else if (c->op == IOMMU_TEST_OP_ACCESS_PAGES) {
                    c->id = pick_access_fd();
                    c->access_pages.flags = m_in.ConsumeIntegralInRange<uint32_t>(0, 3);
                    c->access_pages.iova = iova;
                    c->access_pages.length = length;
                    c->access_pages.uptr =
                        m_in.ConsumeBool() ? reinterpret_cast<uint64_t>(m_arena.base + page) : pick_pointer(page);
                } else if (c->op == IOMMU_TEST_OP_ACCESS_RW) {
                    c->id = pick_access_fd();
                    c->access_rw.flags = m_in.ConsumeIntegralInRange<uint32_t>(0, 8);
                    c->access_rw.iova = iova;
                    c->access_rw.length = length;
                    c->access_rw.uptr = pick_pointer(page);
                } else if (c->op == IOMMU_TEST_OP_ACCESS_REPLACE_IOAS) {
                    c->id = pick_access_fd();
                    c->access_replace_ioas.ioas_id = pick_id_of(kind::ioas);
                } else if (c->op == IOMMU_TEST_OP_DESTROY_ACCESS_PAGES) {
                    c->id = pick_access_fd();
                    c->destroy_access_pages.access_pages_id = m_in.ConsumeIntegralInRange<uint32_t>(0, 4);
                } else if (c->op == IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE) {
                    c->id = pick_id_of(kind::selftest);
                    c->mock_domain_replace.pt_id = pick_id();
                } else if (c->op == IOMMU_TEST_OP_MD_CHECK_IOTLB) {
                    c->id = pick_id_of(kind::hwpt_nested);
                    c->check_iotlb.id = m_in.ConsumeIntegralInRange<uint32_t>(0, 4);
                    c->check_iotlb.iotlb = m_in.ConsumeBool() ? 0 : m_in.ConsumeIntegral<uint32_t>();
                } else {
                    c->id = m_in.ConsumeBool() ? pick_id_of(kind::ioas) : pick_id();
                }
                break;
            }
        }
        // Raw overwrites of a few bytes of the struct past the size field.
        const unsigned edits = m_in.ConsumeIntegralInRange<unsigned>(0, 3);
        for (unsigned i = 0; i < edits; ++i) {
            const std::size_t off = m_in.ConsumeIntegralInRange<std::size_t>(4, 63);
            const uint8_t value = m_in.ConsumeIntegral<uint8_t>();
            if (!guarded_field(cmd, off)) {
                s[off] = value;
            }
        }
    }

    // A shortcut to deep state: IOAS, mock device on it, nest parent and a mock nested HWPT with
    // the input's iotlb value, all with valid arguments, so every call must succeed.
    void nested_chain() {
        iommu_ioas_alloc a{};
        a.size = sizeof(a);
        FUZZ_CHECK(do_ioctl(m_fd, IOMMU_IOAS_ALLOC, &a) == 0, "IOAS_ALLOC failed");
        record_new(m_objects, a.out_ioas_id, {kind::ioas});
        iommu_test_cmd t{};
        t.size = sizeof(t);
        t.op = IOMMU_TEST_OP_MOCK_DOMAIN;
        t.id = a.out_ioas_id;
        FUZZ_CHECK(do_ioctl(m_fd, IOMMU_TEST_CMD, &t) == 0, "MOCK_DOMAIN on a new IOAS failed");
        record_new(m_objects, t.mock_domain.out_stdev_id, {kind::selftest, {}, t.mock_domain.out_idev_id});
        record_new(m_objects, t.mock_domain.out_idev_id, {kind::device});
        record_new(m_objects, t.mock_domain.out_hwpt_id, {kind::hwpt_auto});
        iommu_hwpt_alloc h{};
        h.size = sizeof(h);
        h.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
        h.dev_id = t.mock_domain.out_idev_id;
        h.pt_id = a.out_ioas_id;
        FUZZ_CHECK(do_ioctl(m_fd, IOMMU_HWPT_ALLOC, &h) == 0, "nest parent HWPT_ALLOC failed");
        record_new(m_objects, h.out_hwpt_id, {kind::hwpt_paging});
        iommu_hwpt_selftest data{m_in.ConsumeIntegral<uint32_t>()};
        h.flags = 0;
        h.pt_id = h.out_hwpt_id;
        h.data_type = IOMMU_HWPT_DATA_SELFTEST;
        h.data_len = sizeof(data);
        h.data_uptr = reinterpret_cast<uint64_t>(&data);
        FUZZ_CHECK(do_ioctl(m_fd, IOMMU_HWPT_ALLOC, &h) == 0, "mock nested HWPT_ALLOC failed");
        object nested{kind::hwpt_nested};
        nested.iotlb.fill(data.iotlb);
        record_new(m_objects, h.out_hwpt_id, nested);
    }

    void step() {
        fill_payload();
        const command* known = nullptr;
        unsigned long cmd = 0;
        switch (m_in.ConsumeIntegralInRange<unsigned>(0, 15)) {
            case 15:
                nested_chain();
                return;
            case 0:
                cmd = m_in.ConsumeIntegral<uint32_t>();
                break;
            case 1:
                cmd = IOMMUSIM_IO(IOMMUFD_TYPE, m_in.ConsumeIntegral<uint8_t>());
                break;
            default:
                known = &commands[m_in.ConsumeIntegralInRange<std::size_t>(0, commands.size() - 1)];
                cmd = known->number;
        }
        for (const command& c : commands) {
            if (c.number == cmd) {
                known = &c;
            }
        }
        // The struct as the caller lays it out: 64 bytes, then up to 64 bytes of tail.
        alignas(8) std::array<uint8_t, 128> s{};
        std::size_t ksize = known != nullptr ? known->size : 16;
        if (known != nullptr) {
            build(cmd, s.data());
        } else {
            std::vector<uint8_t> raw = m_in.ConsumeBytes<uint8_t>(32);
            std::copy(raw.begin(), raw.end(), s.begin());
        }
        uint32_t usize = static_cast<uint32_t>(ksize);
        switch (m_in.ConsumeIntegralInRange<unsigned>(0, 9)) {
            case 0:
                usize = known != nullptr ? static_cast<uint32_t>(known->min_size - 1) : 0;
                break;
            case 1:
                usize = m_in.ConsumeIntegralInRange<uint32_t>(0, static_cast<uint32_t>(ksize));
                break;
            case 2:  // larger, with a zero tail
                usize = static_cast<uint32_t>(ksize + m_in.ConsumeIntegralInRange<std::size_t>(1, 48));
                break;
            case 3:  // larger, with a non-zero byte in the tail
                usize = static_cast<uint32_t>(ksize + m_in.ConsumeIntegralInRange<std::size_t>(1, 48));
                s[m_in.ConsumeIntegralInRange<std::size_t>(ksize, usize - 1)] =
                    m_in.ConsumeIntegralInRange<uint8_t>(1, 255);
                break;
            case 4:
                usize = m_in.ConsumeIntegral<uint32_t>();
                break;
            default:
                break;
        }
        std::memcpy(s.data(), &usize, sizeof(usize));
        // Where the struct lies: on the command page, at NULL, or across the guard page.
        uint8_t* at = m_arena.base;
        switch (m_in.ConsumeIntegralInRange<unsigned>(0, 15)) {
            case 0:
                at = nullptr;
                break;
            case 1:
                at = m_arena.guard - m_in.ConsumeIntegralInRange<std::size_t>(1, s.size());
                break;
            default:
                break;
        }
        const std::size_t readable = at != nullptr ? m_arena.readable(reinterpret_cast<uint64_t>(at)) : 0;
        const std::size_t placed = std::min(readable, s.size());
        if (at != nullptr) {
            std::memcpy(at, s.data(), placed);
        }
        // Bytes the handler may read beyond our 128 (a huge usize) are zero on the command page.
        if (at == m_arena.base) {
            std::memset(m_arena.base + s.size(), 0, page - s.size());
        }

        const unsigned nr = cmd & 0xff;
        int expected = -1;  // -1: the dispatcher passes the call to the handler
        bool tail_either = false;
        const auto vfio =
            std::find_if(vfio_calls.begin(), vfio_calls.end(), [cmd](const vfio_call& v) { return v.number == cmd; });
        if (vfio != vfio_calls.end()) {
            m_arena.take_snapshot();
            vfio_checks(*vfio, reinterpret_cast<uint64_t>(at), readable, do_ioctl(m_fd, cmd, at));
            return;
        }
        if (nr < table_first_nr || nr >= table_end_nr) {
            expected = ENOTTY;
        } else if (readable < sizeof(uint32_t)) {
            expected = EFAULT;
        } else if (known == nullptr) {
            expected = ENOTTY;
        } else if (usize < known->min_size) {
            expected = EINVAL;
        } else if (usize > ksize) {
            // The tail is scanned up to its first non-zero byte (E2BIG) or the first unreadable one.
            const std::size_t scan_end = std::min<std::size_t>(usize, readable);
            const uint8_t* tail = at + ksize;
            const uint8_t* tail_end = at + std::max(scan_end, ksize);
            const bool nonzero = std::any_of(tail, tail_end, [](uint8_t b) { return b != 0; });
            expected = nonzero ? E2BIG : (readable < usize ? EFAULT : -1);
            // A non-zero byte before an unreadable part: Linux scans word by word and answers
            // E2BIG (lib/usercopy.c); the model reads 256-byte chunks and may fault first.
            tail_either = nonzero && readable < usize;
        } else if (readable < usize) {
            expected = EFAULT;
        }

        m_arena.take_snapshot();
        const int err = do_ioctl(m_fd, cmd, at);

        if (expected != -1) {
            FUZZ_CHECK(err == expected || (tail_either && err == EFAULT),
                       "cmd 0x%lx size %u (struct %zu readable): errno %d, expected %d", cmd, usize, ksize, err,
                       expected);
            if (at != nullptr) {
                FUZZ_CHECK(std::memcmp(at, s.data(), placed) == 0, "cmd 0x%lx failed with %d but wrote back", cmd, err);
            }
            return;
        }
        // The handler's view: min(usize, ksize) bytes, zero-filled to ksize.
        alignas(8) std::array<uint8_t, 128> k{};
        std::memcpy(k.data(), s.data(), std::min<std::size_t>(usize, ksize));
        handler_checks(cmd, k.data(), at, usize, err);
    }

    void handler_checks(unsigned long cmd, const uint8_t* k, uint8_t* at, uint32_t usize, int err) {
        switch (cmd) {
            case IOMMU_DESTROY: {
                const uint32_t id = reinterpret_cast<const iommu_destroy*>(k)->id;
                const object* o = find(m_objects, id);
                if (o == nullptr && err == EBUSY) {
                    note_access_object(id, "DESTROY", "EBUSY");
                } else if (o == nullptr) {
                    FUZZ_CHECK(err == ENOENT, "DESTROY of absent id %u: errno %d", id, err);
                } else if (o->k != kind::hwpt_auto) {
                    FUZZ_CHECK(err == 0 || err == EBUSY, "DESTROY of live id %u: errno %d", id, err);
                }
                if (err == 0) {
                    if (o != nullptr && o->k == kind::selftest) {
                        const uint32_t idev = o->idev;
                        m_objects.erase(idev);
                        // The device's unbind destroys its vdevice (kernel iommufd_device_pre_destroy).
                        std::erase_if(m_objects, [idev](const auto& e) {
                            return e.second.k == kind::vdevice && e.second.idev == idev;
                        });
                    }
                    if (id == m_compat_ioas) {
                        m_compat_ioas = 0;  // destroying the compat IOAS clears it
                    }
                    m_objects.erase(id);
                }
                break;
            }
            case IOMMU_IOAS_ALLOC: {
                const auto* c = reinterpret_cast<const iommu_ioas_alloc*>(k);
                FUZZ_CHECK(err == (c->flags != 0 ? EOPNOTSUPP : 0), "IOAS_ALLOC flags 0x%x: errno %d", c->flags, err);
                if (err == 0 && usize >= END_OF(iommu_ioas_alloc, out_ioas_id)) {
                    record_new(m_objects, load<iommu_ioas_alloc>(at, usize).out_ioas_id, {kind::ioas});
                }
                break;
            }
            case IOMMU_IOAS_IOVA_RANGES: {
                const auto* c = reinterpret_cast<const iommu_ioas_iova_ranges*>(k);
                if (c->__reserved != 0) {
                    FUZZ_CHECK(err == EOPNOTSUPP, "IOVA_RANGES __reserved: errno %d", err);
                } else if (!is(m_objects, c->ioas_id, kind::ioas)) {
                    FUZZ_CHECK(err == ENOENT, "IOVA_RANGES on id %u that is no IOAS: errno %d", c->ioas_id, err);
                }
                break;
            }
            case IOMMU_IOAS_MAP:
            case IOMMU_IOAS_UNMAP: {
                const uint32_t id = cmd == IOMMU_IOAS_MAP ? reinterpret_cast<const iommu_ioas_map*>(k)->ioas_id
                                                          : reinterpret_cast<const iommu_ioas_unmap*>(k)->ioas_id;
                if (!is(m_objects, id, kind::ioas)) {
                    FUZZ_CHECK(err != 0, "IOAS map/unmap succeeded on id %u that is no IOAS", id);
                }
                break;
            }
            case IOMMU_IOAS_ALLOW_IOVAS: {
                const auto* c = reinterpret_cast<const iommu_ioas_allow_iovas*>(k);
                if (c->__reserved == 0 && !is(m_objects, c->ioas_id, kind::ioas)) {
                    FUZZ_CHECK(err == ENOENT, "ALLOW_IOVAS on id %u that is no IOAS: errno %d", c->ioas_id, err);
                }
                break;
            }
            case IOMMU_IOAS_COPY: {
                const auto* c = reinterpret_cast<const iommu_ioas_copy*>(k);
                if (!is(m_objects, c->src_ioas_id, kind::ioas) || !is(m_objects, c->dst_ioas_id, kind::ioas)) {
                    FUZZ_CHECK(err != 0, "IOAS_COPY succeeded between ids %u, %u that are not both IOASes",
                               c->src_ioas_id, c->dst_ioas_id);
                }
                break;
            }
            case IOMMU_HWPT_ALLOC:
                hwpt_alloc_checks(reinterpret_cast<const iommu_hwpt_alloc*>(k), at, usize, err);
                break;
            case IOMMU_GET_HW_INFO: {
                const uint32_t id = reinterpret_cast<const iommu_hw_info*>(k)->dev_id;
                if (!is(m_objects, id, kind::device)) {
                    FUZZ_CHECK(err != 0, "GET_HW_INFO succeeded on id %u that is no device", id);
                }
                break;
            }
            case IOMMU_HWPT_INVALIDATE:
                invalidate_checks(reinterpret_cast<const iommu_hwpt_invalidate*>(k), at, usize, err);
                break;
            case IOMMU_TEST_CMD:
                test_cmd_checks(reinterpret_cast<const iommu_test_cmd*>(k), at, usize, err);
                break;
            case IOMMU_HWPT_SET_DIRTY_TRACKING:
            case IOMMU_HWPT_GET_DIRTY_BITMAP:
                dirty_checks(cmd, k, err);
                break;
            case IOMMU_VFIO_IOAS:
                vfio_ioas_checks(reinterpret_cast<const iommu_vfio_ioas*>(k), at, usize, err);
                break;
            case IOMMU_FAULT_QUEUE_ALLOC: {
                const auto* c = reinterpret_cast<const iommu_fault_alloc*>(k);
                FUZZ_CHECK(err == (c->flags != 0 ? EOPNOTSUPP : 0), "FAULT_QUEUE_ALLOC flags 0x%x: errno %d", c->flags,
                           err);
                if (err == 0) {
                    const auto out = load<iommu_fault_alloc>(at, usize);
                    record_new(m_objects, out.out_fault_id, {kind::fault});
                    m_fault_fds.push_back(static_cast<int>(out.out_fault_fd));
                }
                break;
            }
            case IOMMU_VIOMMU_ALLOC:
                viommu_alloc_checks(reinterpret_cast<const iommu_viommu_alloc*>(k), at, usize, err);
                break;
            case IOMMU_VDEVICE_ALLOC: {
                const auto* c = reinterpret_cast<const iommu_vdevice_alloc*>(k);
                if (!is(m_objects, c->viommu_id, kind::viommu) || !is(m_objects, c->dev_id, kind::device)) {
                    FUZZ_CHECK(err == ENOENT, "VDEVICE_ALLOC on ids %u, %u: errno %d", c->viommu_id, c->dev_id, err);
                } else {
                    FUZZ_CHECK(err == 0 || err == EEXIST, "VDEVICE_ALLOC: errno %d", err);
                }
                if (err == 0) {
                    record_new(m_objects, load<iommu_vdevice_alloc>(at, usize).out_vdevice_id,
                               {kind::vdevice, {}, c->dev_id});
                }
                break;
            }
            case IOMMU_VEVENTQ_ALLOC: {
                const auto* c = reinterpret_cast<const iommu_veventq_alloc*>(k);
                if (c->flags != 0 || c->__reserved != 0 || c->type == IOMMU_VEVENTQ_TYPE_DEFAULT) {
                    FUZZ_CHECK(err == EOPNOTSUPP, "VEVENTQ_ALLOC flags/type: errno %d", err);
                } else if (c->veventq_depth == 0) {
                    FUZZ_CHECK(err == EINVAL, "VEVENTQ_ALLOC depth 0: errno %d", err);
                } else if (!is(m_objects, c->viommu_id, kind::viommu)) {
                    FUZZ_CHECK(err == ENOENT, "VEVENTQ_ALLOC on id %u that is no vIOMMU: errno %d", c->viommu_id, err);
                } else {
                    FUZZ_CHECK(err == 0 || err == EEXIST, "VEVENTQ_ALLOC: errno %d", err);
                }
                if (err == 0) {
                    const auto out = load<iommu_veventq_alloc>(at, usize);
                    record_new(m_objects, out.out_veventq_id, {kind::veventq});
                    m_fault_fds.push_back(static_cast<int>(out.out_veventq_fd));
                }
                break;
            }
        }
    }

    bool has_compat_ioas() const { return m_compat_ioas != 0 && is(m_objects, m_compat_ioas, kind::ioas); }

    // The type1 calls (drivers/iommu/iommufd/vfio_compat.c): value arguments here are pointers,
    // never a known extension or type; a pointer argument is copied in first (EFAULT), then the
    // compat IOAS is needed (ENODEV) unless argsz or flags were refused (EINVAL).
    void vfio_checks(const vfio_call& v, uint64_t arg, std::size_t readable, int err) {
        if (v.number == VFIO_GET_API_VERSION || v.number == VFIO_CHECK_EXTENSION) {
            FUZZ_CHECK(err == 0, "VFIO call 0x%lx: errno %d", v.number, err);
        } else if (v.number == VFIO_SET_IOMMU) {
            FUZZ_CHECK(err == EINVAL, "VFIO_SET_IOMMU of type 0x%llx: errno %d", static_cast<unsigned long long>(arg),
                       err);
        } else if (readable < v.minsz) {
            FUZZ_CHECK(err == EFAULT, "VFIO call 0x%lx on %zu readable bytes: errno %d", v.number, readable, err);
        } else if (!has_compat_ioas()) {
            FUZZ_CHECK(err == EINVAL || err == ENODEV, "VFIO call 0x%lx without a compat IOAS: errno %d", v.number,
                       err);
        }
    }

    void vfio_ioas_checks(const iommu_vfio_ioas* c, uint8_t* at, uint32_t usize, int err) {
        if (c->__reserved != 0) {
            FUZZ_CHECK(err == EOPNOTSUPP, "VFIO_IOAS __reserved: errno %d", err);
            return;
        }
        switch (c->op) {
            case IOMMU_VFIO_IOAS_GET:
                FUZZ_CHECK(err == (has_compat_ioas() ? 0 : ENODEV), "VFIO_IOAS_GET: errno %d", err);
                if (err == 0 && usize >= END_OF(iommu_vfio_ioas, ioas_id)) {
                    const uint32_t id = load<iommu_vfio_ioas>(at, usize).ioas_id;
                    FUZZ_CHECK(id == m_compat_ioas, "VFIO_IOAS_GET gave %u, set %u", id, m_compat_ioas);
                }
                break;
            case IOMMU_VFIO_IOAS_SET: {
                const bool ioas = is(m_objects, c->ioas_id, kind::ioas);
                FUZZ_CHECK(err == (ioas ? 0 : ENOENT), "VFIO_IOAS_SET of id %u: errno %d", c->ioas_id, err);
                if (err == 0) {
                    m_compat_ioas = c->ioas_id;
                }
                break;
            }
            case IOMMU_VFIO_IOAS_CLEAR:
                FUZZ_CHECK(err == 0, "VFIO_IOAS_CLEAR: errno %d", err);
                m_compat_ioas = 0;
                break;
            default:
                FUZZ_CHECK(err == EOPNOTSUPP, "VFIO_IOAS op %u: errno %d", c->op, err);
        }
    }

    // Dirty tracking (kernel hw_pagetable.c): unknown flags (and for GET_DIRTY_BITMAP a non-zero
    // __reserved) EOPNOTSUPP, then the id must be a paging HWPT (ENOENT); what follows depends on
    // state the oracle does not keep (dirty ops, tracking on, the range) but is one of these errnos.
    void dirty_checks(unsigned long cmd, const uint8_t* k, int err) {
        uint32_t id = 0;
        bool bad_flags = false;
        if (cmd == IOMMU_HWPT_SET_DIRTY_TRACKING) {
            const auto* c = reinterpret_cast<const iommu_hwpt_set_dirty_tracking*>(k);
            id = c->hwpt_id;
            bad_flags = (c->flags & ~uint32_t{IOMMU_HWPT_DIRTY_TRACKING_ENABLE}) != 0;
        } else {
            const auto* c = reinterpret_cast<const iommu_hwpt_get_dirty_bitmap*>(k);
            id = c->hwpt_id;
            bad_flags = (c->flags & ~uint32_t{IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR}) != 0 || c->__reserved != 0;
        }
        const object* o = find(m_objects, id);
        const bool paging = o != nullptr && (o->k == kind::hwpt_paging || o->k == kind::hwpt_auto);
        if (bad_flags) {
            FUZZ_CHECK(err == EOPNOTSUPP, "dirty cmd 0x%lx flags: errno %d", cmd, err);
        } else if (!paging) {
            // An automatic domain the oracle still lists may have gone with its last device.
            FUZZ_CHECK(err == ENOENT, "dirty cmd 0x%lx on id %u that is no paging HWPT: errno %d", cmd, id, err);
        } else {
            FUZZ_CHECK(
                err == 0 || err == ENOENT || err == EOPNOTSUPP || err == EINVAL || err == EOVERFLOW || err == EFAULT,
                "dirty cmd 0x%lx on paging HWPT %u: errno %d", cmd, id, err);
        }
    }

    // Kernel iommufd_viommu_alloc_ioctl with the mock's vIOMMU (selftest type, no user data).
    void viommu_alloc_checks(const iommu_viommu_alloc* c, uint8_t* at, uint32_t usize, int err) {
        const object* parent = find(m_objects, c->hwpt_id);
        if (c->flags != 0 || c->type == IOMMU_VIOMMU_TYPE_DEFAULT) {
            FUZZ_CHECK(err == EOPNOTSUPP, "VIOMMU_ALLOC flags 0x%x type %u: errno %d", c->flags, c->type, err);
        } else if (!is(m_objects, c->dev_id, kind::device)) {
            FUZZ_CHECK(err == ENOENT, "VIOMMU_ALLOC dev_id %u is no device: errno %d", c->dev_id, err);
        } else if (c->type != IOMMU_VIOMMU_TYPE_SELFTEST) {
            FUZZ_CHECK(err == EOPNOTSUPP, "VIOMMU_ALLOC type 0x%x: errno %d", c->type, err);
        } else if (parent == nullptr || (parent->k != kind::hwpt_paging && parent->k != kind::hwpt_auto)) {
            FUZZ_CHECK(err == ENOENT, "VIOMMU_ALLOC hwpt_id %u is no paging HWPT: errno %d", c->hwpt_id, err);
        } else if (parent->k == kind::hwpt_auto) {
            // An automatic domain is no nest parent, unless it went with its last device.
            FUZZ_CHECK(err == EINVAL || err == ENOENT, "VIOMMU_ALLOC on an automatic domain: errno %d", err);
        } else {
            FUZZ_CHECK(err == 0 || err == EINVAL || err == EOPNOTSUPP || err == EFAULT,
                       "VIOMMU_ALLOC on paging HWPT %u: errno %d", c->hwpt_id, err);
        }
        if (err == 0) {
            FUZZ_CHECK(c->data_len == 0, "the mock vIOMMU took user data");
            record_new(m_objects, load<iommu_viommu_alloc>(at, usize).out_viommu_id, {kind::viommu});
        }
    }

    void hwpt_alloc_checks(const iommu_hwpt_alloc* c, uint8_t* at, uint32_t usize, int err) {
        const object* pt = find(m_objects, c->pt_id);
        if (c->__reserved != 0) {
            FUZZ_CHECK(err == EOPNOTSUPP, "HWPT_ALLOC __reserved: errno %d", err);
        } else if ((c->data_type == IOMMU_HWPT_DATA_NONE) != (c->data_len == 0)) {
            FUZZ_CHECK(err == EINVAL, "HWPT_ALLOC data_type %u data_len %u: errno %d", c->data_type, c->data_len, err);
        } else if (!is(m_objects, c->dev_id, kind::device)) {
            FUZZ_CHECK(err == ENOENT, "HWPT_ALLOC dev_id %u is no device: errno %d", c->dev_id, err);
        } else if (pt == nullptr) {
            FUZZ_CHECK(err == EINVAL, "HWPT_ALLOC pt_id %u is absent: errno %d", c->pt_id, err);
        }
        if (err != 0) {
            return;
        }
        FUZZ_CHECK(pt != nullptr && (pt->k == kind::ioas || pt->k == kind::hwpt_paging || pt->k == kind::viommu),
                   "HWPT_ALLOC succeeded on pt_id %u that is no IOAS, user paging HWPT or vIOMMU", c->pt_id);
        FUZZ_CHECK((c->flags & IOMMU_HWPT_FAULT_ID_VALID) == 0 || is(m_objects, c->fault_id, kind::fault),
                   "HWPT_ALLOC succeeded with fault id %u that is no fault object", c->fault_id);
        FUZZ_CHECK(usize >= END_OF(iommu_hwpt_alloc, out_hwpt_id), "HWPT_ALLOC succeeded without room for its id");
        const uint32_t id = load<iommu_hwpt_alloc>(at, usize).out_hwpt_id;
        if (pt->k == kind::ioas) {
            FUZZ_CHECK(c->data_type == IOMMU_HWPT_DATA_NONE, "mock paging HWPT_ALLOC succeeded with driver data");
            record_new(m_objects, id, {kind::hwpt_paging});
            return;
        }
        // A mock nested domain takes exactly one iommu_hwpt_selftest (§5); its iotlb fills all slots.
        FUZZ_CHECK(c->data_type == IOMMU_HWPT_DATA_SELFTEST && c->data_len == sizeof(iommu_hwpt_selftest),
                   "nested HWPT_ALLOC succeeded with data type 0x%x len %u", c->data_type, c->data_len);
        object nested{kind::hwpt_nested};
        uint32_t value = 0;
        FUZZ_CHECK(m_arena.read_before(c->data_uptr, &value, sizeof(value)), "nested data was unreadable");
        nested.iotlb.fill(value);
        record_new(m_objects, id, nested);
    }

    // An id the oracle never saw answered as an existing object of another type: one of the accesses'
    // objects, whose ids user space never learns; there are no more of them than accesses created.
    void note_access_object(uint32_t id, const char* command, const char* errno_name) {
        m_access_objects.insert(id);
        FUZZ_CHECK(m_access_objects.size() <= m_accesses_created,
                   "%s of absent id %u: %s, more such ids than accesses created", command, id, errno_name);
    }

    void invalidate_checks(const iommu_hwpt_invalidate* c, uint8_t* at, uint32_t usize, int err) {
        invalidate_outcome want{-1, 0};
        const object* o = find(m_objects, c->hwpt_id);
        if (c->__reserved != 0) {
            want = {EOPNOTSUPP, 0};
        } else if (c->entry_num != 0 && (c->data_uptr == 0 || c->entry_len == 0)) {
            want = {EINVAL, 0};
        } else if (o == nullptr && err == EINVAL) {
            // An id user space never learnt may be an access's object: not a HWPT (EINVAL).
            note_access_object(c->hwpt_id, "HWPT_INVALIDATE", "EINVAL");
            want = {EINVAL, 0};
        } else if (o == nullptr) {
            want = {ENOENT, 0};
        } else if (o->k == kind::hwpt_nested) {
            // Entries are read in order: the guard page stops a walk that starts in the arena, and
            // the other pointers (NULL, unmapped_address) fault at once.
            want = mock_invalidate(m_arena, *c, m_objects[c->hwpt_id]);
        } else if (o->k == kind::viommu) {
            // The mock vIOMMU's invalidation: its own errnos, which depend on vdevices' virt_ids;
            // it may clear mock device cache slots.
            m_dev_caches_cleared = true;
            FUZZ_CHECK(err == 0 || err == EINVAL || err == EOPNOTSUPP || err == EFAULT || err == E2BIG,
                       "HWPT_INVALIDATE on vIOMMU %u: errno %d", c->hwpt_id, err);
        } else if (o->k != kind::hwpt_auto) {
            want = {EINVAL, 0};
        }
        if (want.err == -1) {
            return;
        }
        uint32_t written = c->entry_num;
        if (usize >= END_OF(iommu_hwpt_invalidate, entry_num)) {
            std::memcpy(&written, at + offsetof(iommu_hwpt_invalidate, entry_num), sizeof(written));
        }
        FUZZ_CHECK(err == want.err, "HWPT_INVALIDATE id %u type 0x%x len %u num %u: errno %d, expected %d", c->hwpt_id,
                   c->data_type, c->entry_len, c->entry_num, err, want.err);
        if (usize >= END_OF(iommu_hwpt_invalidate, entry_num)) {
            FUZZ_CHECK(written == want.done, "HWPT_INVALIDATE wrote back entry_num %u, expected %u", written,
                       want.done);
        }
    }

    void test_cmd_checks(const iommu_test_cmd* c, uint8_t* at, uint32_t usize, int err) {
        const auto reply = load<iommu_test_cmd>(at, usize);
        const iommu_test_cmd* out = &reply;
        switch (c->op) {
            case IOMMU_TEST_OP_MOCK_DOMAIN:
            case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS: {
                // MOCK_DOMAIN_FLAGS refuses unknown device flags (EINVAL); its out fields sit where
                // MOCK_DOMAIN's do.
                constexpr uint32_t known =
                    MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_HUGE_IOVA | MOCK_FLAGS_DEVICE_PASID;
                if (c->op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS && (c->mock_domain_flags.dev_flags & ~known) != 0) {
                    FUZZ_CHECK(err == EINVAL, "MOCK_DOMAIN_FLAGS 0x%x: errno %d", c->mock_domain_flags.dev_flags, err);
                }
                const object* pt = find(m_objects, c->id);
                if (pt == nullptr) {
                    FUZZ_CHECK(err != 0, "MOCK_DOMAIN succeeded on absent pt_id %u", c->id);
                }
                if (err == 0) {
                    const kind attached = pt->k;
                    record_new(m_objects, out->mock_domain.out_stdev_id,
                               {kind::selftest, {}, out->mock_domain.out_idev_id});
                    record_new(m_objects, out->mock_domain.out_idev_id, {kind::device});
                    if (attached == kind::ioas) {
                        record_new(m_objects, out->mock_domain.out_hwpt_id, {kind::hwpt_auto});
                    } else {
                        FUZZ_CHECK(out->mock_domain.out_hwpt_id == c->id, "MOCK_DOMAIN attached to %u, asked %u",
                                   out->mock_domain.out_hwpt_id, c->id);
                    }
                }
                break;
            }
            case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
                if (!is(m_objects, c->id, kind::selftest)) {
                    FUZZ_CHECK(err == ENOENT, "MOCK_DOMAIN_REPLACE of id %u that is no mock device: errno %d", c->id,
                               err);
                }
                if (err == 0 && is(m_objects, c->mock_domain_replace.pt_id, kind::ioas)) {
                    record_new(m_objects, out->mock_domain_replace.pt_id, {kind::hwpt_auto});
                }
                break;
            case IOMMU_TEST_OP_MD_CHECK_IOTLB: {
                const object* o = find(m_objects, c->id);
                if (o == nullptr) {
                    FUZZ_CHECK(err == ENOENT, "MD_CHECK_IOTLB of absent id %u: errno %d", c->id, err);
                } else if (o->k == kind::hwpt_nested) {
                    const bool match = c->check_iotlb.id <= MOCK_NESTED_DOMAIN_IOTLB_ID_MAX &&
                                       o->iotlb[c->check_iotlb.id] == c->check_iotlb.iotlb;
                    FUZZ_CHECK(err == (match ? 0 : EINVAL), "MD_CHECK_IOTLB hwpt %u iotlb[%u] == 0x%x: errno %d", c->id,
                               c->check_iotlb.id, c->check_iotlb.iotlb, err);
                } else if (o->k != kind::hwpt_auto) {
                    FUZZ_CHECK(err == ENOENT, "MD_CHECK_IOTLB of id %u that is no nested HWPT: errno %d", c->id, err);
                }
                break;
            }
            case IOMMU_TEST_OP_ADD_RESERVED:
                if (!is(m_objects, c->id, kind::ioas)) {
                    FUZZ_CHECK(err == ENOENT, "ADD_RESERVED on id %u that is no IOAS: errno %d", c->id, err);
                } else {
                    FUZZ_CHECK(err == 0 || err == EINVAL || err == EADDRINUSE, "ADD_RESERVED: errno %d", err);
                }
                break;
            case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
                // Kernel selftest.c: below one batch element (sizeof(unsigned long) + sizeof(u32)) is EINVAL.
                FUZZ_CHECK(err == (c->memory_limit.limit < 12 ? EINVAL : 0), "SET_TEMP_MEMORY_LIMIT of %u: errno %d",
                           c->memory_limit.limit, err);
                break;
            case IOMMU_TEST_OP_MD_CHECK_REFS: {
                // The kernel refuses a range that is not page-aligned before it looks at a page; an
                // empty range checks nothing. Otherwise the answer is a match (0), a page that is
                // not mapped (EFAULT) or a pin count that differs (EIO).
                const uint64_t page = 4096;
                if (c->check_refs.uptr % page != 0 || c->check_refs.length % page != 0) {
                    FUZZ_CHECK(err == EINVAL, "MD_CHECK_REFS of unaligned 0x%llx+0x%llx: errno %d",
                               static_cast<unsigned long long>(c->check_refs.uptr),
                               static_cast<unsigned long long>(c->check_refs.length), err);
                } else if (c->check_refs.length == 0) {
                    FUZZ_CHECK(err == 0, "MD_CHECK_REFS of an empty range: errno %d", err);
                } else {
                    FUZZ_CHECK(err == 0 || err == EFAULT || err == EIO, "MD_CHECK_REFS: errno %d", err);
                }
                break;
            }
            case IOMMU_TEST_OP_MD_CHECK_MAP: {
                // Kernel iommufd_test_md_check_pa: alignment to MOCK_IO_PAGE_SIZE first.
                const uint64_t step = 2048;
                if (c->check_map.iova % step != 0 || c->check_map.length % step != 0 || c->check_map.uptr % step != 0) {
                    FUZZ_CHECK(err == EINVAL, "MD_CHECK_MAP unaligned: errno %d", err);
                } else {
                    FUZZ_CHECK(err == 0 || err == EINVAL || err == ENOENT || err == EFAULT, "MD_CHECK_MAP: errno %d",
                               err);
                }
                break;
            }
            case IOMMU_TEST_OP_DEV_CHECK_CACHE: {
                // Every mock device's four slots hold IOMMU_TEST_DEV_CACHE_DEFAULT until a vIOMMU
                // invalidation may have cleared some to 0.
                const object* o = find(m_objects, c->id);
                if (o == nullptr || o->k != kind::device) {
                    FUZZ_CHECK(err == ENOENT, "DEV_CHECK_CACHE of id %u that is no device: errno %d", c->id, err);
                } else {
                    const bool in_range = c->check_dev_cache.id <= MOCK_DEV_CACHE_ID_MAX;
                    const bool match = in_range && c->check_dev_cache.cache == IOMMU_TEST_DEV_CACHE_DEFAULT;
                    const bool maybe =
                        in_range && m_dev_caches_cleared &&
                        (c->check_dev_cache.cache == IOMMU_TEST_DEV_CACHE_DEFAULT || c->check_dev_cache.cache == 0);
                    FUZZ_CHECK(maybe ? (err == 0 || err == EINVAL) : err == (match ? 0 : EINVAL),
                               "DEV_CHECK_CACHE device %u slot %u == 0x%x: errno %d", c->id, c->check_dev_cache.id,
                               c->check_dev_cache.cache, err);
                }
                break;
            }
            case IOMMU_TEST_OP_CREATE_ACCESS:
            case IOMMU_TEST_OP_ACCESS_PAGES:
            case IOMMU_TEST_OP_ACCESS_RW:
            case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
            case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
                access_checks(c, out, err);
                break;
            case IOMMU_TEST_OP_TRIGGER_IOPF: {
                // Answered invalid or queued, the op succeeds on every (mock) device.
                const bool device = is(m_objects, c->trigger_iopf.dev_id, kind::device);
                FUZZ_CHECK(err == (device ? 0 : ENOENT), "TRIGGER_IOPF on id %u: errno %d", c->trigger_iopf.dev_id,
                           err);
                break;
            }
            case IOMMU_TEST_OP_TRIGGER_VEVENT: {
                const bool device = is(m_objects, c->trigger_vevent.dev_id, kind::device);
                FUZZ_CHECK(device ? (err == 0 || err == ENOENT || err == EOPNOTSUPP) : err == ENOENT,
                           "TRIGGER_VEVENT on id %u: errno %d", c->trigger_vevent.dev_id, err);
                break;
            }
            case IOMMU_TEST_OP_PASID_ATTACH:
            case IOMMU_TEST_OP_PASID_REPLACE:
            case IOMMU_TEST_OP_PASID_DETACH:
            case IOMMU_TEST_OP_PASID_CHECK_HWPT:
                // The PASID calls of a mock device object (ENOENT for any other id): attach and
                // replace answer what iommufd's PASID attach answers, detach always succeeds, the
                // check fails only on its HWPT id or its result pointer.
                if (!is(m_objects, c->id, kind::selftest)) {
                    FUZZ_CHECK(err == ENOENT, "PASID op %u on id %u that is no mock device: errno %d", c->op, c->id,
                               err);
                } else if (c->op == IOMMU_TEST_OP_PASID_DETACH) {
                    FUZZ_CHECK(err == 0, "PASID_DETACH: errno %d", err);
                } else if (c->op == IOMMU_TEST_OP_PASID_CHECK_HWPT) {
                    FUZZ_CHECK(err == 0 || err == ENOENT || err == EINVAL || err == EFAULT,
                               "PASID_CHECK_HWPT: errno %d", err);
                } else {
                    FUZZ_CHECK(err == 0 || err == ENOENT || err == EINVAL || err == EBUSY || err == ENODEV ||
                                   err == EOPNOTSUPP || err == ENOMEM || err == EFAULT,
                               "PASID attach op %u: errno %d", c->op, err);
                    const uint32_t pt =
                        c->op == IOMMU_TEST_OP_PASID_ATTACH ? c->pasid_attach.pt_id : c->pasid_replace.pt_id;
                    const uint32_t out_pt =
                        c->op == IOMMU_TEST_OP_PASID_ATTACH ? out->pasid_attach.pt_id : out->pasid_replace.pt_id;
                    if (err == 0 && is(m_objects, pt, kind::ioas)) {
                        record_new(m_objects, out_pt, {kind::hwpt_auto});
                    }
                }
                break;
            case IOMMU_TEST_OP_DIRTY:
                // Kernel iommufd_test_dirty: argument checks and tracking off EINVAL, no paging HWPT
                // ENOENT, an unreadable bitmap EFAULT.
                FUZZ_CHECK(err == 0 || err == EINVAL || err == ENOENT || err == EFAULT, "TEST_OP_DIRTY: errno %d", err);
                break;
            default:
                FUZZ_CHECK(err == EOPNOTSUPP, "IOMMU_TEST_CMD op %u: errno %d", c->op, err);
        }
    }

    // The access ops (kernel selftest.c): each refuses a bad length or flags before it looks the
    // descriptor up, and a descriptor that is no live access file is EBADFD.
    void access_checks(const iommu_test_cmd* c, const iommu_test_cmd* out, int err) {
        const auto file = m_accesses.find(static_cast<int>(c->id));
        const bool ours = c->id <= INT32_MAX && file != m_accesses.end();
        switch (c->op) {
            case IOMMU_TEST_OP_CREATE_ACCESS:
                if ((c->create_access.flags & ~uint32_t{MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES}) != 0) {
                    FUZZ_CHECK(err == EOPNOTSUPP, "CREATE_ACCESS flags 0x%x: errno %d", c->create_access.flags, err);
                } else if (!is(m_objects, c->id, kind::ioas)) {
                    FUZZ_CHECK(err == ENOENT, "CREATE_ACCESS on id %u that is no IOAS: errno %d", c->id, err);
                } else {
                    // EADDRINUSE: a pinning access needs page-aligned areas; EFAULT: the reply.
                    FUZZ_CHECK(err == 0 || err == EADDRINUSE || err == EFAULT, "CREATE_ACCESS: errno %d", err);
                }
                if (err == 0) {
                    const int fd = static_cast<int>(out->create_access.out_access_fd);
                    FUZZ_CHECK(m_accesses.count(fd) == 0 && fd != m_fd && fd != m_w.fd,
                               "CREATE_ACCESS returned descriptor %d that is already open", fd);
                    m_accesses[fd] = {};
                    ++m_accesses_created;
                }
                break;
            case IOMMU_TEST_OP_ACCESS_PAGES:
                if (c->access_pages.length > max_access_length) {
                    FUZZ_CHECK(err == ENOMEM, "ACCESS_PAGES of %llu bytes: errno %d",
                               static_cast<unsigned long long>(c->access_pages.length), err);
                } else if ((c->access_pages.flags & ~uint32_t{MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ}) != 0) {
                    FUZZ_CHECK(err == EOPNOTSUPP, "ACCESS_PAGES flags 0x%x: errno %d", c->access_pages.flags, err);
                } else if (!ours) {
                    FUZZ_CHECK(err == EBADFD, "ACCESS_PAGES on descriptor %u that is no access: errno %d", c->id, err);
                } else {
                    FUZZ_CHECK(err == 0 || err == EOPNOTSUPP || err == EINVAL || err == ENOENT || err == EPERM ||
                                   err == EFAULT || err == EOVERFLOW || err == EBADE,
                               "ACCESS_PAGES: errno %d", err);
                    if (c->access_pages.length == 0) {
                        FUZZ_CHECK(err != 0, "ACCESS_PAGES of nothing succeeded");
                    }
                }
                if (err == 0) {
                    FUZZ_CHECK(file->second.insert(out->access_pages.out_access_pages_id).second,
                               "ACCESS_PAGES handed out item id %u twice", out->access_pages.out_access_pages_id);
                }
                break;
            case IOMMU_TEST_OP_ACCESS_RW:
                if (c->access_rw.length > max_access_length) {
                    FUZZ_CHECK(err == ENOMEM, "ACCESS_RW of %llu bytes: errno %d",
                               static_cast<unsigned long long>(c->access_rw.length), err);
                } else if ((c->access_rw.flags &
                            ~uint32_t{MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH | MOCK_FLAGS_ACCESS_SYZ}) != 0) {
                    FUZZ_CHECK(err == EOPNOTSUPP, "ACCESS_RW flags 0x%x: errno %d", c->access_rw.flags, err);
                } else if (!ours) {
                    FUZZ_CHECK(err == EBADFD, "ACCESS_RW on descriptor %u that is no access: errno %d", c->id, err);
                } else {
                    FUZZ_CHECK(
                        err == 0 || err == EINVAL || err == ENOENT || err == EPERM || err == EFAULT || err == EOVERFLOW,
                        "ACCESS_RW: errno %d", err);
                    if (c->access_rw.length == 0) {
                        FUZZ_CHECK(err == EINVAL || err == EFAULT, "ACCESS_RW of nothing: errno %d", err);
                    }
                }
                break;
            case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
                if (!ours) {
                    FUZZ_CHECK(err == EBADFD, "ACCESS_REPLACE_IOAS on descriptor %u that is no access: errno %d", c->id,
                               err);
                } else if (!is(m_objects, c->access_replace_ioas.ioas_id, kind::ioas)) {
                    FUZZ_CHECK(err == ENOENT, "ACCESS_REPLACE_IOAS to id %u that is no IOAS: errno %d",
                               c->access_replace_ioas.ioas_id, err);
                } else {
                    FUZZ_CHECK(err == 0 || err == EADDRINUSE, "ACCESS_REPLACE_IOAS: errno %d", err);
                }
                break;  // a new IOAS drops every item (the old one's unmap); the same IOAS keeps them
            case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES: {
                if (!ours) {
                    FUZZ_CHECK(err == EBADFD, "DESTROY_ACCESS_PAGES on descriptor %u that is no access: errno %d",
                               c->id, err);
                    break;
                }
                const uint32_t item = c->destroy_access_pages.access_pages_id;
                if (file->second.count(item) == 0) {
                    FUZZ_CHECK(err == ENOENT, "DESTROY_ACCESS_PAGES of item %u never handed out: errno %d", item, err);
                } else {
                    // An unmap over its pages may have dropped it already.
                    FUZZ_CHECK(err == 0 || err == ENOENT, "DESTROY_ACCESS_PAGES of item %u: errno %d", item, err);
                }
                file->second.erase(item);
                break;
            }
        }
    }

    FuzzedDataProvider& m_in;
    user_arena& m_arena;
    const witness& m_w;
    int m_fd = -1;
    shadow m_objects;
    uint32_t m_compat_ioas = 0;                    // IOMMU_VFIO_IOAS SET, 0 = none
    std::map<int, std::set<uint32_t>> m_accesses;  // live access files and the item ids they handed out
    std::size_t m_accesses_created = 0;
    bool m_dev_caches_cleared = false;    // a vIOMMU invalidation ran: cache slots may be 0
    std::vector<int> m_fault_fds;         // fault fds handed out, closed after the input
    std::set<uint32_t> m_access_objects;  // unknown ids that DESTROY found busy: access objects
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static user_arena arena;
    static const witness w;
    FuzzedDataProvider in(data, size);
    {
        program p(in, arena, w);
        p.run();
    }
    w.check();
    return 0;
}
