// Running a scenario file: the nested setup it describes, then its steps, each checked against what
// the guest's own stage-1 mappings say the DMA must see.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include "driver/hw_bus.h"
#include "iommusim/hw/vtd_fault.h"
#include "iommusim/hw/vtd_pte.h"
#include "iommusim/hw/vtd_tables.h"
#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"
#include "platform/platform.h"
#include "program/guest_memory.h"
#include "program/nested_setup.h"
#include "program/op_trace.h"
#include "program/scenario_file.h"
#include "program/vmm.h"

namespace iommusim::program {

namespace {

using hw::page_size_4k;
constexpr uint64_t max_stream_dma_bytes = 64;  // a random round's DMA: 1..64 bytes

std::string hex(uint64_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}

std::string reason_text(int reason) {
    return hex(static_cast<uint64_t>(reason)) + " (" +
           std::string(hw::fault_reason_name(static_cast<hw::fault_reason>(reason))) + ")";
}

std::string errno_text(int err) {
    return err ? std::string(strerrorname_np(err) ? strerrorname_np(err) : "errno " + std::to_string(err)) : "ok";
}

// splitmix64: a small, fully specified generator, so a seed gives the same stream everywhere.
class stream_random {
  public:
    explicit stream_random(uint64_t seed) : m_state(seed) {}
    uint64_t next() {
        uint64_t z = (m_state += 0x9e37'79b9'7f4a'7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58'476d'1ce4'e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d0'49bb'1331'11ebull;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return next() % n; }
    bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }

  private:
    uint64_t m_state;
};

class document_run {
  public:
    document_run(const scenario_document& doc, scenario_log& log) : m_doc(doc), m_log(log), m_guest(0, doc.ram_bytes) {}
    ~document_run() {
        if (m_fault_queue) {
            iommusim_close(m_fault_queue->fd);
        }
    }
    document_run(const document_run&) = delete;
    document_run& operator=(const document_run&) = delete;

    void run() {
        // A built-in's engine with its own setup (the parser allows no other part or step beside it).
        if (m_doc.steps.size() == 1) {
            const uint64_t run_seed = platform::instance().config().seed;
            const std::string where = "step 1 (line " + std::to_string(m_doc.steps[0].line) + ")";
            if (const auto* s = std::get_if<storm_step>(&m_doc.steps[0].body)) {
                m_log.step(where + ": the invalidation storm");
                run_storm(m_log, s->seed ? *s->seed : run_seed, s->params);
                return;
            }
            if (const auto* s = std::get_if<dirty_tracking_step>(&m_doc.steps[0].body)) {
                m_log.step(where + ": the dirty-tracking live migration");
                run_dirty_migration(m_log, s->seed ? *s->seed : run_seed, s->params);
                return;
            }
        }
        setup();
        m_stale_mark = platform_stale_hits();
        const uint64_t stale_start = m_stale_mark;
        for (std::size_t i = 0; i < m_doc.steps.size(); ++i) {
            m_log.checkpoint();
            m_where = "step " + std::to_string(i + 1) + " (line " + std::to_string(m_doc.steps[i].line) + ")";
            std::visit([this](const auto& s) { do_step(s); }, m_doc.steps[i].body);
        }
        m_log.summary_row("steps run", std::to_string(m_doc.steps.size()));
        m_log.summary_row("stale hits caught", std::to_string(platform_stale_hits() - stale_start));
    }

