// The kernel log through the platform's configuration and the C API: log_file and log_level choose
// where records are written besides the ring, bad values are refused before anything runs, the
// default writes nothing, and iommusim_log_read copies whole records with a terminating NUL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"
#include "log_watch.h"
#include "platform/platform.h"
#include "test_files.h"

namespace iommusim::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Brings the platform up (first VFIO open) and has iommufd refuse an IOAS_MAP without
// permissions (EINVAL, logged at info).
void refuse_a_map(int& iommufd) {
    iommufd = iommusim_open("/dev/iommu", O_RDWR);
    ASSERT_GE(iommufd, 0);
    const int dev = iommusim_open("/dev/vfio/devices/vfio0", O_RDWR);
    ASSERT_GE(dev, 0);
    iommu_ioas_alloc alloc{sizeof alloc, 0, 0};
    ASSERT_EQ(iommusim_ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc), 0);
    alignas(4096) static char buffer[4096];
    iommu_ioas_map map{};
    map.size = sizeof map;
    map.ioas_id = alloc.out_ioas_id;
    map.user_va = reinterpret_cast<uint64_t>(buffer);
    map.length = sizeof buffer;
    EXPECT_EQ(iommusim_ioctl(iommufd, IOMMU_IOAS_MAP, &map), -1);
    EXPECT_EQ(errno, EINVAL);
    EXPECT_EQ(iommusim_close(dev), 0);
}

constexpr const char* map_refusal =
    "iommufd: IOMMU_IOAS_MAP of 0x0+0x1000 into IOAS 1 refused: neither IOMMU_IOAS_MAP_READABLE nor "
    "IOMMU_IOAS_MAP_WRITEABLE (EINVAL)\n";

TEST(PlatformLog, LogFileGetsTheRecordsAtItsLevel) {
    const std::string path = temp_path("platform_log");
    platform_config cfg;
    cfg.log_file = path;
    cfg.log_level = "info";
    std::string error;
    ASSERT_TRUE(platform::configure(cfg, &error)) << error;
    int iommufd = -1;
    refuse_a_map(iommufd);
    EXPECT_EQ(file_text(path), map_refusal);
    EXPECT_THAT(log_watch::whole_log(), HasSubstr(std::string("<6>") + map_refusal)) << "the ring has it too";
    iommusim_close(iommufd);
    std::remove(path.c_str());
}

TEST(PlatformLog, LogLevelFiltersWhatTheFileGets) {
    const std::string path = temp_path("platform_log_err");
    platform_config cfg;
    cfg.log_file = path;
    cfg.log_level = "err";
    ASSERT_TRUE(platform::configure(cfg));
    int iommufd = -1;
    refuse_a_map(iommufd);
    EXPECT_EQ(file_text(path), "") << "an info record stays in the ring";
    EXPECT_THAT(log_watch::whole_log(), HasSubstr(map_refusal));
    iommusim_close(iommufd);
    std::remove(path.c_str());
}

TEST(PlatformLog, DefaultWritesNothingOutsideTheRing) {
    testing::internal::CaptureStderr();
    int iommufd = -1;
    refuse_a_map(iommufd);
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
    EXPECT_THAT(log_watch::whole_log(), HasSubstr(map_refusal));
    iommusim_close(iommufd);
}

TEST(PlatformLog, StderrOutputEchoesTheRecords) {
    platform_config cfg;
    cfg.log_file = "stderr";
    ASSERT_TRUE(platform::configure(cfg));
    testing::internal::CaptureStderr();
    int iommufd = -1;
    refuse_a_map(iommufd);
    EXPECT_EQ(testing::internal::GetCapturedStderr(), map_refusal);
    iommusim_close(iommufd);
}

TEST(PlatformLog, UnknownLogLevelIsRefusedByConfigure) {
    platform_config cfg;
    cfg.log_level = "loud";
    std::string error;
    EXPECT_FALSE(platform::configure(cfg, &error));
    EXPECT_EQ(error, "log_level=\"loud\" (must be emerg, alert, crit, err, warning, notice, info or debug)");
    EXPECT_FALSE(platform::exists());
}

TEST(PlatformLog, UnwritableLogFileKeepsThePlatformDown) {
    struct iommusim_config c {};
    c.log_file = "/nonexistent-dir/iommusim.log";
    ASSERT_EQ(iommusim_configure(&c), 0);
    testing::internal::CaptureStderr();
    EXPECT_EQ(iommusim_open("/dev/vfio/devices/vfio0", O_RDWR), -1);
    EXPECT_EQ(errno, ENODEV);
    EXPECT_EQ(testing::internal::GetCapturedStderr(),
              "iommusim: log_file \"/nonexistent-dir/iommusim.log\": No such file or directory\n");
    EXPECT_FALSE(std::filesystem::exists("/nonexistent-dir"));
}

TEST(PlatformLog, LogReadCopiesWholeRecordsAndTerminates) {
    int iommufd = -1;
    refuse_a_map(iommufd);
    iommusim_close(iommufd);
    const std::string all = log_watch::whole_log();
    ASSERT_THAT(all, HasSubstr(map_refusal));
    EXPECT_EQ(iommusim_log_read(nullptr, 0), all.size());
    std::string buf(all.size() + 1, 'x');
    EXPECT_EQ(iommusim_log_read(buf.data(), buf.size()), all.size());
    EXPECT_EQ(buf.substr(0, all.size()), all);
    EXPECT_EQ(buf[all.size()], '\0');
    // One byte short of the last record and its NUL: only whole records, the last one missing.
    const std::string last = std::string("<6>") + map_refusal;
    ASSERT_EQ(all.substr(all.size() - last.size()), last);
    char small[8];
    std::memset(small, 'x', sizeof small);
    EXPECT_EQ(iommusim_log_read(small, sizeof small), 0u) << "no record fits in 7 bytes";
    EXPECT_EQ(small[0], '\0');
    std::string exact(last.size() + 1, 'x');
    EXPECT_EQ(iommusim_log_read(exact.data(), exact.size()), last.size());
    EXPECT_EQ(exact.substr(0, last.size()), last) << "the newest record comes first to fit";
}

}  // namespace
}  // namespace iommusim::test
