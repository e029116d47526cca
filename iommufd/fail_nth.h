// Process-wide fault injection, the kernel's per-task fail_nth (Documentation/fault-injection/
// fault-injection.rst, "/proc/<pid>/fail-nth"): the nth fault-injection point from now fails. The
// model's points are the object allocations of every iommufd context (context::add).
#pragma once

namespace iommusim::iommufd {

// Arms the count (0 disarms).
void set_task_fail_nth(unsigned nth);
// What is left of the count: 0 once the failure fired or when disarmed.
unsigned task_fail_nth();
// One fault-injection point: true when it is the one that fails.
bool task_should_fail();

}  // namespace iommusim::iommufd
