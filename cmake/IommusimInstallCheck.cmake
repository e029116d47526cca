# ctest check that the installed package works for a user's own C program:
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DDOC_DIR=<docdir> -DPYTHON=... \
#         -P IommusimInstallCheck.cmake
# installs the build into WORK_DIR/prefix; builds examples/nested_vmm against it twice, as a
# C-only CMake project with find_package(iommusim) and with its plain Makefile through
# `pkg-config --cflags --libs iommusim` (and with Meson where it is installed), and runs them;
# checks that the pkg-config file is valid and that every document the installed headers cite is
# installed; checks that the installed `iommusim exec` finds the installed interposer and runs a
# program on it.
include(${CMAKE_CURRENT_LIST_DIR}/IommusimCheckScript.cmake)
iommusim_check_require(BUILD_DIR SOURCE_DIR WORK_DIR DOC_DIR PYTHON)
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/nested_vmm -B ${WORK_DIR}/cmake-build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=RelWithDebInfo)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/cmake-build)
run(${WORK_DIR}/cmake-build/nested_vmm)

file(GLOB_RECURSE pc_files ${prefix}/*/iommusim.pc)
list(LENGTH pc_files pc_count)
if(NOT pc_count EQUAL 1)
    message(FATAL_ERROR "expected one installed iommusim.pc, found: ${pc_files}")
endif()
get_filename_component(pc_dir ${pc_files} DIRECTORY)
find_program(PKG_CONFIG NAMES pkg-config pkgconf REQUIRED)
find_program(MAKE NAMES make gmake REQUIRED)
set(pc_env ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_dir})
run(${pc_env} ${PKG_CONFIG} --validate iommusim)
run(${pc_env} ${PKG_CONFIG} --static --cflags --libs iommusim)
file(MAKE_DIRECTORY ${WORK_DIR}/make-build)
run(${pc_env} PKG_CONFIG=${PKG_CONFIG} ${MAKE} -C ${SOURCE_DIR}/examples/nested_vmm BUILD_DIR=${WORK_DIR}/make-build)
run(${WORK_DIR}/make-build/nested_vmm)
# Meson reads the same .pc through dependency('iommusim'); built where Meson is installed.
find_program(MESON meson)
if(MESON)
    run(${pc_env} ${MESON} setup ${WORK_DIR}/meson-build ${SOURCE_DIR}/examples/nested_vmm)
    run(${MESON} compile -C ${WORK_DIR}/meson-build)
    run(${WORK_DIR}/meson-build/nested_vmm)
else()
    message(STATUS "meson is not installed: the example's Meson build is not tried")
endif()

file(GLOB_RECURSE installed_headers ${prefix}/include/*.h)
run(${PYTHON} ${SOURCE_DIR}/util/check_doc_citations.py --root ${SOURCE_DIR}
    --installed-docs ${prefix}/${DOC_DIR}/docs ${installed_headers})
# The GTKWave views' translate filters are installed (views written by an installed program name them).
foreach(file fault_reason.txt desc_type.txt walk_stage.txt iotlb_kind.txt iotlb_level.txt iotlb_inv_scope.txt
        iotlb_state.txt iotlb.gtkw)
    if(NOT EXISTS ${prefix}/share/iommusim/waves/${file})
        message(FATAL_ERROR "not installed: share/iommusim/waves/${file}")
    endif()
endforeach()

# The interposer is installed, and the installed program finds it for `iommusim exec`.
file(GLOB_RECURSE preload_files ${prefix}/*/libiommusim-preload.so)
if(NOT preload_files)
    message(FATAL_ERROR "not installed: libiommusim-preload.so")
endif()
run(${prefix}/bin/iommusim exec -- sh -c "exec 3<>/dev/iommu")