  private:
    // The order of the built-in nested setup (nested_setup.cc): devices, IOAS over guest RAM, the
    // nest parent, the guest's pages and stage-1 table, then a nested HWPT per device over it.
    void setup() {
        trace_operations(m_v, m_log);
        std::vector<unsigned> devices;
        if (m_doc.devices) {
            devices = *m_doc.devices;
        } else {
            for (unsigned d = 0; d < platform::instance().device_count(); ++d) {
                devices.push_back(d);
            }
        }
        // The configured devices, then the own devices the program attached (platform::attach).
        const std::size_t platform_devices = platform::instance().device_count();
        for (const unsigned d : devices) {
            if (d >= platform_devices) {
                throw std::runtime_error("setup: device " + std::to_string(d) + " is not on the platform (it has " +
                                         std::to_string(platform_devices) + ")");
            }
            m_dev[d] = m_v.open_device(d);
            m_log.step("VMM: opened /dev/vfio/devices/vfio" + std::to_string(d) + ", bound as dev_id " +
                       std::to_string(m_v.dev_id(m_dev[d])));
        }
        const uint32_t ioas = m_v.ioas_alloc();
        m_v.ioas_map(ioas, m_guest.host(), m_guest.size(), m_guest.gpa_base());
        m_log.step("VMM: IOAS " + std::to_string(ioas) + " maps " + std::to_string(m_guest.size() >> 20) +
                   " MiB of guest RAM at GPA 0");
        const uint32_t parent = m_v.hwpt_alloc_nest_parent(m_dev.at(devices.front()), ioas);
        m_log.step("VMM: nest parent HWPT " + std::to_string(parent) + " (host stage 2: GPA -> HPA)");
        uint64_t data_top = 0;
        for (const auto& [name, page] : m_doc.pages) {
            std::memset(m_guest.at(page.gpa), page.fill, page_size_4k);
            data_top = std::max(data_top, page.gpa + page_size_4k);
            m_log.detail("guest: page " + name + " at GPA " + hex(page.gpa) + " filled with " + hex(page.fill));
        }
        for (const file_mapping& m : m_doc.stage1) {
            data_top = std::max(data_top, m.gpa + hw::level_page_bytes(m.level));
        }
        m_guest.keep_tables_above(data_top);
        for (const file_mapping& m : m_doc.stage1) {
            if (m.level == 1) {
                m_guest.map(m.gva, m.gpa, m.writable);
            } else {
                m_guest.map_large(m.gva, m.gpa, m.level, m.writable);
            }
            m_shadow[m.gva] = {m.gpa, m.level};
        }
        m_log.step("guest: stage-1 table at GPA " + hex(m_guest.s1_root()) + " with " +
                   std::to_string(m_doc.stage1.size()) + " mapping(s)");
        if (m_doc.fault_queue) {
            m_fault_queue = m_v.fault_queue_alloc();
            m_log.step("VMM: fault queue " + std::to_string(m_fault_queue->id) +
                       " (IOMMU_FAULT_QUEUE_ALLOC): the nested HWPTs report page faults to it");
        }
        for (const unsigned d : devices) {
            m_nested[d] = m_v.hwpt_alloc_nested_vtd(m_dev[d], parent, m_guest.s1_root(), 48, 0, 0,
                                                    m_fault_queue ? m_fault_queue->id : 0);
            m_v.attach(m_dev[d], m_nested[d]);
            m_log.step("VMM: vfio" + std::to_string(d) + " attached to nested HWPT " + std::to_string(m_nested[d]) +
                       " over the guest table");
        }
    }

    unsigned dev_handle(unsigned d) const {
        const auto it = m_dev.find(d);
        if (it == m_dev.end()) {
            throw std::runtime_error(m_where + ": device " + std::to_string(d) + " is not attached");
        }
        return it->second;
    }

    // The GPA the guest's own stage-1 mappings give gva (nullopt: not mapped).
    std::optional<uint64_t> expected_gpa(uint64_t gva) const {
        auto it = m_shadow.upper_bound(gva);
        if (it == m_shadow.begin()) {
            return std::nullopt;
        }
        --it;
        const uint64_t bytes = hw::level_page_bytes(it->second.level);
        if (gva - it->first >= bytes) {
            return std::nullopt;
        }
        return it->second.gpa + (gva - it->first);
    }

    static std::string dma_text(const dma_step& s) {
        return std::string("DMA ") + (s.write ? "write" : "read") + " of " + std::to_string(s.len) + " bytes at GVA " +
               hex(s.gva) + " from vfio" + std::to_string(s.device) +
               (s.has_pasid ? " PASID " + std::to_string(s.pasid) : "");
    }

    void do_step(const dma_step& s) {
        std::vector<uint8_t> buf(s.len, s.write ? s.data : 0);
        int reason = 0;
        const int err = m_v.dma(dev_handle(s.device), s.gva, buf.data(), buf.size(), s.write, s.pasid, &reason);
        expect_dma(s, m_where + ": " + dma_text(s), err, reason, buf);
    }

