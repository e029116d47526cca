#include "platform/vcd_writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace iommusim {
namespace {

std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string temp(const std::string& name) {
    return (std::filesystem::temp_directory_path() / name).string();
}

// Changes recorded out of time order (a process running ahead of the others) come out in time
// order; the last change of a signal at one time wins; an unchanged value is not repeated.
TEST(VcdWriter, WritesChangesInTimeOrderWhateverTheRecordingOrder) {
    const std::string path = temp("vcd_writer_order.vcd");
    std::filesystem::remove(path);  // an earlier run's
    vcd_writer w(path, "top");
    const unsigned a = w.add_wire("s", "a", 1);
    const unsigned b = w.add_wire("s", "b", 8);
    const unsigned c = w.add_string("s", "c", "idle");
    w.set(300, a, 1);  // ahead of the others
    w.set(100, b, 5);
    w.set(100, b, 6);  // same time: the last wins
    w.set(200, c, "IOMMU_HWPT_INVALIDATE");
    w.set(250, a, 0);  // same value as already written at 0: no change line
    w.flush_before(150);
    EXPECT_FALSE(std::filesystem::exists(path)) << "nothing at the final name before close";
    w.set(150, b, 7);
    ASSERT_EQ(w.close(400), "");
    EXPECT_FALSE(std::filesystem::exists(path + ".part"));
    const std::string text = read(path);
    EXPECT_NE(text.find("$timescale\n\t1 ps\n$end"), std::string::npos);
    EXPECT_NE(text.find("$var string 1 # c $end"), std::string::npos) << text;
    EXPECT_NE(text.find("$var wire 8 \" b [7:0] $end"), std::string::npos) << text;
    const std::size_t t100 = text.find("#100\nb110 \"\n"), t150 = text.find("#150\nb111 \"\n"),
                      t200 = text.find("#200\nsIOMMU_HWPT_INVALIDATE #\n"), t300 = text.find("#300\n1!\n"),
                      t400 = text.find("#400\n");
    ASSERT_NE(t100, std::string::npos) << text;
    ASSERT_NE(t150, std::string::npos) << text;
    ASSERT_NE(t200, std::string::npos) << text;
    ASSERT_NE(t300, std::string::npos) << text;
    ASSERT_NE(t400, std::string::npos) << text;
    EXPECT_LT(t100, t150);
    EXPECT_LT(t150, t200);
    EXPECT_LT(t200, t300);
    EXPECT_LT(t300, t400);
    EXPECT_EQ(text.find("#250"), std::string::npos) << "a did not change at 250";
    EXPECT_EQ(text.find("b101 \""), std::string::npos) << "the overwritten change at 100 is not written";
}

// A file that cannot be written is named in the error, and nothing is left behind.
TEST(VcdWriter, UnwritablePathIsNamed) {
    const std::string path = "/nonexistent-dir/x.vcd";
    vcd_writer w(path, "top");
    w.add_wire("s", "a", 1);
    EXPECT_NE(w.close(10).find(path), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace iommusim
