// tlm/fault_safe_copy: copies to and from host memory that can be unmapped or read-only stop
// with a count, never a signal, through the fault-fixup copy, process_vm_readv/writev and the
// pipe; a forked child copies its own memory, not its parent's; the fault handler passes every
// other fault on to what it replaced, and a program's own handler turns the fixup off.
#include "tlm/fault_safe_copy.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace iommusim {
namespace {

constexpr std::size_t page = 4096;

class FaultSafeCopy : public ::testing::TestWithParam<fault_safe_backend> {
  protected:
    void SetUp() override {
        if (GetParam() == fault_safe_backend::fault_fixup && !fault_safe_copy_fixup_available()) {
            GTEST_SKIP() << "no fault-fixup copy in this build (a sanitizer keeps the fault handler)";
        }
        fault_safe_copy_use(GetParam());
        ASSERT_EQ(fault_safe_copy_backend(), GetParam());
        void* m = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(m, MAP_FAILED);
        m_base = static_cast<char*>(m);
    }
    void TearDown() override {
        if (m_base != nullptr) {
            munmap(m_base, 2 * page);
        }
        fault_safe_copy_use(std::nullopt);
    }
    char* m_base = nullptr;
};

TEST_P(FaultSafeCopy, CopiesUpToTheFirstInaccessiblePage) {
    std::memset(m_base, 0x11, 2 * page);
    char out[32];
    std::memset(out, 0x7e, sizeof out);
    ASSERT_EQ(0, mprotect(m_base + page, page, PROT_NONE));
    EXPECT_EQ(16u, fault_safe_read(out, m_base + page - 16, sizeof out));
    EXPECT_EQ(0x11, out[15]);
    EXPECT_EQ(0x7e, out[16]) << "the tail is left as it was";
    // Not 8-byte aligned: an 8-byte piece straddles the boundary, and the copy still ends exactly there.
    std::memset(out, 0x7e, sizeof out);
    EXPECT_EQ(19u, fault_safe_read(out, m_base + page - 13, sizeof out));
    EXPECT_EQ(0x11, out[12]);
    EXPECT_EQ(0x7e, out[13]);
    EXPECT_EQ(sizeof out, fault_safe_read(out, m_base + page, sizeof out));
    EXPECT_EQ(0u, fault_safe_read(out, m_base, 0));
}

TEST_P(FaultSafeCopy, WritesStopAtReadOnlyAndUnmappedMemory) {
    const std::string data(32, 'w');
    ASSERT_EQ(0, mprotect(m_base + page, page, PROT_READ));
    EXPECT_EQ(16u, fault_safe_write(m_base + page - 16, data.data(), data.size()));
    EXPECT_EQ('w', m_base[page - 1]);
    EXPECT_EQ(0, m_base[page]) << "the read-only page is unchanged";
    std::memset(m_base + page - 16, 0, 16);
    EXPECT_EQ(27u, fault_safe_write(m_base + page - 5, data.data(), data.size()));
    EXPECT_EQ('w', m_base[page - 1]);
    EXPECT_EQ(0, m_base[page - 6]);
    ASSERT_EQ(0, munmap(m_base + page, page));
    EXPECT_EQ(data.size(), fault_safe_write(m_base + page, data.data(), data.size()));
    EXPECT_EQ(0u, fault_safe_write(m_base, data.data(), data.size()));
    EXPECT_EQ(0, std::memcmp(m_base, data.data(), data.size()));
}

TEST_P(FaultSafeCopy, AForkedChildCopiesItsOwnMemory) {
    int value = 1;
    int seen = 0;
    ASSERT_EQ(0u, fault_safe_read(&seen, &value, sizeof value));  // the parent's pid is known now
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        value = 2;  // only in the child's copy of the page
        const bool ok = fault_safe_read(&seen, &value, sizeof value) == 0 && seen == 2;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(child, waitpid(child, &status, 0));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, FaultSafeCopy,
                         ::testing::Values(fault_safe_backend::fault_fixup, fault_safe_backend::process_vm,
                                           fault_safe_backend::pipe),
                         [](const ::testing::TestParamInfo<fault_safe_backend>& info) {
                             return std::string(fault_safe_backend_name(info.param));
                         });

// The exit status of a fresh copy of this test program (each process installs the fault handler
// once, on its first use) that runs only `test`, with IOMMUSIM_FAULT_CHILD=role; 1000 + the signal
// that ended it.
int run_child(const char* test, const char* role) {
    const std::string filter = std::string("--gtest_filter=") + test;
    char* const argv[] = {const_cast<char*>("fault_safe_copy_test"), const_cast<char*>(filter.c_str()), nullptr};
    std::string child_env = std::string("IOMMUSIM_FAULT_CHILD=") + role;
    std::vector<char*> env{child_env.data()};
    for (char** e = environ; *e != nullptr; ++e) {
        env.push_back(*e);
    }
    env.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv, env.data()) != 0) {
        return -1;
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) {
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

// The role this process plays for a test's parent ("" in the parent).
std::string child_role() {
    const char* role = std::getenv("IOMMUSIM_FAULT_CHILD");
    return role != nullptr ? role : "";
}

char* inaccessible_page() {
    void* m = mmap(nullptr, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? nullptr : static_cast<char*>(m);
}

// A fault-fixup copy from an inaccessible page returns its whole length, or the child exits 40.
void copy_from_inaccessible_page(char* bad) {
    char out[8];
    if (bad == nullptr || fault_safe_copy_backend() != fault_safe_backend::fault_fixup ||
        fault_safe_read(out, bad, sizeof out) != sizeof out) {
        _exit(40);
    }
}

volatile sig_atomic_t g_copy_returned = 0;

// A fault the copies did not cause goes to the handler the fault handler replaced (here the
// program's, which exits 42 once the copy before it has returned), or to the default action where
// there was none (the process dies of SIGSEGV).
TEST(FaultSafeCopyHandler, OtherFaultsReachWhatItReplaced) {
    const std::string role = child_role();
    if (role.empty()) {
        if (!fault_safe_copy_fixup_available()) {
            GTEST_SKIP() << "no fault-fixup copy in this build (a sanitizer keeps the fault handler)";
        }
        EXPECT_EQ(run_child("FaultSafeCopyHandler.OtherFaultsReachWhatItReplaced", "handler"), 42);
        EXPECT_EQ(run_child("FaultSafeCopyHandler.OtherFaultsReachWhatItReplaced", "default"), 1000 + SIGSEGV);
        return;
    }
    if (role == "handler") {
        struct sigaction program {};
        program.sa_handler = [](int) { _exit(g_copy_returned ? 42 : 41); };
        sigaction(SIGSEGV, &program, nullptr);  // before the copies' handler (its first use is below)
    }
    char* bad = inaccessible_page();
    copy_from_inaccessible_page(bad);
    g_copy_returned = 1;
    *static_cast<volatile char*>(bad) = 1;  // the program's own fault
    _exit(43);
}

// A SIGSEGV or SIGBUS handler the program sets (the preload library reports it) turns the fixup
// off for good, and the copies stay safe; another signal's does not.
TEST(FaultSafeCopyHandler, AProgramHandlerTurnsTheFixupOff) {
    if (child_role().empty()) {
        if (!fault_safe_copy_fixup_available()) {
            GTEST_SKIP() << "no fault-fixup copy in this build (a sanitizer keeps the fault handler)";
        }
        EXPECT_EQ(run_child("FaultSafeCopyHandler.AProgramHandlerTurnsTheFixupOff", "program"), 0);
        return;
    }
    char* bad = inaccessible_page();
    copy_from_inaccessible_page(bad);
    fault_safe_copy_disposition_set(SIGUSR1, reinterpret_cast<const void*>(SIG_IGN));
    const bool kept = fault_safe_copy_backend() == fault_safe_backend::fault_fixup;
    fault_safe_copy_disposition_set(SIGBUS, reinterpret_cast<const void*>(SIG_DFL));
    const bool off = !fault_safe_copy_fixup_available() && fault_safe_copy_backend() != fault_safe_backend::fault_fixup;
    char out[8];
    const bool still_safe = fault_safe_read(out, bad, sizeof out) == sizeof out;
    _exit(kept && off && still_safe ? 0 : 1);
}

}  // namespace
}  // namespace iommusim
