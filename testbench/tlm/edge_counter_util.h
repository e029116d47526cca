// Counts the rising edges of an interrupt line (a fault, invalidation-completion or page request
// event), for tests of the IOMMU's event pulses.
#pragma once

#include <systemc>

namespace iommusim::test {

class edge_counter : public sc_core::sc_module {
  public:
    sc_core::sc_in<bool> line;
    unsigned rises = 0;
    SC_HAS_PROCESS(edge_counter);
    explicit edge_counter(const sc_core::sc_module_name& n) : sc_core::sc_module(n), line("line") {
        SC_METHOD(on_rise);
        sensitive << line.pos();
        dont_initialize();
    }

  private:
    void on_rise() { ++rises; }
};

}  // namespace iommusim::test
