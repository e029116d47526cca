# Installs the libraries and public headers with a CMake package, so a user's program can do
#   find_package(iommusim REQUIRED)
#   target_link_libraries(my_vmm PRIVATE iommusim::platform)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(IOMMUSIM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/iommusim)

install(TARGETS iommusim_tlm iommusim_rtl iommusim_driver iommusim_iommufd iommusim_platform
                iommusim_systemc iommusim_warnings
        EXPORT iommusim-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
if(TARGET iommusim_rtl_verilated)
    install(TARGETS iommusim_rtl_verilated EXPORT iommusim-targets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()

# Public headers: the C API and shared layouts under include/iommusim, each layer's headers under
# include/iommusim/<layer>/ so that "tlm/iotlb_if.h" style includes work unchanged.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/iommusim DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(layer tlm rtl driver iommufd platform)
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/iommusim/${layer}
            FILES_MATCHING PATTERN "*.h" PATTERN "lint" EXCLUDE)
endforeach()

install(EXPORT iommusim-targets NAMESPACE iommusim:: DESTINATION ${IOMMUSIM_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/iommusim-config.cmake.in
    ${PROJECT_BINARY_DIR}/iommusim-config.cmake INSTALL_DESTINATION ${IOMMUSIM_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/iommusim-config-version.cmake
    COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/iommusim-config.cmake ${PROJECT_BINARY_DIR}/iommusim-config-version.cmake
        DESTINATION ${IOMMUSIM_CMAKE_DIR})

# The documents the headers cite (register map, fact digests, iommufd model) go with them.
install(FILES ${PROJECT_SOURCE_DIR}/docs/registers.md ${PROJECT_SOURCE_DIR}/docs/iommufd.md
              ${PROJECT_SOURCE_DIR}/docs/vtd-facts.md ${PROJECT_SOURCE_DIR}/docs/iommufd-facts.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

# The GTKWave views and the translate filters they name (views written by an installed program
# point at this copy; platform/CMakeLists.txt).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/waves/ DESTINATION ${CMAKE_INSTALL_DATADIR}/iommusim/waves
        FILES_MATCHING PATTERN "*.txt" PATTERN "*.gtkw" PATTERN "README.md")
