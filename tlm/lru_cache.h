// A small, bounded, fully associative cache with LRU replacement: the storage behind the context
// cache and the PASID cache. A lookup costs O(1): a hash of the key (KeyBits packs it into 64
// bits) selects a bucket whose chain of slots is compared with ==, as a hardware cache would index
// its tags, and the slots form one recency list (newest to oldest) that a hit or a fill moves the
// entry to the front of. The victim of a fill is an invalid slot, else the oldest entry: exact LRU.
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

namespace iommusim {

template <typename Key, typename Value, typename KeyBits>
class lru_cache {
  public:
    explicit lru_cache(unsigned entries)
        : m_slots(entries ? entries : 1)
        , m_buckets(std::bit_ceil(2 * m_slots.size()), none)
        , m_shift(64 - std::countr_zero(m_buckets.size())) {
        for (uint32_t i = 0; i < m_slots.size(); ++i) {
            m_slots[i].chain = i + 1 < m_slots.size() ? i + 1 : none;
        }
        m_free = 0;
    }

    const Value* lookup(const Key& key) {
        for (uint32_t i = m_buckets[bucket(key)]; i != none; i = m_slots[i].chain) {
            if (m_slots[i].key == key) {
                make_newest(i);
                return &m_slots[i].value;
            }
        }
        return nullptr;
    }

    // Counts fills and drops: a value lookup() returned stays that entry's while this is unchanged.
    uint64_t changes() const { return m_changes; }
    // Where the value a lookup() returned sits (stable while changes() is unchanged).
    uint32_t position(const Value* value) const {
        return static_cast<uint32_t>(reinterpret_cast<const slot*>(value) - m_slots.data());
    }
    // A repeated hit on the entry at `position` (changes() unchanged since its lookup): made most
    // recently used, as lookup() would, without the hash; one compare when it already is.
    void touch(uint32_t position) {
        if (position != m_newest) [[unlikely]] {
            unlink(position);
            link_newest(position);
        }
    }

    // Replaces the entry with the same key, else takes an invalid slot, else the least recently
    // used entry's.
    void fill(const Key& key, const Value& value) {
        ++m_changes;
        const uint32_t b = bucket(key);
        for (uint32_t i = m_buckets[b]; i != none; i = m_slots[i].chain) {
            if (m_slots[i].key == key) {
                m_slots[i].value = value;
                make_newest(i);
                return;
            }
        }
        uint32_t victim = m_free;
        if (victim != none) {
            m_free = m_slots[victim].chain;
            ++m_size;
        } else {
            victim = m_oldest;
            unchain(victim);
            unlink(victim);
        }
        slot& s = m_slots[victim];
        s.key = key;
        s.value = value;
        s.chain = m_buckets[b];
        m_buckets[b] = victim;
        link_newest(victim);
    }

    // Drops every entry for which pred(key, value) holds; returns how many.
    template <typename Pred>
    unsigned drop_if(Pred pred) {
        unsigned n = 0;
        for (uint32_t i = m_newest; i != none;) {
            slot& s = m_slots[i];
            const uint32_t next = s.older;
            if (pred(s.key, s.value)) {
                ++m_changes;
                unchain(i);
                unlink(i);
                s.chain = m_free;
                m_free = i;
                --m_size;
                ++n;
            }
            i = next;
        }
        return n;
    }

    unsigned size() const { return m_size; }
    unsigned capacity() const { return static_cast<unsigned>(m_slots.size()); }

  private:
    static constexpr uint32_t none = UINT32_MAX;
    struct slot {
        Value value{};  // first: touch() finds the slot from the value's address
        Key key{};
        uint32_t chain = none;  // next slot of the bucket (valid) or of the free list (invalid)
        uint32_t newer = none;  // recency list neighbours (valid slots only)
        uint32_t older = none;
    };

    uint32_t bucket(const Key& key) const {
        return static_cast<uint32_t>((KeyBits{}(key)*0x9e37'79b9'7f4a'7c15ull) >> m_shift);
    }
    void unchain(uint32_t i) {
        uint32_t* p = &m_buckets[bucket(m_slots[i].key)];
        while (*p != i) {
            p = &m_slots[*p].chain;
        }
        *p = m_slots[i].chain;
    }
    void unlink(uint32_t i) {
        slot& s = m_slots[i];
        (s.newer != none ? m_slots[s.newer].older : m_newest) = s.older;
        (s.older != none ? m_slots[s.older].newer : m_oldest) = s.newer;
    }
    void link_newest(uint32_t i) {
        slot& s = m_slots[i];
        s.newer = none;
        s.older = m_newest;
        (m_newest != none ? m_slots[m_newest].newer : m_oldest) = i;
        m_newest = i;
    }
    void make_newest(uint32_t i) {
        if (i != m_newest) {
            unlink(i);
            link_newest(i);
        }
    }

    std::vector<slot> m_slots;
    std::vector<uint32_t> m_buckets;  // first slot of each hash bucket's chain
    unsigned m_shift;                 // 64 - log2(buckets): the hash's top bits pick the bucket
    uint32_t m_free = none;           // invalid slots, linked through chain
    uint32_t m_newest = none;
    uint32_t m_oldest = none;
    unsigned m_size = 0;
    uint64_t m_changes = 0;
};

}  // namespace iommusim