    // A DMA's outcome against the step's expectation.
    void expect_dma(const dma_step& s, const std::string& what, int err, int reason, const std::vector<uint8_t>& buf) {
        const std::string outcome = err == EFAULT ? "faulted with " + reason_text(reason)
                                    : err         ? "failed with " + errno_text(err)
                                                  : "succeeded";
        switch (s.expect.what) {
            case dma_expect::kind::fault: {
                const bool ok = err == EFAULT && reason == static_cast<int>(s.expect.fault_reason);
                m_log.expect(ok, what + " faults with " + reason_text(static_cast<int>(s.expect.fault_reason)) +
                                     (ok ? "" : " (it " + outcome + ")"));
            }
                return;
            case dma_expect::kind::success:
                m_log.expect(err == 0, what + " succeeds" + (err ? " (it " + outcome + ")" : std::string()));
                return;
            case dma_expect::kind::data: {
                std::size_t bad = 0;
                while (err == 0 && bad < buf.size() && buf[bad] == s.expect.byte) {
                    ++bad;
                }
                m_log.expect(err == 0 && bad == buf.size(),
                             what + " reads " + hex(s.expect.byte) +
                                 (err                ? " (it " + outcome + ")"
                                  : bad < buf.size() ? " (byte " + std::to_string(bad) + " is " + hex(buf[bad]) + ")"
                                                     : ""));
                return;
            }
            case dma_expect::kind::page: {
                const uint64_t page_gpa = m_doc.pages.at(s.expect.page).gpa + (s.gva % page_size_4k);
                const uint8_t* page = m_guest.at(page_gpa);
                bool same = false;
                if (err == 0) {
                    same = std::memcmp(page, buf.data(), buf.size()) == 0;
                }
                std::string differs;
                if (err) {
                    differs = " (it " + outcome + ")";
                } else if (!same) {
                    std::size_t i = 0;
                    while (page[i] == buf[i]) {
                        ++i;
                    }
                    differs = s.write ? " (page " + s.expect.page + " byte " + std::to_string(i) + " is " +
                                            hex(page[i]) + ": the write went elsewhere)"
                                      : " (byte " + std::to_string(i) + " is " + hex(buf[i]) + ", page " +
                                            s.expect.page + " has " + hex(page[i]) + ")";
                }
                m_log.expect(err == 0 && same,
                             what + (s.write ? " lands in page " : " reads page ") + s.expect.page + differs);
                return;
            }
        }
    }

    // The order of the built-in iopf scenario (iopf.cc): the translation request; a fault read from
    // the fault fd, the guest's fix, its invalidation and the response; the device's retry and DMA.
    void do_step(const pri_dma_step& s) {
        platform& p = platform::instance();
        const dma_step& d = s.dma;
        dev_handle(d.device);
        const std::string what = m_where + ": " + dma_text(d) + " (ATS, PRI)";
        int rc = p.iopf_request(d.device, 0, d.gva, d.write);
        while (rc == -EAGAIN) {  // the unit answered at once (its queue was full): ask again
            rc = p.iopf_request(d.device, 0, d.gva, d.write);
        }
        std::vector<uint8_t> buf(d.len, d.write ? d.data : 0);
        if (!s.fault) {
            if (!m_log.expect(rc == 0, what + ": the translation grants the access at once" +
                                           (rc == 1   ? std::string(" (it sent a page request)")
                                            : rc == 0 ? std::string()
                                                      : " (it failed with " + errno_text(-rc) + ")"))) {
                return;
            }
            int reason = 0;
            const int err = m_v.dma(dev_handle(d.device), d.gva, buf.data(), buf.size(), d.write, 0, &reason);
            expect_dma(d, what, err, reason, buf);
            return;
        }
        if (!m_log.expect(rc == 1, what + ": the translation ends in a page request" +
                                       (rc == 0   ? std::string(" (it was granted at once)")
                                        : rc == 1 ? std::string()
                                                  : " (it failed with " + errno_text(-rc) + ")"))) {
            return;
        }
        iommu_hwpt_pgfault f{};
        const uint64_t page = d.gva & ~(page_size_4k - 1);
        const uint32_t perm = d.write ? IOMMU_PGFAULT_PERM_WRITE : IOMMU_PGFAULT_PERM_READ;
        const bool read = m_v.read_fault(m_fault_queue->fd, &f, sizeof f);
        if (!m_log.expect(
                read && f.addr == page && f.perm == perm,
                what + ": the fault fd reports the page " + hex(page) + (d.write ? " for write" : " for read") +
                    (!read                              ? std::string(" (nothing to read)")
                     : f.addr == page && f.perm == perm ? std::string()
                                                        : " (got " + hex(f.addr) + " perm " + hex(f.perm) + ")"))) {
            return;
        }
        if (s.fault->map) {
            const file_mapping& m = *s.fault->map;
            m_guest.map(m.gva, m.gpa, m.writable);
            m_shadow[m.gva] = {m.gpa, m.level};
            p.note_guest_pte_edit("map_hole_GVA_" + hex(m.gva));
            const int err = m_v.hwpt_invalidate(m_nested.at(d.device), {{m.gva, 1, true}});
            m_log.step(what + ": guest maps GVA " + hex(m.gva) + " -> GPA " + hex(m.gpa) +
                       ", IOMMU_HWPT_INVALIDATE of it (" + errno_text(err) + ")");
        }
        const int sent = m_v.page_response(m_fault_queue->fd, f.cookie,
                                           s.fault->success ? IOMMUFD_PAGE_RESP_SUCCESS : IOMMUFD_PAGE_RESP_INVALID);
        if (!m_log.expect(sent == 0, what + ": the VMM writes the page response (" + errno_text(sent) + ")")) {
            return;
        }
        const int done = p.iopf_complete(d.device, 0, d.gva, buf.data(), buf.size(), d.write);
        if (!s.fault->success) {
            m_log.expect(done == -EACCES, what + ": the access answered Invalid fails" +
                                              (done == -EACCES ? "" : " (got " + errno_text(-done) + ")"));
            return;
        }
        // iopf_complete moves the data (0) or reports the DMA's fault (-EFAULT).
        expect_dma(d, what + " after the retry", done == 0 ? 0 : -done, 0, buf);
    }

