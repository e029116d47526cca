// The translator test fixture shared by the translator_*_test.cc suites (one per walk stage and
// concern): a table builder over sparse memory, a translator over a C++ IOTLB, and the context /
// PASID setups of the second-stage, first-stage and nested cases.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <tuple>

#include "iommusim/hw/vtd_pte.h"
#include "iommusim/hw/vtd_regs.h"
#include "tlm/iotlb.h"
#include "tlm/sparse_memory.h"
#include "tlm/table_builder_util.h"
#include "tlm/translator.h"

namespace iommusim::translator_test {

using hw::fault_reason;
using test::context_opts;
using test::fs_space;
using test::pasid_opts;
using test::table_builder;
namespace fp = hw::fs_pte;
namespace sp = hw::ss_pte;
namespace pe = hw::pasid_entry;

// Lowest bit of a mask (a reserved bit taken from a layout's reserved mask).
constexpr uint64_t lowest_bit(uint64_t m) {
    return m & (~m + 1);
}

constexpr uint16_t k_rid = 0x0310;  // 03:02.0
constexpr uint64_t k_rw = sp::r::mask | sp::w::mask;
constexpr uint64_t k_fs_urw = fp::p::mask | fp::rw::mask | fp::us::mask;

// Requests are written with designated initializers naming only what differs from the default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

struct req_opts {
    std::optional<uint32_t> pasid;
    bool write = false;
    bool exec = false;
    bool priv = false;
    bool ats = false;
    uint16_t rid = k_rid;
};

class Translator : public ::testing::Test {
  protected:
    Translator() : tb(mem) {}

    void build() {
        tlb = std::make_unique<iotlb>(iotlb_geometry{cfg.iotlb_sets, cfg.iotlb_ways});
        tr = std::make_unique<translator>(cfg, mem, *tlb);
        tr->set_root(tb.rtaddr_value());
    }

    translation_result xl(uint64_t addr, const req_opts& o = {}) {
        translation_request r;
        r.rid = o.rid;
        r.has_pasid = o.pasid.has_value();
        r.pasid = o.pasid.value_or(0);
        r.addr = addr;
        r.write = o.write;
        r.exec = o.exec;
        r.priv = o.priv;
        r.ats_translation = o.ats;
        return tr->translate(r);
    }

    // Second-stage-only domain on RID_PASID 0 with 4-level tables.
    uint64_t setup_ss(unsigned aw = 2, uint16_t did = 1) {
        ss_root = tb.new_ss();
        tb.set_context(k_rid);
        pasid_opts o;
        o.pgtt = hw::pgtt::second_stage;
        o.aw = aw;
        o.did = did;
        o.ssptptr = ss_root;
        pasid_entry = tb.set_pasid(k_rid, 0, o);
        return ss_root;
    }

    // First-stage-only PASID 5.
    fs_space setup_fs(unsigned levels = 4, pasid_opts o = {}) {
        fs = tb.new_fs(levels);
        context_opts c;
        tb.set_context(k_rid, c);
        o.pgtt = hw::pgtt::first_stage;
        o.fsptptr = fs.root;
        o.fspm = levels == 5 ? 1 : 0;
        pasid_entry = tb.set_pasid(k_rid, 5, o);
        return fs;
    }

    // Nested PASID 5: FS tables in guest memory mapped by the SS.
    fs_space setup_nested(pasid_opts o = {}, unsigned fs_levels = 4) {
        ss_root = tb.new_ss();
        fs = tb.new_nested_fs(ss_root, 4, fs_levels);
        tb.set_context(k_rid);
        o.pgtt = hw::pgtt::nested;
        o.fsptptr = fs.root;
        o.ssptptr = ss_root;
        o.fspm = fs_levels == 5 ? 1 : 0;
        pasid_entry = tb.set_pasid(k_rid, 5, o);
        return fs;
    }

    iommu_config cfg;
    sparse_memory mem;
    table_builder tb;
    std::unique_ptr<iotlb> tlb;
    std::unique_ptr<translator> tr;
    uint64_t ss_root = 0;
    uint64_t pasid_entry = 0;
    fs_space fs;
};

}  // namespace iommusim::translator_test
