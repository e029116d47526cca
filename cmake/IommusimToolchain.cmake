# Compiler flags shared by every target: strict warnings, optional sanitizers, ccache.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
    set(CMAKE_C_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
    set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

# Project warnings apply to our own sources only; verilated code gets its own flags (rtl/).
add_library(iommusim_warnings INTERFACE)
target_compile_options(iommusim_warnings INTERFACE -Wall -Wextra -Werror)

# SystemC switches coroutine stacks under ASan's feet: use-after-scope checking misreads them when
# an exception leaves a simulation (a false report in sigaltstack), so it is off; leak checking is
# off in the asan test preset for the same reason (LeakSanitizer cannot scan those stacks).
if(IOMMUSIM_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
                        -fno-sanitize-address-use-after-scope)
    add_compile_definitions(IOMMUSIM_SANITIZE=1)
    add_link_options(-fsanitize=address,undefined)
endif()