    void do_step(const storm_step&) { throw std::logic_error("a storm step runs alone (checked when read)"); }
    void do_step(const dirty_tracking_step&) {
        throw std::logic_error("a dirty_tracking step runs alone (checked when read)");
    }

    void do_step(const remap_step& s) {
        m_guest.remap(s.gva, s.gpa);
        m_shadow.at(s.gva).gpa = s.gpa;
        m_log.step(m_where + ": guest edits the present stage-1 entry of GVA " + hex(s.gva) + " -> GPA " + hex(s.gpa));
    }

    void do_step(const unmap_step& s) {
        m_guest.unmap(s.gva);
        m_shadow.erase(s.gva);
        m_log.step(m_where + ": guest clears the present bit of GVA " + hex(s.gva));
    }

    void do_step(const map_step& s) {
        const file_mapping& m = s.mapping;
        if (m.level == 1) {
            m_guest.map(m.gva, m.gpa, m.writable);
        } else {
            m_guest.map_large(m.gva, m.gpa, m.level, m.writable);
        }
        m_shadow[m.gva] = {m.gpa, m.level};
        m_log.step(m_where + ": guest maps GVA " + hex(m.gva) + " -> GPA " + hex(m.gpa));
    }

    void do_step(const entry_bits_step& s) {
        uint64_t table = m_guest.s1_root();
        uint64_t* entry = nullptr;
        for (unsigned level = m_guest.levels(); level >= s.level; --level) {
            entry = reinterpret_cast<uint64_t*>(m_guest.at(table)) + hw::pt_index(s.gva, level);
            if (level == s.level) {
                break;
            }
            table = hw::fs_pte::addr::get(*entry) << hw::page_shift;
        }
        *entry = (*entry | s.set) & ~s.clear;
        std::ostringstream mark;
        mark << "edit_level_" << s.level << "_entry_of_GVA_0x" << std::hex << s.gva;
        platform::instance().note_guest_pte_edit(mark.str());
        m_log.step(m_where + ": guest edits the level-" + std::to_string(s.level) + " stage-1 entry of GVA " +
                   hex(s.gva) + " (set " + hex(s.set) + ", clear " + hex(s.clear) + ")");
    }

    void do_step(const invalidate_step& s) {
        std::vector<vmm::inv_range> ranges;
        std::string text;
        for (const invalidate_entry& e : s.entries) {
            ranges.push_back({e.addr, e.npages, e.leaf});
            text += (text.empty() ? "" : ", ") + std::string("{addr ") + hex(e.addr) + ", npages " +
                    std::to_string(e.npages) + (e.leaf ? ", LEAF}" : "}");
        }
        uint32_t entry_num = 0;
        dev_handle(s.device);
        const int err = m_v.hwpt_invalidate(m_nested.at(s.device), ranges, &entry_num);
        const std::string what =
            m_where + ": IOMMU_HWPT_INVALIDATE of vfio" + std::to_string(s.device) + "'s nested HWPT [" + text + "]";
        const std::string got = " (got " + errno_text(err) + ", entry_num " + std::to_string(entry_num) + ")";
        if (s.expect_errno == 0) {
            const bool ok = err == 0 && entry_num == s.entries.size();
            m_log.expect(ok, what + " succeeds with entry_num " + std::to_string(s.entries.size()) + (ok ? "" : got));
        } else {
            const bool ok = err == s.expect_errno;
            m_log.expect(ok, what + " fails with " + errno_text(s.expect_errno) + (ok ? "" : got));
        }
    }

    void do_step(const wait_step& s) {
        // On the simulated CPU, as a guest idles: the IOMMU and devices see the time pass.
        platform& p = platform::instance();
        const uint64_t before = p.now_ns();
        p.run([&p, &s] { p.bus().delay(s.ns); });
        m_log.step(m_where + ": " + std::to_string(p.now_ns() - before) + " ns of simulated time pass");
    }

