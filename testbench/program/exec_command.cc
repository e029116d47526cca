#include "program/exec_command.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "platform/platform_config.h"
#include "preload/exec_session.h"
#include "program/resolve_config.h"

namespace iommusim::program {

namespace {

constexpr const char* preload_name = "libiommusim-preload.so";

// Beside this program (the build tree), else in the library directory of its install tree.
std::string find_preload_library(std::string& error) {
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) {
        error = "cannot find this program's own path: " + ec.message();
        return "";
    }
    const std::filesystem::path candidates[] = {
        self.parent_path() / preload_name,
        self.parent_path() / IOMMUSIM_LIBDIR_FROM_BINDIR / preload_name,
    };
    for (const auto& c : candidates) {
        if (std::filesystem::exists(c, ec)) {
            return std::filesystem::weakly_canonical(c, ec).string();
        }
    }
    error = std::string(preload_name) + " is neither beside " + self.string() + " nor in " +
            (self.parent_path() / IOMMUSIM_LIBDIR_FROM_BINDIR).lexically_normal().string();
    return "";
}

std::string absolute(const std::string& path) {
    std::error_code ec;
    const std::filesystem::path p = std::filesystem::absolute(path, ec);
    return ec ? path : p.lexically_normal().string();
}

void set_env(const char* name, const std::string& value) {
    if (!value.empty()) {
        setenv(name, value.c_str(), 1);
    } else {
        unsetenv(name);
    }
}

}  // namespace

int exec_program(const cli_options& opts) {
    platform_config config;
    std::string iotlb_source;
    if (const std::string error = resolve_config(opts, "exec", config, iotlb_source); !error.empty()) {
        std::cerr << "iommusim exec: " << error << '\n';
        return 2;
    }
    std::string error;
    const std::string library = find_preload_library(error);
    if (library.empty()) {
        std::cerr << "iommusim exec: " << error << '\n';
        return 2;
    }
    const char* before = std::getenv("LD_PRELOAD");
    set_env("LD_PRELOAD", before && *before ? library + ":" + before : library);
    set_env(preload::env_config, opts.config_file.empty() ? "" : absolute(opts.config_file));
    set_env(preload::env_iotlb, opts.iotlb.value_or(""));
    set_env(preload::env_waves, config.waves.empty() ? "" : absolute(config.waves));
    set_env(preload::env_stats_json, opts.stats_json.empty() ? "" : absolute(opts.stats_json));
    set_env(preload::env_seed, opts.seed ? std::to_string(*opts.seed) : "");
    set_env(preload::env_summary, opts.level == verbosity::quiet ? "" : "1");

    std::vector<char*> argv;
    for (const std::string& a : opts.exec_args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    std::fflush(nullptr);
    const pid_t child = fork();
    if (child < 0) {
        std::cerr << "iommusim exec: fork: " << std::strerror(errno) << '\n';
        return 2;
    }
    if (child == 0) {
        execvp(argv[0], argv.data());
        std::fprintf(stderr, "iommusim exec: cannot run %s: %s\n", argv[0], std::strerror(errno));
        _exit(127);
    }
    // As a shell waiting for a foreground job: the terminal's SIGINT/SIGQUIT are the program's.
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) {
            std::cerr << "iommusim exec: waitpid: " << std::strerror(errno) << '\n';
            return 2;
        }
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}

}  // namespace iommusim::program
