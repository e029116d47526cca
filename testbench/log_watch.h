// The model's kernel log as a user program reads it, through the C API (iommusim_log_read): what
// was logged since the watch was made.
#pragma once

#include <algorithm>
#include <string>

#include "iommusim/iommusim.h"

namespace iommusim::test {

class log_watch {
  public:
    log_watch() : m_start(whole_log().size()) {}
    // Records logged since construction (the ring holds far more than one test logs).
    std::string fresh() const {
        const std::string all = whole_log();
        return all.substr(std::min(m_start, all.size()));
    }
    static std::string whole_log() {
        std::string buf(iommusim_log_read(nullptr, 0) + 1, '\0');
        buf.resize(iommusim_log_read(buf.data(), buf.size()));
        return buf;
    }

  private:
    std::size_t m_start;
};

}  // namespace iommusim::test
