// Port-level tests of the project's RTL IOTLB (16 sets x 4 ways) through its plug-in's pins
// (include/iommusim/rtl_iotlb_plugin.h): the handshake rules the adapter never exercises on its
// own (busy holding off requests, response back-pressure, arbitration between channels). Entries
// are built from the shared encodings of tlm/iotlb_if.h.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>

#include "rtl/rtl_iotlb_plugin_loader.h"
#include "tlm/iotlb_if.h"

namespace iommusim {
namespace {

constexpr unsigned sets = 16;
constexpr uint8_t scope_domain = 1;  // inv_scope_e InvDomain of rtl/iotlb.sv

// Every port of the design as a field (inputs and outputs have distinct names), one instance of
// the plug-in behind them.
class plugin_pins : public iommusim_rtl_iotlb_inputs, public iommusim_rtl_iotlb_outputs {
  public:
    plugin_pins()
        : iommusim_rtl_iotlb_inputs{}
        , iommusim_rtl_iotlb_outputs{}
        , m_plugin(rtl_iotlb_plugin::load(rtl_iotlb_plugin::builtin_path())) {
        char error[256] = "";
        m_model = m_plugin->abi().create(sets, 4, nullptr, error, sizeof error);
        if (m_model == nullptr) {
            throw std::runtime_error(error);
        }
    }
    ~plugin_pins() { m_plugin->abi().destroy(m_model); }
    plugin_pins(const plugin_pins&) = delete;
    plugin_pins& operator=(const plugin_pins&) = delete;

    void eval() { m_plugin->abi().eval(m_model, this, this, 0); }

  private:
    std::shared_ptr<const rtl_iotlb_plugin> m_plugin;
    iommusim_rtl_iotlb_model* m_model = nullptr;
};

class IotlbPorts : public ::testing::Test {
  protected:
    IotlbPorts() : dut(std::make_unique<plugin_pins>()) {
        dut->lkp_resp_ready_i = 1;
        dut->fill_resp_ready_i = 1;
        dut->inv_resp_ready_i = 1;
        dut->rst_ni = 0;
        dut->clk_i = 0;
        dut->eval();
        cycle();
        dut->rst_ni = 1;
        dut->eval();
    }

    // One clock cycle: rising edge (state updates), then falling edge (outputs settled).
    void cycle() {
        dut->clk_i = 1;
        dut->eval();
        dut->clk_i = 0;
        dut->eval();
    }

    void drive_fill(uint16_t did, uint64_t vpn, uint64_t pfn) {
        dut->fill_req_did_i = did;
        dut->fill_req_pasid_i = 0;
        dut->fill_req_kind_i = static_cast<uint8_t>(translation_kind::second_stage);
        dut->fill_req_level_i = static_cast<uint8_t>(page_level::size_4k);
        dut->fill_req_vpn_i = vpn;
        dut->fill_req_pfn_i = pfn;
        dut->fill_req_perm_i = iotlb_perm::ss_r | iotlb_perm::ss_w;
    }
    void drive_lookup(uint16_t did, uint64_t vpn) {
        dut->lkp_req_did_i = did;
        dut->lkp_req_pasid_i = 0;
        dut->lkp_req_kind_i = static_cast<uint8_t>(translation_kind::second_stage);
        dut->lkp_req_vpn_i = vpn;
    }
    void fill(uint16_t did, uint64_t vpn, uint64_t pfn) {
        drive_fill(did, vpn, pfn);
        dut->fill_req_valid_i = 1;
        dut->eval();
        ASSERT_TRUE(dut->fill_req_ready_o);
        cycle();
        dut->fill_req_valid_i = 0;
        dut->eval();
        ASSERT_TRUE(dut->fill_resp_valid_o);
    }

