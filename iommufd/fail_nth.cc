#include "iommufd/fail_nth.h"

namespace iommusim::iommufd {

namespace {
unsigned g_task_fail_nth = 0;  // the model is single-threaded: its callers serialise
}  // namespace

void set_task_fail_nth(unsigned nth) {
    g_task_fail_nth = nth;
}

unsigned task_fail_nth() {
    return g_task_fail_nth;
}

bool task_should_fail() {
    return g_task_fail_nth != 0 && --g_task_fail_nth == 0;
}

}  // namespace iommusim::iommufd
