#include "platform/rtl_iotlb_view.h"

#include <cmath>
#include <iomanip>
#include <sstream>

namespace iommusim {

namespace {

// $clog2 of rtl/iotlb.sv, at least 1 bit.
unsigned index_bits(unsigned n) {
    unsigned bits = 0;
    while ((1u << bits) < n) {
        ++bits;
    }
    return bits ? bits : 1;
}

std::string range(unsigned width) {
    return "[" + std::to_string(width - 1) + ":0]";
}

}  // namespace

// GTKWave save-file flags as in txn_tracer.cc: @28 binary, @22 hex, @2022 hex through a translate
// filter, @800200 / @1000200 group begin / end.
std::string rtl_iotlb_view(const std::string& fst, iotlb_geometry geometry, uint64_t begin_ps, uint64_t end_ps,
                           const std::string& filter_dir) {
    const std::string set = range(index_bits(geometry.sets));
    const std::string way = range(index_bits(geometry.ways));
    const std::string count = range(index_bits(geometry.sets * geometry.ways + 1));
    std::ostringstream g;
    g << "[*] GTKWave save file for the RTL IOTLB (rtl/iotlb.sv), " << geometry.sets << " sets x " << geometry.ways
      << " ways: interface signals grouped by channel.\n";
    if (fst.empty()) {
        g << "[*] Open from the repository root so the translate filters under waves/ are found:\n"
          << "[*]   gtkwave waves/<run>.fst waves/iotlb.gtkw\n";
    } else {
        g << "[dumpfile] \"" << fst << "\"\n";
    }
    const uint64_t span = end_ps > begin_ps ? end_ps - begin_ps : 0;
    const uint64_t start = begin_ps > span / 20 ? begin_ps - span / 20 : 0;
    g << "[timestart] " << start << "\n[size] 1600 1000\n[pos] -1 -1\n";
    // GTKWave's window spans about 5 * 2^-z time units at zoom z; -12 shows the first 20 ns.
    const double zoom = span > 5 ? -std::ceil(std::log2(static_cast<double>(end_ps - start) / 5.0)) : -12.0;
    g << "*" << std::fixed << std::setprecision(6) << zoom << " " << start;
    for (int i = 0; i < 32; ++i) {
        g << " -1";
    }
    g << "\n[treeopen] dut.\n[sst_width] 240\n[signals_width] 320\n[sst_expanded] 1\n[sst_vpaned_height] 300\n";
    auto sig = [&](const char* fmt, const std::string& name) { g << fmt << "\n" << name << "\n"; };
    auto bin = [&](const std::string& name) { sig("@28", "dut." + name); };
    auto hex = [&](const std::string& name) { sig("@22", "dut." + name); };
    auto filtered = [&](unsigned n, const char* file, const std::string& name) {
        g << "@2022\n^" << n << " " << filter_dir << "/" << file << "\ndut." << name << "\n";
    };
    auto group = [&](const char* name, auto body) {
        g << "@800200\n-" << name << "\n";
        body();
        g << "@1000200\n-" << name << "\n";
    };
    group("Clock and reset", [&] {
        bin("clk_i");
        bin("rst_ni");
        bin("busy_o");
    });
    group("Lookup", [&] {
        bin("lkp_req_valid_i");
        bin("lkp_req_ready_o");
        hex("lkp_req_did_i[15:0]");
        hex("lkp_req_pasid_i[19:0]");
        filtered(1, "iotlb_kind.txt", "lkp_req_kind_i[2:0]");
        hex("lkp_req_vpn_i[44:0]");
        bin("lkp_resp_valid_o");
        bin("lkp_resp_hit_o");
        hex("lkp_resp_set_o" + set);
        hex("lkp_resp_way_o" + way);
        filtered(2, "iotlb_level.txt", "lkp_resp_level_o[1:0]");
        hex("lkp_resp_vpn_o[44:0]");
        hex("lkp_resp_pfn_o[39:0]");
        hex("lkp_resp_perm_o[7:0]");
    });
    group("Fill", [&] {
        bin("fill_req_valid_i");
        bin("fill_req_ready_o");
        hex("fill_req_did_i[15:0]");
        hex("fill_req_pasid_i[19:0]");
        filtered(1, "iotlb_kind.txt", "fill_req_kind_i[2:0]");
        filtered(2, "iotlb_level.txt", "fill_req_level_i[1:0]");
        hex("fill_req_vpn_i[44:0]");
        hex("fill_req_pfn_i[39:0]");
        hex("fill_req_perm_i[7:0]");
        bin("fill_resp_valid_o");
        hex("fill_resp_set_o" + set);
        hex("fill_resp_way_o" + way);
        bin("fill_resp_replaced_o");
        bin("fill_resp_evict_valid_o");
        hex("fill_resp_evict_did_o[15:0]");
        filtered(1, "iotlb_kind.txt", "fill_resp_evict_kind_o[2:0]");
        hex("fill_resp_evict_vpn_o[44:0]");
    });
    group("Invalidate", [&] {
        bin("inv_req_valid_i");
        bin("inv_req_ready_o");
        filtered(3, "iotlb_inv_scope.txt", "inv_req_scope_i[2:0]");
        hex("inv_req_did_i[15:0]");
        hex("inv_req_pasid_i[19:0]");
        hex("inv_req_vpn_i[51:0]");
        hex("inv_req_am_i[5:0]");
        bin("inv_resp_valid_o");
        hex("inv_resp_count_o" + count);
    });
    group("Controller", [&] {
        filtered(4, "iotlb_state.txt", "iotlb.state_q[0:0]");
        hex("iotlb.walk_set_q" + set);
        hex("iotlb.count_q" + count);
    });
    g << "[pattern_trace] 1\n[pattern_trace] 0\n";
    return g.str();
}

}  // namespace iommusim
