// Stopping a run cleanly on SIGINT or SIGTERM. The handler only records the signal; the program
// looks at it at safe points (between scenario steps, where no CPU job is running), then finishes
// every output file and exits with 128 + the signal number.
//
// A second SIGINT/SIGTERM is not caught again (SA_RESETHAND): it ends the process at once, for a
// run that no longer reaches a safe point.
//
// Test hook: IOMMUSIM_TEST_STOP_AFTER=<INT|TERM>:<N> in the environment makes the platform raise
// that signal itself right after its Nth CPU job (an ioctl or a DMA), so a test stops a long run
// at a reproducible point.
#pragma once

#include <cstdint>
#include <string>

namespace iommusim {

// Installs the handlers (once; later calls do nothing) and reads the test hook. Returns "" or a
// message naming a malformed IOMMUSIM_TEST_STOP_AFTER (the handlers are installed anyway).
std::string install_stop_signal_handlers();

// 0, or the signal (SIGINT, SIGTERM) that asked the run to stop.
int stop_signal();

// "SIGINT" / "SIGTERM" (or "signal N").
std::string stop_signal_name(int signal);

// Called by the platform after each CPU job; raises the test hook's signal after the Nth.
void note_cpu_job_done();
// CPU jobs (ioctls, DMAs, driver bring-up steps) completed so far.
uint64_t cpu_jobs_done();

}  // namespace iommusim
