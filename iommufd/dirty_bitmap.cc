#include "iommufd/dirty_bitmap.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <new>

#include "driver/uaccess.h"
#include "util/bit_range.h"

namespace iommusim::iommufd {

user_dirty_bitmap::user_dirty_bitmap(uint64_t iova, uint64_t length, uint64_t page_size, uint64_t data)
    : m_iova(iova)
    , m_last(iova + (length - 1))
    , m_shift(static_cast<unsigned>(std::countr_zero(page_size)))
    , m_data(data)
    , m_bits(((length - 1) >> m_shift) + 1) {}

int user_dirty_bitmap::pin() {
    const uint64_t bytes = (m_bits + 7) / 8;
    try {
        m_user.resize(bytes);
        m_words.assign((m_bits + 63) / 64, 0);
    } catch (const std::bad_alloc&) {
        // The kernel pins the bitmap a window at a time; the model buffers all of it.
        m_user.clear();
        m_words.clear();
        return -ENOMEM;
    }
    if (driver::copy_from_user(m_user.data(), m_data, bytes) != 0 ||
        driver::copy_to_user(m_data, m_user.data(), bytes) != 0) {
        return -EFAULT;
    }
    return 0;
}

void user_dirty_bitmap::record(uint64_t iova, uint64_t length) {
    if (length == 0 || m_words.empty()) {
        return;
    }
    const uint64_t last = iova + std::min(length - 1, ~uint64_t{0} - iova);
    if (last < m_iova || iova > m_last) {
        return;
    }
    const uint64_t bit = (std::max(iova, m_iova) - m_iova) >> m_shift;
    const uint64_t end = ((std::min(last, m_last) - m_iova) >> m_shift) + 1;
    m_recorded = true;
    for_each_bit_word(bit, end, [this](uint64_t word, uint64_t mask) { m_words[word] |= mask; });
}

int user_dirty_bitmap::publish() {
    if (!m_recorded) {
        return 0;
    }
    static_assert(std::endian::native == std::endian::little, "the words are the user's bytes");
    const auto* recorded = reinterpret_cast<const uint8_t*>(m_words.data());
    for (std::size_t i = 0; i < m_user.size(); ++i) {
        m_user[i] |= recorded[i];
    }
    return driver::copy_to_user(m_data, m_user.data(), m_user.size()) != 0 ? -EFAULT : 0;
}

}  // namespace iommusim::iommufd
