// Entry point for GoogleTest executables that link SystemC: libsystemc needs an sc_main. Whichever
// main the linker picks (gtest_main's or SystemC's, which calls sc_main), the tests run once.
#include <gtest/gtest.h>

extern "C" int sc_main(int argc, char* argv[]) {
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
