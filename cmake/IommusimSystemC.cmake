# Debian's SystemC ships pkg-config files, not a CMake package.
# The library is built as C++17; SC_CPLUSPLUS pins the API-version symbol so C++20 code links against it.
find_package(PkgConfig REQUIRED)
pkg_check_modules(SYSTEMC REQUIRED IMPORTED_TARGET GLOBAL systemc)
pkg_check_modules(TLM REQUIRED IMPORTED_TARGET GLOBAL tlm)

add_library(iommusim_systemc INTERFACE)
target_link_libraries(iommusim_systemc INTERFACE PkgConfig::SYSTEMC PkgConfig::TLM)
target_compile_definitions(iommusim_systemc INTERFACE SC_CPLUSPLUS=201703L SC_INCLUDE_DYNAMIC_PROCESSES)
