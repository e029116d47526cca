/* The selftest's access files (IOMMU_TEST_OP_CREATE_ACCESS hands out a file descriptor) as a plain
 * program sees them through the C library under libiommusim-preload.so: dup, close, fork, and an
 * access that outlives the iommufd it was created on. Each expectation is what Linux gives: the
 * access file is a real file (kernel selftest.c iommfd_test_staccess_fops, O_CLOEXEC) holding its
 * context, found by descriptor in the caller's table (fget; EBADFD for anything else), released with
 * its last descriptor. The uAPI is iommusim/iommufd.h, which carries the selftest's iommufd_test.h.
 *
 * usage: access_file_program CASE    (CASE: dup, fork, outlives_iommufd) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "iommusim/iommufd.h"

#define PAGE 4096UL
#define IOVA 0x10000UL

static int call(int fd, unsigned long request, void* arg) {
    return ioctl(fd, request, arg) == 0 ? 0 : errno;
}

static int test_cmd(int fd, struct iommu_test_cmd* cmd) {
    cmd->size = sizeof(*cmd);
    return call(fd, IOMMU_TEST_CMD, cmd);
}

/* Pins on the pages of [at, at + length) (MD_CHECK_REFS): 0 when each has exactly `refs`. */
static int refs(int fd, const void* at, uint64_t length, uint32_t count) {
    struct iommu_test_cmd cmd = {.op = IOMMU_TEST_OP_MD_CHECK_REFS};
    cmd.check_refs.uptr = (uintptr_t)at;
    cmd.check_refs.length = length;
    cmd.check_refs.refs = count;
    return test_cmd(fd, &cmd);
}

static int access_pages(int fd, int access_fd, uint64_t iova, uint64_t length, const void* uptr) {
    struct iommu_test_cmd cmd = {.op = IOMMU_TEST_OP_ACCESS_PAGES, .id = (uint32_t)access_fd};
    cmd.access_pages.iova = iova;
    cmd.access_pages.length = length;
    cmd.access_pages.uptr = (uintptr_t)uptr;
    return test_cmd(fd, &cmd);
}

static int access_read(int fd, int access_fd, uint64_t iova, void* out, uint64_t length) {
    struct iommu_test_cmd cmd = {.op = IOMMU_TEST_OP_ACCESS_RW, .id = (uint32_t)access_fd};
    cmd.access_rw.iova = iova;
    cmd.access_rw.length = length;
    cmd.access_rw.uptr = (uintptr_t)out;
    return test_cmd(fd, &cmd);
}

static int destroy(int fd, uint32_t id) {
    struct iommu_destroy d = {.size = sizeof(d), .id = id};
    return call(fd, IOMMU_DESTROY, &d);
}

/* An iommufd with an IOAS mapping the two pages of buf at IOVA, and an access on it that pinned
 * both: the access file's descriptor, or -1. */
struct setup {
    int fd;
    uint32_t ioas;
    uint8_t* buf;
    int access_fd;
};

static struct setup set_up(void) {
    struct setup s = {.fd = open("/dev/iommu", O_RDWR), .access_fd = -1};
    s.buf = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(s.fd >= 0 && s.buf != MAP_FAILED);
    for (unsigned i = 0; i < 2 * PAGE; ++i) {
        s.buf[i] = (uint8_t)(i * 5 + 7);
    }
    struct iommu_ioas_alloc alloc = {.size = sizeof(alloc)};
    CHECK(call(s.fd, IOMMU_IOAS_ALLOC, &alloc) == 0);
    s.ioas = alloc.out_ioas_id;
    struct iommu_ioas_map map = {
        .size = sizeof(map),
        .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
        .ioas_id = s.ioas,
        .user_va = (uintptr_t)s.buf,
        .length = 2 * PAGE,
        .iova = IOVA};
    CHECK(call(s.fd, IOMMU_IOAS_MAP, &map) == 0);
    struct iommu_test_cmd create = {.op = IOMMU_TEST_OP_CREATE_ACCESS, .id = s.ioas};
    create.create_access.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES;
    CHECK(test_cmd(s.fd, &create) == 0);
    s.access_fd = (int)create.create_access.out_access_fd;
    CHECK(access_pages(s.fd, s.access_fd, IOVA, 2 * PAGE, s.buf) == 0);
    CHECK(refs(s.fd, s.buf, 2 * PAGE, 1) == 0);
    return s;
}

