# Compiler flags shared by every target: strict warnings, optional sanitizers, ccache.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
    set(CMAKE_C_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
    set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

# Project warnings apply to our own sources only; verilated code gets its own flags (rtl/).
add_library(iommusim_warnings INTERFACE)
target_compile_options(iommusim_warnings INTERFACE -Wall -Wextra -Werror)
# GCC 12 at -O3 reports -Wrestrict on ordinary std::string concatenation (GCC PR 105329, PR 105651):
# keep it visible as a warning, not a build failure, so the release preset cannot break on it.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(iommusim_warnings INTERFACE -Wno-error=restrict)
endif()

# SystemC switches coroutine stacks under ASan's feet: use-after-scope checking misreads them when
# an exception leaves a simulation (a false report in sigaltstack), so it is off; leak checking is
# off in the asan test preset for the same reason (LeakSanitizer cannot scan those stacks).
if(IOMMUSIM_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
                        -fno-sanitize-address-use-after-scope)
    add_compile_definitions(IOMMUSIM_SANITIZE=1)
    add_link_options(-fsanitize=address,undefined)
endif()

# The fuzz preset (clang): every library carries libFuzzer's coverage instrumentation; only the fuzz
# targets link libFuzzer's main (fuzz/CMakeLists.txt).
option(IOMMUSIM_FUZZ "Build the libFuzzer targets of fuzz/ (clang, with IOMMUSIM_SANITIZE)" OFF)
if(IOMMUSIM_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR NOT IOMMUSIM_SANITIZE)
        message(FATAL_ERROR "IOMMUSIM_FUZZ needs clang++ and IOMMUSIM_SANITIZE=ON (use the fuzz preset)")
    endif()
    add_compile_options(-fsanitize=fuzzer-no-link)
endif()
