#include "preload/exec_session.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <new>
#include <string>
#include <vector>

#include "iommusim/iommusim.h"
#include "platform/output_file.h"
#include "platform/platform.h"
#include "platform/stop_signal.h"
#include "program/cli_options.h"
#include "program/resolve_config.h"
#include "program/run_metadata.h"

namespace iommusim::preload {

namespace {

// ioctls of the program and every child it forked: counted in memory fork shares.
struct shared_counts {
    std::atomic<uint64_t> served{0};
    std::atomic<uint64_t> refused{0};
};

struct session {
    bool configured = false;
    bool owns_outputs = true;  // false in a forked child
    pid_t program = getpid();
    platform_config config;
    std::string iotlb_source = "default";
    uint64_t ioctls_served = 0;
    uint64_t ioctls_refused = 0;
    shared_counts* all = nullptr;
};

session& the_session() {
    static session* s = new session;  // never destroyed: read by the exit handler
    return *s;
}

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

// The program's own command line, for the statistics' "run" block.
std::vector<std::string> own_command_line() {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> args;
    for (std::size_t at = 0; at < all.size();) {
        const std::size_t end = all.find('\0', at);
        args.push_back(all.substr(at, end - at));
        at = end == std::string::npos ? all.size() : end + 1;
    }
    return args;
}

void write_statistics(platform& p, const std::string& path) {
    const std::vector<std::string> argv = own_command_line();
    program::run_metadata run{"exec", the_session().iotlb_source, argv, p.config()};
    std::string text;
    try {
        text = program::stats_with_run_metadata(p.stats_json(), run) + '\n';
    } catch (const std::exception& e) {
        std::fprintf(stderr, "iommusim exec: the statistics are not valid JSON: %s\n", e.what());
        return;
    }
    if (const std::string error = write_output_file(path, text); !error.empty()) {
        std::fprintf(stderr, "iommusim exec: --stats-json: %s\n", error.c_str());
    }
}

// Records of the model's log the summary shows when an ioctl was refused.
constexpr std::size_t summary_log_records = 8;

// The newest `records` lines of the model's log (iommusim_log_read), the program's dmesg.
void print_log_tail(std::size_t records) {
    std::string log(iommusim_log_read(nullptr, 0) + 1, '\0');
    log.resize(iommusim_log_read(log.data(), log.size()));
    std::vector<std::string> lines;
    for (std::size_t at = 0; at < log.size();) {
        const std::size_t end = std::min(log.find('\n', at), log.size());
        lines.push_back(log.substr(at, end - at));
        at = end + 1;
    }
    if (lines.empty()) {
        return;
    }
    std::fprintf(stderr, "  the model's log (newest records):\n");
    for (std::size_t i = lines.size() > records ? lines.size() - records : 0; i < lines.size(); ++i) {
        std::fprintf(stderr, "    %s\n", lines[i].c_str());
    }
}

// At the program's exit (registered after the platform's own static, so it runs before the
// platform is destroyed): the end of the waves, the statistics and the summary.
void finish_run() {
    session& s = the_session();
    if (!s.owns_outputs || getpid() != s.program) {
        return;
    }
    const std::string stats = env(env_stats_json);
    const bool summary = env(env_summary) == "1";
    try {
        if (summary) {
            std::fprintf(stderr,
                         "\niommusim exec: summary\n  ioctls served by the model        %llu\n"
                         "  ioctls refused                    %llu%s\n",
                         static_cast<unsigned long long>(s.ioctls_served),
                         static_cast<unsigned long long>(s.ioctls_refused),
                         s.ioctls_refused ? " (why: the model's log below)" : "");
            const uint64_t all_served = s.all->served.load(), all_refused = s.all->refused.load();
            if (all_served != s.ioctls_served || all_refused != s.ioctls_refused) {
                std::fprintf(stderr, "  with the forked children's        %llu served, %llu refused\n",
                             static_cast<unsigned long long>(all_served), static_cast<unsigned long long>(all_refused));
            }
        }
        if (!platform::exists() && stats.empty()) {
            return;  // this process never brought the platform up
        }
        platform& p = platform::instance();
        p.finish();
        if (!stats.empty()) {
            write_statistics(p, stats);
        }
        if (summary) {
            std::fprintf(stderr,
                         "  CPU jobs (ioctls and DMAs)        %llu\n  simulated time                    %llu ns\n",
                         static_cast<unsigned long long>(cpu_jobs_done()), static_cast<unsigned long long>(p.now_ns()));
            if (s.ioctls_refused != 0) {
                print_log_tail(summary_log_records);
            }
            if (!stats.empty()) {
                std::fprintf(stderr, "statistics written to %s\n", stats.c_str());
            }
            if (!p.config().waves.empty()) {
                std::fprintf(stderr, "waves written to %s\n", p.config().waves.c_str());
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "iommusim exec: the end of the run failed: %s\n", e.what());
    }
}

// A forked child ends without finishing the parent's waves (the platform's destructor would).
void end_child_without_outputs(int status, void*) {
    std::fflush(nullptr);
    _exit(status);
}

// Points the child's descriptors of the wave files (`stem`*) at /dev/null.
void silence_wave_descriptors(const std::string& waves) {
    const std::string stem = waves.substr(0, waves.rfind('.'));
    const int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    DIR* dir = opendir("/proc/self/fd");
    if (null_fd < 0 || dir == nullptr) {
        if (dir) {
            closedir(dir);
        }
        if (null_fd >= 0) {
            close(null_fd);
        }
        return;
    }
    while (const dirent* e = readdir(dir)) {
        const int fd = std::atoi(e->d_name);
        char target[4096];
        const std::string link = std::string("/proc/self/fd/") + e->d_name;
        const ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
        if (n <= 0 || fd == null_fd || fd == dirfd(dir)) {
            continue;
        }
        target[n] = '\0';
        if (std::string(target).rfind(stem, 0) == 0) {
            dup3(null_fd, fd, O_CLOEXEC);
        }
    }
    closedir(dir);
    close(null_fd);
}

// At load, before the program runs: the counts fork shares, and under `iommusim exec` the exit
// handler, registered after the platform's static so that it runs before the platform's destructor.
bool start_session() {
    session& s = the_session();
    void* shared = mmap(nullptr, sizeof(shared_counts), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    s.all = shared == MAP_FAILED ? new shared_counts : new (shared) shared_counts;
    if (env(env_summary) == "1" || !env(env_stats_json).empty()) {
        platform::exists();
        std::atexit(finish_run);
    }
    return true;
}

[[maybe_unused]] const bool session_started = start_session();

}  // namespace

void configure_platform_once() {
    session& s = the_session();
    if (s.configured) {
        return;
    }
    s.configured = true;
    program::cli_options opts;
    opts.config_file = env(env_config);
    if (const std::string iotlb = env(env_iotlb); !iotlb.empty()) {
        opts.iotlb = iotlb;
    }
    if (const std::string waves = env(env_waves); !waves.empty() && s.owns_outputs) {
        opts.waves = waves;
    }
    if (s.owns_outputs) {
        opts.stats_json = env(env_stats_json);
    }
    if (const std::string seed = env(env_seed); !seed.empty()) {
        opts.seed = std::strtoull(seed.c_str(), nullptr, 0);
    }
    platform_config config;
    std::string error = program::resolve_config(opts, "exec", config, s.iotlb_source);
    if (error.empty() && !platform::configure(config, &error)) {
        error = "bad configuration: " + error;
    }
    if (!error.empty()) {
        std::fprintf(stderr, "iommusim: %s (the model runs with its defaults)\n", error.c_str());
    } else {
        s.config = config;
    }
}

void note_ioctl(bool ok) {
    session& s = the_session();
    ++(ok ? s.ioctls_served : s.ioctls_refused);
    ++(ok ? s.all->served : s.all->refused);
}

void forked_child_outputs_off() {
    session& s = the_session();
    s.owns_outputs = false;
    if (!s.configured) {
        return;  // configure_platform_once leaves the waves out
    }
    if (!platform::exists()) {
        platform_config quiet = s.config;
        quiet.waves.clear();
        platform::configure(quiet);
        return;
    }
    if (platform::instance().config().waves.empty()) {
        return;
    }
    silence_wave_descriptors(platform::instance().config().waves);
    on_exit(end_child_without_outputs, nullptr);
}

}  // namespace iommusim::preload
