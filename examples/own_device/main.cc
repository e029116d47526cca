// The iommusim program with the example device attached: every scenario, scenario file and
// regression `iommusim` runs, on a platform that also has my_dma_engine (after the configured
// devices: vfio1 with one configured device). Prints the device's counters at the end.
#include <cstdio>
#include <string>

#include "my_dma_engine.h"
#include "platform/platform.h"
#include "program/program_main.h"

int main(int argc, char** argv) {
    my_dma_engine engine("my_dma_engine", 0x0300);
    std::string error;
    if (!iommusim::platform::attach(engine, &error)) {
        std::fprintf(stderr, "own_device: %s\n", error.c_str());
        return 2;
    }
    const int status = iommusim::program::program_main(argc, argv);
    if (iommusim::platform::exists()) {
        const my_dma_engine::counters& c = engine.stats();
        std::printf(
            "my_dma_engine (vfio%d): %llu pages, %llu translation requests, %llu device-TLB hits, "
            "%llu invalidations, %llu refused\n",
            iommusim::platform::instance().device_index(engine), static_cast<unsigned long long>(c.pages),
            static_cast<unsigned long long>(c.translation_requests), static_cast<unsigned long long>(c.device_tlb_hits),
            static_cast<unsigned long long>(c.invalidations), static_cast<unsigned long long>(c.refused));
    }
    return status;
}
