# Installs the libraries and public headers with a CMake package, so a user's program can do
#   find_package(iommusim REQUIRED)
#   target_link_libraries(my_vmm PRIVATE iommusim::platform)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(IOMMUSIM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/iommusim)

# Static libraries in link order (a library before those it uses), as the pkg-config file lists them.
set(IOMMUSIM_LIBRARIES iommusim_platform iommusim_iommufd iommusim_driver iommusim_rtl iommusim_tlm
                       iommusim_util)

# A C program is linked by the C compiler driver, which does not add the C++ runtime these
# libraries need: each carries, for C links only, what the C++ driver links implicitly and the C
# driver does not (libstdc++ and libm with GCC), so a project(x C) user links without knowing.
set(IOMMUSIM_CXX_RUNTIME ${CMAKE_CXX_IMPLICIT_LINK_LIBRARIES})
list(REMOVE_ITEM IOMMUSIM_CXX_RUNTIME ${CMAKE_C_IMPLICIT_LINK_LIBRARIES})
list(REMOVE_DUPLICATES IOMMUSIM_CXX_RUNTIME)
foreach(lib ${IOMMUSIM_LIBRARIES})
    foreach(runtime ${IOMMUSIM_CXX_RUNTIME})
        target_link_libraries(${lib} INTERFACE $<$<LINK_LANGUAGE:C>:${runtime}>)
    endforeach()
endforeach()

# iommusim::program (the iommusim program as program_main, for a user's main with its own devices
# attached) is for CMake users only: it needs yaml-cpp and nlohmann_json, which the package config
# finds.
install(TARGETS ${IOMMUSIM_LIBRARIES} iommusim_program iommusim_systemc iommusim_warnings
        EXPORT iommusim-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})

# Public headers: the C API and shared layouts under include/iommusim, each layer's headers under
# include/iommusim/<layer>/ so that "tlm/iotlb_if.h" style includes work unchanged.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/iommusim DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(layer util tlm rtl driver iommufd platform)
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/iommusim/${layer}
            FILES_MATCHING PATTERN "*.h" PATTERN "lint" EXCLUDE PATTERN "plugin" EXCLUDE)
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/testbench/program/program_main.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/iommusim/program)

install(EXPORT iommusim-targets NAMESPACE iommusim:: DESTINATION ${IOMMUSIM_CMAKE_DIR})
# iommusim_add_rtl_iotlb for a user's design: the function, the plug-in's entry point and model
# sources it compiles, and the ABI header (installed with include/iommusim).
set(IOMMUSIM_RTL_PLUGIN_SOURCE_INSTALL_DIR ${CMAKE_INSTALL_DATADIR}/iommusim/rtl_plugin)
install(FILES ${PROJECT_SOURCE_DIR}/cmake/IommusimRtlIotlb.cmake DESTINATION ${IOMMUSIM_CMAKE_DIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/rtl/plugin/ DESTINATION ${IOMMUSIM_RTL_PLUGIN_SOURCE_INSTALL_DIR})
set(IOMMUSIM_RTL_PLUGIN_INSTALL_FILE ${CMAKE_INSTALL_LIBDIR}/iommusim/lib${IOMMUSIM_RTL_PLUGIN}.so)
set(IOMMUSIM_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
set(IOMMUSIM_INSTALL_PROGRAM ${CMAKE_INSTALL_BINDIR}/iommusim)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/iommusim-config.cmake.in
    ${PROJECT_BINARY_DIR}/iommusim-config.cmake INSTALL_DESTINATION ${IOMMUSIM_CMAKE_DIR}
    PATH_VARS IOMMUSIM_RTL_PLUGIN_SOURCE_INSTALL_DIR IOMMUSIM_RTL_PLUGIN_INSTALL_FILE IOMMUSIM_INSTALL_INCLUDEDIR
              IOMMUSIM_INSTALL_PROGRAM)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/iommusim-config-version.cmake
    COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/iommusim-config.cmake ${PROJECT_BINARY_DIR}/iommusim-config-version.cmake
        DESTINATION ${IOMMUSIM_CMAKE_DIR})

# pkg-config file for Makefile and Meson users: `pkg-config --cflags --libs iommusim`. Relocatable
# (prefix from ${pcfiledir}), since the install prefix is often chosen at install time.
foreach(lib ${IOMMUSIM_LIBRARIES})
    get_target_property(name ${lib} OUTPUT_NAME)
    if(NOT name)
        set(name ${lib})
    endif()
    string(APPEND IOMMUSIM_PC_LIBS " -l${name}")
endforeach()
# What the libraries need below SystemC (the plug-in loader's libdl where it is separate,
# threads) and the C++ runtime, so a C link with the plain C compiler works.
set(system_link)
foreach(lib ${CMAKE_DL_LIBS})
    list(APPEND system_link -l${lib})
endforeach()
list(APPEND system_link ${CMAKE_THREAD_LIBS_INIT})
list(REMOVE_DUPLICATES system_link)
foreach(flag ${system_link})
    string(APPEND IOMMUSIM_PC_LIBS " ${flag}")
endforeach()
foreach(runtime ${IOMMUSIM_CXX_RUNTIME})
    string(APPEND IOMMUSIM_PC_LIBS " -l${runtime}")
endforeach()
# C++ users of the layer headers compile with the definitions the libraries were built with.
set(IOMMUSIM_PC_CFLAGS "-I\${includedir} -I\${includedir}/iommusim")
get_target_property(systemc_definitions iommusim_systemc INTERFACE_COMPILE_DEFINITIONS)
foreach(definition ${systemc_definitions})
    string(APPEND IOMMUSIM_PC_CFLAGS " -D${definition}")
endforeach()
file(RELATIVE_PATH IOMMUSIM_PC_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
configure_file(${PROJECT_SOURCE_DIR}/cmake/iommusim.pc.in ${PROJECT_BINARY_DIR}/iommusim.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/iommusim.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The documents the headers cite (register map, fact digests, iommufd model) go with them.
install(FILES ${PROJECT_SOURCE_DIR}/docs/registers.md ${PROJECT_SOURCE_DIR}/docs/iommufd.md
              ${PROJECT_SOURCE_DIR}/docs/vtd-facts.md ${PROJECT_SOURCE_DIR}/docs/iommufd-facts.md
              ${PROJECT_SOURCE_DIR}/docs/dma-engine.md ${PROJECT_SOURCE_DIR}/docs/rtl-iotlb-contract.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

# The shipped scenario files, where `iommusim run NAME.yaml` and `iommusim --list` find them
# (testbench/program/shipped_scenarios.h).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/scenarios/ DESTINATION ${CMAKE_INSTALL_DATADIR}/iommusim/scenarios
        FILES_MATCHING PATTERN "*.yaml")

# The GTKWave views and the translate filters they name (views written by an installed program
# point at this copy; platform/CMakeLists.txt).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/waves/ DESTINATION ${CMAKE_INSTALL_DATADIR}/iommusim/waves
        FILES_MATCHING PATTERN "*.txt" PATTERN "*.gtkw" PATTERN "README.md")
