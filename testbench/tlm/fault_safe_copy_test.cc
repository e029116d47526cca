// tlm/fault_safe_copy: copies to and from host memory that can be unmapped or read-only stop
// with a count, never a signal, through process_vm_readv/writev and through the pipe; a forked
// child copies its own memory, not its parent's.
#include "tlm/fault_safe_copy.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace iommusim {
namespace {

constexpr std::size_t page = 4096;

class FaultSafeCopy : public ::testing::TestWithParam<bool> {
  protected:
    void SetUp() override {
        fault_safe_copy_use_pipe(GetParam());
        void* m = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(m, MAP_FAILED);
        m_base = static_cast<char*>(m);
    }
    void TearDown() override {
        munmap(m_base, 2 * page);
        fault_safe_copy_use_pipe(false);
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
    EXPECT_EQ(sizeof out, fault_safe_read(out, m_base + page, sizeof out));
    EXPECT_EQ(0u, fault_safe_read(out, m_base, 0));
}

TEST_P(FaultSafeCopy, WritesStopAtReadOnlyAndUnmappedMemory) {
    const std::string data(32, 'w');
    ASSERT_EQ(0, mprotect(m_base + page, page, PROT_READ));
    EXPECT_EQ(16u, fault_safe_write(m_base + page - 16, data.data(), data.size()));
    EXPECT_EQ('w', m_base[page - 1]);
    EXPECT_EQ(0, m_base[page]) << "the read-only page is unchanged";
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

INSTANTIATE_TEST_SUITE_P(Backends, FaultSafeCopy, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                             return info.param ? std::string("Pipe") : std::string("ProcessVm");
                         });

}  // namespace
}  // namespace iommusim
