// One verilated geometry of a user's IOTLB behind the plug-in ABI (include/iommusim/rtl_iotlb_plugin.h):
// inputs copied onto the design's ports, one evaluation, outputs copied back. Compiled into every
// plug-in by iommusim_add_rtl_iotlb (cmake/IommusimRtlIotlb.cmake), which generates the port names
// (IOMMUSIM_PORT_<contract name>, after PORT_MAP) and the geometry list the entry point uses.
//
// Models: each instance in its own VerilatedContext (made current for every call, as $time and
// assertion reports use the thread's current context) with its own plusargs, FST waves of every
// signal when asked.
// Does not model: clocking or handshakes (the program drives them, rtl/rtl_iotlb.cc).
#pragma once

#include "verilated.h"
#include "verilated_fst_c.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "iommusim/rtl_iotlb_plugin.h"

#define IOMMUSIM_PORT(contract_name) IOMMUSIM_PORT_##contract_name

struct iommusim_rtl_iotlb_model {
    virtual ~iommusim_rtl_iotlb_model() = default;
    virtual void eval(const iommusim_rtl_iotlb_inputs& in, iommusim_rtl_iotlb_outputs& out, uint64_t time_ps) = 0;
    virtual void dump(uint64_t time_ps) = 0;
    virtual void close_waves() = 0;
    virtual uint64_t error_count() const = 0;
};

namespace iommusim_plugin {

// The words of a plusargs string (blank separated). std::invalid_argument for a word that is not
// a plusarg, and for a Verilator runtime option other than those below: Verilator ends the
// process on any it does not know or whose value is out of range.
inline std::vector<std::string> plusarg_words(const char* plusargs) {
    std::vector<std::string> words;
    const std::string text = plusargs ? plusargs : "";
    for (std::size_t i = text.find_first_not_of(" \t"); i != std::string::npos; i = text.find_first_not_of(" \t", i)) {
        const std::size_t end = std::min(text.find_first_of(" \t", i), text.size());
        words.push_back(text.substr(i, end - i));
        i = end;
    }
    // Verilator's own options that make sense for a plug-in, and the values each takes.
    auto number_in = [](const std::string& v, unsigned long lo, unsigned long hi) {
        if (v.empty() || v.size() > 10 || v.find_first_not_of("0123456789") != std::string::npos) {
            return false;
        }
        const unsigned long n = std::stoul(v);
        return n >= lo && n <= hi;
    };
    const std::string vl = "+verilator+";
    for (const std::string& w : words) {
        if (w.size() < 2 || w[0] != '+') {
            throw std::invalid_argument("plusarg '" + w + "' does not start with '+'");
        }
        if (w.compare(0, vl.size(), vl) != 0) {
            continue;
        }
        const std::string opt = w.substr(vl.size());
        const bool ok = opt == "noassert" || (opt.rfind("rand+reset+", 0) == 0 && number_in(opt.substr(11), 0, 2)) ||
                        (opt.rfind("seed+", 0) == 0 && number_in(opt.substr(5), 1, 2147483647));
        if (!ok) {
            throw std::invalid_argument(
                "plusarg '" + w +
                "': of Verilator's runtime options a plug-in takes +verilator+rand+reset+<0|1|2>, "
                "+verilator+seed+<n> (n >= 1) and +verilator+noassert");
        }
    }
    return words;
}

template <typename V>
class verilated_iotlb final : public iommusim_rtl_iotlb_model {
  public:
    verilated_iotlb(const char* fst_path, const char* plusargs)
        : m_args(plusarg_words(plusargs)), m_ctx(std::make_unique<VerilatedContext>()) {
        Verilated::threadContextp(m_ctx.get());
        // Before the model is built: its initial blocks read them at the first evaluation, and
        // Verilator's reset randomisation is set by then.
        std::vector<const char*> argv{"iommusim"};
        for (const std::string& w : m_args) {
            argv.push_back(w.c_str());
        }
        m_ctx->commandArgs(static_cast<int>(argv.size()), argv.data());
        // A failed assertion (or $error, $stop) is counted for the program to report, instead of
        // aborting it: each one's message is printed and the evaluation goes on.
        m_ctx->fatalOnError(false);
        m_ctx->errorLimit(std::numeric_limits<int>::max());
        if (fst_path != nullptr) {
            m_ctx->traceEverOn(true);  // must precede the model's construction
        }
        m_dut = std::make_unique<V>(m_ctx.get(), "dut");
        if (fst_path != nullptr) {
            m_trace = std::make_unique<VerilatedFstC>();
            m_dut->trace(m_trace.get(), 99);
            m_trace->open(fst_path);
        }
    }

