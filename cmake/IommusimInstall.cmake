# Installs the libraries and public headers with a CMake package: find_package(iommusim).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
