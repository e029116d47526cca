// The largest platform the configuration accepts works end to end: the invalidation-storm scenario
// at platform_config::max_devices devices (every device its own GVA window, scratch window and
// nested HWPT), and one device more is refused with a message naming the limit.
#include <gtest/gtest.h>

#include <sstream>

#include "platform/platform.h"
#include "program/scenario.h"

namespace iommusim::program {
namespace {

platform_config with_devices(unsigned count) {
    platform_config cfg;
    cfg.iommu.stale_check = true;  // as the program runs its scenarios
    cfg.devices.clear();
    for (unsigned n = 0; n < count; ++n) {
        cfg.devices.push_back(dma_device_config{static_cast<uint16_t>(n)});
    }
    return cfg;
}

TEST(MaxDevices, InvalidationStormRunsAtTheLargestAcceptedDeviceCount) {
    std::string err;
    ASSERT_TRUE(platform::configure(with_devices(platform_config::max_devices), &err)) << err;
    std::ostringstream out;
    scenario_log log(out, verbosity::quiet);
    run_invalidation_storm(log, cli_options{});
    EXPECT_FALSE(log.failed()) << out.str();
    EXPECT_EQ(platform::instance().device_count(), platform_config::max_devices);
    // The only faults are the storm's DMAs into a directory it unmapped on purpose.
    std::string expected;
    for (const auto& [key, value] : log.summary()) {
        if (key == "faults expected (unmapped directory)") {
            expected = value;
        }
    }
    EXPECT_EQ(platform::instance().statistic("model.translation.faults"), expected);
}

TEST(MaxDevices, OneDeviceMoreIsRefusedByName) {
    std::string err;
    EXPECT_FALSE(platform::configure(with_devices(platform_config::max_devices + 1), &err));
    EXPECT_EQ(err, "devices: 8193 DMA devices configured, at most 8192 are supported");
    EXPECT_FALSE(platform::exists());
}

}  // namespace
}  // namespace iommusim::program