    std::unique_ptr<plugin_pins> dut;
};

TEST_F(IotlbPorts, BusyHoldsOffLookupsAndFillsUntilTheWalkEnds) {
    fill(3, 0x21, 0x500);
    dut->inv_req_valid_i = 1;
    dut->inv_req_scope_i = scope_domain;
    dut->inv_req_did_i = 7;  // another domain: the entry survives
    dut->eval();
    ASSERT_TRUE(dut->inv_req_ready_o);
    cycle();
    dut->inv_req_valid_i = 0;
    // A lookup and a fill wait while the walk runs.
    drive_lookup(3, 0x21);
    dut->lkp_req_valid_i = 1;
    dut->eval();
    unsigned busy_cycles = 0;
    while (dut->busy_o) {
        EXPECT_FALSE(dut->lkp_req_ready_o);
        EXPECT_FALSE(dut->fill_req_ready_o);
        EXPECT_FALSE(dut->inv_req_ready_o);
        EXPECT_FALSE(dut->lkp_resp_valid_o);
        cycle();
        ASSERT_LE(++busy_cycles, sets);
    }
    EXPECT_EQ(busy_cycles, sets);  // one set per cycle
    EXPECT_TRUE(dut->inv_resp_valid_o);
    EXPECT_EQ(dut->inv_resp_count_o, 0u);
    EXPECT_TRUE(dut->lkp_req_ready_o);
    cycle();  // the lookup is taken now
    dut->lkp_req_valid_i = 0;
    dut->eval();
    ASSERT_TRUE(dut->lkp_resp_valid_o);
    EXPECT_TRUE(dut->lkp_resp_hit_o);
    EXPECT_EQ(dut->lkp_resp_pfn_o, 0x500u);
}

TEST_F(IotlbPorts, UntakenResponseStaysAndBlocksTheNextRequest) {
    fill(1, 0x4, 0x44);
    drive_fill(2, 0x5, 0x55);
    dut->fill_req_valid_i = 1;
    dut->eval();
    ASSERT_TRUE(dut->fill_req_ready_o);
    cycle();
    dut->fill_req_valid_i = 0;
    dut->fill_resp_ready_i = 0;  // the second fill's response is not taken
    dut->eval();
    ASSERT_TRUE(dut->fill_resp_valid_o);
    const auto way = dut->fill_resp_way_o;
    drive_lookup(1, 0x4);
    dut->lkp_req_valid_i = 1;
    for (int i = 0; i < 3; ++i) {
        dut->eval();
        EXPECT_FALSE(dut->lkp_req_ready_o);
        cycle();
        EXPECT_TRUE(dut->fill_resp_valid_o);
        EXPECT_EQ(dut->fill_resp_way_o, way);
        EXPECT_FALSE(dut->lkp_resp_valid_o);
    }
    dut->fill_resp_ready_i = 1;
    dut->eval();
    EXPECT_TRUE(dut->lkp_req_ready_o);  // taken in the same cycle as the response
    cycle();
    dut->lkp_req_valid_i = 0;
    dut->eval();
    EXPECT_FALSE(dut->fill_resp_valid_o);
    ASSERT_TRUE(dut->lkp_resp_valid_o);
    EXPECT_TRUE(dut->lkp_resp_hit_o);
    EXPECT_EQ(dut->lkp_resp_pfn_o, 0x44u);
}

TEST_F(IotlbPorts, InvalidateBeatsFillBeatsLookup) {
    fill(1, 0x9, 0x99);
    drive_lookup(1, 0x9);
    drive_fill(2, 0x9, 0x77);
    dut->lkp_req_valid_i = 1;
    dut->fill_req_valid_i = 1;
    dut->inv_req_valid_i = 1;
    dut->inv_req_scope_i = scope_domain;
    dut->inv_req_did_i = 1;
    dut->eval();
    EXPECT_TRUE(dut->inv_req_ready_o);
    EXPECT_FALSE(dut->fill_req_ready_o);
    EXPECT_FALSE(dut->lkp_req_ready_o);
    cycle();
    dut->inv_req_valid_i = 0;
    while (dut->busy_o) {
        cycle();
    }
    ASSERT_TRUE(dut->inv_resp_valid_o);
    EXPECT_EQ(dut->inv_resp_count_o, 1u);  // did 1's entry
    EXPECT_TRUE(dut->fill_req_ready_o);
    EXPECT_FALSE(dut->lkp_req_ready_o);  // the fill goes first
    cycle();
    dut->fill_req_valid_i = 0;
    dut->eval();
    ASSERT_TRUE(dut->fill_resp_valid_o);
    EXPECT_TRUE(dut->lkp_req_ready_o);
    cycle();
    dut->lkp_req_valid_i = 0;
    dut->eval();
    ASSERT_TRUE(dut->lkp_resp_valid_o);
    EXPECT_FALSE(dut->lkp_resp_hit_o);  // did 1 was invalidated; did 2's entry does not match
}

}  // namespace
}  // namespace iommusim
