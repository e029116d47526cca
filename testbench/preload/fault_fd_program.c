/* The fault fd (IOMMU_FAULT_QUEUE_ALLOC hands out a file descriptor) as a plain program sees it through
 * the C library under libiommusim-preload.so: a real descriptor that poll, select and epoll wait on,
 * read and write of whole records, dup, and a forked child. Each expectation is what Linux gives
 * (drivers/iommu/iommufd/fault.c: O_CLOEXEC, not seekable, POLLOUT always and POLLIN | POLLRDNORM
 * while a page request group waits, an empty queue reads 0). The uAPI is iommusim/iommufd.h, which
 * carries the selftest's iommufd_test.h (IOMMU_TEST_OP_TRIGGER_IOPF).
 *
 * usage: fault_fd_program CASE    (CASE: poll, dup, fork) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "iommusim/iommufd.h"

static int call(int fd, unsigned long request, void* arg) {
    return ioctl(fd, request, arg) == 0 ? 0 : errno;
}

static int test_cmd(int fd, struct iommu_test_cmd* cmd) {
    cmd->size = sizeof(*cmd);
    return call(fd, IOMMU_TEST_CMD, cmd);
}

/* An iommufd with a mock device attached to a nested HWPT that reports to a fault object. */
struct setup {
    int fd;
    uint32_t device_id;
    uint32_t fault_id;
    uint32_t iopf_hwpt_id;
    int fault_fd;
};

static struct setup set_up(void) {
    struct setup s = {.fd = open("/dev/iommu", O_RDWR), .fault_fd = -1};
    CHECK(s.fd >= 0);
    struct iommu_ioas_alloc alloc = {.size = sizeof(alloc)};
    CHECK(call(s.fd, IOMMU_IOAS_ALLOC, &alloc) == 0);
    struct iommu_test_cmd mock = {.op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = alloc.out_ioas_id};
    CHECK(test_cmd(s.fd, &mock) == 0);
    s.device_id = mock.mock_domain.out_idev_id;
    struct iommu_hwpt_alloc parent = {.size = sizeof(parent),
                                      .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
                                      .dev_id = s.device_id,
                                      .pt_id = alloc.out_ioas_id};
    CHECK(call(s.fd, IOMMU_HWPT_ALLOC, &parent) == 0);
    struct iommu_fault_alloc fault = {.size = sizeof(fault)};
    CHECK(call(s.fd, IOMMU_FAULT_QUEUE_ALLOC, &fault) == 0);
    s.fault_id = fault.out_fault_id;
    s.fault_fd = (int)fault.out_fault_fd;
    struct iommu_hwpt_selftest data = {.iotlb = IOMMU_TEST_IOTLB_DEFAULT};
    struct iommu_hwpt_alloc nested = {.size = sizeof(nested),
                                      .flags = IOMMU_HWPT_FAULT_ID_VALID,
                                      .dev_id = s.device_id,
                                      .pt_id = parent.out_hwpt_id,
                                      .data_type = IOMMU_HWPT_DATA_SELFTEST,
                                      .data_len = sizeof(data),
                                      .data_uptr = (uintptr_t)&data,
                                      .fault_id = s.fault_id};
    CHECK(call(s.fd, IOMMU_HWPT_ALLOC, &nested) == 0);
    s.iopf_hwpt_id = nested.out_hwpt_id;
    struct iommu_test_cmd replace = {.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = mock.mock_domain.out_stdev_id};
    replace.mock_domain_replace.pt_id = s.iopf_hwpt_id;
    CHECK(test_cmd(s.fd, &replace) == 0);
    return s;
}

static int trigger(int fd, uint32_t device_id, uint32_t grpid) {
    struct iommu_test_cmd cmd = {.op = IOMMU_TEST_OP_TRIGGER_IOPF};
    cmd.trigger_iopf.dev_id = device_id;
    cmd.trigger_iopf.pasid = 1;
    cmd.trigger_iopf.grpid = grpid;
    cmd.trigger_iopf.perm = IOMMU_PGFAULT_PERM_READ;
    cmd.trigger_iopf.addr = 0x4000;
    return test_cmd(fd, &cmd);
}

/* poll's events for fd without waiting, -1 on error. */
static int events(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDNORM | POLLOUT};
    return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

static int readable(int fd) {
    const int e = events(fd);
    return e >= 0 && (e & (POLLIN | POLLRDNORM)) == (POLLIN | POLLRDNORM);
}

