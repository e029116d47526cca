#include "program/iotlb_ops.h"

#include <algorithm>
#include <sstream>

#include "program/parse_number.h"

namespace iommusim::program {

namespace {

constexpr uint64_t page_number_limit = uint64_t{1} << 45;  // input address bits 56:12
constexpr uint64_t out_page_limit = uint64_t{1} << 40;     // output address bits 51:12
constexpr std::size_t recent_tags = 64;

uint64_t align_down(uint64_t vpn, page_level level) {
    return vpn & ~(page_level_pages(level) - 1);
}

std::string hex(uint64_t v) {
    std::ostringstream os;
    os << "0x" << std::hex << v;
    return os.str();
}

template <typename Enum, typename NameOf>
bool parse_name(std::string_view s, Enum& out, unsigned first, unsigned last, NameOf name_of) {
    for (unsigned v = first; v <= last; ++v) {
        if (s == name_of(static_cast<Enum>(v))) {
            out = static_cast<Enum>(v);
            return true;
        }
    }
    return false;
}

}  // namespace

void apply(iotlb_if& t, const iotlb_op& op) {
    const iotlb_tag& tag = op.entry.tag;
    switch (op.op) {
        case iotlb_op::type::lookup:
            t.lookup(tag.did, tag.pasid, tag.kind, tag.vpn);
            return;
        case iotlb_op::type::fill:
            t.fill(op.entry);
            return;
        case iotlb_op::type::invalidate:
            t.invalidate(op.scope, tag.did, tag.pasid, page_range(tag.vpn, op.am));
            return;
    }
}

std::string format_op(const iotlb_op& op) {
    const iotlb_tag& t = op.entry.tag;
    std::ostringstream os;
    switch (op.op) {
        case iotlb_op::type::lookup:
            os << "lookup did=" << t.did << " pasid=" << hex(t.pasid) << " kind=" << translation_kind_name(t.kind)
               << " vpn=" << hex(t.vpn);
            break;
        case iotlb_op::type::fill:
            os << "fill did=" << t.did << " pasid=" << hex(t.pasid) << " kind=" << translation_kind_name(t.kind)
               << " level=" << page_level_name(t.level) << " vpn=" << hex(t.vpn)
               << " pfn=" << hex(op.entry.payload.out_pfn) << " perm=" << hex(op.entry.payload.perm);
            break;
        case iotlb_op::type::invalidate: {
            const unsigned fields = iotlb_scope_fields(op.scope);
            os << "invalidate scope=" << iotlb_scope_name(op.scope);
            if (fields & iotlb_scope_field::did) {
                os << " did=" << t.did;
            }
            if (fields & iotlb_scope_field::pasid) {
                os << " pasid=" << hex(t.pasid);
            }
            if (fields & iotlb_scope_field::range) {
                os << " vpn=" << hex(t.vpn) << " am=" << op.am;
            }
            break;
        }
    }
    return os.str();
}

std::optional<iotlb_op> parse_op(std::string_view line, std::string& error) {
    std::vector<std::string_view> words;
    for (std::size_t i = 0; i < line.size();) {
        const std::size_t end = line.find_first_of(" \t", i);
        const std::size_t stop = end == std::string_view::npos ? line.size() : end;
        if (stop > i) {
            words.push_back(line.substr(i, stop - i));
        }
        i = stop + 1;
    }
    if (words.empty()) {
        error = "empty operation";
        return std::nullopt;
    }
    iotlb_op op;
    // The fields each operation takes, all required (an invalidation's depend on its scope).
    std::vector<std::string_view> wanted;
    if (words[0] == "lookup") {
        op.op = iotlb_op::type::lookup;
        wanted = {"did", "pasid", "kind", "vpn"};
    } else if (words[0] == "fill") {
        op.op = iotlb_op::type::fill;
        wanted = {"did", "pasid", "kind", "level", "vpn", "pfn", "perm"};
    } else if (words[0] == "invalidate") {
        op.op = iotlb_op::type::invalidate;
        wanted = {"scope"};
    } else {
        error = "unknown operation '" + std::string(words[0]) + "' (lookup, fill or invalidate)";
        return std::nullopt;
    }
    std::vector<std::string_view> seen;
    for (std::size_t i = 1; i < words.size(); ++i) {
        const std::string_view w = words[i];
        const std::size_t eq = w.find('=');
        const std::string_view key = w.substr(0, eq), value = eq == std::string_view::npos ? "" : w.substr(eq + 1);
        bool known = false;
        for (std::string_view k : wanted) {
            known = known || k == key;
        }
        if (eq == std::string_view::npos || !known) {
            error = "'" + std::string(w) + "' is not a field of this " + std::string(words[0]);
            return std::nullopt;
        }
        for (std::string_view k : seen) {
            if (k == key) {
                error = "field " + std::string(key) + " given twice";
                return std::nullopt;
            }
        }
        seen.push_back(key);
        uint64_t n = 0;
        bool ok = true;
        iotlb_tag& t = op.entry.tag;
        if (key == "kind") {
            ok = parse_name(value, t.kind, 1, 4, translation_kind_name);
        } else if (key == "level") {
            ok = parse_name(value, t.level, 0, 2, page_level_name);
        } else if (key == "scope") {
            ok = parse_name(value, op.scope, 0, 4, iotlb_scope_name);
            if (ok) {
                const unsigned fields = iotlb_scope_fields(op.scope);
                if (fields & iotlb_scope_field::did) {
                    wanted.push_back("did");
                }
                if (fields & iotlb_scope_field::pasid) {
                    wanted.push_back("pasid");
                }
                if (fields & iotlb_scope_field::range) {
                    wanted.push_back("vpn");
                    wanted.push_back("am");
                }
            }
        } else if (!parse_u64(value, n)) {
            ok = false;
        } else if (key == "did") {
            ok = n <= 0xffff;
            t.did = static_cast<uint16_t>(n);
        } else if (key == "pasid") {
            ok = n < (uint64_t{1} << 20);
            t.pasid = static_cast<uint32_t>(n);
        } else if (key == "vpn") {
            t.vpn = n;
        } else if (key == "pfn") {
            op.entry.payload.out_pfn = n;
        } else if (key == "perm") {
            ok = n <= 0xff;
            op.entry.payload.perm = static_cast<uint8_t>(n);
        } else if (key == "am") {
            ok = n <= page_range::max_am;
            op.am = static_cast<unsigned>(n);
        }
        if (!ok) {
            error = "bad value in '" + std::string(w) + "'";
            return std::nullopt;
        }
    }
    for (std::string_view k : wanted) {
        bool given = false;
        for (std::string_view s : seen) {
            given = given || s == k;
        }
        if (!given) {
            error = std::string(words[0]) + " needs " + std::string(k) + "=";
            return std::nullopt;
        }
    }
    if (op.op == iotlb_op::type::fill &&
        (op.entry.tag.vpn >= page_number_limit || op.entry.payload.out_pfn >= out_page_limit)) {
        error = "a fill's vpn has at most 45 bits and its pfn at most 40";
        return std::nullopt;
    }
    if (op.op == iotlb_op::type::fill &&
        (align_down(op.entry.tag.vpn, op.entry.tag.level) != op.entry.tag.vpn ||
         align_down(op.entry.payload.out_pfn, op.entry.tag.level) != op.entry.payload.out_pfn)) {
        error = "a fill's vpn and pfn are aligned to its page size";
        return std::nullopt;
    }
    return op;
}

iotlb_op_generator::iotlb_op_generator(uint64_t seed, iotlb_geometry geometry) : m_rng(seed), m_geometry(geometry) {
    while ((1u << m_set_bits) < geometry.sets) {
        ++m_set_bits;
    }
}

// Four busy domains, DID 0 and 0xffff at the ends of the field, and two idle domains (100, 101)
// that are looked up and invalidated but never filled.
uint16_t iotlb_op_generator::did() {
    static constexpr uint16_t dids[] = {1, 2, 3, 4, 1, 2, 0, 0xffff};
    return dids[pick(std::size(dids))];
}

uint32_t iotlb_op_generator::pasid() {
    static constexpr uint32_t pasids[] = {0, 1, 2, 0xfffff};
    return pasids[pick(std::size(pasids))];
}

translation_kind iotlb_op_generator::kind() {
    return static_cast<translation_kind>(1 + pick(4));
}

page_level iotlb_op_generator::level() {
    const uint64_t r = pick(10);
    return r < 7 ? page_level::size_4k : r < 9 ? page_level::size_2m : page_level::size_1g;
}

// Mostly a few hot sets with three times as many tags as ways (full sets, evictions, PLRU), now
// and then near the top of the page-number space or anywhere at all. The set-index hash moves
// the hot sets of each DID and PASID, not their contention.
uint64_t iotlb_op_generator::page(page_level level) {
    const unsigned shift = 9 * static_cast<unsigned>(level);
    if (pick(8) == 0) {
        return align_down(m_rng() % page_number_limit, level);
    }
    static constexpr unsigned hot_sets[] = {0, 1, 2, 3};
    const uint64_t set = pick(4) == 0 ? m_geometry.sets - 1 : hot_sets[pick(4)] % m_geometry.sets;
    const uint64_t tag = pick(3 * m_geometry.ways);
    const uint64_t base = pick(4) == 0 ? (page_number_limit >> 1) : 0;  // bit 44 set
    return base + (((tag << m_set_bits) | set) << shift);
}

iotlb_op iotlb_op_generator::lookup() {
    iotlb_op op;
    op.op = iotlb_op::type::lookup;
    iotlb_tag& t = op.entry.tag;
    const uint64_t r = pick(10);
    if (r < 6 && !m_recent.empty()) {
        t = m_recent[pick(m_recent.size())];
        t.vpn += pick(page_level_pages(t.level));  // any 4 KiB page inside it
        if (r == 0) {
            // Near miss: the same page under another PASID or kind.
            if (pick(2) == 0) {
                t.pasid = pasid();
            } else {
                t.kind = kind();
            }
        }
    } else {
        t.did = r == 9 ? static_cast<uint16_t>(100 + pick(2)) : did();
        t.pasid = pasid();
        t.kind = kind();
        const page_level l = level();
        t.vpn = page(l) + pick(page_level_pages(l));
    }
    t.level = page_level::size_4k;  // (not an input of a lookup)
    return op;
}

iotlb_op iotlb_op_generator::fill() {
    iotlb_op op;
    op.op = iotlb_op::type::fill;
    iotlb_tag& t = op.entry.tag;
    if (pick(6) == 0 && !m_recent.empty()) {
        t = m_recent[pick(m_recent.size())];  // same-tag refill with a new payload
    } else {
        t.did = did();
        t.pasid = pasid();
        t.kind = kind();
        t.level = level();
        t.vpn = page(t.level);
    }
    op.entry.payload.out_pfn = align_down(m_rng() % out_page_limit, t.level);
    op.entry.payload.perm = static_cast<uint8_t>(m_rng());
    if (m_recent.size() < recent_tags) {
        m_recent.push_back(t);
    } else {
        m_recent[m_next_recent] = t;
        m_next_recent = (m_next_recent + 1) % recent_tags;
    }
    return op;
}

iotlb_op iotlb_op_generator::invalidate() {
    iotlb_op op;
    op.op = iotlb_op::type::invalidate;
    // Global invalidations are rare in a driver's life but one in twenty here: each one tests
    // every entry, and entries of every kind must go.
    op.scope = pick(20) == 0 ? iotlb_scope::all : static_cast<iotlb_scope>(1 + pick(4));
    const unsigned fields = iotlb_scope_fields(op.scope);
    iotlb_tag near;
    const bool aimed = !m_recent.empty() && pick(3) != 0;
    if (aimed) {
        near = m_recent[pick(m_recent.size())];
    }
    iotlb_tag& t = op.entry.tag;
    if (fields & iotlb_scope_field::did) {
        t.did = aimed ? near.did : pick(4) == 0 ? static_cast<uint16_t>(100 + pick(2)) : did();
    }
    if (fields & iotlb_scope_field::pasid) {
        t.pasid = aimed ? near.pasid : pasid();
    }
    if (fields & iotlb_scope_field::range) {
        // One page, a few, a 2 MiB or 1 GiB block, ranges covering every set of a level, the whole
        // 45-bit space, Linux's AM 52 and the field's largest.
        const unsigned ams[] = {0, 1, 2, 5, 9, 12, 18, m_set_bits, m_set_bits + 9, 27, 30, 45, 52, 63};
        op.am = ams[pick(std::size(ams))];
        t.vpn = aimed ? near.vpn + pick(page_level_pages(near.level) + 4) : m_rng() % page_number_limit;
        // Off-by-one corners: a range of one page or of the page's own size ending just where a
        // cached page begins, or beginning just after it ends (neither overlaps it).
        if (aimed && pick(4) == 0) {
            const uint64_t size = page_level_pages(near.level);
            op.am = pick(2) == 0 ? 0 : 9 * static_cast<unsigned>(near.level);
            const uint64_t range_pages = uint64_t{1} << op.am;
            if (pick(2) == 0 && near.vpn >= range_pages) {
                t.vpn = near.vpn - range_pages;
            } else if (near.vpn + size < page_number_limit) {
                t.vpn = near.vpn + size;
            }
        }
    }
    return op;
}

iotlb_op iotlb_op_generator::next() {
    const uint64_t r = pick(100);
    return r < 55 ? lookup() : r < 92 ? fill() : invalidate();
}

}  // namespace iommusim::program
