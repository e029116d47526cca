#include "tlm/fault_safe_copy.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>

// The fault-fixup copy needs the x86-64 string copy below and a fault handler of its own, which a
// sanitizer's runtime keeps for itself.
#if defined(__x86_64__) && defined(__linux__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#if defined(__has_feature)
#if !__has_feature(address_sanitizer) && !__has_feature(thread_sanitizer) && !__has_feature(memory_sanitizer)
#define IOMMUSIM_FAULT_FIXUP 1
#endif
#else
#define IOMMUSIM_FAULT_FIXUP 1
#endif
#endif

#ifdef IOMMUSIM_FAULT_FIXUP
// len bytes from src to dst, eight at a time (`rep movsq`), then the last len % 8 (`rep movsb`);
// returns the bytes not copied. A string instruction's fault leaves its registers at the faulting
// element (it is restartable): the handler resumes a faulting `rep movsq` at
// iommusim_fault_fixup_bytes, which copies the rest byte by byte so that the copy stops exactly at
// the first inaccessible byte, and a faulting `rep movsb` at iommusim_fault_fixup_resume, which
// returns the count left in RCX.
extern "C" std::size_t iommusim_fault_fixup_copy(void* dst, const void* src, std::size_t len);
extern "C" const char iommusim_fault_fixup_quads[];
extern "C" const char iommusim_fault_fixup_bytes[];
extern "C" const char iommusim_fault_fixup_tail[];
extern "C" const char iommusim_fault_fixup_resume[];
asm(R"(
    .pushsection .text
    .p2align 4
    .globl iommusim_fault_fixup_copy
    .hidden iommusim_fault_fixup_copy
    .type iommusim_fault_fixup_copy, @function
iommusim_fault_fixup_copy:
    .cfi_startproc
    movq %rdx, %rcx
    shrq $3, %rcx
    .globl iommusim_fault_fixup_quads
    .hidden iommusim_fault_fixup_quads
iommusim_fault_fixup_quads:
    rep movsq
    movq %rdx, %rcx
    andq $7, %rcx
    .globl iommusim_fault_fixup_tail
    .hidden iommusim_fault_fixup_tail
iommusim_fault_fixup_tail:
    rep movsb
    .globl iommusim_fault_fixup_resume
    .hidden iommusim_fault_fixup_resume
iommusim_fault_fixup_resume:
    movq %rcx, %rax
    ret
    .globl iommusim_fault_fixup_bytes
    .hidden iommusim_fault_fixup_bytes
iommusim_fault_fixup_bytes:
    shlq $3, %rcx
    andq $7, %rdx
    addq %rdx, %rcx
    jmp iommusim_fault_fixup_tail
    .cfi_endproc
    .size iommusim_fault_fixup_copy, . - iommusim_fault_fixup_copy
    .popsection
)");
#endif

namespace iommusim {

namespace {

constexpr int automatic = -1;
std::atomic<int> g_forced{automatic};  // a fault_safe_backend, or automatic
std::atomic<bool> g_program_handler{false};

#ifdef IOMMUSIM_FAULT_FIXUP
// What SIGSEGV and SIGBUS did before the fault handler: every fault not of the copy goes there.
struct sigaction g_replaced[2];

struct sigaction& replaced(int sig) {
    return g_replaced[sig == SIGBUS ? 1 : 0];
}

void on_fault(int sig, siginfo_t* info, void* context) {
    greg_t& ip = static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RIP];
    // The copy's own access faulted (a kernel-raised fault, si_code > 0, not a signal someone sent
    // while it ran): it ends there.
    if (info->si_code > 0) {
        if (ip == reinterpret_cast<greg_t>(iommusim_fault_fixup_quads)) {
            ip = reinterpret_cast<greg_t>(iommusim_fault_fixup_bytes);
            return;
        }
        if (ip == reinterpret_cast<greg_t>(iommusim_fault_fixup_tail)) {
            ip = reinterpret_cast<greg_t>(iommusim_fault_fixup_resume);
            return;
        }
    }
    const struct sigaction& before = replaced(sig);
    if ((before.sa_flags & SA_SIGINFO) != 0) {
        before.sa_sigaction(sig, info, context);
        return;
    }
    if (before.sa_handler != SIG_DFL && before.sa_handler != SIG_IGN) {
        before.sa_handler(sig);
        return;
    }
    // The default action: restored, it acts when the faulting instruction runs again (a sent
    // signal is sent again).
    sigaction(sig, &before, nullptr);
    if (info->si_code <= 0) {
        raise(sig);
    }
}

bool install_fault_handlers() {
    struct sigaction ours {};
    ours.sa_sigaction = on_fault;
    ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&ours.sa_mask);
    if (sigaction(SIGSEGV, nullptr, &replaced(SIGSEGV)) != 0 || sigaction(SIGBUS, nullptr, &replaced(SIGBUS)) != 0 ||
        sigaction(SIGSEGV, &ours, nullptr) != 0) {
        return false;
    }
    if (sigaction(SIGBUS, &ours, nullptr) != 0) {
        sigaction(SIGSEGV, &replaced(SIGSEGV), nullptr);
        return false;
    }
    return true;
}

bool fault_handlers_installed() {
    static const bool installed = install_fault_handlers();
    return installed;
}
#endif

// Our pid, read once: a system call saved per copy (getpid is not cached by glibc). A forked
// child must not copy to and from its parent, so the child re-reads it.
std::atomic<pid_t> g_pid{0};