/* Reads the first bytes through the access and compares them with the buffer. */
static int reads_buffer(int fd, int access_fd, const uint8_t* buf) {
    uint8_t data[32] = {0};
    return access_read(fd, access_fd, IOVA + PAGE - 16, data, sizeof(data)) == 0 &&
           memcmp(data, buf + PAGE - 16, sizeof(data)) == 0;
}

/* dup: both descriptors name the one access; closing one keeps it and its pins, the last releases. */
static void case_dup(void) {
    struct setup s = set_up();
    CHECK((fcntl(s.access_fd, F_GETFD) & FD_CLOEXEC) != 0); /* anon_inode_getfile(..., O_CLOEXEC) */
    const int copy = dup(s.access_fd);
    CHECK(copy >= 0 && copy != s.access_fd);
    CHECK(close(s.access_fd) == 0);
    CHECK(access_pages(s.fd, s.access_fd, IOVA, PAGE, NULL) == EBADFD); /* the closed number */
    CHECK(refs(s.fd, s.buf, 2 * PAGE, 1) == 0);
    CHECK(reads_buffer(s.fd, copy, s.buf));
    CHECK(destroy(s.fd, s.ioas) == EBUSY); /* the access still holds the IOAS */
    CHECK(close(copy) == 0);
    CHECK(refs(s.fd, s.buf, 2 * PAGE, 0) == 0);
    CHECK(destroy(s.fd, s.ioas) == 0);
    CHECK(close(copy) == -1 && errno == EBADF);
    CHECK(access_pages(s.fd, (int)s.fd, IOVA, PAGE, NULL) == EBADFD); /* an iommufd is no access file */
    close(s.fd);
}

/* fork: the child's calls on the inherited iommufd reach the parent's model, as on Linux where
 * both share the file, so destroying the IOAS there is EBUSY: the parent's access holds it. The
 * access file's number names a descriptor of the child's table, which the model cannot reach from
 * the parent (EBADFD; Linux would serve it), and the child closing its copy leaves the parent's
 * access and pins alone. */
static void case_fork(void) {
    struct setup s = set_up();
    fflush(stdout);
    const pid_t child = fork();
    if (child == 0) {
        uint8_t data[32];
        const int ok = access_read(s.fd, s.access_fd, IOVA, data, sizeof(data)) == EBADFD && close(s.access_fd) == 0 &&
                       destroy(s.fd, s.ioas) == EBUSY;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(refs(s.fd, s.buf, 2 * PAGE, 1) == 0);
    CHECK(reads_buffer(s.fd, s.access_fd, s.buf));
    CHECK(destroy(s.fd, s.ioas) == EBUSY);
    CHECK(close(s.access_fd) == 0);
    CHECK(refs(s.fd, s.buf, 2 * PAGE, 0) == 0);
    CHECK(destroy(s.fd, s.ioas) == 0);
    close(s.fd);
}

/* The access file holds its context: with the iommufd closed the access still works through
 * another iommufd (the op acts in the access's own context), and its pins count process-wide. */
static void case_outlives_iommufd(void) {
    struct setup s = set_up();
    const int other = open("/dev/iommu", O_RDWR);
    CHECK(other >= 0);
    CHECK(close(s.fd) == 0);
    CHECK(reads_buffer(other, s.access_fd, s.buf));
    CHECK(refs(other, s.buf, 2 * PAGE, 1) == 0);
    CHECK(access_pages(other, s.access_fd, IOVA + PAGE, PAGE, s.buf + PAGE) == 0);
    CHECK(close(s.access_fd) == 0);
    CHECK(refs(other, s.buf, 2 * PAGE, 0) == 0); /* the last descriptor released the context */
    close(other);
}

struct test_case {
    const char* name;
    void (*run)(void);
};

static const struct test_case cases[] = {
    {"dup", case_dup},
    {"fork", case_fork},
    {"outlives_iommufd", case_outlives_iommufd},
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
