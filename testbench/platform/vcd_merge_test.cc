#include "platform/vcd_merge.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace iommusim {
namespace {

std::string write(const std::string& name, const std::string& text) {
    const std::string path = (std::filesystem::temp_directory_path() / name).string();
    std::ofstream(path) << text;
    return path;
}

std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// A SystemC-style file (1 ns) and a Verilator-style file (1 ps) whose codes collide.
const char* first_vcd = R"($date today $end
$timescale
     1 ns
$end
$scope module SystemC $end
$var wire 1 ! valid $end
$var wire 8 " data [7:0] $end
$upscope $end
$enddefinitions  $end
$comment
initial values
$end
$dumpvars
0!
b0 "
$end
#2
1!
b101 "
#5
0!
)";

const char* second_vcd = R"($timescale 1ps $end
$scope module dut $end
$var wire 1 ! clk_i $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
0!
$end
#1500
1!
#2000
0!
#3000
1!
)";

TEST(VcdMerge, InterleavesOnTheFinerTimescaleAndRenamesCollidingCodes) {
    const std::string a = write("merge_a.vcd", first_vcd), b = write("merge_b.vcd", second_vcd);
    const std::string out = (std::filesystem::temp_directory_path() / "merge_out.vcd").string();
    ASSERT_EQ(merge_vcd(a, b, out), "");
    const std::string m = read(out);
    EXPECT_NE(m.find("$timescale\n\t1ps\n$end"), std::string::npos);
    EXPECT_NE(m.find("$scope module SystemC $end"), std::string::npos);
    EXPECT_NE(m.find("$scope module dut $end"), std::string::npos);
    // dut.clk_i got a fresh code; the first file keeps its own.
    EXPECT_NE(m.find("$var wire 1 ! valid $end"), std::string::npos);
    EXPECT_EQ(m.find("$var wire 1 ! clk_i $end"), std::string::npos);
    // 2 ns of the first file is 2000 ps: the change of valid and the clock edge share that time.
    const std::size_t t1500 = m.find("#1500\n"), t2000 = m.find("#2000\n"), t3000 = m.find("#3000\n"),
                      t5000 = m.find("#5000\n");
    ASSERT_NE(t1500, std::string::npos);
    ASSERT_NE(t2000, std::string::npos);
    ASSERT_NE(t5000, std::string::npos);
    EXPECT_LT(t1500, t2000);
    EXPECT_LT(t2000, t3000);
    EXPECT_LT(t3000, t5000);
    EXPECT_NE(m.find("#2000\n1!\nb101 \"\n0"), std::string::npos);
}

TEST(VcdMerge, RefusesWhatIsNotAVcd) {
    const std::string a = write("merge_bad_a.vcd", "not a wave file\n"), b = write("merge_bad_b.vcd", second_vcd);
    const std::string out = (std::filesystem::temp_directory_path() / "merge_bad_out.vcd").string();
    std::filesystem::remove(out);
    const std::string err = merge_vcd(a, b, out);
    EXPECT_NE(err.find("merge_bad_a.vcd"), std::string::npos) << err;
    EXPECT_FALSE(std::filesystem::exists(out));
    EXPECT_NE(merge_vcd("/nonexistent.vcd", b, out).find("cannot read"), std::string::npos);
}

// A renamed code must not land on a code the second file keeps: here '!' collides and the next
// free code of the first file, '#', is the second file's own.
TEST(VcdMerge, RenamedCodesNeverTakeACodeOfTheSecondFile) {
    const std::string a = write("merge_c_a.vcd",
                                "$timescale 1ps $end\n$scope module a $end\n$var wire 1 ! x $end\n"
                                "$var wire 1 \" y $end\n$upscope $end\n$enddefinitions $end\n#0\n0!\n0\"\n");
    const std::string b = write("merge_c_b.vcd",
                                "$timescale 1ps $end\n$scope module b $end\n$var wire 1 ! p $end\n"
                                "$var wire 1 # q $end\n$upscope $end\n$enddefinitions $end\n#0\n1!\n0#\n"
                                "#5\n1#\n");
    const std::string out = (std::filesystem::temp_directory_path() / "merge_c_out.vcd").string();
    ASSERT_EQ(merge_vcd(a, b, out), "");
    std::istringstream m(read(out));
    std::string line;
    std::set<std::string> codes;
    unsigned vars = 0;
    while (std::getline(m, line)) {
        std::istringstream t(line);
        std::string kw, type, width, id;
        if (t >> kw && kw == "$var" && t >> type >> width >> id) {
            codes.insert(id);
            ++vars;
        }
    }
    EXPECT_EQ(vars, 4u);
    EXPECT_EQ(codes.size(), 4u) << "every signal keeps a code of its own:\n" << read(out);
}

}  // namespace
}  // namespace iommusim
