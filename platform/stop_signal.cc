#include "platform/stop_signal.h"

#include <csignal>
#include <cstdlib>
#include <cstring>

namespace iommusim {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
bool g_installed = false;
int g_test_signal = 0;      // IOMMUSIM_TEST_STOP_AFTER: which signal
uint64_t g_test_after = 0;  // after how many CPU jobs (0: off)
uint64_t g_jobs_done = 0;

extern "C" void record_stop_signal(int signal) {
    g_stop_signal = signal;  // the only work an asynchronous handler may safely do
}

std::string parse_test_hook(const char* text) {
    const std::string spec(text);
    const std::size_t colon = spec.find(':');
    const std::string sig = spec.substr(0, colon);
    if (sig == "INT" || sig == "SIGINT") {
        g_test_signal = SIGINT;
    } else if (sig == "TERM" || sig == "SIGTERM") {
        g_test_signal = SIGTERM;
    }
    const std::string count = colon == std::string::npos ? "" : spec.substr(colon + 1);
    const bool digits =
        !count.empty() && count.size() < 19 && count.find_first_not_of("0123456789") == std::string::npos;
    if (!g_test_signal || !digits || std::strtoull(count.c_str(), nullptr, 10) == 0) {
        g_test_signal = 0;
        return "IOMMUSIM_TEST_STOP_AFTER='" + spec + "' is not INT:<jobs> or TERM:<jobs> (jobs > 0); ignored";
    }
    g_test_after = std::strtoull(count.c_str(), nullptr, 10);
    return "";
}

}  // namespace

std::string install_stop_signal_handlers() {
    if (g_installed) {
        return "";
    }
    g_installed = true;
    struct sigaction action {};
    action.sa_handler = record_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND | SA_RESTART;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    if (const char* hook = std::getenv("IOMMUSIM_TEST_STOP_AFTER"); hook && *hook) {
        return parse_test_hook(hook);
    }
    return "";
}

int stop_signal() {
    return g_stop_signal;
}

std::string stop_signal_name(int signal) {
    if (signal == SIGINT) {
        return "SIGINT";
    }
    if (signal == SIGTERM) {
        return "SIGTERM";
    }
    return "signal " + std::to_string(signal);
}

void note_cpu_job_done() {
    if (++g_jobs_done == g_test_after && g_test_signal) {
        std::raise(g_test_signal);
    }
}

uint64_t cpu_jobs_done() {
    return g_jobs_done;
}

}  // namespace iommusim
