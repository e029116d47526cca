// memory: TLM target over sparse_memory (b_transport timing, byte enables, debug, DMI, adopt).
// Each test elaborates its own modules and runs in its own process (gtest_discover_tests).
#include "tlm/memory.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <array>
#include <cstring>

#include "tlm/initiator_tester_util.h"

namespace iommusim {
namespace {

using test::initiator_tester;

struct bench {
    memory mem;
    initiator_tester cpu{"cpu"};
    explicit bench(const memory_config& cfg = memory_config{}) : mem("mem", cfg) { cpu.socket.bind(mem.target_socket); }
    void run(std::function<void()> body) {
        cpu.body = std::move(body);
        sc_core::sc_start();
        ASSERT_TRUE(cpu.done);
    }
};

TEST(Memory, FirstTouchReadsZeroAndWritesStick) {
    memory_config cfg;
    cfg.read_ns = 7;
    cfg.write_ns = 11;
    bench b(cfg);
    b.run([&] {
        uint64_t v = 0x1234;
        EXPECT_EQ(b.cpu.read64(0x7000'0000'1000, v), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(v, 0u);
        EXPECT_EQ(b.cpu.delay, sc_core::sc_time(7, sc_core::SC_NS));
        EXPECT_EQ(b.cpu.write64(0x7000'0000'1ffc, 0x1122334455667788ull), tlm::TLM_OK_RESPONSE);  // crosses a page
        EXPECT_EQ(b.cpu.delay, sc_core::sc_time(11, sc_core::SC_NS));
        EXPECT_EQ(b.cpu.read64(0x7000'0000'1ffc, v), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(v, 0x1122334455667788ull);
        EXPECT_TRUE(b.cpu.last_dmi_allowed);
    });
    EXPECT_EQ(b.mem.statistics().reads, 2u);
    EXPECT_EQ(b.mem.statistics().writes, 1u);
}

TEST(Memory, OutOfRangeAndInjectedErrorsAreAddressErrors) {
    memory_config cfg;
    cfg.addr_bits = 40;
    bench b(cfg);
    b.mem.inject_error_range(0x5000, 0x1000);
    b.run([&] {
        uint32_t v = 0;
        EXPECT_EQ(b.cpu.read32(uint64_t{1} << 40, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(b.cpu.write32(0x5ffc, 1), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(b.cpu.write32(0x6000, 1), tlm::TLM_OK_RESPONSE);
        tlm::tlm_dmi dmi;
        EXPECT_FALSE(b.cpu.get_dmi(0x5800, dmi));
    });
    EXPECT_EQ(b.mem.statistics().errors, 2u);
}

TEST(Memory, ByteEnablesMaskTheWrite) {
    bench b;
    b.run([&] {
        ASSERT_EQ(b.cpu.write32(0x100, 0xaabbccdd), tlm::TLM_OK_RESPONSE);
        tlm::tlm_generic_payload p;
        uint32_t data = 0x11223344;
        std::array<unsigned char, 2> be{TLM_BYTE_ENABLED, TLM_BYTE_DISABLED};
        p.set_command(tlm::TLM_WRITE_COMMAND);
        p.set_address(0x100);
        p.set_data_ptr(reinterpret_cast<unsigned char*>(&data));
        p.set_data_length(4);
        p.set_streaming_width(4);
        p.set_byte_enable_ptr(be.data());
        p.set_byte_enable_length(2);
        sc_core::sc_time d;
        b.cpu.socket->b_transport(p, d);
        EXPECT_EQ(p.get_response_status(), tlm::TLM_OK_RESPONSE);
        uint32_t v = 0;
        b.cpu.read32(0x100, v);
        EXPECT_EQ(v, 0xaa22cc44u);
    });
}

TEST(Memory, DebugTransportIsUntimedAndDirect) {
    bench b;
    b.run([&] {
        uint64_t v = 0x55;
        EXPECT_EQ(b.cpu.debug(tlm::TLM_WRITE_COMMAND, 0x3000, &v, 8), 8u);
        uint64_t r = 0;
        EXPECT_EQ(b.cpu.debug(tlm::TLM_READ_COMMAND, 0x3000, &r, 8), 8u);
        EXPECT_EQ(r, 0x55u);
        EXPECT_EQ(sc_core::sc_time_stamp(), sc_core::SC_ZERO_TIME);
    });
    uint64_t v = 0;
    ASSERT_TRUE(b.mem.store().read64(0x3000, v));
    EXPECT_EQ(v, 0x55u);
}

TEST(Memory, DmiCoversThePageWithLatencies) {
    bench b;
    b.run([&] {
        tlm::tlm_dmi dmi;
        ASSERT_TRUE(b.cpu.get_dmi(0x4010, dmi));
        EXPECT_EQ(dmi.get_start_address(), 0x4000u);
        EXPECT_EQ(dmi.get_end_address(), 0x4fffu);
        EXPECT_TRUE(dmi.is_read_write_allowed());
        EXPECT_EQ(dmi.get_read_latency(), sc_core::sc_time(60, sc_core::SC_NS));
        const uint32_t v = 0xfeedf00d;
        std::memcpy(dmi.get_dmi_ptr() + 0x20, &v, 4);
        uint32_t r = 0;
        b.cpu.read32(0x4020, r);
        EXPECT_EQ(r, v);
    });
}

TEST(Memory, AdoptedBufferIsVisibleWithoutDmiAndRevokesDmi) {
    bench b;
    alignas(4096) static std::array<uint8_t, 0x4000> host{};
    host[0x1234] = 0x5a;
    b.run([&] {
        tlm::tlm_dmi dmi;
        ASSERT_TRUE(b.cpu.get_dmi(0x10000, dmi));  // a zero page, granted before the adopt
        ASSERT_TRUE(b.mem.adopt(0x10000, host.data(), host.size()));
        ASSERT_EQ(b.cpu.invalidations.size(), 1u);
        EXPECT_EQ(b.cpu.invalidations[0], std::make_pair(uint64_t{0x10000}, uint64_t{0x13fff}));
        uint8_t v = 0;
        b.cpu.read(0x11234, &v, 1);
        EXPECT_EQ(v, 0x5a);
        b.cpu.write(0x12000, "x", 1);
        EXPECT_EQ(host[0x2000], 'x');
        // No DMI over host memory that can vanish, and b_transport does not offer it.
        EXPECT_FALSE(b.cpu.last_dmi_allowed);
        EXPECT_FALSE(b.cpu.get_dmi(0x11000, dmi));
        ASSERT_TRUE(b.mem.release(0x10000, host.size()));
        EXPECT_EQ(b.cpu.invalidations.size(), 2u);
        b.cpu.read(0x11234, &v, 1);
        EXPECT_EQ(v, 0);
    });
}

TEST(Memory, AdoptedMemoryTheHostUnmappedIsATargetAbort) {
    bench b;
    void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(m, MAP_FAILED);
    ASSERT_TRUE(b.mem.adopt(0x20000, m, 4096));
    b.run([&] {
        // Unmapped only now: starting the simulation maps thread stacks, which could reuse the range.
        ASSERT_EQ(munmap(m, 4096), 0);
        uint64_t v = 0;
        EXPECT_EQ(b.cpu.write64(0x20008, 1), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(b.cpu.read64(0x20008, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        uint8_t byte = 0;
        tlm::tlm_generic_payload p;
        p.set_command(tlm::TLM_READ_COMMAND);
        p.set_address(0x20000);
        p.set_data_ptr(&byte);
        p.set_data_length(1);
        EXPECT_EQ(b.cpu.socket->transport_dbg(p), 0u);
        EXPECT_EQ(b.cpu.write64(0x21000, 1), tlm::TLM_OK_RESPONSE) << "owned memory beside it is unaffected";
    });
    EXPECT_EQ(b.mem.statistics().errors, 2u);
    EXPECT_EQ(b.mem.store().host_faults(), 3u);
    b.mem.release(0x20000, 4096);
}

TEST(Memory, DmiCanBeDisabled) {
    memory_config cfg;
    cfg.dmi = false;
    bench b(cfg);
    b.run([&] {
        uint32_t v = 0;
        b.cpu.read32(0, v);
        EXPECT_FALSE(b.cpu.last_dmi_allowed);
        tlm::tlm_dmi dmi;
        EXPECT_FALSE(b.cpu.get_dmi(0, dmi));
    });
}

}  // namespace
}  // namespace iommusim