pid_t self_pid() {
    static const bool fork_handler = [] {
        return pthread_atfork(nullptr, nullptr, [] { g_pid.store(0, std::memory_order_relaxed); }) == 0;
    }();
    pid_t pid = g_pid.load(std::memory_order_relaxed);
    if (pid == 0 || !fork_handler) {
        pid = getpid();
        g_pid.store(pid, std::memory_order_relaxed);
    }
    return pid;
}

bool vm_calls_work() {
    static const bool ok = [] {
        char a = 1;
        char b = 0;
        iovec l{&b, 1};
        iovec r{&a, 1};
        return process_vm_readv(self_pid(), &l, 1, &r, 1, 0) == 1 && b == 1;
    }();
    return ok;
}

// `host` is the foreign address, `local` our own buffer.
std::size_t transfer_pipe(char* local, char* host, std::size_t len, bool to_host) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return len;
    }
    std::size_t done = 0;
    const uintptr_t page = 4096;
    while (done < len) {
        // One host page at a time: a pipe transfer is all-or-nothing per call, and faults are
        // page-granular, so this reports exactly how far the copy got.
        const uintptr_t to_boundary = page - (reinterpret_cast<uintptr_t>(host + done) & (page - 1));
        const std::size_t chunk = static_cast<std::size_t>(std::min<uintptr_t>(len - done, to_boundary));
        ssize_t n = 0;
        if (to_host) {
            if (write(fds[1], local + done, chunk) != static_cast<ssize_t>(chunk)) {
                break;
            }
            n = read(fds[0], host + done, chunk);
        } else {
            n = write(fds[1], host + done, chunk);
            if (n > 0 && read(fds[0], local + done, static_cast<std::size_t>(n)) != n) {
                n = -1;
            }
        }
        if (n <= 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
        if (static_cast<std::size_t>(n) < chunk) {
            break;
        }
    }
    close(fds[0]);
    close(fds[1]);
    return len - done;
}

// process_vm_* stop at the first inaccessible page and report how much was transferred; an
// inaccessible first byte gives -1/EFAULT. Either way we count what actually moved.
std::size_t transfer_process_vm(char* local, char* host, std::size_t len, bool to_host) {
    const pid_t pid = self_pid();
    std::size_t done = 0;
    while (done < len) {
        iovec l{local + done, len - done};
        iovec r{host + done, len - done};
        const ssize_t n = to_host ? process_vm_writev(pid, &l, 1, &r, 1, 0) : process_vm_readv(pid, &l, 1, &r, 1, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    return len - done;
}

std::size_t transfer(char* local, char* host, std::size_t len, bool to_host) {
    if (len == 0) {
        return 0;
    }
    switch (fault_safe_copy_backend()) {
        case fault_safe_backend::fault_fixup:
#ifdef IOMMUSIM_FAULT_FIXUP
            return to_host ? iommusim_fault_fixup_copy(host, local, len) : iommusim_fault_fixup_copy(local, host, len);
#else
            break;  // not chosen without it
#endif
        case fault_safe_backend::process_vm:
            return transfer_process_vm(local, host, len, to_host);
        case fault_safe_backend::pipe:
            break;
    }
    return transfer_pipe(local, host, len, to_host);
}

}  // namespace

std::size_t fault_safe_read(void* dst, const void* src, std::size_t len) {
    return transfer(static_cast<char*>(dst), const_cast<char*>(static_cast<const char*>(src)), len, false);
}

std::size_t fault_safe_write(void* dst, const void* src, std::size_t len) {
    return transfer(const_cast<char*>(static_cast<const char*>(src)), static_cast<char*>(dst), len, true);
}

const char* fault_safe_backend_name(fault_safe_backend backend) {
    switch (backend) {
        case fault_safe_backend::fault_fixup:
            return "FaultFixup";
        case fault_safe_backend::process_vm:
            return "ProcessVm";
        case fault_safe_backend::pipe:
            break;
    }
    return "Pipe";
}

bool fault_safe_copy_fixup_available() {
#ifdef IOMMUSIM_FAULT_FIXUP
    return !g_program_handler.load(std::memory_order_relaxed) && fault_handlers_installed();
#else
    return false;
#endif
}

fault_safe_backend fault_safe_copy_backend() {
    const int forced = g_forced.load(std::memory_order_relaxed);
    if (forced == static_cast<int>(fault_safe_backend::pipe)) {
        return fault_safe_backend::pipe;
    }
    if (forced != static_cast<int>(fault_safe_backend::process_vm) && fault_safe_copy_fixup_available()) {
        return fault_safe_backend::fault_fixup;
    }
    return vm_calls_work() ? fault_safe_backend::process_vm : fault_safe_backend::pipe;
}

void fault_safe_copy_disposition_set(int signum, [[maybe_unused]] const void* handler) {
    if (signum != SIGSEGV && signum != SIGBUS) {
        return;
    }
#ifdef IOMMUSIM_FAULT_FIXUP
    if (handler == reinterpret_cast<const void*>(&on_fault)) {
        return;  // the copies' own (installing it calls the program's sigaction)
    }
#endif
    g_program_handler.store(true, std::memory_order_relaxed);
}

void fault_safe_copy_use(std::optional<fault_safe_backend> backend) {
    g_forced.store(backend ? static_cast<int>(*backend) : automatic, std::memory_order_relaxed);
}

}  // namespace iommusim
