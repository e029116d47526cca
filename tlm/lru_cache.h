// A small, bounded, fully associative cache with LRU replacement: the storage behind the context
// cache and the PASID cache. Key is compared with ==; a repeated lookup of the last key found is
// answered without a scan (one device's DMA stream hits the same entry again and again).
#pragma once

#include <cstdint>
#include <vector>

namespace iommusim {

template <typename Key, typename Value>
class lru_cache {
  public:
    explicit lru_cache(unsigned entries) : m_slots(entries ? entries : 1) {}

    const Value* lookup(const Key& key) {
        slot& last = m_slots[m_last];
        if (last.valid && last.key == key) {
            last.stamp = ++m_clock;
            return &last.value;
        }
        for (unsigned i = 0; i < m_slots.size(); ++i) {
            slot& s = m_slots[i];
            if (s.valid && s.key == key) {
                s.stamp = ++m_clock;
                m_last = i;
                return &s.value;
            }
        }
        return nullptr;
    }

    // Replaces the entry with the same key, else the first invalid slot, else the least recently
    // used one.
    void fill(const Key& key, const Value& value) {
        unsigned victim = 0;
        for (unsigned i = 0; i < m_slots.size(); ++i) {
            const slot& s = m_slots[i];
            if (s.valid && s.key == key) {
                victim = i;
                break;
            }
            if (!s.valid) {
                if (m_slots[victim].valid) {
                    victim = i;
                }
            } else if (m_slots[victim].valid && s.stamp < m_slots[victim].stamp) {
                victim = i;
            }
        }
        m_slots[victim] = slot{true, key, ++m_clock, value};
        m_last = victim;
    }

    // Drops every entry for which pred(key, value) holds; returns how many.
    template <typename Pred>
    unsigned drop_if(Pred pred) {
        unsigned n = 0;
        for (slot& s : m_slots) {
            if (s.valid && pred(s.key, s.value)) {
                s.valid = false;
                ++n;
            }
        }
        return n;
    }

    unsigned size() const {
        unsigned n = 0;
        for (const slot& s : m_slots) {
            n += s.valid ? 1 : 0;
        }
        return n;
    }
    unsigned capacity() const { return static_cast<unsigned>(m_slots.size()); }

  private:
    struct slot {
        bool valid = false;
        Key key{};
        uint64_t stamp = 0;
        Value value{};
    };
    std::vector<slot> m_slots;
    uint64_t m_clock = 0;
    unsigned m_last = 0;
};

}  // namespace iommusim
