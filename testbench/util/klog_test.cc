// The kernel log on its own: record format with the kernel level, newest-first fitting like
// syslog(2) READ_ALL, the ring dropping its oldest records, output to a file filtered by level,
// and a bad output path refused without changing anything.
#include "util/klog.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "test_files.h"

namespace iommusim::test {
namespace {

TEST(Klog, RecordsCarryTheLevelAndThePrefix) {
    klog::clear();
    klog::printk(klog::level::err, "DMAR: ", "unit %d refused", 3);
    klog::printk(klog::level::info, "iommufd: ", "%s", "second");
    EXPECT_EQ(klog::read_all(), "<3>DMAR: unit 3 refused\n<6>iommufd: second\n");
    EXPECT_EQ(klog::size(), klog::read_all().size());
}

TEST(Klog, ReadKeepsTheNewestWholeRecordsThatFit) {
    klog::clear();
    klog::printk(klog::level::info, "a: ", "first");   // "<6>a: first\n"  12 bytes
    klog::printk(klog::level::info, "b: ", "second");  // "<6>b: second\n" 13 bytes
    EXPECT_EQ(klog::read_all(13), "<6>b: second\n");
    EXPECT_EQ(klog::read_all(24), "<6>b: second\n") << "no partial record";
    EXPECT_EQ(klog::read_all(25), "<6>a: first\n<6>b: second\n");
    EXPECT_EQ(klog::read_all(12), "") << "the newest record alone does not fit";
    EXPECT_EQ(klog::read_all(), "<6>a: first\n<6>b: second\n") << "reading does not consume";
}

TEST(Klog, FullRingDropsTheOldestRecords) {
    klog::clear();
    const std::string filler(100, 'x');
    // "<6>p: " + 4 digits + " " + 100 x + "\n" = 112 bytes a record.
    const std::size_t record = 112;
    const int count = static_cast<int>(klog::ring_bytes / record) + 10;
    for (int i = 0; i < count; ++i) {
        klog::printk(klog::level::info, "p: ", "%04d %s", i, filler.c_str());
    }
    const std::string all = klog::read_all();
    EXPECT_LE(all.size(), klog::ring_bytes);
    EXPECT_EQ(all.size(), (klog::ring_bytes / record) * record);
    char oldest[16];
    std::snprintf(oldest, sizeof oldest, "<6>p: %04d ", static_cast<int>(count - klog::ring_bytes / record));
    EXPECT_EQ(all.substr(0, 11), oldest);
    char newest[16];
    std::snprintf(newest, sizeof newest, "<6>p: %04d ", count - 1);
    EXPECT_NE(all.find(newest), std::string::npos);
}

TEST(Klog, OutputFileGetsRecordsAtItsLevelOrMoreSevere) {
    const std::string path = temp_path("klog_output");
    ASSERT_EQ(klog::set_output(path, klog::level::warning), "");
    klog::printk(klog::level::err, "DMAR: ", "kept");
    klog::printk(klog::level::warning, "DMAR: ", "kept too");
    klog::printk(klog::level::info, "iommufd: ", "ring only");
    EXPECT_EQ(file_text(path), "DMAR: kept\nDMAR: kept too\n");
    EXPECT_NE(klog::read_all().find("<6>iommufd: ring only\n"), std::string::npos);
    ASSERT_EQ(klog::set_output("", klog::level::debug), "");
    klog::printk(klog::level::err, "DMAR: ", "after");
    EXPECT_EQ(file_text(path), "DMAR: kept\nDMAR: kept too\n") << "output off again";
    std::remove(path.c_str());
}

TEST(Klog, UnwritableOutputIsRefusedAndTheOldOutputStays) {
    const std::string path = temp_path("klog_kept");
    ASSERT_EQ(klog::set_output(path, klog::level::debug), "");
    EXPECT_EQ(klog::set_output("/nonexistent-dir/log", klog::level::debug),
              "log_file \"/nonexistent-dir/log\": No such file or directory");
    klog::printk(klog::level::info, "x: ", "still here");
    EXPECT_EQ(file_text(path), "x: still here\n");
    ASSERT_EQ(klog::set_output("", klog::level::debug), "");
    std::remove(path.c_str());
}

TEST(Klog, LevelNamesAreTheKernels) {
    klog::level lv{};
    const char* names[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
    for (int i = 0; i < 8; ++i) {
        ASSERT_TRUE(klog::parse_level(names[i], lv)) << names[i];
        EXPECT_EQ(static_cast<int>(lv), i);
    }
    EXPECT_FALSE(klog::parse_level("warn", lv));
    EXPECT_FALSE(klog::parse_level("", lv));
}

}  // namespace
}  // namespace iommusim::test