    void do_step(const stale_hits_step& s) {
        const uint64_t now = platform_stale_hits();
        const uint64_t hits = now - m_stale_mark;
        m_stale_mark = now;
        const auto& reports = platform::instance().stale_reports();
        if (hits != s.hits) {
            for (std::size_t r = m_reports_mark; r < reports.size(); ++r) {
                m_log.report("checker: " + reports[r]);
            }
        }
        m_reports_mark = reports.size();
        m_log.expect(hits == s.hits, m_where + ": the stale-translation checker reports " + std::to_string(s.hits) +
                                         " stale hit(s) since the previous count" +
                                         (hits == s.hits ? "" : " (got " + std::to_string(hits) + ")"));
    }

    void do_step(const random_step& s) {
        stream_random rng(s.seed ? *s.seed : platform::instance().config().seed);
        uint64_t remaps = 0;
        uint64_t writes = 0;
        uint64_t wrong = 0;
        for (uint64_t round = 0; round < s.count; ++round) {
            m_log.checkpoint();
            const uint64_t gva = s.gva + rng.below(s.pages) * page_size_4k;
            if (s.remap_ratio > 0 && rng.chance(s.remap_ratio)) {
                const uint64_t to = s.targets[rng.below(s.targets.size())];
                m_guest.remap(gva, to);
                m_shadow.at(gva).gpa = to;
                ++remaps;
                if (s.invalidate) {
                    for (const auto& [d, hwpt] : m_nested) {
                        const int err = m_v.hwpt_invalidate(hwpt, {{gva, 1, true}});
                        m_log.expect_each(err == 0, m_where + " round " + std::to_string(round) +
                                                        ": IOMMU_HWPT_INVALIDATE of GVA " + hex(gva) + " for vfio" +
                                                        std::to_string(d) + " (" + errno_text(err) + ")");
                    }
                }
            }
            const unsigned d = s.devices[rng.below(s.devices.size())];
            const bool write = rng.chance(s.write_ratio);
            const uint64_t len = 1 + rng.below(max_stream_dma_bytes);
            const uint64_t offset = rng.below(page_size_4k - len + 1);
            const uint64_t gpa = *expected_gpa(gva + offset);
            std::vector<uint8_t> buf(len);
            if (write) {
                ++writes;
                for (uint8_t& b : buf) {
                    b = static_cast<uint8_t>(rng.next());
                }
            }
            int reason = 0;
            const int err = m_v.dma(dev_handle(d), gva + offset, buf.data(), len, write, 0, &reason);
            const bool ok = err == 0 && std::memcmp(buf.data(), m_guest.at(gpa), len) == 0;
            wrong += ok ? 0 : 1;
            m_log.expect_each(ok, m_where + " round " + std::to_string(round) + ": DMA " + (write ? "write" : "read") +
                                      " of " + std::to_string(len) + " bytes at GVA " + hex(gva + offset) +
                                      " from vfio" + std::to_string(d) + (write ? " lands at GPA " : " reads GPA ") +
                                      hex(gpa) +
                                      (err == EFAULT ? " (it faulted with " + reason_text(reason) + ")"
                                       : err         ? " (it failed with " + errno_text(err) + ")"
                                                     : ""));
        }
        m_log.step(m_where + ": " + std::to_string(s.count) + " random rounds, " + std::to_string(remaps) +
                   " remaps, " + std::to_string(writes) + " writes");
        m_log.expect(wrong == 0, m_where + ": every DMA of the random stream saw the guest's current mapping (" +
                                     std::to_string(wrong) + " of " + std::to_string(s.count) + " did not)");
    }

    struct shadow_leaf {
        uint64_t gpa;
        unsigned level;
    };

    const scenario_document& m_doc;
    scenario_log& m_log;
    vmm m_v;
    guest_memory m_guest;
    std::map<unsigned, unsigned> m_dev;     // vfio index -> vmm device
    std::map<unsigned, uint32_t> m_nested;  // vfio index -> its nested HWPT
    std::map<uint64_t, shadow_leaf> m_shadow;
    std::optional<vmm::fault_queue> m_fault_queue;  // setup.fault_queue
    uint64_t m_stale_mark = 0;
    std::size_t m_reports_mark = 0;  // the checker's reports shown or counted by an earlier step
    std::string m_where;
};

}  // namespace

void run_scenario_document(const scenario_document& doc, scenario_log& log) {
    document_run(doc, log).run();
}

}  // namespace iommusim::program
