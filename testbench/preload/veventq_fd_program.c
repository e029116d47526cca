/* The vEVENTQ fd (IOMMU_VEVENTQ_ALLOC hands out a file descriptor) as a plain program sees it through
 * the C library under libiommusim-preload.so: a real O_CLOEXEC descriptor that poll and epoll wait on,
 * read(2) of whole vEVENT records (struct iommufd_vevent_header, then the selftest event's virt_id),
 * write(2) EINVAL (the vEVENTQ file has no write op), pread ESPIPE. Expectations are Linux's
 * (drivers/iommu/iommufd/eventq.c, selftest.c iommufd_test_trigger_vevent).
 *
 * usage: veventq_fd_program */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
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

static int events(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDNORM | POLLOUT};
    return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

int main(void) {
    const int fd = open("/dev/iommu", O_RDWR);
    CHECK(fd >= 0);
    struct iommu_ioas_alloc alloc = {.size = sizeof(alloc)};
    CHECK(call(fd, IOMMU_IOAS_ALLOC, &alloc) == 0);
    struct iommu_test_cmd mock = {.op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = alloc.out_ioas_id};
    CHECK(test_cmd(fd, &mock) == 0);
    const uint32_t dev_id = mock.mock_domain.out_idev_id;
    struct iommu_hwpt_alloc parent = {
        .size = sizeof(parent), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT, .dev_id = dev_id, .pt_id = alloc.out_ioas_id};
    CHECK(call(fd, IOMMU_HWPT_ALLOC, &parent) == 0);
    struct iommu_viommu_alloc viommu = {
        .size = sizeof(viommu), .type = IOMMU_VIOMMU_TYPE_SELFTEST, .dev_id = dev_id, .hwpt_id = parent.out_hwpt_id};
    CHECK(call(fd, IOMMU_VIOMMU_ALLOC, &viommu) == 0);
    struct iommu_vdevice_alloc vdev = {
        .size = sizeof(vdev), .viommu_id = viommu.out_viommu_id, .dev_id = dev_id, .virt_id = 0x42};
    CHECK(call(fd, IOMMU_VDEVICE_ALLOC, &vdev) == 0);
    struct iommu_hwpt_selftest data = {.iotlb = IOMMU_TEST_IOTLB_DEFAULT};
    struct iommu_hwpt_alloc nested = {.size = sizeof(nested),
                                      .dev_id = dev_id,
                                      .pt_id = viommu.out_viommu_id,
                                      .data_type = IOMMU_HWPT_DATA_SELFTEST,
                                      .data_len = sizeof(data),
                                      .data_uptr = (uintptr_t)&data};
    CHECK(call(fd, IOMMU_HWPT_ALLOC, &nested) == 0);
    struct iommu_test_cmd replace = {.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = mock.mock_domain.out_stdev_id};
    replace.mock_domain_replace.pt_id = nested.out_hwpt_id;
    CHECK(test_cmd(fd, &replace) == 0);
    struct iommu_veventq_alloc q = {
        .size = sizeof(q), .viommu_id = viommu.out_viommu_id, .type = IOMMU_VEVENTQ_TYPE_SELFTEST, .veventq_depth = 4};
    CHECK(call(fd, IOMMU_VEVENTQ_ALLOC, &q) == 0);
    const int qfd = (int)q.out_veventq_fd;
    CHECK(qfd > 0 && qfd != fd);
    CHECK((fcntl(qfd, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK((events(qfd) & (POLLIN | POLLOUT)) == POLLOUT);
    unsigned char buf[64];
    CHECK(read(qfd, buf, sizeof(buf)) == 0); /* nothing waits */

    const int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event want = {.events = EPOLLIN};
    CHECK(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, qfd, &want) == 0);
    struct epoll_event got;
    CHECK(epoll_wait(ep, &got, 1, 0) == 0);

    struct iommu_test_cmd trigger = {.op = IOMMU_TEST_OP_TRIGGER_VEVENT};
    trigger.trigger_vevent.dev_id = dev_id;
    CHECK(test_cmd(fd, &trigger) == 0);
    CHECK((events(qfd) & (POLLIN | POLLRDNORM)) == (POLLIN | POLLRDNORM));
    CHECK(epoll_wait(ep, &got, 1, 0) == 1 && (got.events & EPOLLIN) != 0);
    CHECK(pread(qfd, buf, sizeof(buf), 0) == -1 && errno == ESPIPE);
    CHECK(write(qfd, buf, 12) == -1 && errno == EINVAL);

    memset(buf, 0xff, sizeof(buf));
    CHECK(read(qfd, buf, sizeof(buf)) == 12);
    struct iommufd_vevent_header header;
    struct iommu_viommu_event_selftest event;
    memcpy(&header, buf, sizeof(header));
    memcpy(&event, buf + sizeof(header), sizeof(event));
    CHECK(header.flags == 0 && header.sequence == 0 && event.virt_id == 0x42);
    CHECK((events(qfd) & (POLLIN | POLLOUT)) == POLLOUT);
    CHECK(epoll_wait(ep, &got, 1, 0) == 0);
    close(ep);

    struct iommu_destroy d = {.size = sizeof(d), .id = q.out_veventq_id};
    CHECK(call(fd, IOMMU_DESTROY, &d) == EBUSY); /* the fd holds it */
    CHECK(close(qfd) == 0);
    CHECK(call(fd, IOMMU_DESTROY, &d) == 0);
    close(fd);
    printf("veventq_fd_program: ok\n");
    return 0;
}
