#include "driver/uaccess.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "driver/user_space.h"
#include "tlm/fault_safe_copy.h"

namespace iommusim::driver {

namespace {

// Bytes from uptr, up to len, covered without a gap by mappings whose perms[perm_index] is not
// '-' (/proc/self/maps perms: "rwxp"). len when the table cannot be read.
uint64_t mapped_prefix(uint64_t uptr, uint64_t len, int perm_index) {
    std::ifstream maps("/proc/self/maps");
    if (!maps) {
        return len;
    }
    // Lines are "start-end perms ...", sorted by address and non-overlapping: walk them while
    // they cover the range contiguously with the permission.
    const uint64_t end = uptr + len;
    uint64_t next = uptr;
    std::string line;
    while (next < end && std::getline(maps, line)) {
        uint64_t lo = 0;
        uint64_t hi = 0;
        char perms[5] = {};
        if (std::sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %4s", &lo, &hi, perms) != 3 || hi <= next) {
            continue;
        }
        if (lo > next || perms[perm_index] == '-') {
            break;
        }
        next = hi;
    }
    return std::min(next, end) - uptr;
}

// One line of /proc/self/maps with a file behind it: "start-end perms offset major:minor inode path".
struct maps_line {
    uint64_t lo = 0;
    uint64_t hi = 0;
    char perms[5] = {};
    uint64_t offset = 0;
    uint64_t device = 0;
    uint64_t inode = 0;
};

bool parse_maps_line(const std::string& line, maps_line& out) {
    unsigned major = 0;
    unsigned minor = 0;
    if (std::sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64, &out.lo, &out.hi, out.perms,
                    &out.offset, &major, &minor, &out.inode) != 7) {
        return false;
    }
    out.device = (uint64_t{major} << 32) | minor;
    return true;
}

}  // namespace

bool shared_mapping_of(uint64_t uptr, uint64_t len, shared_mapping& out) {
    if (len == 0 || uptr + len < uptr) {
        return false;
    }
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        maps_line m;
        if (!parse_maps_line(line, m) || uptr < m.lo || uptr >= m.hi) {
            continue;
        }
        if (m.perms[3] != 's' || m.inode == 0 || uptr + len > m.hi) {
            return false;
        }
        out = {m.device, m.inode, m.offset + (uptr - m.lo)};
        return true;
    }
    return false;
}

bool address_of_shared(const shared_mapping& file, uint64_t len, uint64_t& out) {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        maps_line m;
        if (!parse_maps_line(line, m) || m.perms[3] != 's' || m.device != file.device || m.inode != file.inode ||
            file.offset < m.offset || file.offset + len > m.offset + (m.hi - m.lo)) {
            continue;
        }
        out = m.lo + (file.offset - m.offset);
        return true;
    }
    return false;
}

bool same_user_page(uint64_t a, uint64_t b) {
    if (a == b) {
        return true;
    }
    shared_mapping pa{};
    shared_mapping pb{};
    return shared_mapping_of(a, 1, pa) && shared_mapping_of(b, 1, pb) && pa.device == pb.device &&
           pa.inode == pb.inode && pa.offset == pb.offset;
}

bool user_range_writable(uint64_t uptr, std::size_t len) {
    if (uptr + len < uptr) {
        return false;
    }
    if (const auto& space = current_user_space()) {
        return space->range_writable(uptr, len);
    }
    return mapped_prefix(uptr, len, 1) >= len;
}

uint64_t user_readable_prefix(uint64_t uptr, uint64_t len) {
    if (uptr + len < uptr) {
        return 0;
    }
    if (const auto& space = current_user_space()) {
        return space->readable_prefix(uptr, len);
    }
    return mapped_prefix(uptr, len, 0);
}

std::size_t copy_from_user(void* dst, uint64_t src, std::size_t len) {
    if (len == 0) {
        return 0;
    }
    if (src == 0 || src + len < src) {
        std::memset(dst, 0, len);
        return len;
    }
    const auto& space = current_user_space();
    std::size_t left =
        space ? space->read(dst, src, len) : fault_safe_read(dst, reinterpret_cast<const void*>(src), len);
    if (left != 0) {
        std::memset(static_cast<char*>(dst) + (len - left), 0, left);
    }
    return left;
}

std::size_t copy_to_user(uint64_t dst, const void* src, std::size_t len) {
    if (len == 0) {
        return 0;
    }
    if (dst == 0 || dst + len < dst) {
        return len;
    }
    if (const auto& space = current_user_space()) {
        return space->write(dst, src, len);
    }
    return fault_safe_write(reinterpret_cast<void*>(dst), src, len);
}

int check_zeroed_user(uint64_t src, std::size_t len) {
    unsigned char buf[256];
    while (len != 0) {
        std::size_t chunk = len < sizeof(buf) ? len : sizeof(buf);
        if (copy_from_user(buf, src, chunk) != 0) {
            return -EFAULT;
        }
        for (std::size_t i = 0; i < chunk; ++i) {
            if (buf[i] != 0) {
                return 0;
            }
        }
        src += chunk;
        len -= chunk;
    }
    return 1;
}

int copy_struct_from_user(void* dst, std::size_t ksize, uint64_t src, std::size_t usize) {
    std::size_t size = usize < ksize ? usize : ksize;
    if (usize < ksize) {
        std::memset(static_cast<char*>(dst) + size, 0, ksize - size);
    } else if (usize > ksize) {
        int ret = check_zeroed_user(src + ksize, usize - ksize);
        if (ret <= 0) {
            return ret == 0 ? -E2BIG : ret;
        }
    }
    if (copy_from_user(dst, src, size) != 0) {
        return -EFAULT;
    }
    return 0;
}

int iommu_copy_struct_from_user(void* dst, std::size_t ksize, std::size_t min_len, const iommu_user_data& data,
                                uint32_t type) {
    if (data.type != type) {
        return -EINVAL;
    }
    if (data.len < min_len || data.len > ksize) {
        return -EINVAL;
    }
    return copy_struct_from_user(dst, ksize, data.uptr, data.len);
}

user_array_reader::user_array_reader(const iommu_user_data_array& array, std::size_t ksize, std::size_t min_len,
                                     uint32_t type)
    : m_array(array), m_ksize(ksize), m_min_len(min_len), m_type(type) {
    if (array.type != type || array.entry_len != ksize || ksize < min_len || array.entry_num < 2 ||
        array.entry_num > bulk_limit) {
        return;
    }
    m_bulk.resize(ksize * array.entry_num);
    if (copy_from_user(m_bulk.data(), array.uptr, m_bulk.size()) != 0) {
        m_bulk.clear();
    }
}

int user_array_reader::read(void* dst, uint32_t index) const {
    if (m_bulk.empty() || index >= m_array.entry_num) {
        return iommu_copy_struct_from_user_array(dst, m_ksize, m_min_len, m_array, m_type, index);
    }
    std::memcpy(dst, m_bulk.data() + std::size_t{index} * m_ksize, m_ksize);
    return 0;
}

int iommu_copy_struct_from_user_array(void* dst, std::size_t ksize, std::size_t min_len,
                                      const iommu_user_data_array& array, uint32_t type, uint32_t index) {
    if (array.entry_num == 0 || index >= array.entry_num) {
        return -EINVAL;
    }
    iommu_user_data item{array.type, array.uptr + array.entry_len * index, array.entry_len};
    return iommu_copy_struct_from_user(dst, ksize, min_len, item, type);
}

}  // namespace iommusim::driver