    ~verilated_iotlb() override {
        // Verilated scopes unregister from the thread's current context: make it ours while
        // tearing down, then clear it (it may be another instance's, possibly destroyed).
        Verilated::threadContextp(m_ctx.get());
        m_dut->final();
        close_waves();
        m_dut.reset();
        m_ctx.reset();
        Verilated::threadContextp(nullptr);
    }

    void eval(const iommusim_rtl_iotlb_inputs& in, iommusim_rtl_iotlb_outputs& out, uint64_t time_ps) override {
        Verilated::threadContextp(m_ctx.get());
        m_ctx->time(time_ps);
        V& d = *m_dut;
        d.IOMMUSIM_PORT(clk_i) = in.clk_i;
        d.IOMMUSIM_PORT(rst_ni) = in.rst_ni;
        d.IOMMUSIM_PORT(lkp_req_valid_i) = in.lkp_req_valid_i;
        d.IOMMUSIM_PORT(lkp_req_did_i) = in.lkp_req_did_i;
        d.IOMMUSIM_PORT(lkp_req_pasid_i) = in.lkp_req_pasid_i;
        d.IOMMUSIM_PORT(lkp_req_kind_i) = in.lkp_req_kind_i;
        d.IOMMUSIM_PORT(lkp_req_vpn_i) = in.lkp_req_vpn_i;
        d.IOMMUSIM_PORT(lkp_resp_ready_i) = in.lkp_resp_ready_i;
        d.IOMMUSIM_PORT(fill_req_valid_i) = in.fill_req_valid_i;
        d.IOMMUSIM_PORT(fill_req_did_i) = in.fill_req_did_i;
        d.IOMMUSIM_PORT(fill_req_pasid_i) = in.fill_req_pasid_i;
        d.IOMMUSIM_PORT(fill_req_kind_i) = in.fill_req_kind_i;
        d.IOMMUSIM_PORT(fill_req_level_i) = in.fill_req_level_i;
        d.IOMMUSIM_PORT(fill_req_vpn_i) = in.fill_req_vpn_i;
        d.IOMMUSIM_PORT(fill_req_pfn_i) = in.fill_req_pfn_i;
        d.IOMMUSIM_PORT(fill_req_perm_i) = in.fill_req_perm_i;
        d.IOMMUSIM_PORT(fill_resp_ready_i) = in.fill_resp_ready_i;
        d.IOMMUSIM_PORT(inv_req_valid_i) = in.inv_req_valid_i;
        d.IOMMUSIM_PORT(inv_req_scope_i) = in.inv_req_scope_i;
        d.IOMMUSIM_PORT(inv_req_did_i) = in.inv_req_did_i;
        d.IOMMUSIM_PORT(inv_req_pasid_i) = in.inv_req_pasid_i;
        d.IOMMUSIM_PORT(inv_req_vpn_i) = in.inv_req_vpn_i;
        d.IOMMUSIM_PORT(inv_req_am_i) = in.inv_req_am_i;
        d.IOMMUSIM_PORT(inv_resp_ready_i) = in.inv_resp_ready_i;
        d.IOMMUSIM_PORT(dbg_set_i) = in.dbg_set_i;
        d.IOMMUSIM_PORT(dbg_way_i) = in.dbg_way_i;
        d.eval();
        out.lkp_req_ready_o = d.IOMMUSIM_PORT(lkp_req_ready_o);
        out.lkp_resp_valid_o = d.IOMMUSIM_PORT(lkp_resp_valid_o);
        out.lkp_resp_hit_o = d.IOMMUSIM_PORT(lkp_resp_hit_o);
        out.lkp_resp_set_o = d.IOMMUSIM_PORT(lkp_resp_set_o);
        out.lkp_resp_way_o = d.IOMMUSIM_PORT(lkp_resp_way_o);
        out.lkp_resp_did_o = d.IOMMUSIM_PORT(lkp_resp_did_o);
        out.lkp_resp_pasid_o = d.IOMMUSIM_PORT(lkp_resp_pasid_o);
        out.lkp_resp_kind_o = d.IOMMUSIM_PORT(lkp_resp_kind_o);
        out.lkp_resp_level_o = d.IOMMUSIM_PORT(lkp_resp_level_o);
        out.lkp_resp_vpn_o = d.IOMMUSIM_PORT(lkp_resp_vpn_o);
        out.lkp_resp_pfn_o = d.IOMMUSIM_PORT(lkp_resp_pfn_o);
        out.lkp_resp_perm_o = d.IOMMUSIM_PORT(lkp_resp_perm_o);
        out.fill_req_ready_o = d.IOMMUSIM_PORT(fill_req_ready_o);
        out.fill_resp_valid_o = d.IOMMUSIM_PORT(fill_resp_valid_o);
        out.fill_resp_set_o = d.IOMMUSIM_PORT(fill_resp_set_o);
        out.fill_resp_way_o = d.IOMMUSIM_PORT(fill_resp_way_o);
        out.fill_resp_replaced_o = d.IOMMUSIM_PORT(fill_resp_replaced_o);
        out.fill_resp_evict_valid_o = d.IOMMUSIM_PORT(fill_resp_evict_valid_o);
        out.fill_resp_evict_did_o = d.IOMMUSIM_PORT(fill_resp_evict_did_o);
        out.fill_resp_evict_pasid_o = d.IOMMUSIM_PORT(fill_resp_evict_pasid_o);
        out.fill_resp_evict_kind_o = d.IOMMUSIM_PORT(fill_resp_evict_kind_o);
        out.fill_resp_evict_level_o = d.IOMMUSIM_PORT(fill_resp_evict_level_o);
        out.fill_resp_evict_vpn_o = d.IOMMUSIM_PORT(fill_resp_evict_vpn_o);
        out.fill_resp_evict_pfn_o = d.IOMMUSIM_PORT(fill_resp_evict_pfn_o);
        out.fill_resp_evict_perm_o = d.IOMMUSIM_PORT(fill_resp_evict_perm_o);
        out.inv_req_ready_o = d.IOMMUSIM_PORT(inv_req_ready_o);
        out.inv_resp_valid_o = d.IOMMUSIM_PORT(inv_resp_valid_o);
        out.inv_resp_count_o = d.IOMMUSIM_PORT(inv_resp_count_o);
        out.busy_o = d.IOMMUSIM_PORT(busy_o);
        out.dbg_valid_o = d.IOMMUSIM_PORT(dbg_valid_o);
        out.dbg_did_o = d.IOMMUSIM_PORT(dbg_did_o);
        out.dbg_pasid_o = d.IOMMUSIM_PORT(dbg_pasid_o);
        out.dbg_kind_o = d.IOMMUSIM_PORT(dbg_kind_o);
        out.dbg_level_o = d.IOMMUSIM_PORT(dbg_level_o);
        out.dbg_vpn_o = d.IOMMUSIM_PORT(dbg_vpn_o);
        out.dbg_pfn_o = d.IOMMUSIM_PORT(dbg_pfn_o);
        out.dbg_perm_o = d.IOMMUSIM_PORT(dbg_perm_o);
        out.dbg_plru_o = d.IOMMUSIM_PORT(dbg_plru_o);
    }

    void dump(uint64_t time_ps) override {
        if (m_trace) {
            m_trace->dump(time_ps);
        }
    }

    uint64_t error_count() const override { return static_cast<uint64_t>(m_ctx->errorCount()); }

    void close_waves() override {
        if (m_trace) {
            m_trace->close();
            m_trace.reset();
        }
    }

  private:
    std::vector<std::string> m_args;  // checked before the context exists (a refusal leaves no trace)
    std::unique_ptr<VerilatedContext> m_ctx;
    std::unique_ptr<V> m_dut;
    std::unique_ptr<VerilatedFstC> m_trace;
};

template <typename V>
iommusim_rtl_iotlb_model* make(const char* fst_path, const char* plusargs) {
    return new verilated_iotlb<V>(fst_path, plusargs);
}

}  // namespace iommusim_plugin