/* Reads one group, answers it: 1 when the record is the group triggered with grpid. */
static int read_and_answer(int fault_fd, uint32_t device_id, uint32_t grpid) {
    struct iommu_hwpt_pgfault fault;
    memset(&fault, 0xff, sizeof(fault));
    if (read(fault_fd, &fault, sizeof(fault)) != (ssize_t)sizeof(fault)) {
        return 0;
    }
    const int ok = fault.dev_id == device_id && fault.grpid == grpid && fault.pasid == 1 &&
                   fault.flags == (IOMMU_PGFAULT_FLAGS_PASID_VALID | IOMMU_PGFAULT_FLAGS_LAST_PAGE) &&
                   fault.addr == 0x4000 && fault.length == 0;
    struct iommu_hwpt_page_response response = {.cookie = fault.cookie, .code = IOMMUFD_PAGE_RESP_SUCCESS};
    return ok && write(fault_fd, &response, sizeof(response)) == (ssize_t)sizeof(response);
}

static void tear_down(struct setup* s) {
    struct iommu_destroy d = {.size = sizeof(d), .id = s->fault_id};
    CHECK(call(s->fd, IOMMU_DESTROY, &d) == EBUSY); /* the HWPT and the fd hold it */
    CHECK(close(s->fault_fd) == 0);
    close(s->fd);
}

/* poll, select and epoll see the queue's readiness; reads and writes take whole records. */
static void case_poll(void) {
    struct setup s = set_up();
    CHECK(s.fault_fd > 0);
    CHECK((fcntl(s.fault_fd, F_GETFD) & FD_CLOEXEC) != 0); /* get_unused_fd_flags(O_CLOEXEC) */
    CHECK((fcntl(s.fault_fd, F_GETFL) & O_ACCMODE) == O_RDWR);
    CHECK((events(s.fault_fd) & (POLLIN | POLLOUT)) == POLLOUT);
    struct iommu_hwpt_pgfault fault;
    CHECK(read(s.fault_fd, &fault, sizeof(fault)) == 0); /* nothing waits: 0, no blocking */

    const int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event want = {.events = EPOLLIN};
    CHECK(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, s.fault_fd, &want) == 0);
    struct epoll_event got;
    CHECK(epoll_wait(ep, &got, 1, 0) == 0);

    CHECK(trigger(s.fd, s.device_id, 2) == 0);
    CHECK(readable(s.fault_fd));
    CHECK(epoll_wait(ep, &got, 1, 0) == 1 && (got.events & EPOLLIN) != 0);
    fd_set reads;
    FD_ZERO(&reads);
    FD_SET(s.fault_fd, &reads);
    struct timeval now = {0, 0};
    CHECK(select(s.fault_fd + 1, &reads, NULL, NULL, &now) == 1 && FD_ISSET(s.fault_fd, &reads));

    CHECK(read(s.fault_fd, &fault, sizeof(fault) - 1) == -1 && errno == ESPIPE);
    CHECK(pread(s.fault_fd, &fault, sizeof(fault), 0) == -1 && errno == ESPIPE);
    CHECK(read_and_answer(s.fault_fd, s.device_id, 2));
    CHECK(!readable(s.fault_fd));
    CHECK(epoll_wait(ep, &got, 1, 0) == 0);
    struct iommu_hwpt_page_response again = {.cookie = 1, .code = IOMMUFD_PAGE_RESP_SUCCESS};
    CHECK(write(s.fault_fd, &again, sizeof(again)) == -1 && errno == EINVAL); /* answered already */
    close(ep);
    tear_down(&s);
}

/* Every descriptor of the fault file reaches the one queue; the last close releases it. */
static void case_dup(void) {
    struct setup s = set_up();
    const int copy = dup(s.fault_fd);
    CHECK(copy >= 0 && copy != s.fault_fd);
    CHECK(trigger(s.fd, s.device_id, 3) == 0);
    CHECK(readable(copy));
    CHECK(close(s.fault_fd) == 0);
    CHECK(readable(copy));
    CHECK(read_and_answer(copy, s.device_id, 3));
    CHECK(!readable(copy));
    s.fault_fd = copy;
    tear_down(&s);
}

/* A forked child inherits the fault fd: the group its own trigger (on the inherited iommufd, served
 * by the parent's model) queues makes the shared descriptor readable in both processes. */
static void case_fork(void) {
    struct setup s = set_up();
    fflush(stdout);
    const pid_t child = fork();
    if (child == 0) {
        const int ok = !readable(s.fault_fd) && trigger(s.fd, s.device_id, 4) == 0 && readable(s.fault_fd);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(readable(s.fault_fd));
    CHECK(read_and_answer(s.fault_fd, s.device_id, 4));
    CHECK(!readable(s.fault_fd));
    tear_down(&s);
}

struct test_case {
    const char* name;
    void (*run)(void);
};

static const struct test_case cases[] = {
    {"poll", case_poll},
    {"dup", case_dup},
    {"fork", case_fork},
};

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASE\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        if (strcmp(argv[1], cases[i].name) == 0) {
            cases[i].run();
            printf("%s: %s\n", cases[i].name, failures ? "FAILED" : "passed");
            return failures ? 1 : 0;
        }
    }
    fprintf(stderr, "%s: unknown case '%s'\n", argv[0], argv[1]);
    return 2;
}
